//! `partition`: messages sent from inside a handler of the `target` group to an actor
//! of the `peer` group, or back, are dead-lettered for the window.

use crate::faults::Injection;
use crate::faults::error::InjectError;
use crate::faults::selector::check_glob;
use crate::faults::traffic::{self, Cut};
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
    addresses,
};

/// `partition`.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// Address glob of the other side.
    pub peer: String,
}

impl FaultKind for Partition {
    const FACTS: Facts = Facts {
        name: "partition",
        target: Targets::Actors,
        fields: &["peer"],
        toxicity: Toxicity::Refused,
        requires: Requires::in_process(Capability::ActorSystem),
        detected: Detection::Nothing,
        restarts_process: false,
    };
    type Active = Cut;

    fn read(fields: &mut Fields) -> Option<Self> {
        let peer = fields.peer.take();
        let peer = fields.required("peer", peer)?;
        if let Err(e) = check_glob(&peer) {
            fields.problem("peer", e);
            return None;
        }
        Some(Partition { peer })
    }

    async fn start(&self, scope: Scope<'_>, record: &mut Injection) -> Result<Cut, InjectError> {
        let system = scope.system()?;
        let live = scope.live();
        let a = scope.victims(&scope.spec.target, scope.spec.victims, &live)?;
        let b = scope.victims(&self.peer, None, &live)?;
        let cut = traffic::partition(&system, &addresses(&a), &addresses(&b))?;
        record.victims = a.into_iter().chain(b).collect();
        Ok(cut)
    }

    async fn end(&self, cut: Cut, scope: Scope<'_>, record: &mut Injection) {
        if let Ok(system) = scope.system() {
            record.affected = cut.heal(&system);
        }
    }
}
