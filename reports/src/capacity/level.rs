//! One load level from one run's results: the figures a capacity sweep keeps of it.

use crate::capacity::stats::summarize;
use crate::capacity::{little, noise, saturation, utilization};
use crate::capacity_schema::{Level, LevelOp, LoadVariable, Repeat, Saturated};
use crate::schema::{RunResult, RunStatus};

/// Fewest measured ticks whose sampled ops in flight an open-loop level's Little's-law
/// check uses.
pub const MIN_SAMPLES: usize = 5;

/// Builds level `index` from the run `result` at `offered` (ops/s or clients, per
/// `variable`). `results` names the run's results file. The level has one repeat;
/// [`combine`] joins the repeats of one level.
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
    let (saturated, evidence) = saturation::classify(result);
    let utilization = utilization::of_run(result, throughput);
    let noise = noise::of_run(result);
    let p99 = ops.iter().map(|o| o.latency.p99_ns).max();
    Level {
        repeats: vec![Repeat {
            repeat: 0,
            results: results.clone(),
            status: result.status,
            passed: result.verdict.passed,
            throughput_per_s: throughput,
            concurrency,
            p99_ns: p99,
            saturated,
            utilization_bound_per_s: utilization.map(|u| u.bound().0),
            noise,
        }],
        throughput_ci_95: None,
        throughput_cv: None,
        p99_mean_ns: p99.map(|v| v as f64),
        p99_ci_95: None,
        unstable: false,
        saturated,
        saturation: Some(evidence),
        utilization_bound_per_s: utilization.map(|u| u.bound().0),
        utilization,
        noise,
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

/// Joins `repeats` (each from [`from_run`] at the same level, in the order run) into
/// one level: means and 95% intervals over the repeats (see [`Level::repeats`] for
/// what each figure becomes). `None` when `repeats` is empty.
pub fn combine(repeats: Vec<Level>) -> Option<Level> {
    let mut first = repeats.first()?.clone();
    if repeats.len() == 1 {
        return Some(first);
    }
    let runs: Vec<Repeat> = repeats
        .iter()
        .enumerate()
        .flat_map(|(k, l)| {
            l.repeats.iter().map(move |r| Repeat {
                repeat: k as u32,
                ..r.clone()
            })
        })
        .collect();
    let throughput = summarize(&runs.iter().map(|r| r.throughput_per_s).collect::<Vec<_>>());
    let p99: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.p99_ns.map(|v| v as f64))
        .collect();
    let p99 = summarize(&p99);
    let concurrency: Vec<f64> = repeats.iter().filter_map(|l| l.concurrency).collect();
    let worst = repeats
        .iter()
        .max_by_key(|l| l.ops.iter().map(|o| o.latency.p99_ns).max())
        .unwrap_or(&repeats[0]);
    let mut ops = worst.ops.clone();
    for op in &mut ops {
        let same: Vec<&LevelOp> = repeats
            .iter()
            .filter_map(|l| l.ops.iter().find(|o| o.op == op.op))
            .collect();
        op.count = same.iter().map(|o| o.count).sum();
        op.errors = same.iter().map(|o| o.errors).sum();
        op.throughput_per_s =
            same.iter().map(|o| o.throughput_per_s).sum::<f64>() / same.len() as f64;
    }
    let count: u64 = ops.iter().map(|o| o.count).sum();
    let errors: u64 = repeats.iter().map(|l| l.errors).sum();
    let label = |s: Saturated| runs.iter().any(|r| r.saturated == s);
    let saturated = if label(Saturated::Generator) {
        Saturated::Generator
    } else if label(Saturated::Target) {
        Saturated::Target
    } else {
        Saturated::None
    };
    // The evidence shown is that of a repeat with the level's label.
    let evidence = repeats
        .iter()
        .find(|l| l.saturated == saturated)
        .and_then(|l| l.saturation.clone());
    // The law over the means: mean busy ratio against mean throughput.
    let measured: Vec<_> = repeats.iter().filter_map(|l| l.utilization).collect();
    let utilization = (measured.len() == repeats.len())
        .then(|| {
            let k = measured.len() as f64;
            let stores: Vec<f64> = measured.iter().filter_map(|u| u.store_busy_ratio).collect();
            utilization::from_figures(
                measured[0].workers,
                measured.iter().map(|u| u.busy_ratio).sum::<f64>() / k,
                (stores.len() == measured.len()).then(|| stores.iter().sum::<f64>() / k),
                throughput.map_or(0.0, |s| s.mean),
            )
        })
        .flatten();
    let noises: Vec<_> = runs.iter().filter_map(|r| r.noise).collect();
    let mean_of = |f: fn(&crate::capacity_schema::Noise) -> Option<f64>| {
        let v: Vec<f64> = noises.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let noise = (!noises.is_empty()).then(|| crate::capacity_schema::Noise {
        steal_percent: mean_of(|n| n.steal_percent),
        other_cpu_percent: mean_of(|n| n.other_cpu_percent),
        noisy: noises.iter().any(|n| n.noisy),
    });
    first.status = if runs.iter().all(|r| r.status == RunStatus::Completed) {
        RunStatus::Completed
    } else {
        RunStatus::Aborted
    };
    first.passed = runs.iter().all(|r| r.passed);
    first.failures = repeats.iter().flat_map(|l| l.failures.clone()).collect();
    first.failures.dedup();
    first.throughput_per_s = throughput.map_or(0.0, |s| s.mean);
    first.concurrency = (!concurrency.is_empty())
        .then(|| concurrency.iter().sum::<f64>() / concurrency.len() as f64);
    first.little = worst.little;
    first.ops = ops;
    first.errors = errors;
    first.error_rate = if count > 0 {
        errors as f64 / count as f64
    } else {
        0.0
    };
    first.dropped_iterations = repeats.iter().map(|l| l.dropped_iterations).sum();
    first.rss_max_bytes = repeats.iter().filter_map(|l| l.rss_max_bytes).max();
    first.alive_tasks_max = repeats.iter().filter_map(|l| l.alive_tasks_max).max();
    // Throughput and latency are never negative: a wide interval stops at 0.
    let non_negative = |ci: Option<[f64; 2]>| ci.map(|[lo, hi]| [lo.max(0.0), hi]);
    first.throughput_ci_95 = non_negative(throughput.and_then(|s| s.ci_95));
    first.throughput_cv = throughput.and_then(|s| s.cv);
    first.unstable = throughput.is_some_and(|s| s.unstable());
    first.p99_mean_ns = p99.map(|s| s.mean);
    first.p99_ci_95 = non_negative(p99.and_then(|s| s.ci_95));
    first.saturated = saturated;
    first.saturation = evidence;
    first.utilization_bound_per_s = utilization.map(|u| u.bound().0);
    first.utilization = utilization;
    first.noise = noise;
    first.repeats = runs;
    Some(first)
}
