//! `latency`: the handler of a matching actor first awaits `latency` plus a uniform
//! draw from `0..=jitter` (with probability `toxicity`).

use std::time::Duration;

use gauntlet_runtime::actor::HandlerFault;

use crate::faults::Injection;
use crate::faults::actor::{self, Installed};
use crate::faults::error::InjectError;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
};

/// `latency`.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Least added delay (longer than zero).
    pub latency: Duration,
    /// Most added on top (uniform).
    pub jitter: Duration,
}

/// The `latency` field, required and longer than zero (`latency`,
/// `dependency-latency`).
pub(super) fn positive_latency(fields: &mut Fields) -> Option<Duration> {
    let latency = fields.required("latency", fields.latency)?;
    if latency.is_zero() {
        fields.problem("latency", "must be longer than 0s");
        return None;
    }
    Some(latency)
}

impl FaultKind for Latency {
    const FACTS: Facts = Facts {
        name: "latency",
        target: Targets::Actors,
        fields: &["latency", "jitter"],
        toxicity: Toxicity::Thins,
        requires: Requires::in_process(Capability::ActorSystem),
        detected: Detection::Nothing,
        restarts_process: false,
    };
    type Active = Installed;

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Latency {
            latency: positive_latency(fields)?,
            jitter: fields.jitter.unwrap_or(Duration::ZERO),
        })
    }

    async fn start(&self, scope: Scope<'_>, record: &mut Injection) -> Result<Installed, InjectError> {
        let fault = HandlerFault::Delay {
            base: self.latency,
            jitter: self.jitter,
        };
        actor::start(scope, fault, record)
    }

    async fn end(&self, installed: Installed, scope: Scope<'_>, record: &mut Injection) {
        actor::end(installed, scope, record);
    }
}
