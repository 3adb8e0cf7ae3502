//! `blocking-worker`: the handler of a matching actor first blocks its worker thread
//! for `block_for` (`std::thread::sleep`, the classic async mistake), with probability
//! `toxicity`. The runtime's stall watchdog must report it.

use std::time::Duration;

use gauntlet_runtime::actor::HandlerFault;

use crate::faults::Injection;
use crate::faults::actor::{self, Installed};
use crate::faults::error::InjectError;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
};
use crate::scenario::limits::MAX_FAULT_DELAY;

/// `blocking-worker`.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockingWorker {
    /// How long each affected handler blocks its thread.
    pub block_for: Duration,
}

impl FaultKind for BlockingWorker {
    const FACTS: Facts = Facts {
        name: "blocking-worker",
        target: Targets::Actors,
        fields: &["block_for"],
        toxicity: Toxicity::Thins,
        requires: Requires::in_process(Capability::ActorSystem),
        detected: Detection::StallReports,
        restarts_process: false,
    };
    type Active = Installed;

    fn read(fields: &mut Fields) -> Option<Self> {
        let block_for = fields.required("block_for", fields.block_for)?;
        if block_for.is_zero() || block_for > MAX_FAULT_DELAY {
            fields.problem(
                "block_for",
                format!(
                    "must be longer than 0s and at most {}s",
                    MAX_FAULT_DELAY.as_secs()
                ),
            );
            return None;
        }
        Some(BlockingWorker { block_for })
    }

    async fn start(&self, scope: Scope<'_>, record: &mut Injection) -> Result<Installed, InjectError> {
        actor::start(scope, HandlerFault::Block(self.block_for), record)
    }

    async fn end(&self, installed: Installed, scope: Scope<'_>, record: &mut Injection) {
        actor::end(installed, scope, record);
    }
}
