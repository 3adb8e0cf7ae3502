//! The `capacity.json` schema: what one capacity sweep (`gauntlet capacity`) measured
//! at each load level, the USL model fitted to it, and the statement drawn from it.
//!
//! Like `results.json` ([`crate::schema`]) this is a contract: units are in field
//! names, a value that could not be measured is `null`, and readers must refuse
//! schema versions they do not know ([`CapacityResult::from_json`] does). Adding an
//! optional field keeps [`CAPACITY_SCHEMA_VERSION`]; renaming, removing or changing
//! the meaning of one bumps it. Each level's full run is in its own `results.json`
//! (named in [`Level::results`]).

use serde::{Deserialize, Serialize};

use crate::capacity::little::LittleCheck;
use crate::schema::{LatencySummary, RunStatus, ScenarioInfo};

/// The capacity schema version this crate writes and reads.
pub const CAPACITY_SCHEMA_VERSION: u32 = 1;

/// A capacity sweep: levels, model, verdict in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityResult {
    /// Version of this schema ([`CAPACITY_SCHEMA_VERSION`] when written by this crate).
    pub schema_version: u32,
    /// Version of the `gauntlet` binary that produced the file.
    pub gauntlet_version: String,
    /// The scenario swept (as run at the first level, or as read from the first results
    /// file with `--from`).
    pub scenario: ScenarioInfo,
    /// Wall-clock start, milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// Wall-clock time the sweep took, in seconds (0 for `--from`).
    pub elapsed_s: f64,
    /// How the levels were obtained.
    pub source: Source,
    /// The load whose level the sweep stepped (the others ran unchanged beside it).
    pub load: String,
    /// The op that load issues: the op the statement speaks of.
    pub op: String,
    /// What the levels vary.
    pub variable: LoadVariable,
    /// Where each level's concurrency `N` (the USL's x axis) comes from.
    pub concurrency_source: ConcurrencySource,
    /// The sweep's settings (`null` for `--from`).
    pub sweep: Option<SweepSettings>,
    /// The service-level objective: the scenario's thresholds.
    pub slo: Slo,
    /// One entry per level run (or results file read), in increasing load.
    pub levels: Vec<Level>,
    /// Why the sweep ended.
    pub stop: Stop,
    /// The USL fitted to the levels (`null` when it could not be: see `fit_error`).
    pub fit: Option<FitRecord>,
    /// Why no model could be fitted (`null` when one was).
    pub fit_error: Option<String>,
    /// The level with the highest throughput that met the SLO (`null`: none did).
    pub max_within_slo: Option<SloCapacity>,
    /// The plain-language conclusion (also the head of the summary's capacity section).
    pub statement: String,
}

/// How the levels were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `gauntlet capacity SCENARIO`: each level run by the sweep.
    Sweep,
    /// `gauntlet capacity --from FILES`: each level read from an existing results file.
    Results,
}

/// What a sweep's levels vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadVariable {
    /// The arrival rate of an open-loop load, ops per second.
    ArrivalRate,
    /// The number of clients of a closed-loop load.
    Concurrency,
}

impl LoadVariable {
    /// The unit of a level's `offered` value (`ops/s` or `clients`).
    pub fn unit(self) -> &'static str {
        match self {
            Self::ArrivalRate => "ops/s",
            Self::Concurrency => "clients",
        }
    }
}

/// Where a level's concurrency `N` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConcurrencySource {
    /// The closed loop's configured clients.
    Configured,
    /// Little's law on an open loop: `N = X·R` with R the mean service time.
    LittlesLaw,
}

/// Settings of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSettings {
    /// The levels planned, in the unit of [`LoadVariable::unit`].
    pub steps: Vec<f64>,
    /// Measured time per level, in seconds (after the settle time).
    pub step_duration_s: f64,
    /// Time at the start of each level excluded from its figures (the warm-up), in seconds.
    pub settle_s: f64,
    /// Hard limit of the whole sweep, in seconds: no level is started that could end
    /// after it.
    pub deadline_s: f64,
    /// A level counts as not rising when its throughput is below the best so far times
    /// `1 + min_gain`.
    pub min_gain: f64,
    /// Levels in a row that must not rise before the sweep stops (the plateau).
    pub patience: u32,
}

/// The service-level objective a level must meet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// Each threshold as `metric: expression` (`latency{op=ask}: p(99) < 5ms`).
    pub thresholds: Vec<String>,
    /// A short human form of the latency objectives (`p99 < 5 ms`), empty when the
    /// scenario has none.
    pub summary: String,
    /// The latency thresholds as numbers, for charts (added after schema 1 shipped:
    /// empty in older files).
    #[serde(default)]
    pub latency_limits: Vec<LatencyLimit>,
}

/// One latency threshold of the SLO, as a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyLimit {
    /// The op it bounds.
    pub op: String,
    /// The statistic in short form (`p99`, `max`).
    pub statistic: String,
    /// The bound, ns.
    pub limit_ns: f64,
}

/// One load level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// Position in the sweep (0-based).
    pub index: usize,
    /// The level: ops/s offered (arrival rate) or clients (concurrency).
    pub offered: f64,
    /// The level's full results file, relative to `capacity.json` (or as given to `--from`).
    pub results: Option<String>,
    /// Whether the level's run completed or was aborted.
    pub status: RunStatus,
    /// Whether every threshold and invariant held at this level.
    pub passed: bool,
    /// Why the level failed (the run's verdict reasons; empty when it passed).
    pub failures: Vec<String>,
    /// Completed ops per second, all ops together, over the measured window.
    pub throughput_per_s: f64,
    /// The concurrency `N` used for the fit (see [`CapacityResult::concurrency_source`]);
    /// `null` when no op completed.
    pub concurrency: Option<f64>,
    /// Per-op figures.
    pub ops: Vec<LevelOp>,
    /// Failed or timed-out ops.
    pub errors: u64,
    /// `errors` over completed ops (0..1).
    pub error_rate: f64,
    /// Scheduled starts that found no free slot (open loop), after the settle time.
    pub dropped_iterations: u64,
    /// Largest RSS over the measured ticks.
    pub rss_max_bytes: Option<u64>,
    /// Most tasks alive on the target runtime over the measured ticks.
    pub alive_tasks_max: Option<u64>,
    /// Little's law at this level (`null` when nothing completed).
    pub little: Option<LittleCheck>,
}

/// One op's figures at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelOp {
    /// Operation name.
    pub op: String,
    /// Completed ops.
    pub count: u64,
    /// Failed or timed-out ops.
    pub errors: u64,
    /// Completed ops per second.
    pub throughput_per_s: f64,
    /// Latency from the intended start (coordinated-omission corrected).
    pub latency: LatencySummary,
    /// Service time, from the actual start.
    pub service_time: LatencySummary,
}

/// Why a sweep ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// The kind of ending.
    pub reason: StopReason,
    /// The level that ended it (`null` when every level ran).
    pub level: Option<usize>,
    /// One line a person reads.
    pub detail: String,
}

/// The kinds of ending of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// Every planned level ran (or every file was read).
    AllLevels,
    /// A level broke the scenario's thresholds or invariants: the breakpoint.
    ThresholdBroken,
    /// Throughput stopped rising for `patience` levels: the plateau.
    Plateau,
    /// The next level could not have finished before the sweep's deadline.
    Deadline,
    /// Interrupted (Ctrl-C) or a level's run was aborted.
    Interrupted,
    /// A level could not be run at all (the target failed to build).
    RunError,
}

/// The fitted Universal Scalability Law.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitRecord {
    /// The fitting method, in words.
    pub method: String,
    /// λ: throughput of one client without interference, ops/s.
    pub lambda: f64,
    /// σ: contention.
    pub sigma: f64,
    /// κ: coherency.
    pub kappa: f64,
    /// Coefficient of determination of the fit.
    pub r_squared: f64,
    /// Levels fitted.
    pub points: usize,
    /// `N* = floor(sqrt((1−σ)/κ))` (`null` when κ = 0: no peak).
    pub peak_concurrency: Option<u64>,
    /// `X(N*)`, ops/s.
    pub peak_throughput_per_s: Option<f64>,
    /// Amdahl's ceiling `λ/σ` when κ = 0, ops/s.
    pub amdahl_ceiling_per_s: Option<f64>,
    /// The fitted curve at each fitted level.
    pub curve: Vec<FitPoint>,
}

/// The model against one level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitPoint {
    /// The level's index.
    pub level: usize,
    /// Its concurrency `N`.
    pub concurrency: f64,
    /// Measured throughput, ops/s.
    pub measured_per_s: f64,
    /// Predicted throughput `X(N)`, ops/s.
    pub predicted_per_s: f64,
    /// Efficiency `X(N)/(N·λ)` of the model at `N`.
    pub efficiency: f64,
    /// Measured efficiency: measured throughput over `N·λ`.
    pub measured_efficiency: f64,
}

/// The best level that met the SLO.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SloCapacity {
    /// The level's index.
    pub level: usize,
    /// Its offered load.
    pub offered: f64,
    /// Its throughput, ops/s.
    pub throughput_per_s: f64,
    /// Its concurrency `N`.
    pub concurrency: Option<f64>,
    /// Its worst p99 latency over ops, ns.
    pub p99_ns: Option<u64>,
}

/// Why a capacity file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CapacityReadError {
    /// Not valid JSON or not this schema.
    #[error("invalid capacity file: {0}")]
    Json(#[from] serde_json::Error),
    /// Written by a schema version this crate does not read.
    #[error("capacity file has schema_version {found}; this build reads {CAPACITY_SCHEMA_VERSION}")]
    UnsupportedVersion {
        /// The version found in the file.
        found: u64,
    },
}

impl CapacityResult {
    /// Parses a capacity file, refusing schema versions this crate does not know.
    pub fn from_json(text: &str) -> Result<Self, CapacityReadError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            schema_version: u64,
        }
        let v: VersionOnly = serde_json::from_str(text)?;
        if v.schema_version != u64::from(CAPACITY_SCHEMA_VERSION) {
            return Err(CapacityReadError::UnsupportedVersion {
                found: v.schema_version,
            });
        }
        Ok(serde_json::from_str(text)?)
    }

    /// Serializes to pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}
