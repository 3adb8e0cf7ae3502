//! `kill`: each matching actor (with probability `toxicity`) is killed at the start of
//! the window, without hooks; its queued messages become dead letters. Pool actors
//! stay dead; virtual actors (devices) come back on their next message.

use crate::faults::Injection;
use crate::faults::actor;
use crate::faults::error::InjectError;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
    addresses,
};

/// `kill`: no settings of its own; it acts once, at the start of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Kill;

impl FaultKind for Kill {
    const FACTS: Facts = Facts {
        name: "kill",
        target: Targets::Actors,
        fields: &[],
        toxicity: Toxicity::Thins,
        requires: Requires::in_process(Capability::ActorSystem),
        detected: Detection::Nothing,
        restarts_process: false,
    };
    type Active = ();

    fn read(_: &mut Fields) -> Option<Self> {
        Some(Kill)
    }

    async fn start(&self, scope: Scope<'_>, record: &mut Injection) -> Result<(), InjectError> {
        let system = scope.system()?;
        record.victims = scope.own_victims()?;
        record.affected = actor::kill(
            &system,
            scope.spec.toxicity,
            scope.window.seed,
            &addresses(&record.victims),
        );
        Ok(())
    }
}
