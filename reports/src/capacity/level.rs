//! One load level from one run's results: the figures a capacity sweep keeps of it.

use crate::capacity::little;
use crate::capacity_schema::{Level, LevelOp, LoadVariable};
use crate::schema::RunResult;

/// Fewest measured ticks whose sampled ops in flight an open-loop level's Little's-law
/// check uses.
pub const MIN_SAMPLES: usize = 5;

/// Builds level `index` from the run `result` at `offered` (ops/s or clients, per
/// `variable`). `results` names the run's results file.
///
/// The level's concurrency `N` is the offered clients for a closed loop, and
/// Little's law `X·R` (all ops' throughput times their mean service time) for an open
/// loop, whose concurrency is not set but follows from the rate. Little's law is then
/// checked against what was not used: the mean latency for a closed loop, the mean
/// of the sampled ops in flight for an open loop (only when at least one op was in
/// flight on average over at least [`MIN_SAMPLES`] ticks; otherwise `null`).
pub fn from_run(
    result: &RunResult,
    index: usize,
    offered: f64,
    variable: LoadVariable,
    results: Option<String>,
) -> Level {
    let ops: Vec<LevelOp> = result
        .ops
        .iter()
        .map(|o| LevelOp {
            op: o.op.clone(),
            count: o.count,
            errors: o.errors,
            throughput_per_s: o.throughput_per_s,
            latency: o.latency,
            service_time: o.service_time,
        })
        .collect();
    let count: u64 = ops.iter().map(|o| o.count).sum();
    let errors: u64 = ops.iter().map(|o| o.errors).sum();
    let throughput: f64 = ops.iter().map(|o| o.throughput_per_s).sum();
    let weighted_mean = |f: fn(&LevelOp) -> f64| -> Option<f64> {
        (count > 0).then(|| ops.iter().map(|o| f(o) * o.count as f64).sum::<f64>() / count as f64)
    };
    let service_s = weighted_mean(|o| o.service_time.mean_ns / 1e9);
    let latency_s = weighted_mean(|o| o.latency.mean_ns / 1e9);

    let measured: Vec<_> = result.timeline.iter().filter(|t| !t.warmup).collect();
    let in_flight_mean = (!measured.is_empty())
        .then(|| measured.iter().map(|t| t.in_flight as f64).sum::<f64>() / measured.len() as f64);
    let (concurrency, little) = match variable {
        LoadVariable::Concurrency => (
            (count > 0).then_some(offered),
            latency_s.and_then(|r| little::check(offered, throughput, r)),
        ),
        LoadVariable::ArrivalRate => {
            let n = service_s.map(|r| throughput * r).filter(|n| *n > 0.0);
            // Ops in flight are sampled once per tick: below about one op in flight,
            // or with few samples, their mean is noise, not a measurement.
            let check = match (service_s, in_flight_mean) {
                (Some(r), Some(l)) if l >= 1.0 && measured.len() >= MIN_SAMPLES => {
                    little::check(l, throughput, r)
                }
                _ => None,
            };
            (n, check)
        }
    };
    Level {
        index,
        offered,
        results,
        status: result.status,
        passed: result.verdict.passed,
        failures: result.verdict.reasons.clone(),
        throughput_per_s: throughput,
        concurrency,
        ops,
        errors,
        error_rate: if count > 0 {
            errors as f64 / count as f64
        } else {
            0.0
        },
        dropped_iterations: result
            .loads
            .iter()
            .map(|l| l.dropped_iterations_measured)
            .sum(),
        rss_max_bytes: measured.iter().filter_map(|t| t.process.rss_bytes).max(),
        alive_tasks_max: measured.iter().map(|t| t.runtime.alive_tasks).max(),
        little,
    }
}
