//! The `results.json` schema: what one `gauntlet run` measured.
//!
//! This is the contract between the harness, the report generators, CI gates and any
//! tool a user writes. Every field is documented here; units are in the field name
//! (`_ns`, `_s`, `_bytes`, `_per_s`). A value that could not be measured is `null`,
//! never a made-up zero. Readers must check [`RunResult::schema_version`] and refuse
//! versions they do not know ([`RunResult::from_json`] does).
//!
//! Compatibility rule: adding an optional field keeps the version; renaming, removing
//! or changing the meaning of a field bumps [`SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};

use crate::histogram::EncodedHistogram;

/// The schema version this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything one run measured, and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Version of this schema ([`SCHEMA_VERSION`] when written by this crate).
    pub schema_version: u32,
    /// Version of the `gauntlet` binary that produced the file.
    pub gauntlet_version: String,
    /// The scenario that was run, as resolved after CLI overrides.
    pub scenario: ScenarioInfo,
    /// Wall-clock start of the run, milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// Measured wall-clock time from the first op to the end of shutdown, in seconds.
    pub elapsed_s: f64,
    /// Whether the run completed or was aborted.
    pub status: RunStatus,
    /// Why the run was aborted (`null` when it completed).
    pub abort_reason: Option<String>,
    /// The machine and runtime configuration the run used.
    pub environment: Environment,
    /// Per-operation results over the measured window (after warm-up).
    pub ops: Vec<OpResult>,
    /// Per-load (executor) accounting over the whole run.
    pub loads: Vec<LoadResult>,
    /// One entry per probe tick, warm-up included.
    pub timeline: Vec<Tick>,
    /// Injected faults with their windows and measured recovery (empty when the
    /// scenario injects none).
    pub faults: Vec<FaultRecord>,
    /// Message accounting reported by the target runtime.
    pub messages: MessageAccounting,
    /// Deadlocks the runtime detected.
    pub deadlocks: Vec<DeadlockRecord>,
    /// Stalls the watchdog detected.
    pub stalls: Vec<StallRecord>,
    /// Task and memory leak check around the target's lifetime.
    pub leaks: LeakCheck,
    /// The workload's invariants: how often each was checked and found violated
    /// (empty when the workload declares none; absent in files of older versions).
    #[serde(default)]
    pub invariants: Vec<InvariantRecord>,
    /// Every threshold of the scenario with its observed value.
    pub thresholds: Vec<ThresholdOutcome>,
    /// Pass or fail, and why.
    pub verdict: Verdict,
    /// Which shard of a sharded run (`gauntlet run --shard I/N`) this is; absent for
    /// an unsharded run (see [`crate::shard`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::ShardInfo>,
    /// The shards a merged result was made from (`gauntlet merge`), with what stays
    /// per shard (faults, stalls, leaks, verdict); absent for a single run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<crate::shard::MergedFrom>,
    /// What the durability checker found: writes the target acknowledged, read back
    /// after every restart of its process and at the end (present only when the
    /// scenario restarts the target's process: `kill-process`, `restart-process`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability: Option<Durability>,
}

/// The durability checker's findings (the harness's `durability` module): what the
/// target acknowledged and what a restarted target still had.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Durability {
    /// Writes acknowledged as durable (committed before the reply).
    pub acknowledged: u64,
    /// Of those, found missing or older than acknowledged when read back.
    pub lost_acknowledged: u64,
    /// Writes acknowledged as written behind (e.g. telemetry readings), which a kill
    /// may lose within the target's documented bound.
    pub write_behind_acknowledged: u64,
    /// Of those, lost in a kill (the state read back after the restart was older).
    pub write_behind_lost: u64,
    /// How old the oldest lost written-behind write was when its process went down,
    /// in milliseconds (`null`: none lost).
    pub write_behind_oldest_lost_ms: Option<f64>,
    /// The target's documented bound on that age, in milliseconds (`null`: the target
    /// states none).
    pub write_behind_bound_ms: Option<f64>,
    /// Read-backs done: one after every restart, one at the end.
    pub readbacks: u64,
    /// The acknowledged writes lost, first ones first (at most 100).
    pub lost: Vec<LostWrite>,
}

/// One acknowledged durable write that a read-back did not find.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostWrite {
    /// The key written (`device-17`).
    pub key: String,
    /// The value acknowledged.
    pub value: String,
    /// The version acknowledged.
    pub version: u64,
    /// The version read back (`null`: the key could not be read).
    pub found_version: Option<u64>,
    /// The value read back.
    pub found_value: Option<String>,
    /// When the read-back found it missing, seconds from the start of the run.
    pub found_at_s: f64,
}

/// Identification of the scenario a run executed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// The scenario's `name`.
    pub name: String,
    /// The scenario's `description` (empty when it has none).
    pub description: String,
    /// Path of the scenario file as given on the command line.
    pub file: String,
    /// The seed every random choice of the run derives from.
    pub seed: u64,
    /// Planned duration of the load, in seconds (after `--duration`).
    pub duration_s: f64,
    /// Warm-up at the start of the run, in seconds: measured, shown in the timeline,
    /// excluded from `ops` and from the verdict.
    pub warmup_s: f64,
    /// Probe interval, in seconds.
    pub tick_s: f64,
    /// The target workload (`actors`, `synthetic`, ...).
    pub workload: String,
    /// The scenario's `[baseline]` table: tolerance per comparison metric as written
    /// (`p99 = "30%"`), read by `gauntlet compare` (empty: the defaults).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub baseline_tolerances: std::collections::BTreeMap<String, String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every load ran to its end and the target shut down within its budget.
    Completed,
    /// The run hit its hard deadline or was interrupted; its figures are partial.
    Aborted,
}

/// Where the run happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Operating system (`std::env::consts::OS`).
    pub os: String,
    /// CPU architecture (`std::env::consts::ARCH`).
    pub arch: String,
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// Worker threads of the target's tokio runtime.
    pub target_worker_threads: usize,
    /// Threads generating load (each with its own current-thread runtime).
    pub load_threads: usize,
}

/// Summary of a latency distribution, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Number of recorded values.
    pub count: u64,
    /// Smallest value.
    pub min_ns: u64,
    /// Arithmetic mean.
    pub mean_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest value.
    pub max_ns: u64,
}

/// Results of one operation (e.g. `ask`) over the measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpResult {
    /// Operation name as used in the scenario (`op = "ask"`).
    pub op: String,
    /// Completed ops (successful or failed), excluding warm-up.
    pub count: u64,
    /// Ops that completed with an error or timed out.
    pub errors: u64,
    /// Ops that did not complete within the load's `op_timeout` (included in `errors`).
    pub timeouts: u64,
    /// Errors by the kind the target reported (`OpError`): refused by the target, and
    /// ran and failed (the target's own timeouts are in `timeouts`). Absent in files of
    /// older versions.
    #[serde(default)]
    pub error_kinds: ErrorKinds,
    /// Completed ops per second over the measured window.
    pub throughput_per_s: f64,
    /// Latency from each op's *intended* start to its completion (open loop,
    /// coordinated-omission corrected). For closed-loop executors the intended start
    /// is the actual start. Thresholds on `latency{op=..}` read this.
    pub latency: LatencySummary,
    /// Service time: from the op's actual start to its completion. The difference to
    /// `latency` is time the op spent waiting for the load generator (a free slot or
    /// the timer), which is part of what a user would have experienced.
    pub service_time: LatencySummary,
    /// The full latency histogram (values in ns), decodable by any HdrHistogram.
    pub histogram: EncodedHistogram,
    /// The full service-time histogram (values in ns).
    #[serde(default)]
    pub service_histogram: Option<EncodedHistogram>,
}

/// Errors of one op by the kind the target reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorKinds {
    /// The target refused the op (full mailbox under `fail`, stopped actor, ...), or
    /// was unavailable (a target process that is down).
    pub rejected: u64,
    /// The op ran and failed.
    pub failed: u64,
}

/// Accounting of one `[[load]]` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadResult {
    /// The load's name.
    pub name: String,
    /// The operation it issued.
    pub op: String,
    /// The executor (`constant-arrival-rate`, ...).
    pub executor: String,
    /// Ops the schedule called for (arrival-rate executors); `null` for closed-loop
    /// executors, which have no schedule.
    pub scheduled: Option<u64>,
    /// Ops actually started.
    pub started: u64,
    /// Ops that completed (successfully or not).
    pub completed: u64,
    /// Ops that completed with an error or timed out.
    pub errors: u64,
    /// Scheduled starts that were not issued because every in-flight slot was busy
    /// past the load's `drop_after` (k6's `dropped_iterations`).
    pub dropped_iterations: u64,
    /// The part of `dropped_iterations` after the warm-up (what thresholds read).
    #[serde(default)]
    pub dropped_iterations_measured: u64,
    /// Ops still in flight when the run ended (cancelled by an abort or shutdown).
    pub unfinished: u64,
    /// The load's bound on ops in flight.
    pub max_in_flight: u64,
    /// Ticks after the warm-up in which the load was starved by the generator (see
    /// [`GeneratorLoadTick::starved`]); 0 in results written before it was recorded.
    #[serde(default)]
    pub starved_ticks: u64,
}

/// One operation's figures during one tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickOp {
    /// Operation name.
    pub op: String,
    /// Ops completed during the tick.
    pub completed: u64,
    /// Ops that failed during the tick.
    pub errors: u64,
    /// Completed ops per second during the tick.
    pub rate_per_s: f64,
    /// Median latency of the ops recorded this tick (`null` when none were).
    pub p50_ns: Option<u64>,
    /// 90th-percentile latency of the ops recorded this tick.
    #[serde(default)]
    pub p90_ns: Option<u64>,
    /// 99th-percentile latency of the ops recorded this tick.
    pub p99_ns: Option<u64>,
    /// 99.9th-percentile latency of the ops recorded this tick.
    #[serde(default)]
    pub p999_ns: Option<u64>,
    /// Largest latency recorded this tick.
    pub max_ns: Option<u64>,
}

/// What the probes saw at the end of one tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// End of the tick, seconds since the start of the load.
    pub t_s: f64,
    /// Whether the tick lies in the warm-up.
    pub warmup: bool,
    /// Per-operation figures.
    pub ops: Vec<TickOp>,
    /// Ops per second the schedules called for during the tick (arrival-rate loads).
    pub offered_per_s: f64,
    /// Dropped iterations during the tick.
    pub dropped: u64,
    /// Ops in flight at the end of the tick.
    pub in_flight: u64,
    /// Process probes.
    pub process: ProcessSample,
    /// Target tokio runtime probes.
    pub runtime: RuntimeSample,
    /// The target runtime's own statistics.
    pub target: TargetSample,
    /// Kinds of the faults whose window overlapped this tick (`crash`, `partition`, ...).
    #[serde(default)]
    pub active_faults: Vec<String>,
    /// Whether the load generator itself kept up during the tick; `None` in results
    /// written before it was recorded.
    #[serde(default)]
    pub generator: Option<GeneratorTick>,
}

/// The load generator's own state during one tick: read it to tell a run (or a
/// capacity level) whose *generator* was saturated from one whose target was.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorTick {
    /// Busy fraction of the busiest load thread during the tick (0 to 1; 1 means the
    /// thread never went idle), from tokio's `worker_total_busy_duration`.
    pub busy_ratio: Option<f64>,
    /// 99th percentile of how late open-loop ops started after their intended time,
    /// all loads together, in seconds (from a sample: every 8th op of each load
    /// thread); `None` when no open-loop op started.
    pub lateness_p99_s: Option<f64>,
    /// The largest start lateness of the tick (every op), in seconds. Never above the
    /// loads' `drop_after`: a later op is dropped instead.
    pub max_lateness_s: Option<f64>,
    /// Mean start lateness of the tick's open-loop ops, all loads, in seconds (every
    /// op, exact); `None` when no open-loop op started, or in results written before
    /// it was recorded.
    #[serde(default)]
    pub lateness_mean_s: Option<f64>,
    /// Iterations dropped during the tick, all loads.
    pub dropped: u64,
    /// The same per load, in the scenario's order.
    pub loads: Vec<GeneratorLoadTick>,
}

/// One load's share of [`GeneratorTick`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorLoadTick {
    /// The load's name.
    pub load: String,
    /// Ops of this load completed during the tick.
    pub completed: u64,
    /// Iterations of this load dropped during the tick.
    pub dropped: u64,
    /// 99th percentile start lateness of this load's ops, in seconds.
    pub lateness_p99_s: Option<f64>,
    /// Largest start lateness of this load's ops, in seconds.
    pub max_lateness_s: Option<f64>,
    /// Mean start lateness of this load's ops, in seconds (every op, exact).
    #[serde(default)]
    pub lateness_mean_s: Option<f64>,
    /// The generator, not the load's in-flight bound, held this load back: it
    /// dropped iterations while fewer than half of its `max_in_flight` ops were in
    /// flight at the end of the tick.
    pub starved: bool,
}

/// Process-level probes (this process: harness and target together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    /// Resident set size.
    pub rss_bytes: Option<u64>,
    /// CPU use during the tick, percent of one core (200 = two cores busy).
    pub cpu_percent: Option<f64>,
    /// OS threads of the process.
    pub threads: Option<u64>,
    /// Mean busy ratio of the load generator's threads over the tick (CPU time over
    /// wall time per thread, 0..1; `null` where not measured).
    #[serde(default)]
    pub load_threads_busy_ratio: Option<f64>,
    /// Busy ratio of the device runtime's store writer thread over the tick (`null`
    /// when there is none in this process).
    #[serde(default)]
    pub store_thread_busy_ratio: Option<f64>,
    /// CPU time stolen by the hypervisor during the tick, percent of all CPUs' time.
    #[serde(default)]
    pub steal_percent: Option<f64>,
    /// CPU used by other processes on the machine during the tick, percent of one
    /// core (200 = two cores busy).
    #[serde(default)]
    pub other_cpu_percent: Option<f64>,
}

/// Probes of the target's tokio runtime.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuntimeSample {
    /// Tasks alive on the target runtime (`RuntimeMetrics::num_alive_tasks`).
    pub alive_tasks: u64,
    /// Tasks waiting in the runtime's global queue.
    pub global_queue_depth: u64,
    /// Fraction of the tick the runtime's workers were busy (0..=1 per worker, averaged).
    pub busy_ratio: Option<f64>,
    /// Largest scheduling lag seen this tick: how late a sleeping probe task on the
    /// target runtime woke up (includes tokio's 1 ms timer resolution).
    pub sched_lag_max_ns: Option<u64>,
    /// Mean scheduling lag this tick.
    pub sched_lag_mean_ns: Option<u64>,
}

/// The target runtime's own statistics at the end of a tick; `null` when the target
/// does not report that figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetSample {
    /// Actors alive.
    pub actors_alive: Option<u64>,
    /// Messages waiting in all mailboxes.
    pub mailbox_depth: Option<u64>,
    /// Messages sent so far (cumulative).
    pub messages_sent: Option<u64>,
    /// Messages delivered to a handler so far (cumulative).
    pub messages_delivered: Option<u64>,
    /// Messages dropped by a mailbox policy so far (cumulative).
    pub messages_dropped: Option<u64>,
    /// Sends rejected with an error so far (cumulative).
    pub messages_rejected: Option<u64>,
    /// Messages dead-lettered so far (cumulative).
    pub messages_dead_lettered: Option<u64>,
    /// Actor restarts so far (cumulative).
    pub restarts: Option<u64>,
    /// Actor passivations so far (cumulative).
    pub passivations: Option<u64>,
    /// Deadlocks detected so far (cumulative).
    pub deadlocks: Option<u64>,
    /// Stalls the runtime itself detected so far (cumulative).
    pub stalls: Option<u64>,
    /// Actor activations so far (virtual actors started on demand; cumulative).
    #[serde(default)]
    pub activations: Option<u64>,
    /// Times an idle actor hibernated so far (gave up its task, keeping its state;
    /// `[runtime] hibernate_after`; cumulative).
    #[serde(default)]
    pub hibernations: Option<u64>,
    /// Actors hibernating at the end of the tick.
    #[serde(default)]
    pub actors_hibernating: Option<u64>,
    /// State of the target's dependency circuit breaker (device repository).
    #[serde(default)]
    pub breaker_state: Option<BreakerState>,
    /// Circuit breaker state transitions so far (cumulative).
    #[serde(default)]
    pub breaker_transitions: Option<u64>,
    /// Calls the open circuit breaker rejected so far (cumulative).
    #[serde(default)]
    pub breaker_rejections: Option<u64>,
    /// The target's own process (`[target] process = "child"`): resident memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_rss_bytes: Option<u64>,
    /// The target's own process: threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_threads: Option<u64>,
    /// The target's own process: CPU used since the previous sample, in percent of one
    /// core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_cpu_percent: Option<f64>,
}

/// State of a circuit breaker, as sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls are rejected at once.
    Open,
    /// A limited number of probe calls pass.
    HalfOpen,
}

impl BreakerState {
    /// The state's name as written in results (`closed`, `open`, `half-open`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

/// An injected fault, its window and the measured recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Fault kind (`crash`, `outage`, ...).
    pub kind: String,
    /// What it hit.
    pub target: String,
    /// Start of the window, seconds since the start of the load.
    pub start_s: f64,
    /// End of the window, seconds since the start of the load.
    pub end_s: f64,
    /// Seconds from the end of the window until throughput and latency were back to
    /// their pre-fault level; `null` when they never were (see `recovered`).
    pub recovery_s: Option<f64>,
    /// Whether throughput and p99 came back within tolerance, within the scenario's
    /// recovery bound (`[recovery] within`) and before the run ended.
    #[serde(default)]
    pub recovered: bool,
    /// Probability (0..=1) that each eligible event was affected.
    #[serde(default)]
    pub toxicity: Option<f64>,
    /// Events the fault affected (handlers crashed, actors killed, messages dropped, ...).
    #[serde(default)]
    pub events_affected: u64,
    /// Figures before, during and after the window; `null` when not measured.
    #[serde(default)]
    pub windows: Option<FaultWindows>,
    /// The actors the fault hit (addresses), chosen from the scenario's seed.
    #[serde(default)]
    pub victims: Vec<String>,
    /// What the runtime's own detection caught: for `ask-cycle`, the cycles refused as
    /// deadlocks (of `events_affected` injected); for `blocking-worker`, the stalls its
    /// watchdog reported; `null` for other kinds.
    #[serde(default)]
    pub detected: Option<u64>,
    /// Why the fault could not be injected (e.g. its selector matched no live actor);
    /// such a fault fails the verdict.
    #[serde(default)]
    pub error: Option<String>,
    /// Process faults (`kill-process`, `restart-process`): seconds from starting the
    /// new target process until it was ready again; `null` for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_s: Option<f64>,
}

/// The run's figures around one fault: the pre-fault baseline, the window itself and
/// the time after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultWindows {
    /// Before the window (the baseline recovery is measured against).
    pub before: WindowStats,
    /// During the window.
    pub during: WindowStats,
    /// After the window, until the next fault or the end of the run.
    pub after: WindowStats,
}

/// Figures over one stretch of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    /// Start, seconds since the start of the load.
    pub start_s: f64,
    /// End, seconds since the start of the load.
    pub end_s: f64,
    /// Completed ops per second, all ops together.
    pub throughput_per_s: f64,
    /// Worst per-tick p99 latency of any op in the stretch (`null`: no ops completed).
    pub p99_ns: Option<u64>,
    /// Failed ops.
    pub errors: u64,
    /// Supervisor restarts.
    pub restarts: Option<u64>,
    /// Circuit breaker transitions.
    pub breaker_transitions: Option<u64>,
    /// Messages dropped by mailbox policies.
    pub dropped: Option<u64>,
    /// Messages dead-lettered.
    pub dead_lettered: Option<u64>,
    /// Per-operation figures.
    pub ops: Vec<WindowOp>,
}

/// One operation's figures over one stretch of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowOp {
    /// Operation name.
    pub op: String,
    /// Completed ops per second.
    pub throughput_per_s: f64,
    /// Worst per-tick p99 latency in the stretch.
    pub p99_ns: Option<u64>,
    /// Failed ops.
    pub errors: u64,
}

/// Every message accounted for: `sent = delivered + dropped + rejected +
/// dead_lettered + queued + lost_in_kill + lost` (`lost_in_kill` only where the
/// target's process was killed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageAccounting {
    /// Whether the target reports message counts at all; when `false` every other
    /// field is `null`.
    pub measured: bool,
    /// Messages accepted for delivery.
    pub sent: Option<u64>,
    /// Messages handed to a handler.
    pub delivered: Option<u64>,
    /// Messages discarded by a named mailbox policy.
    pub dropped: Option<u64>,
    /// Sends refused with an error returned to the sender.
    pub rejected: Option<u64>,
    /// Messages routed to dead letters (e.g. the recipient had stopped).
    pub dead_lettered: Option<u64>,
    /// Messages still queued when the figures were taken (after shutdown: normally 0).
    pub queued: Option<u64>,
    /// Computed, never assumed: `sent - (delivered + dropped + rejected +
    /// dead_lettered + queued + lost_in_kill)`. Anything but 0 means messages vanished
    /// (or were counted twice, if negative).
    pub lost: Option<i64>,
    /// `[target] process = "child"` only: messages a killed target process took with
    /// it, those its last sample showed sent but not yet delivered, dropped, rejected
    /// or dead-lettered (queued or in flight). A kill loses in-memory messages by
    /// definition, so they are not `lost` (the durability checker judges what
    /// matters). Messages sent after that last sample (at most a quarter tick's) are
    /// not counted at all. Absent when nothing was killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_in_kill: Option<u64>,
    /// `[target] process = "child"` only, when the child was replaced during the run
    /// (`kill-process`, `restart-process`): each incarnation's own accounting, in
    /// order; the fields above are their sums. Empty (absent) with one incarnation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incarnations: Vec<IncarnationMessages>,
}

/// One incarnation of a target child process and its message accounting: exact
/// after a graceful stop, from its last sample when killed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncarnationMessages {
    /// How it ended.
    pub ended: IncarnationEnd,
    /// Its figures (no `incarnations` of their own).
    #[serde(flatten)]
    pub messages: MessageAccounting,
}

/// How an incarnation of a target child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncarnationEnd {
    /// SIGKILL (`kill-process`): figures from its last sample; what was queued or in
    /// flight is `lost_in_kill`.
    Killed,
    /// A graceful stop (`restart-process`): figures from its shutdown, exact.
    Restarted,
    /// The run's end: figures from the final shutdown.
    End,
}

impl MessageAccounting {
    /// Every count summed; `lost` recomputed from the sums. Unmeasured when any part
    /// is (or there are none); `lost_in_kill` present when any part has it.
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a MessageAccounting>) -> MessageAccounting {
        let all: Vec<&MessageAccounting> = all.into_iter().collect();
        if all.is_empty() || !all.iter().all(|m| m.measured) {
            return MessageAccounting::default();
        }
        let total = |f: fn(&MessageAccounting) -> Option<u64>| -> Option<u64> {
            all.iter().map(|m| f(m)).sum::<Option<u64>>()
        };
        let lost_in_kill = all
            .iter()
            .any(|m| m.lost_in_kill.is_some())
            .then(|| all.iter().filter_map(|m| m.lost_in_kill).sum());
        let mut m = MessageAccounting {
            measured: true,
            sent: total(|m| m.sent),
            delivered: total(|m| m.delivered),
            dropped: total(|m| m.dropped),
            rejected: total(|m| m.rejected),
            dead_lettered: total(|m| m.dead_lettered),
            queued: total(|m| m.queued),
            lost: None,
            lost_in_kill,
            incarnations: Vec::new(),
        };
        m.lost = m.computed_lost();
        m
    }

    /// `sent - (delivered + dropped + rejected + dead_lettered + queued +
    /// lost_in_kill)`, where all are known.
    pub fn computed_lost(&self) -> Option<i64> {
        let accounted = self.delivered?
            + self.dropped?
            + self.rejected?
            + self.dead_lettered?
            + self.queued?
            + self.lost_in_kill.unwrap_or(0);
        Some(self.sent? as i64 - accounted as i64)
    }
}

/// A deadlock the runtime detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlockRecord {
    /// When it was detected, seconds since the start of the load.
    pub at_s: f64,
    /// The cycle, as the runtime describes it (actor addresses).
    pub cycle: Vec<String>,
    /// The snapshot rows of the actors on the cycle, read when the harness recorded it
    /// (within one tick of detection; empty when the target has no actor system or
    /// the actors had gone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<ActorSnapshotRow>,
}

/// A stall: ops in flight but none completing for at least the watchdog's `stall_after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StallRecord {
    /// When the last op completed before the stall, seconds since the start of the load.
    pub start_s: f64,
    /// How long no op completed, in seconds (until completions resumed or the run ended).
    pub duration_s: f64,
    /// Ops in flight when the stall was detected.
    pub in_flight: u64,
    /// Whether completions resumed before the run ended.
    pub recovered: bool,
    /// The runtime's view at detection time (busy actors, pending asks).
    pub detail: String,
    /// The actors' snapshot rows when the stall was detected: the longest-running
    /// handlers and the deepest mailboxes (empty when the target has no actor system).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<ActorSnapshotRow>,
}

/// One live actor as a snapshot saw it (`System::snapshot` in the runtime): served on
/// the metrics endpoint's `/actors`, and quoted by stall and deadlock records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorSnapshotRow {
    /// Its address.
    pub address: String,
    /// Its kind.
    pub kind: String,
    /// `idle`, `running`, `stopping`, `backing-off`, `passivating` or
    /// `hibernating`.
    pub state: String,
    /// Messages in its mailbox.
    pub mailbox_depth: u64,
    /// The deepest its mailbox has been.
    pub mailbox_peak: u64,
    /// Messages it has handled.
    pub handled: u64,
    /// Time spent in handlers, the current one included, in seconds (measured on the
    /// runtime's coarse watchdog clock).
    pub busy_s: f64,
    /// How long the handler running now has been running, in seconds (`null`: idle).
    #[serde(default)]
    pub handler_running_s: Option<f64>,
    /// Restarts by its supervisor.
    pub restarts: u32,
    /// Its most recent failure (`null`: none).
    #[serde(default)]
    pub last_failure: Option<String>,
    /// When that failure happened, seconds since the actor system started.
    #[serde(default)]
    pub last_failure_at_s: Option<f64>,
    /// The actor it waits on in an `ask` (`null`: none).
    #[serde(default)]
    pub waiting_on: Option<String>,
}

/// Leak check: the target is shut down and the runtime must return to where it started.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LeakCheck {
    /// Whether the target's shutdown finished within its budget.
    pub shutdown_clean: bool,
    /// Alive tasks on the target runtime before the target was built.
    pub tasks_before: u64,
    /// Alive tasks on the target runtime after the target was shut down.
    pub tasks_after: u64,
    /// `tasks_after - tasks_before` (positive: tasks leaked).
    pub tasks_leaked: i64,
    /// Process RSS before the target was built.
    pub rss_before_bytes: Option<u64>,
    /// Process RSS after shutdown.
    pub rss_after_bytes: Option<u64>,
    /// RSS trend over the measured window, bytes per minute (least-squares slope of
    /// the per-tick RSS samples); `null` with fewer than 3 samples.
    pub rss_growth_bytes_per_min: Option<f64>,
    /// `true` when no task leaked and shutdown was clean.
    pub passed: bool,
}

/// One invariant of the workload and what its checks found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvariantRecord {
    /// The invariant's name (`money.conserved`); its threshold is `invariant{name=...}`.
    pub name: String,
    /// What it says.
    pub description: String,
    /// Whether it was checked at every tick, not only at the end.
    pub every_tick: bool,
    /// How often it was checked (0: never, which fails its threshold).
    pub checks: u64,
    /// How many checks found it violated.
    pub violations: u64,
    /// When it was first found violated, seconds from the start of the run.
    pub first_violation_s: Option<f64>,
    /// The target's message for the first violation.
    pub message: Option<String>,
    /// Why it was not checked, or a check that could not finish (a timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unchecked_reason: Option<String>,
}

impl RunResult {
    /// For a threshold on a workload invariant (`invariant{name=X}`), what the target
    /// said when it found X violated, or why X was not checked.
    pub fn invariant_message(&self, metric: &str) -> Option<&str> {
        let name = metric.strip_prefix("invariant{name=")?.strip_suffix('}')?;
        let i = self.invariants.iter().find(|i| i.name == name)?;
        i.message.as_deref().or(i.unchecked_reason.as_deref())
    }
}

impl InvariantRecord {
    /// Whether it was checked and always held.
    pub fn held(&self) -> bool {
        self.checks > 0 && self.violations == 0
    }
}

/// One threshold expression and what was observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOutcome {
    /// The metric key as written in the scenario (`latency{op=ask}`).
    pub metric: String,
    /// The expression as written (`p(99) < 5ms`).
    pub expression: String,
    /// The observed value in the metric's base unit (`null`: could not be measured,
    /// which fails the threshold).
    pub observed: Option<f64>,
    /// Base unit of `observed` and of the limit (`ns`, `bytes`, `per_s`, `count`, ...).
    pub unit: String,
    /// The limit, in the same unit.
    pub limit: f64,
    /// Whether the threshold held.
    pub passed: bool,
}

/// The run's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// `true` when every threshold and invariant held and the run completed.
    pub passed: bool,
    /// One line per reason for failure (empty when passed).
    pub reasons: Vec<String>,
}

/// Why a results file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not valid JSON or not this schema.
    #[error("invalid results file: {0}")]
    Json(#[from] serde_json::Error),
    /// Written by a schema version this crate does not read.
    #[error("results file has schema_version {found}; this build reads {SCHEMA_VERSION}")]
    UnsupportedVersion {
        /// The version found in the file.
        found: u64,
    },
    /// A histogram in the file cannot be decoded (corrupt, or beyond the reader's
    /// limits; see [`crate::histogram::checked`]).
    #[error("ops[{index}] (op `{op}`).{field}: {source}")]
    Histogram {
        /// Position of the op in `ops`.
        index: usize,
        /// The op's name.
        op: String,
        /// `histogram` or `service_histogram`.
        field: &'static str,
        /// What is wrong with it.
        source: crate::histogram::HistogramCodecError,
    },
}

impl RunResult {
    /// Parses a results file, refusing schema versions this crate does not know and
    /// files whose histograms cannot be decoded (each decoded with the bounded reader
    /// of [`crate::histogram::checked`], so a hostile file cannot exhaust memory).
    pub fn from_json(text: &str) -> Result<Self, ReadError> {
        #[derive(Deserialize)]
        #[serde(expecting = "a results object with a `schema_version`")]
        struct VersionOnly {
            schema_version: u64,
        }
        let v: VersionOnly = serde_json::from_str(text)?;
        if v.schema_version != u64::from(SCHEMA_VERSION) {
            return Err(ReadError::UnsupportedVersion {
                found: v.schema_version,
            });
        }
        let result: Self = serde_json::from_str(text)?;
        result.check_histograms()?;
        Ok(result)
    }

    /// Decodes every histogram of every op, naming the first one that cannot be read.
    pub fn check_histograms(&self) -> Result<(), ReadError> {
        for (index, op) in self.ops.iter().enumerate() {
            let fields = [
                ("histogram", Some(&op.histogram)),
                ("service_histogram", op.service_histogram.as_ref()),
            ];
            for (field, h) in fields {
                if let Some(Err(source)) = h.map(EncodedHistogram::decode) {
                    return Err(ReadError::Histogram {
                        index,
                        op: op.op.clone(),
                        field,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Serializes to pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// The result for operation `op`, if it was issued.
    pub fn op(&self, op: &str) -> Option<&OpResult> {
        self.ops.iter().find(|o| o.op == op)
    }
}

impl LatencySummary {
    /// Summarizes an HdrHistogram whose values are in nanoseconds.
    pub fn from_histogram(h: &hdrhistogram::Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::empty();
        }
        Self {
            count: h.len(),
            min_ns: h.min(),
            mean_ns: h.mean(),
            p50_ns: h.value_at_quantile(0.50),
            p90_ns: h.value_at_quantile(0.90),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        }
    }

    /// The summary of no values (all zero, `count == 0`).
    pub fn empty() -> Self {
        Self {
            count: 0,
            min_ns: 0,
            mean_ns: 0.0,
            p50_ns: 0,
            p90_ns: 0,
            p99_ns: 0,
            p999_ns: 0,
            max_ns: 0,
        }
    }
}
