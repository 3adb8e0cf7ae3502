//! Baseline comparison: how a run moved against one or more earlier runs of the same
//! scenario, metric by metric, and whether any move is a regression.
//!
//! **The rule.** For each metric the *reference* is the baselines' mean and the
//! *allowance* is `max(tolerance × |reference|, noise floor)`; with several baselines
//! the allowance is widened by their observed range (`max − min`), so a machine
//! whose runs already differ by 8% between themselves does not fail a build on a 9%
//! move. A lower-is-better metric regresses when `current > reference + allowance`;
//! throughput when `current < reference − allowance`. A move past the allowance in
//! the good direction is reported as an improvement; a metric with tolerance `off`
//! is shown but never judged; a metric either side did not measure is `n/a` and
//! never fails.
//!
//! ```
//! use gauntlet_reports::compare::{compare, Tolerances, Verdict};
//! # let run = gauntlet_reports::RunResult::from_json(include_str!("../../tests/data/tiny.json")).unwrap();
//! let baseline = run.clone();
//! let mut slower = run.clone();
//! slower.ops[0].latency.p99_ns *= 2;
//! let c = compare(&[("base.json".into(), baseline)], &slower, &Tolerances::default());
//! assert!(c.regressed());
//! let p99 = c.rows.iter().find(|r| r.metric == "p99").unwrap();
//! assert_eq!(p99.verdict, Verdict::Regressed);
//! ```

mod console;
pub mod tolerance;

use crate::schema::{OpResult, RunResult};

pub use tolerance::{Better, Metric, Tolerance, ToleranceError, Tolerances};

/// What a comparison concluded about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the allowance.
    Pass,
    /// Worse than the allowance permits: fails the comparison.
    Regressed,
    /// Better than the reference by more than the allowance.
    Improved,
    /// Tolerance `off`: shown, not judged.
    Info,
    /// The baseline or the current run did not measure it.
    NotMeasured,
}

impl Verdict {
    /// Short label for tables (`ok`, `REGRESSED`, `improved`, `info`, `n/a`).
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "ok",
            Verdict::Regressed => "REGRESSED",
            Verdict::Improved => "improved",
            Verdict::Info => "info",
            Verdict::NotMeasured => "n/a",
        }
    }
}

/// One metric of one op (or of the whole run) against its baseline(s).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The metric's key (`throughput`, `p99`, `rss`, ...).
    pub metric: &'static str,
    /// The op it belongs to (`None` for run-wide metrics such as `rss`).
    pub op: Option<String>,
    /// Base unit of the values.
    pub unit: &'static str,
    /// The baselines' mean (`None`: no baseline measured it).
    pub reference: Option<f64>,
    /// The baselines' smallest and largest value (equal with one baseline).
    pub baseline_range: Option<(f64, f64)>,
    /// The current run's value.
    pub current: Option<f64>,
    /// `(current − reference) / |reference|`, as a fraction.
    pub delta: Option<f64>,
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// The worst value that still passes (`None` when not judged).
    pub limit: Option<f64>,
    /// The conclusion.
    pub verdict: Verdict,
}

impl Row {
    /// `metric{op=X}` or `metric`.
    pub fn name(&self) -> String {
        match &self.op {
            Some(op) => format!("{}{{op={op}}}", self.metric),
            None => self.metric.to_owned(),
        }
    }
}

/// A run compared with its baseline(s).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The baseline files, as named by the caller.
    pub baselines: Vec<String>,
    /// One row per metric (per op for op metrics), in report order.
    pub rows: Vec<Row>,
    /// Things a reader should know (a baseline of another scenario, an aborted
    /// baseline run, an op missing from one side).
    pub warnings: Vec<String>,
}

impl Comparison {
    /// Whether any metric regressed.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Regressed)
    }

    /// The rows that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regressed)
    }
}

/// Compares `current` with `baselines` (name, result) under `tolerances`.
///
/// With no baselines every row is `n/a`; callers refuse that case before (the CLI
/// needs at least one baseline file).
pub fn compare(
    baselines: &[(String, RunResult)],
    current: &RunResult,
    tolerances: &Tolerances,
) -> Comparison {
    let mut warnings = Vec::new();
    for (name, b) in baselines {
        if b.scenario.name != current.scenario.name {
            warnings.push(format!(
                "baseline {name} is of scenario `{}`, this run of `{}`",
                b.scenario.name, current.scenario.name
            ));
        }
        if b.status == crate::schema::RunStatus::Aborted {
            warnings.push(format!("baseline {name} is an aborted run"));
        }
    }

    // Every lookup goes through an index, so a comparison is linear in the ops of
    // all files together (a file may have thousands).
    let current_ops = OpIndex::new(current);
    let baseline_ops: Vec<OpIndex<'_>> = baselines.iter().map(|(_, b)| OpIndex::new(b)).collect();
    let mut ops: Vec<&str> = current.ops.iter().map(|o| o.op.as_str()).collect();
    let mut seen: std::collections::HashSet<&str> = ops.iter().copied().collect();
    for (name, b) in baselines {
        for o in &b.ops {
            if seen.insert(o.op.as_str()) {
                ops.push(&o.op);
            }
            if current_ops.get(&o.op).is_none() {
                warnings.push(format!(
                    "op `{}` of baseline {name} is not in this run",
                    o.op
                ));
            }
        }
    }

    let mut rows = Vec::new();
    for op in ops {
        for metric in [
            Metric::Throughput,
            Metric::P50,
            Metric::P99,
            Metric::P999,
            Metric::Max,
            Metric::Errors,
        ] {
            let base: Vec<Option<f64>> = baseline_ops
                .iter()
                .map(|b| op_value(b.get(op), metric))
                .collect();
            rows.push(judge(
                metric,
                Some(op),
                &base,
                op_value(current_ops.get(op), metric),
                tolerances,
            ));
        }
    }
    for metric in [Metric::Rss, Metric::RssGrowth, Metric::Tasks] {
        let base: Vec<Option<f64>> = baselines
            .iter()
            .map(|(_, b)| run_value(b, metric))
            .collect();
        rows.push(judge(
            metric,
            None,
            &base,
            run_value(current, metric),
            tolerances,
        ));
    }
    Comparison {
        baselines: baselines.iter().map(|(n, _)| n.clone()).collect(),
        rows,
        warnings,
    }
}

/// The ops of one run by name (the first of a name, as [`RunResult::op`] finds it).
struct OpIndex<'a>(std::collections::HashMap<&'a str, &'a OpResult>);

impl<'a> OpIndex<'a> {
    fn new(r: &'a RunResult) -> Self {
        let mut map = std::collections::HashMap::with_capacity(r.ops.len());
        for o in &r.ops {
            map.entry(o.op.as_str()).or_insert(o);
        }
        Self(map)
    }

    fn get(&self, op: &str) -> Option<&'a OpResult> {
        self.0.get(op).copied()
    }
}

/// An op's value of `metric`. An op a run did not issue has throughput 0 and no
/// errors, and no latency.
fn op_value(o: Option<&OpResult>, metric: Metric) -> Option<f64> {
    let Some(o) = o else {
        return match metric {
            Metric::Throughput | Metric::Errors => Some(0.0),
            _ => None,
        };
    };
    let l = &o.latency;
    let latency = |v: u64| (l.count > 0).then_some(v as f64);
    match metric {
        Metric::Throughput => Some(o.throughput_per_s),
        Metric::P50 => latency(l.p50_ns),
        Metric::P99 => latency(l.p99_ns),
        Metric::P999 => latency(l.p999_ns),
        Metric::Max => latency(l.max_ns),
        Metric::Errors => Some(o.errors as f64),
        Metric::Rss | Metric::RssGrowth | Metric::Tasks => None,
    }
}

/// A run-wide metric over the measured window (after the warm-up).
fn run_value(r: &RunResult, metric: Metric) -> Option<f64> {
    let measured = r.timeline.iter().filter(|t| !t.warmup);
    match metric {
        Metric::Rss => measured
            .filter_map(|t| t.process.rss_bytes)
            .max()
            .map(|v| v as f64),
        Metric::RssGrowth => r.leaks.rss_growth_bytes_per_min,
        Metric::Tasks => measured
            .map(|t| t.runtime.alive_tasks)
            .max()
            .map(|v| v as f64),
        _ => None,
    }
}

fn judge(
    metric: Metric,
    op: Option<&str>,
    baselines: &[Option<f64>],
    current: Option<f64>,
    tolerances: &Tolerances,
) -> Row {
    let base: Vec<f64> = baselines
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let current_value = current.filter(|v| v.is_finite());
    let tolerance = tolerances.get(metric);
    // Mean over the baselines; one near f64::MAX would make it infinite: none, then.
    let reference = (!base.is_empty())
        .then(|| base.iter().sum::<f64>() / base.len() as f64)
        .filter(|r| r.is_finite());
    let baseline_range = reference.map(|_| {
        base.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            })
    });
    let delta = match (reference, current_value) {
        (Some(r), Some(c)) if r != 0.0 => Some((c - r) / r.abs()),
        _ => None,
    };
    let mut row = Row {
        metric: metric.key(),
        op: op.map(str::to_owned),
        unit: metric.unit(),
        reference,
        baseline_range,
        current: current_value,
        delta,
        tolerance,
        limit: None,
        verdict: Verdict::NotMeasured,
    };
    let (Some(r), Some(c), Some((lo, hi))) = (reference, current_value, baseline_range) else {
        return row;
    };
    let Tolerance::Relative(fraction) = tolerance else {
        row.verdict = Verdict::Info;
        return row;
    };
    let allowance = (fraction * r.abs()).max(metric.noise_floor()) + (hi - lo);
    let (limit, worse, better) = match metric.better() {
        Better::Lower => (r + allowance, c > r + allowance, c < r - allowance),
        Better::Higher => (r - allowance, c < r - allowance, c > r + allowance),
    };
    row.limit = Some(limit);
    row.verdict = if worse {
        Verdict::Regressed
    } else if better {
        Verdict::Improved
    } else {
        Verdict::Pass
    };
    row
}
