//! The `capacity.json` schema: what one capacity sweep (`gauntlet capacity`) measured
//! at each load level, the USL model fitted to it, and the statement drawn from it.
//!
//! Like `results.json` ([`crate::schema`]) this is a contract: units are in field
//! names, a value that could not be measured is `null`, and readers must refuse
//! schema versions they do not know ([`CapacityResult::from_json`] does). Adding an
//! optional field keeps [`CAPACITY_SCHEMA_VERSION`]; renaming, removing or changing
//! the meaning of one bumps it. Each level's full run is in its own `results.json`
//! (named in [`Level::results`], and per repeat in [`Level::repeats`]).
//!
//! **Version 2** (repeats, intervals, operational laws, saturation, noise) changed the
//! meaning of a level's figures: with `repeats > 1` they are means over the repeats.
//! Version-1 files are still read ([`CapacityResult::from_json`]); the fields added in
//! version 2 read as empty (`[]`, `null`, `false`, `"none"`).

use serde::{Deserialize, Serialize};

use crate::capacity::little::LittleCheck;
use crate::schema::{LatencySummary, RunStatus, ScenarioInfo};

/// The capacity schema version this crate writes.
pub const CAPACITY_SCHEMA_VERSION: u32 = 2;

/// The oldest capacity schema version this crate reads (every version from it up to
/// [`CAPACITY_SCHEMA_VERSION`] is read).
pub const OLDEST_READABLE_VERSION: u32 = 1;

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
    /// The utilization law's bound on throughput next to the USL's (`null` when the
    /// workers' busy time was not measured; added in schema 2).
    #[serde(default)]
    pub bounds: Option<Bounds>,
}

/// The operational-law bound of the sweep and how it compares with the USL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    /// `X_max = workers / D`, ops/s, from the level whose target workers were busiest
    /// (the best estimate of the service demand `D`).
    pub utilization_bound_per_s: f64,
    /// The level it was taken from.
    pub level: usize,
    /// The resource whose busy time gives the bound (`target workers`, `store writer`).
    pub resource: String,
    /// The USL's highest throughput (`X(N*)`, or Amdahl's ceiling), ops/s (`null`
    /// without a model or when the model grows without bound).
    pub usl_peak_per_s: Option<f64>,
    /// Which bound is lower, so tighter: `usl` or `utilization`.
    pub tighter: TighterBound,
    /// Whether the USL predicts more than the utilization law allows.
    pub usl_exceeds_bound: bool,
}

/// Which of two upper bounds on throughput is lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TighterBound {
    /// The USL's peak (or ceiling).
    Usl,
    /// The utilization law's `workers / D`.
    Utilization,
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
    /// Times each level was measured, interleaved across levels (1 in schema-1 files).
    #[serde(default = "one")]
    pub repeats: u32,
}

fn one() -> u32 {
    1
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
    /// Each repeat of the level, in the order run (empty in schema-1 files). With more
    /// than one, the figures above are over all repeats: throughput and concurrency
    /// are means, counts are sums, `passed` holds only if every repeat passed, and the
    /// per-op latencies are those of the repeat with the highest p99.
    #[serde(default)]
    pub repeats: Vec<Repeat>,
    /// 95% confidence interval of the mean throughput over the repeats, ops/s
    /// ([low, high]; `null` with one repeat).
    #[serde(default)]
    pub throughput_ci_95: Option<[f64; 2]>,
    /// Coefficient of variation of the repeats' throughput (`null` with one repeat).
    #[serde(default)]
    pub throughput_cv: Option<f64>,
    /// Mean over the repeats of the worst op's p99, ns.
    #[serde(default)]
    pub p99_mean_ns: Option<f64>,
    /// 95% confidence interval of that mean, ns ([low, high]; `null` with one repeat).
    #[serde(default)]
    pub p99_ci_95: Option<[f64; 2]>,
    /// Whether the repeats' throughput varies by more than 10% (coefficient of
    /// variation): one number does not describe this level. (The p99's spread shows
    /// in `p99_ci_95`; tail latency varies more than throughput by nature.)
    #[serde(default)]
    pub unstable: bool,
    /// Who limited the level: the system under test (`target`), the load generator
    /// (`generator`: the figures are not the target's), or neither (`none`). With
    /// repeats: `generator` if any repeat was, else `target` if any was.
    #[serde(default)]
    pub saturated: Saturated,
    /// The figures the label was drawn from (`null` in schema-1 files).
    #[serde(default)]
    pub saturation: Option<SaturationEvidence>,
    /// The utilization law's bound at this level: `X_max = workers / D` with the
    /// service demand `D = U·workers / X`, i.e. `X / U` (ops/s; the lower of the target
    /// workers' and the store writer's when both were measured; `null` when the busy
    /// time was not measured or was zero).
    #[serde(default)]
    pub utilization_bound_per_s: Option<f64>,
    /// The utilization-law figures behind the bound (`null` when not measured).
    #[serde(default)]
    pub utilization: Option<Utilization>,
    /// Other load on the machine while the level ran (`null` when not measured).
    #[serde(default)]
    pub noise: Option<Noise>,
}

/// One measurement of a level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeat {
    /// Which repeat (0-based); repeats run interleaved across the levels.
    pub repeat: u32,
    /// Its results file, relative to `capacity.json`.
    pub results: Option<String>,
    /// Whether its run completed.
    pub status: RunStatus,
    /// Whether every threshold and invariant held.
    pub passed: bool,
    /// Completed ops per second, all ops.
    pub throughput_per_s: f64,
    /// Its concurrency `N` (as [`Level::concurrency`]).
    pub concurrency: Option<f64>,
    /// The worst op's p99, ns.
    pub p99_ns: Option<u64>,
    /// Who limited it.
    pub saturated: Saturated,
    /// Its utilization bound, ops/s.
    pub utilization_bound_per_s: Option<f64>,
    /// Other load on the machine while it ran.
    pub noise: Option<Noise>,
}

/// Who limited a level's throughput.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Saturated {
    /// The system under test: its workers were busy, or work queued in it.
    Target,
    /// The load generator: its threads were busy, or it dropped starts while the
    /// target had room. The level's figures are a lower bound of the target's.
    Generator,
    /// Neither was seen at its limit (or nothing was measured).
    #[default]
    None,
}

impl Saturated {
    /// The label as written in `capacity.json`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Target => "target",
            Self::Generator => "generator",
            Self::None => "none",
        }
    }
}

/// The figures a saturation label is drawn from, over a run's measured ticks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaturationEvidence {
    /// Mean busy ratio of the load threads (CPU time over wall time, per thread).
    pub generator_busy_ratio: Option<f64>,
    /// Mean pacing lateness of the load (actual start after intended start), ns
    /// (`null` while the harness does not record it).
    pub pacing_lateness_mean_ns: Option<f64>,
    /// Starts the open loop dropped after the settle time.
    pub dropped_iterations: u64,
    /// Share of measured ticks at which the swept load's ops in flight were at its
    /// bound (`max_in_flight`; `null` for a closed loop, which is always there).
    pub in_flight_at_bound_share: Option<f64>,
    /// Mean busy ratio of the target runtime's workers.
    pub target_busy_ratio: Option<f64>,
    /// Mean depth of the target runtime's global queue (tasks waiting for a worker).
    pub global_queue_depth_mean: Option<f64>,
    /// Mean busy ratio of the device runtime's store writer thread (`null` for other
    /// targets).
    pub store_busy_ratio: Option<f64>,
    /// Why the label, in words.
    pub reason: String,
}

/// The utilization law at one level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Utilization {
    /// Worker threads of the target runtime.
    pub workers: usize,
    /// Their mean busy ratio `U` (0..1).
    pub busy_ratio: f64,
    /// Service demand per op, `D = U·workers / X`, seconds.
    pub service_demand_s: f64,
    /// `workers / D`, ops/s.
    pub workers_bound_per_s: f64,
    /// The store writer thread's busy ratio (device runtime only).
    pub store_busy_ratio: Option<f64>,
    /// `1 / D_store = X / U_store`, ops/s (device runtime only).
    pub store_bound_per_s: Option<f64>,
}

/// Other load on the machine during a run (from `/proc`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    /// CPU time stolen by the hypervisor, percent of all CPUs' time (mean over ticks).
    pub steal_percent: Option<f64>,
    /// CPU used by other processes, percent of one core (mean over ticks; 200 = two
    /// cores busy).
    pub other_cpu_percent: Option<f64>,
    /// Whether either was above its threshold: the figures may not be the target's
    /// alone.
    pub noisy: bool,
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
    /// The fitted curve at each fitted level (each repeat, with repeats).
    pub curve: Vec<FitPoint>,
    /// 95% interval of the model's highest throughput (`X(N*)`, or Amdahl's ceiling
    /// when κ = 0), ops/s; `null` when the resamples leave it unbounded or none were
    /// drawn.
    #[serde(default)]
    pub peak_throughput_ci_95: Option<[f64; 2]>,
    /// Whether the peak lies beyond the largest measured concurrency (an Amdahl
    /// ceiling always does): the model's figure there is an extrapolation.
    #[serde(default)]
    pub extrapolated: bool,
    /// Whether R² is below 0.9: the model does not describe the data well.
    #[serde(default)]
    pub weak_fit: bool,
    /// The parameters' uncertainty by bootstrap (`null` in schema-1 files).
    #[serde(default)]
    pub uncertainty: Option<FitUncertainty>,
}

/// The uncertainty of a fit's parameters, from refitting resampled data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitUncertainty {
    /// How the data were resampled, in words.
    pub method: String,
    /// Resamples drawn.
    pub resamples: u32,
    /// Resamples that could not be fitted (left out of the intervals).
    pub failed: u32,
    /// The resampling generator's seed (the intervals are reproducible).
    pub seed: u64,
    /// 95% percentile interval of λ.
    pub lambda_ci_95: [f64; 2],
    /// Of σ.
    pub sigma_ci_95: [f64; 2],
    /// Of κ.
    pub kappa_ci_95: [f64; 2],
    /// Of `N*` (`null` when more than 2.5% of the resamples have no peak: unbounded).
    pub peak_concurrency_ci_95: Option<[f64; 2]>,
    /// Share of resamples with κ = 0 (no peak).
    pub no_peak_share: f64,
    /// Whether the peak's interval is wide (its width above half the estimate, or
    /// unbounded, or `N*`'s interval unbounded).
    pub wide: bool,
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
    #[error(
        "capacity file has schema_version {found}; this build reads {OLDEST_READABLE_VERSION} to {CAPACITY_SCHEMA_VERSION}"
    )]
    UnsupportedVersion {
        /// The version found in the file.
        found: u64,
    },
}

impl CapacityResult {
    /// Parses a capacity file, refusing schema versions this crate does not know
    /// (older versions it knows read with the newer fields empty).
    pub fn from_json(text: &str) -> Result<Self, CapacityReadError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            schema_version: u64,
        }
        let v: VersionOnly = serde_json::from_str(text)?;
        let known = u64::from(OLDEST_READABLE_VERSION)..=u64::from(CAPACITY_SCHEMA_VERSION);
        if !known.contains(&v.schema_version) {
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
