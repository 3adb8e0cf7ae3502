//! The validated `[[fault]]` blocks and the `[recovery]` table of a scenario: what to
//! inject, where, when and how hard. Parsing and validation are in
//! `scenario::fault`; the schedule derived from these is in [`super::schedule`].

use std::time::Duration;

use super::kinds::{Fault, Kind};

/// One validated `[[fault]]` block.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Position in the file (`fault[i]`), for messages.
    pub index: usize,
    /// The fault: its kind, with the kind's own settings.
    pub fault: Fault,
    /// The target as written: an address glob, a dependency name, or empty.
    pub target: String,
    /// Start of the first window, from the start of the run.
    pub at: Duration,
    /// Length of each window (`for`).
    pub duration: Duration,
    /// Windows repeat this often from `at`, until the end of the run.
    pub every: Option<Duration>,
    /// Probability (0..=1) that each eligible event (message, repository call, actor)
    /// is affected.
    pub toxicity: f64,
    /// Affect only this many of the matching actors, chosen from the seed.
    pub victims: Option<usize>,
}

impl FaultSpec {
    /// The fault's kind.
    pub fn kind(&self) -> Kind {
        self.fault.kind()
    }

    /// A short label for results and the console: `crash actor://gauntlet/worker-*`.
    pub fn label(&self) -> String {
        if self.target.is_empty() {
            self.kind().name().to_owned()
        } else {
            format!("{} {}", self.kind(), self.target)
        }
    }
}

/// How recovery after a fault is judged (`[recovery]`).
#[derive(Debug, Clone, PartialEq)]
pub struct RecoverySettings {
    /// Throughput and p99 are back when within this fraction of the pre-fault level.
    pub tolerance: f64,
    /// A fault that has not recovered this long after its window fails the run.
    pub within: Duration,
    /// p99 at or below this counts as recovered whatever the baseline (a baseline of
    /// a few microseconds would otherwise make timer noise look like a failure).
    pub p99_floor: Duration,
    /// Length of the pre-fault baseline window.
    pub baseline: Duration,
    /// An error ratio (failed ops over ops finished) at or below this counts as
    /// recovered whatever the baseline's (0 to 1).
    pub error_floor: f64,
}

impl Default for RecoverySettings {
    fn default() -> Self {
        Self {
            tolerance: 0.25,
            within: Duration::from_secs(10),
            p99_floor: Duration::from_millis(5),
            baseline: Duration::from_secs(5),
            error_floor: 0.01,
        }
    }
}
