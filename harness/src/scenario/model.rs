//! The validated scenario model: the data type every later stage reads.

use std::time::Duration;

use serde::Deserialize;

use crate::threshold::Threshold;
pub use crate::workload::TargetSpec;

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name, used in output paths and reports.
    pub name: String,
    /// What the scenario is for.
    pub description: String,
    /// The file it came from, as given.
    pub file: String,
    /// Seed for every random choice (replayable runs).
    pub seed: u64,
    /// How long load is generated.
    pub duration: Duration,
    /// Initial part of `duration` that is measured but excluded from the verdict.
    pub warmup: Duration,
    /// Probe interval.
    pub tick: Duration,
    /// Time after `duration` for in-flight ops to finish and the target to shut down;
    /// `duration + grace` is the run's hard deadline.
    pub grace: Duration,
    /// Runtime settings of the target.
    pub runtime: RuntimeSettings,
    /// Watchdog settings.
    pub watchdog: WatchdogSettings,
    /// The system under test: a registered workload and its `[target]` config.
    pub target: TargetSpec,
    /// Load generators, run concurrently.
    pub loads: Vec<Load>,
    /// Pass/fail criteria.
    pub thresholds: Vec<Threshold>,
    /// How `gauntlet capacity` sweeps the scenario (`[capacity]`; `None`: defaults).
    pub capacity: Option<crate::capacity::CapacitySpec>,
    /// The `[baseline]` table: tolerance per comparison metric as written, validated
    /// (see `gauntlet_reports::compare::Tolerances`).
    pub baseline_tolerances: std::collections::BTreeMap<String, String>,
    /// Faults to inject (`[[fault]]`).
    pub faults: Vec<crate::faults::spec::FaultSpec>,
    /// How recovery after a fault is judged (`[recovery]`).
    pub recovery: crate::faults::spec::RecoverySettings,
}

/// Settings of the target's runtime and of the load generator.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeSettings {
    /// Worker threads of the target's tokio runtime.
    pub worker_threads: usize,
    /// Threads generating load, each with its own current-thread runtime.
    pub load_threads: usize,
    /// Default mailbox capacity of the target's actors.
    pub mailbox_capacity: usize,
    /// Default mailbox policy of the target's actors.
    pub mailbox_policy: MailboxPolicy,
    /// Hibernate the target's actors after this long idle (`None`: never). See
    /// `gauntlet_runtime::actor::Props::hibernate_after`.
    pub hibernate_after: Option<Duration>,
}

impl RuntimeSettings {
    /// The default mailbox these settings give the target's actors.
    pub fn mailbox(&self) -> gauntlet_runtime::actor::MailboxConfig {
        use gauntlet_runtime::actor::{MailboxConfig, Policy};
        let policy = match self.mailbox_policy {
            MailboxPolicy::Unbounded => return MailboxConfig::unbounded(),
            MailboxPolicy::Block => Policy::Block,
            MailboxPolicy::Fail => Policy::Fail,
            MailboxPolicy::DropNewest => Policy::DropNewest,
            MailboxPolicy::DropOldest => Policy::DropOldest,
        };
        MailboxConfig::new(self.mailbox_capacity, policy)
    }

    /// A system configuration with these settings (default mailbox, hibernation) and
    /// the runtime's defaults for the rest: what a workload passes to
    /// `System::with_config` so that `[runtime]` applies to its actors.
    pub fn system_config(&self) -> gauntlet_runtime::actor::SystemConfig {
        gauntlet_runtime::actor::SystemConfig {
            default_mailbox: self.mailbox(),
            hibernate_after: self.hibernate_after,
            ..Default::default()
        }
    }
}

/// What a full mailbox does with a new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailboxPolicy {
    /// The sender waits for room.
    Block,
    /// The send fails with an error.
    Fail,
    /// The new message is dropped (and counted).
    DropNewest,
    /// The oldest queued message is dropped (and counted).
    DropOldest,
    /// No bound (measured, not recommended).
    Unbounded,
}

/// Watchdog settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchdogSettings {
    /// A stall is ops in flight with none completing for this long.
    pub stall_after: Duration,
    /// Whether a stall fails the verdict.
    pub fail_on_stall: bool,
    /// Budget for the target's graceful shutdown.
    pub shutdown_timeout: Duration,
}

/// One `[[load]]` block: an executor issuing one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// Unique name (defaults to the op).
    pub name: String,
    /// The operation issued.
    pub op: String,
    /// How ops are scheduled.
    pub executor: Executor,
    /// Offset from the start of the run.
    pub start: Duration,
    /// Bound on ops in flight.
    pub max_in_flight: u64,
    /// A scheduled start still waiting for a free slot this long after its intended
    /// time is dropped (counted in `dropped_iterations`).
    pub drop_after: Duration,
    /// An op not complete after this long counts as a timeout error.
    pub op_timeout: Duration,
}

/// A stage of a ramping executor: move linearly to `target` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// Rate (ops/s) or concurrency reached at the end of the stage.
    pub target: f64,
    /// Length of the stage.
    pub duration: Duration,
}

/// How a load schedules its ops (k6's executors).
#[derive(Debug, Clone, PartialEq)]
pub enum Executor {
    /// Open loop: `rate` ops per second for `duration`.
    ConstantArrivalRate {
        /// Ops per second.
        rate: f64,
        /// How long.
        duration: Duration,
    },
    /// Open loop: the rate moves linearly through `stages`, from `start_rate`.
    RampingArrivalRate {
        /// Rate at the start, ops per second.
        start_rate: f64,
        /// Stages.
        stages: Vec<Stage>,
    },
    /// Closed loop: `concurrency` workers each issue an op as soon as the last completes.
    ConstantConcurrency {
        /// Number of concurrent workers.
        concurrency: u64,
        /// How long.
        duration: Duration,
    },
    /// Closed loop: the number of workers moves linearly through `stages`.
    RampingConcurrency {
        /// Workers at the start.
        start_concurrency: u64,
        /// Stages.
        stages: Vec<Stage>,
    },
}

/// The executor names, with one line of help each (for `gauntlet list`).
pub const EXECUTORS: &[(&str, &str)] = &[
    (
        "constant-arrival-rate",
        "open loop: `rate` ops/s at fixed intended times; latency from the intended start",
    ),
    (
        "ramping-arrival-rate",
        "open loop: rate ramps linearly through `stages` from `start_rate`",
    ),
    (
        "constant-concurrency",
        "closed loop: `concurrency` workers, each issuing the next op when the last completes",
    ),
    (
        "ramping-concurrency",
        "closed loop: the number of workers ramps through `stages` from `start_concurrency`",
    ),
];

impl Executor {
    /// The executor's name as written in scenarios.
    pub fn name(&self) -> &'static str {
        match self {
            Executor::ConstantArrivalRate { .. } => "constant-arrival-rate",
            Executor::RampingArrivalRate { .. } => "ramping-arrival-rate",
            Executor::ConstantConcurrency { .. } => "constant-concurrency",
            Executor::RampingConcurrency { .. } => "ramping-concurrency",
        }
    }

    /// How long the executor runs, from its start.
    pub fn length(&self) -> Duration {
        match self {
            Executor::ConstantArrivalRate { duration, .. }
            | Executor::ConstantConcurrency { duration, .. } => *duration,
            Executor::RampingArrivalRate { stages, .. }
            | Executor::RampingConcurrency { stages, .. } => {
                stages.iter().map(|s| s.duration).sum()
            }
        }
    }

    /// Whether this is an open-loop (arrival-rate) executor.
    pub fn is_open_loop(&self) -> bool {
        matches!(
            self,
            Executor::ConstantArrivalRate { .. } | Executor::RampingArrivalRate { .. }
        )
    }
}

impl Scenario {
    /// All op names issued by the loads, deduplicated, in order of first use.
    pub fn ops(&self) -> Vec<&str> {
        let mut ops: Vec<&str> = Vec::new();
        for l in &self.loads {
            if !ops.contains(&l.op.as_str()) {
                ops.push(&l.op);
            }
        }
        ops
    }

    /// The hard deadline: `duration + grace`.
    pub fn deadline(&self) -> Duration {
        self.duration + self.grace
    }
}
