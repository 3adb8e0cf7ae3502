//! `dependency-latency`: each device-repository call is delayed by `latency` (on the
//! store's thread, like a slow disk).

use std::time::Duration;

use gauntlet_runtime::device::FaultStats;

use crate::faults::Injection;
use crate::faults::dependency;
use crate::faults::error::InjectError;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
};

/// `dependency-latency`.
#[derive(Debug, Clone, PartialEq)]
pub struct DependencyLatency {
    /// Added to every call (longer than zero).
    pub latency: Duration,
}

impl FaultKind for DependencyLatency {
    const FACTS: Facts = Facts {
        name: "dependency-latency",
        target: Targets::Dependency,
        fields: &["latency"],
        toxicity: Toxicity::Refused,
        requires: Requires::in_process(Capability::Dependency),
        detected: Detection::Nothing,
        restarts_process: false,
    };
    type Active = FaultStats;

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(DependencyLatency {
            latency: super::latency::positive_latency(fields)?,
        })
    }

    async fn start(&self, scope: Scope<'_>, _: &mut Injection) -> Result<FaultStats, InjectError> {
        dependency::start(scope, |seam| seam.set_latency(self.latency))
    }

    async fn end(&self, before: FaultStats, scope: Scope<'_>, record: &mut Injection) {
        dependency::end(scope, record, |s| s.delayed - before.delayed);
    }
}
