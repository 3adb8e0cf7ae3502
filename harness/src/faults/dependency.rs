//! Faults on the device repository (`dependency-errors`, `dependency-latency`,
//! `dependency-outage`), through its seam (`gauntlet_runtime::device::Faults`). The
//! repository's circuit breaker is what is under test: it must open, reject fast,
//! probe and close again; its transitions show in the fault's windows.
//!
//! The seam holds one setting of each sort, so two dependency faults whose windows
//! overlap share it: the first to end clears both.

use gauntlet_runtime::device::{FaultStats, Faults};

use super::spec::{FaultKind, FaultParams, FaultSpec};

/// Sets the fault; returns the seam's counts before, to compute what it affected.
pub fn start(faults: &Faults, spec: &FaultSpec) -> FaultStats {
    let before = faults.stats();
    match (spec.kind, &spec.params) {
        (FaultKind::DependencyErrors, _) => faults.set_error_probability(spec.toxicity),
        (FaultKind::DependencyLatency, FaultParams::Latency { latency, .. }) => {
            faults.set_latency(*latency)
        }
        (FaultKind::DependencyOutage, _) => faults.set_outage(true),
        _ => {}
    }
    before
}

/// Clears the fault; returns the repository calls it affected.
pub fn end(faults: &Faults, spec: &FaultSpec, before: FaultStats) -> u64 {
    faults.clear();
    let after = faults.stats();
    match spec.kind {
        FaultKind::DependencyErrors => after.errors - before.errors,
        FaultKind::DependencyLatency => after.delayed - before.delayed,
        _ => after.outages - before.outages,
    }
}
