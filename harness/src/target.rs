//! The seam between the harness and a system under test.
//!
//! A workload's [`Workload::build`](crate::workload::Workload::build) makes a [`Target`]: the harness calls [`Target::call`] once per op
//! from its load-generator threads and measures it; it samples [`Target::sample`]
//! every tick; at the end it calls [`Target::shutdown`] and reads
//! [`Target::messages`]. The target itself lives on its own tokio runtime (its
//! actors' tasks are spawned there), so the runtime probes see only the target's
//! tasks. Built-in workloads are in [`crate::workload`].

use std::future::Future;
use std::time::Duration;

use gauntlet_reports::schema::{MessageAccounting, TargetSample};
use gauntlet_runtime::actor::System;

use crate::workload::{Checkpoint, InvariantCheck};

/// Index of an operation in a workload's op list (see `TargetSpec::ops`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpId(pub usize);

/// Why an op failed. Deliberately small and allocation-free: the harness counts
/// failures per op, it does not store them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// The target refused the op (full mailbox under `fail`, stopped actor, ...).
    #[error("rejected by the target")]
    Rejected,
    /// The target's own timeout fired (e.g. an ask timed out).
    #[error("timed out inside the target")]
    Timeout,
    /// The op ran and failed.
    #[error("failed")]
    Failed,
    /// The target was not there to take the op: its process is dead, stopping or
    /// restarting (`[target] process = "child"`). Fails at once, never waits out the
    /// op's timeout.
    #[error("the target process is not running")]
    Unavailable,
}

/// Something the target's runtime noticed, reported to the harness once per tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetEvent {
    /// The runtime refused an operation that would have closed a cycle of waiters.
    Deadlock {
        /// The cycle, as addresses, starting and ending with the same actor.
        cycle: Vec<String>,
    },
    /// The runtime saw a handler busy for longer than its stall threshold.
    Stall {
        /// The busy actor.
        actor: String,
        /// How long it had been busy.
        busy_for: Duration,
        /// The actor it was waiting on, if it was in an ask.
        waiting_on: Option<String>,
    },
    /// Events were lost because the harness read them too slowly.
    Missed {
        /// How many.
        count: u64,
    },
}

/// What a target's shutdown reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownOutcome {
    /// Whether everything stopped gracefully within the budget.
    pub clean: bool,
    /// A one-line description for the summary (actors stopped, messages drained, ...).
    pub detail: String,
}

/// Breakdowns of a target's statistics that the timeline does not keep, read once per
/// tick only while live metrics are exported (`--metrics-addr`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleDetail {
    /// Actors alive per kind (e.g. `device`, `room`).
    pub actors_by_kind: Vec<(String, u64)>,
    /// Messages dropped so far (cumulative) per mailbox policy (`drop-newest`, ...).
    pub dropped_by_policy: Vec<(&'static str, u64)>,
}

/// Why a target could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build target: {0}")]
pub struct BuildError(pub String);

/// A built system under test, driven by the harness (the dynamic half of a
/// [`Workload`](crate::workload::Workload); see the contract in [`crate::workload`]).
///
/// Only [`Target::call`] is required. A target built on the actor runtime should also
/// hand over its [`System`] ([`Target::system`]): the defaults then sample the runtime,
/// report its deadlocks and stalls, account for its messages, shut it down, and open it
/// to every actor fault.
pub trait Target: Send + Sync + 'static {
    /// Issues one op and resolves when it is complete. `seq` numbers the ops of one
    /// load (for round-robin choices). Called concurrently from several threads; the
    /// future runs on a load-generator thread, not on the target's runtime, and may be
    /// dropped at any await point (op timeout, abort): it must be cancel-safe.
    fn call(&self, op: OpId, seq: u64) -> impl Future<Output = Result<(), OpError>>;

    /// The target's actor system, if it is built on gauntlet-runtime.
    fn system(&self) -> Option<&System> {
        None
    }

    /// A snapshot of the target's own statistics; cheap, called once per tick. By
    /// default, the actor system's (or nothing without one).
    fn sample(&self) -> TargetSample {
        self.system()
            .map(crate::workload::system_view::sample)
            .unwrap_or_default()
    }

    /// Breakdowns for live metrics; cheap, called once per tick when metrics are
    /// exported. By default, the actor system's actors per kind and drops per policy.
    fn sample_detail(&self) -> SampleDetail {
        self.system()
            .map(crate::workload::system_view::sample_detail)
            .unwrap_or_default()
    }

    /// The target's view of what is busy, recorded when the watchdog sees a stall.
    fn stall_detail(&self) -> String {
        self.system()
            .map(crate::workload::system_view::stall_detail)
            .unwrap_or_default()
    }

    /// Events of the target's own (beyond its actor system's deadlocks and stalls,
    /// which the harness reads itself) since the last call. Called once per tick;
    /// must not block.
    fn events(&self) -> Vec<TargetEvent> {
        Vec::new()
    }

    /// Checks the workload's invariants at `at` (see
    /// [`Invariant`](crate::workload::Invariant)): at [`Checkpoint::End`] every
    /// declared invariant, at [`Checkpoint::Tick`] those declared `every_tick`. Runs on
    /// the target runtime, bounded by the harness (a check that does not return in
    /// time is recorded as not measured).
    fn check_invariants(&self, at: Checkpoint) -> impl Future<Output = Vec<InvariantCheck>> + Send {
        let _ = at;
        async { Vec::new() }
    }

    /// Shuts the target down gracefully within `timeout`. Runs on the target's runtime.
    /// By default, shuts the actor system down (or does nothing without one).
    fn shutdown(&self, timeout: Duration) -> impl Future<Output = ShutdownOutcome> + Send {
        async move {
            match self.system() {
                Some(system) => crate::workload::system_view::shutdown(system, timeout).await,
                None => ShutdownOutcome {
                    clean: true,
                    detail: "nothing to stop".to_owned(),
                },
            }
        }
    }

    /// Message accounting, read after shutdown. By default, the actor system's.
    fn messages(&self) -> MessageAccounting {
        self.system()
            .map(crate::workload::system_view::messages)
            .unwrap_or_default()
    }

    /// Reads `keys` (as the target's [`Ack`](crate::durability::Ack)s named them) back
    /// through the target's own read path, for the durability checker
    /// ([`crate::durability`]): one entry per key, `None` where it cannot be read. Runs
    /// on the target runtime. By default nothing can be read: a target that
    /// acknowledges writes must implement it.
    fn read_back(
        &self,
        keys: Vec<String>,
    ) -> impl Future<Output = Vec<Option<crate::durability::Stored>>> + Send {
        async move { keys.iter().map(|_| None).collect() }
    }

    /// What the durability checker found, for a target that runs it (a target child
    /// process, see [`crate::child`]); `None` by default.
    fn durability(&self) -> Option<gauntlet_reports::schema::Durability> {
        None
    }

    /// What of the target `[[fault]]` blocks can act on (see [`crate::faults`]). By
    /// default, the actor system.
    fn fault_surface(&self) -> crate::faults::FaultSurface {
        crate::faults::FaultSurface {
            system: self.system().cloned(),
            ..Default::default()
        }
    }
}
