//! `crash`: the handler of a matching actor panics instead of handling the message
//! (with probability `toxicity`); the actor's supervisor restarts it. An ask whose
//! handler crashed is never answered (an op error).

use gauntlet_runtime::actor::HandlerFault;

use crate::faults::Injection;
use crate::faults::actor::{self, Installed};
use crate::faults::error::InjectError;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
};

/// `crash`: no settings of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Crash;

impl FaultKind for Crash {
    const FACTS: Facts = Facts {
        name: "crash",
        target: Targets::Actors,
        fields: &[],
        toxicity: Toxicity::Thins,
        requires: Requires::in_process(Capability::ActorSystem),
        detected: Detection::Nothing,
        restarts_process: false,
    };
    type Active = Installed;

    fn read(_: &mut Fields) -> Option<Self> {
        Some(Crash)
    }

    async fn start(&self, scope: Scope<'_>, record: &mut Injection) -> Result<Installed, InjectError> {
        actor::start(scope, HandlerFault::Crash, record)
    }

    async fn end(&self, installed: Installed, scope: Scope<'_>, record: &mut Injection) {
        actor::end(installed, scope, record);
    }
}
