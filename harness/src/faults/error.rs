//! Why a fault window could not be injected. The injector records the message in the
//! window's `error` (prefixed with the fault and its kind), and the window then counts
//! in `faults.unrecovered`: a fault that did not happen proves nothing.

use gauntlet_runtime::actor::SpawnError;

use super::selector::SelectorError;
use crate::child::ProcessFaultError;

/// Why a fault kind could not start (or end) a window.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// The kind acts through the target's actor system, and the target hands over none.
    #[error("the target has no actor system to inject into")]
    NoActorSystem,
    /// `flood` needs the workload's own messages, and this workload cannot send them.
    #[error("the target's workload cannot be flooded")]
    NotFloodable,
    /// The dependency kinds act through the device repository's seam.
    #[error("the target has no device repository")]
    NoRepository,
    /// The process kinds act on the target's child process.
    #[error("the target does not run in a child process")]
    NotInChild,
    /// The `target` (or `peer`) glob matched no live actor, or is not a glob.
    #[error(transparent)]
    Selector(#[from] SelectorError),
    /// Every victim drawn had stopped before the fault could be installed on it.
    #[error("every chosen victim stopped before the fault reached it")]
    VictimsGone,
    /// A partition with no live actor on one side cuts nothing.
    #[error("partition needs live actors on both sides (found {target} and {peer})")]
    EmptySide {
        /// Live actors found on the `target` side.
        target: usize,
        /// Live actors found on the `peer` side.
        peer: usize,
    },
    /// `memory-pressure` could not allocate its ballast.
    #[error("cannot allocate {0} bytes")]
    Allocation(u64),
    /// `ask-cycle` could not spawn a member of its ring.
    #[error("cannot spawn the ask-cycle ring: {0}")]
    RingSpawn(#[source] SpawnError),
    /// `ask-cycle` could not link its ring (a member stopped at once).
    #[error("cannot link the ask-cycle ring: {0}")]
    RingLink(String),
    /// Signalling, stopping or restarting the child process failed.
    #[error(transparent)]
    Process(#[from] ProcessFaultError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_ones_results_have_always_carried() {
        // results.json carries these strings; a rename here is a schema change.
        assert_eq!(
            InjectError::EmptySide { target: 0, peer: 2 }.to_string(),
            "partition needs live actors on both sides (found 0 and 2)"
        );
        assert_eq!(
            InjectError::Process(ProcessFaultError::NotRunning).to_string(),
            "no target process is running"
        );
        assert_eq!(
            InjectError::Allocation(7).to_string(),
            "cannot allocate 7 bytes"
        );
    }
}
