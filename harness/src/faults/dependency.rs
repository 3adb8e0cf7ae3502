//! Faults on the device repository (`dependency-errors`, `dependency-latency`,
//! `dependency-outage`), through its seam (`gauntlet_runtime::device::Faults`). The
//! repository's circuit breaker is what is under test: it must open, reject fast,
//! probe and close again; its transitions show in the fault's windows.
//!
//! The seam holds one setting of each sort, so two dependency faults whose windows
//! overlap share it: the first to end clears both.

use gauntlet_runtime::device::{FaultStats, Faults};

use super::Injection;
use super::error::InjectError;
use super::vocabulary::Scope;

/// Sets the fault with `set`; returns the seam's counts before, to compute what it
/// affected.
pub fn start(scope: Scope<'_>, set: impl FnOnce(&Faults)) -> Result<FaultStats, InjectError> {
    let seam = scope.repository()?;
    let before = seam.stats();
    set(seam);
    Ok(before)
}

/// Clears the fault; records the calls it affected, `affected` of the seam's counts
/// now.
pub fn end(scope: Scope<'_>, record: &mut Injection, affected: impl FnOnce(&FaultStats) -> u64) {
    if let Ok(seam) = scope.repository() {
        seam.clear();
        record.affected = affected(&seam.stats());
    }
}
