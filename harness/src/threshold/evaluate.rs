//! Evaluating thresholds against a run's results.

use gauntlet_reports::schema::{RunResult, ThresholdOutcome};

use super::{Aggregation, MessageField, Metric, Threshold};

impl Threshold {
    /// Evaluates every expression against a run's results.
    pub fn evaluate(&self, run: &RunResult, measured_s: f64) -> Vec<ThresholdOutcome> {
        self.expressions
            .iter()
            .map(|e| {
                let observed = observe(&self.metric, e.aggregation, run, measured_s);
                ThresholdOutcome {
                    metric: self.key.clone(),
                    expression: e.text.clone(),
                    observed,
                    unit: self.metric.unit(e.aggregation).to_owned(),
                    limit: e.limit,
                    passed: observed.is_some_and(|v| e.comparison.holds(v, e.limit)),
                }
            })
            .collect()
    }
}

/// One verdict reason per failed threshold of `run`, with the workload's own message
/// when the threshold is an invariant's.
pub fn failure_reasons(run: &RunResult) -> impl Iterator<Item = String> + '_ {
    run.thresholds.iter().filter(|t| !t.passed).map(|t| {
        let observed = t
            .observed
            .map_or_else(|| "not measured".to_owned(), |v| format!("{v} {}", t.unit));
        let why = run
            .invariant_message(&t.metric)
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        format!(
            "threshold failed: {} {} (observed {observed}){why}",
            t.metric, t.expression
        )
    })
}

/// The observed value of `metric` reduced by `agg`, or `None` when not measured.
fn observe(metric: &Metric, agg: Aggregation, run: &RunResult, measured_s: f64) -> Option<f64> {
    let measured = || run.timeline.iter().filter(|t| !t.warmup);
    match metric {
        Metric::Latency { op } | Metric::ServiceTime { op } => {
            let o = run.op(op)?;
            if matches!(agg, Aggregation::Count) {
                return Some(o.count as f64);
            }
            let s = if matches!(metric, Metric::Latency { .. }) {
                &o.latency
            } else {
                &o.service_time
            };
            if s.count == 0 {
                return None;
            }
            match agg {
                Aggregation::Percentile(p) => {
                    // Exact percentiles come from the full histograms.
                    let encoded = if matches!(metric, Metric::Latency { .. }) {
                        Some(&o.histogram)
                    } else {
                        o.service_histogram.as_ref()
                    };
                    encoded
                        .and_then(|e| e.decode().ok())
                        .map(|h| h.value_at_quantile(p / 100.0) as f64)
                }
                Aggregation::Avg => Some(s.mean_ns),
                Aggregation::Min => Some(s.min_ns as f64),
                Aggregation::Med => Some(s.p50_ns as f64),
                Aggregation::Max => Some(s.max_ns as f64),
                _ => None,
            }
        }
        Metric::Throughput { op } => {
            let o = run.op(op)?;
            match agg {
                Aggregation::Count => Some(o.count as f64),
                _ => Some(o.throughput_per_s),
            }
        }
        Metric::Errors { op } => {
            let o = run.op(op)?;
            match agg {
                Aggregation::Count => Some(o.errors as f64),
                _ if o.count == 0 => None,
                _ => Some(o.errors as f64 / o.count as f64),
            }
        }
        Metric::DroppedIterations { load } => {
            let dropped: u64 = run
                .loads
                .iter()
                .filter(|l| load.as_ref().is_none_or(|n| *n == l.name))
                .map(|l| l.dropped_iterations_measured)
                .sum();
            match agg {
                Aggregation::Count => Some(dropped as f64),
                _ => (measured_s > 0.0).then(|| dropped as f64 / measured_s),
            }
        }
        Metric::Messages(field) => {
            let m = &run.messages;
            match field {
                MessageField::Sent => m.sent.map(|v| v as f64),
                MessageField::Delivered => m.delivered.map(|v| v as f64),
                MessageField::Dropped => m.dropped.map(|v| v as f64),
                MessageField::Rejected => m.rejected.map(|v| v as f64),
                MessageField::DeadLettered => m.dead_lettered.map(|v| v as f64),
                MessageField::Lost => m.lost.map(|v| v as f64),
            }
        }
        Metric::MemoryRss => measured()
            .filter_map(|t| t.process.rss_bytes)
            .max()
            .map(|v| v as f64),
        Metric::MemoryGrowth => run.leaks.rss_growth_bytes_per_min,
        Metric::TasksLeaked => Some(run.leaks.tasks_leaked as f64),
        Metric::Stalls => Some(run.stalls.len() as f64),
        // Only a target that detects deadlocks can report none: read its counter
        // (measured window), not the event list, which a slow reader could miss.
        Metric::Deadlocks => counter_delta(run, |t| t.target.deadlocks),
        Metric::Restarts => counter_delta(run, |t| t.target.restarts),
        Metric::Recovery { fault } => {
            let of_kind: Vec<_> = run.faults.iter().filter(|f| f.kind == *fault).collect();
            let times: Option<Vec<f64>> = of_kind.iter().map(|f| f.recovery_s).collect();
            let times = times.filter(|t| !t.is_empty())?;
            let ns = times.iter().map(|s| s * 1e9);
            match agg {
                Aggregation::Max => ns.reduce(f64::max),
                _ => Some(ns.sum::<f64>() / times.len() as f64),
            }
        }
        Metric::FaultsAffected { fault } => Some(
            run.faults
                .iter()
                .filter(|f| f.kind == *fault)
                .map(|f| f.events_affected as f64)
                .sum(),
        ),
        Metric::FaultsUnrecovered => Some(crate::faults::unrecovered(run) as f64),
        Metric::FaultsUndetected => Some(crate::faults::undetected(run) as f64),
        Metric::Invariant { name } => run
            .invariants
            .iter()
            .find(|i| i.name == *name)
            .filter(|i| i.checks > 0)
            .map(|i| i.violations as f64),
        Metric::SchedLag => match agg {
            Aggregation::Max => measured()
                .filter_map(|t| t.runtime.sched_lag_max_ns)
                .max()
                .map(|v| v as f64),
            _ => {
                let v: Vec<u64> = measured()
                    .filter_map(|t| t.runtime.sched_lag_mean_ns)
                    .collect();
                (!v.is_empty()).then(|| v.iter().sum::<u64>() as f64 / v.len() as f64)
            }
        },
    }
}

/// Growth of a cumulative target counter over the measured window; `None` when the
/// target does not report it.
fn counter_delta(
    run: &RunResult,
    counter: impl Fn(&gauntlet_reports::schema::Tick) -> Option<u64>,
) -> Option<f64> {
    let last = counter(run.timeline.last()?)?;
    let at_warmup_end = match run.timeline.iter().rev().find(|t| t.warmup) {
        Some(t) => counter(t).unwrap_or(0),
        None => 0,
    };
    Some(last.saturating_sub(at_warmup_end) as f64)
}
