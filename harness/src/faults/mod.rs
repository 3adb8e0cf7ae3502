//! Fault injection: a seeded, replayable fault schedule run against the target, and
//! the recovery measured around every fault window.
//!
//! A scenario's `[[fault]]` blocks ([`spec`]) become a [`schedule`] of windows. Every
//! kind is one module under [`kinds`], described by its [`vocabulary::Facts`] and
//! implementing [`vocabulary::FaultKind`]. While the load runs, the [`injector`]
//! starts and ends each window on time, and the kind acts on the target through its
//! [`FaultSurface`]: the actor runtime's fault seams (`gauntlet_runtime::actor::fault`)
//! for [`actor`] faults (crash, kill, latency, blocking-worker) and [`traffic`] faults
//! (flood, partition), the device repository's seam for [`dependency`] faults, the
//! harness's own process for [`memory`] pressure, a [`ring`] of its own actors for
//! ask cycles, and the target's child for [`process`] faults. A window that cannot be
//! injected records why ([`error::InjectError`]). After the run, [`recovery`] turns
//! each injection and the timeline into a `FaultRecord`: the windows before, during
//! and after, and how long throughput, p99 and errors took to come back.
//!
//! **Replay.** Every random choice (victims, whether an event is affected, jitter) is
//! drawn from a generator seeded with the scenario seed mixed with the fault's and
//! window's index ([`schedule::window_seed`]); victims are drawn from the sorted list of
//! matching live actors. `gauntlet run --seed N` therefore injects the same faults at
//! the same times into the same actors. (Which *messages* a toxicity below 1 hits also
//! follows the seed, but message arrival order on a multi-threaded runtime does not,
//! so per-message outcomes replay only statistically.)

pub mod actor;
pub mod console;
pub mod dependency;
pub mod error;
pub mod injector;
pub mod kinds;
pub mod memory;
pub mod process;
pub mod recovery;
pub mod ring;
pub mod schedule;
pub mod selector;
pub mod spec;
pub mod traffic;
pub mod vocabulary;

pub use kinds::{Fault, Kind};

use std::sync::Arc;

use gauntlet_runtime::actor::{Address, System};
use gauntlet_runtime::device::Faults as RepositoryFaults;

/// What happened to a flood's messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloodOutcome {
    /// Sent (every message offered).
    pub sent: u64,
    /// Accepted into the mailbox (queued, or queued after evicting an older one).
    pub accepted: u64,
    /// Refused: the mailbox was full (`block`, `fail`) or closed.
    pub refused: u64,
}

/// Sends a burst of `n` messages of the workload's own type to the actor at an
/// address, without waiting (`try_tell`); `None` when no such actor lives there.
pub type Flooder = Arc<dyn Fn(&Address, u64) -> Option<FloodOutcome> + Send + Sync>;

/// What of a target faults can act on. A target without a surface takes only
/// `memory-pressure`.
#[derive(Clone, Default)]
pub struct FaultSurface {
    /// The target's actor system (crash, kill, latency, blocking-worker, partition,
    /// ask-cycle, and the live addresses selectors resolve against).
    pub system: Option<System>,
    /// The device repository's fault seam (`dependency-*`).
    pub repository: Option<Arc<RepositoryFaults>>,
    /// Sends the workload's messages (`flood`).
    pub flood: Option<Flooder>,
    /// The target's child process (`kill-process`, `pause-process`,
    /// `restart-process`; only with `[target] process = "child"`).
    pub process: Option<crate::child::ProcessControl>,
}

impl std::fmt::Debug for FaultSurface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultSurface")
            .field("system", &self.system)
            .field("repository", &self.repository.is_some())
            .field("flood", &self.flood.is_some())
            .field("process", &self.process)
            .finish()
    }
}

impl FaultSurface {
    /// The live actors' addresses (empty without a system).
    pub fn live(&self) -> Vec<String> {
        self.system.as_ref().map_or_else(Vec::new, |s| {
            s.addresses()
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect()
        })
    }
}

/// One injected window, as the injector saw it (before recovery is measured).
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    /// Index of the fault in the scenario.
    pub fault: usize,
    /// Index of the window.
    pub window: usize,
    /// The kind.
    pub kind: Kind,
    /// The target as written.
    pub target: String,
    /// Scheduled start, seconds from the start of the run.
    pub start_s: f64,
    /// Scheduled end (or when the run ended, if earlier).
    pub end_s: f64,
    /// The toxicity.
    pub toxicity: f64,
    /// Actors hit, sorted.
    pub victims: Vec<String>,
    /// Events affected.
    pub affected: u64,
    /// Ask cycles the runtime refused (ask-cycle only).
    pub detected: Option<u64>,
    /// Why injecting failed, if it did.
    pub error: Option<String>,
    /// Process faults: how long the new target process took to be ready.
    pub restart_s: Option<f64>,
}

/// Fault windows that failed to inject or did not recover within the bound: the
/// `faults.unrecovered` invariant.
pub fn unrecovered(run: &gauntlet_reports::schema::RunResult) -> u64 {
    run.faults
        .iter()
        .filter(|f| f.error.is_some() || !f.recovered)
        .count() as u64
}

/// Injected faults the target's detection missed: the `faults.undetected` invariant,
/// as each kind's [`vocabulary::Detection`] counts them (each `ask-cycle` the runtime
/// did not refuse as a deadlock counts one, and so does each `blocking-worker` window
/// that blocked handlers without the runtime's stall watchdog reporting any stall).
pub fn undetected(run: &gauntlet_reports::schema::RunResult) -> u64 {
    run.faults
        .iter()
        .filter(|f| f.error.is_none())
        .filter_map(|f| {
            let kind = Kind::from_name(&f.kind)?;
            Some(
                kind.facts()
                    .detected
                    .undetected(f.events_affected, f.detected),
            )
        })
        .sum()
}
