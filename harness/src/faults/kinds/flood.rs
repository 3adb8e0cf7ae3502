//! `flood`: a burst of `messages` of the workload's own messages at each matching
//! actor's mailbox, at the start of the window, without waiting (`try_tell`): what the
//! mailbox's backpressure policy does with the excess shows in the window.

use tokio::task::JoinHandle;

use crate::faults::error::InjectError;
use crate::faults::traffic;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
    addresses,
};
use crate::faults::{FloodOutcome, Injection};

/// `flood`.
#[derive(Debug, Clone, PartialEq)]
pub struct Flood {
    /// Messages per matching actor (1 to 10^8).
    pub messages: u64,
}

impl FaultKind for Flood {
    const FACTS: Facts = Facts {
        name: "flood",
        target: Targets::Actors,
        fields: &["messages"],
        toxicity: Toxicity::Refused,
        requires: Requires::in_process(Capability::Flood),
        detected: Detection::Nothing,
        restarts_process: false,
    };
    type Active = JoinHandle<FloodOutcome>;

    fn read(fields: &mut Fields) -> Option<Self> {
        let n = fields.required("messages", fields.messages)?;
        let n = fields.int_in("messages", n, 1, 100_000_000)?;
        Some(Flood { messages: n as u64 })
    }

    async fn start(
        &self,
        scope: Scope<'_>,
        record: &mut Injection,
    ) -> Result<JoinHandle<FloodOutcome>, InjectError> {
        let flooder = scope.flooder()?;
        record.victims = scope.own_victims()?;
        let targets = addresses(&record.victims);
        let messages = self.messages;
        Ok(tokio::task::spawn_blocking(move || {
            traffic::flood(&flooder, &targets, messages)
        }))
    }

    async fn end(&self, task: JoinHandle<FloodOutcome>, _: Scope<'_>, record: &mut Injection) {
        if let Ok(o) = task.await {
            record.affected = o.sent;
        }
    }
}
