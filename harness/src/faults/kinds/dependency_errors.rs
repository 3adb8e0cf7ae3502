//! `dependency-errors`: each device-repository call fails with probability
//! `toxicity`.

use gauntlet_runtime::device::FaultStats;

use crate::faults::Injection;
use crate::faults::dependency;
use crate::faults::error::InjectError;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
};

/// `dependency-errors`: its probability is the fault's `toxicity`.
#[derive(Debug, Clone, PartialEq)]
pub struct DependencyErrors;

impl FaultKind for DependencyErrors {
    const FACTS: Facts = Facts {
        name: "dependency-errors",
        target: Targets::Dependency,
        fields: &[],
        toxicity: Toxicity::Thins,
        requires: Requires::in_process(Capability::Dependency),
        detected: Detection::Nothing,
        restarts_process: false,
    };
    type Active = FaultStats;

    fn read(_: &mut Fields) -> Option<Self> {
        Some(DependencyErrors)
    }

    async fn start(&self, scope: Scope<'_>, _: &mut Injection) -> Result<FaultStats, InjectError> {
        let toxicity = scope.spec.toxicity;
        dependency::start(scope, |seam| seam.set_error_probability(toxicity))
    }

    async fn end(&self, before: FaultStats, scope: Scope<'_>, record: &mut Injection) {
        dependency::end(scope, record, |s| s.errors - before.errors);
    }
}
