//! `dependency-outage`: every device-repository call fails. The repository's circuit
//! breaker must open, reject fast, probe (half-open) and close again; its transitions
//! are in the windows.

use gauntlet_runtime::device::FaultStats;

use crate::faults::Injection;
use crate::faults::dependency;
use crate::faults::error::InjectError;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
};

/// `dependency-outage`: no settings of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct DependencyOutage;

impl FaultKind for DependencyOutage {
    const FACTS: Facts = Facts {
        name: "dependency-outage",
        target: Targets::Dependency,
        fields: &[],
        toxicity: Toxicity::RefusedBecause(
            "`dependency-outage` fails every call; use `dependency-errors` for a failure probability",
        ),
        requires: Requires::in_process(Capability::Dependency),
        detected: Detection::Nothing,
        restarts_process: false,
    };
    type Active = FaultStats;

    fn read(_: &mut Fields) -> Option<Self> {
        Some(DependencyOutage)
    }

    async fn start(&self, scope: Scope<'_>, _: &mut Injection) -> Result<FaultStats, InjectError> {
        dependency::start(scope, |seam| seam.set_outage(true))
    }

    async fn end(&self, before: FaultStats, scope: Scope<'_>, record: &mut Injection) {
        dependency::end(scope, record, |s| s.outages - before.outages);
    }
}
