//! The validated `[[fault]]` blocks and the `[recovery]` table of a scenario: what to
//! inject, where, when and how hard. Parsing and validation are in
//! `scenario::fault`; the schedule derived from these is in [`super::schedule`].

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A fault kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Handlers of matching actors panic; supervision restarts them.
    Crash,
    /// Matching actors are killed (no hooks; queued messages become dead letters).
    Kill,
    /// Handlers of matching actors are delayed (awaited sleep, with jitter).
    Latency,
    /// A burst of `messages` messages at each matching actor's mailbox.
    Flood,
    /// Repository calls fail with probability `toxicity`.
    DependencyErrors,
    /// Repository calls are delayed by `latency`.
    DependencyLatency,
    /// Every repository call fails.
    DependencyOutage,
    /// Messages between the `target` group and the `peer` group are dead-lettered.
    Partition,
    /// Handlers of matching actors block their worker thread for `block_for`.
    BlockingWorker,
    /// `size` bytes are allocated, touched and held for the window.
    MemoryPressure,
    /// Rings of `length` actors ask each other round until the runtime refuses the
    /// ask that closes the cycle.
    AskCycle,
    /// The target's child process is killed (SIGKILL) at the start of the window and
    /// started again (the target built anew from the same scenario and seed) at its
    /// end (`[target] process = "child"`).
    KillProcess,
    /// The target's child process is stopped (SIGSTOP) for the window, then continued.
    PauseProcess,
    /// The target's child process is shut down gracefully at the start of the window
    /// and started again at its end.
    RestartProcess,
}

impl FaultKind {
    /// Every kind, as written in scenario files.
    pub const ALL: &[FaultKind] = &[
        FaultKind::Crash,
        FaultKind::Kill,
        FaultKind::Latency,
        FaultKind::Flood,
        FaultKind::DependencyErrors,
        FaultKind::DependencyLatency,
        FaultKind::DependencyOutage,
        FaultKind::Partition,
        FaultKind::BlockingWorker,
        FaultKind::MemoryPressure,
        FaultKind::AskCycle,
        FaultKind::KillProcess,
        FaultKind::PauseProcess,
        FaultKind::RestartProcess,
    ];

    /// The kind's name as written in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Kill => "kill",
            FaultKind::Latency => "latency",
            FaultKind::Flood => "flood",
            FaultKind::DependencyErrors => "dependency-errors",
            FaultKind::DependencyLatency => "dependency-latency",
            FaultKind::DependencyOutage => "dependency-outage",
            FaultKind::Partition => "partition",
            FaultKind::BlockingWorker => "blocking-worker",
            FaultKind::MemoryPressure => "memory-pressure",
            FaultKind::AskCycle => "ask-cycle",
            FaultKind::KillProcess => "kill-process",
            FaultKind::PauseProcess => "pause-process",
            FaultKind::RestartProcess => "restart-process",
        }
    }

    /// What the kind's `target` names.
    pub fn target_kind(self) -> TargetKind {
        match self {
            FaultKind::DependencyErrors
            | FaultKind::DependencyLatency
            | FaultKind::DependencyOutage => TargetKind::Dependency,
            FaultKind::MemoryPressure | FaultKind::AskCycle => TargetKind::None,
            k if k.acts_on_process() => TargetKind::None,
            _ => TargetKind::Actors,
        }
    }

    /// Whether the kind acts on the target's child process (and so needs
    /// `[target] process = "child"`).
    pub fn acts_on_process(self) -> bool {
        matches!(
            self,
            FaultKind::KillProcess | FaultKind::PauseProcess | FaultKind::RestartProcess
        )
    }

    /// Whether the kind acts at the start of its window only (one event), rather than
    /// for all of it.
    pub fn is_instant(self) -> bool {
        matches!(self, FaultKind::Kill | FaultKind::Flood)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a fault kind's `target` field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// An address glob of actors (`actor://gauntlet/worker-*`).
    Actors,
    /// A named dependency (`device-repository`).
    Dependency,
    /// No target: the fault acts on the process (memory) or brings its own actors.
    None,
}

/// The dependencies faults can name.
pub const DEPENDENCIES: &[&str] = &["device-repository"];

/// Kind-specific settings.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultParams {
    /// `crash`, `kill`, `dependency-errors`, `dependency-outage`: nothing more.
    None,
    /// `latency`, `dependency-latency`.
    Latency {
        /// Least added delay.
        latency: Duration,
        /// Most added on top (uniform).
        jitter: Duration,
    },
    /// `flood`.
    Flood {
        /// Messages per matching actor.
        messages: u64,
    },
    /// `partition`.
    Partition {
        /// Address glob of the other side.
        peer: String,
    },
    /// `blocking-worker`.
    Block {
        /// How long each affected handler blocks its thread.
        block_for: Duration,
    },
    /// `memory-pressure`.
    Memory {
        /// Bytes held for the window.
        bytes: u64,
    },
    /// `ask-cycle`.
    AskCycle {
        /// Actors in each ring.
        length: usize,
        /// Rings closed per window, spread evenly over it.
        cycles: u64,
    },
}

/// One validated `[[fault]]` block.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Position in the file (`fault[i]`), for messages.
    pub index: usize,
    /// The kind.
    pub kind: FaultKind,
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
    /// Kind-specific settings.
    pub params: FaultParams,
}

impl FaultSpec {
    /// A short label for results and the console: `crash actor://gauntlet/worker-*`.
    pub fn label(&self) -> String {
        if self.target.is_empty() {
            self.kind.name().to_owned()
        } else {
            format!("{} {}", self.kind, self.target)
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
}

impl Default for RecoverySettings {
    fn default() -> Self {
        Self {
            tolerance: 0.25,
            within: Duration::from_secs(10),
            p99_floor: Duration::from_millis(5),
            baseline: Duration::from_secs(5),
        }
    }
}
