//! Turning what the collector measured into a [`RunResult`] with thresholds and a
//! verdict.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use gauntlet_reports::histogram::{ENCODING, EncodedHistogram};
use gauntlet_reports::schema::{
    Environment, LatencySummary, LeakCheck, LoadResult, MessageAccounting, OpResult, RunResult,
    RunStatus, SCHEMA_VERSION, ScenarioInfo, Tick, Verdict,
};

use super::collector::Collector;
use crate::load::LoadState;
use crate::scenario::Scenario;

/// How the run ended, as far as the collector does not know it.
#[derive(Debug)]
pub(crate) struct Ending {
    pub started_at: SystemTime,
    pub status: RunStatus,
    pub abort_reason: Option<String>,
    pub loads_ended: Option<Instant>,
    pub tasks_before: u64,
    pub tasks_after: Option<u64>,
    pub rss_before: Option<u64>,
    pub rss_after: Option<u64>,
    pub shutdown_clean: bool,
    pub shutdown_detail: String,
    pub messages: Option<MessageAccounting>,
    /// The fault windows injected (see `crate::faults`).
    pub injected: Vec<crate::faults::Injection>,
    /// The workload's invariants as checked.
    pub invariants: Vec<gauntlet_reports::schema::InvariantRecord>,
    /// The durability checker's findings (scenarios that restart the target's process).
    pub durability: Option<gauntlet_reports::schema::Durability>,
}

impl Ending {
    /// The ending assumed by a mid-run snapshot: if the harness never finishes, this
    /// is what the last-resort writer reports.
    pub fn partial(started_at: SystemTime, tasks_before: u64, rss_before: Option<u64>) -> Self {
        Self {
            started_at,
            status: RunStatus::Aborted,
            abort_reason: Some(
                "the harness itself did not finish in time; partial results written by the \
                 last-resort watchdog"
                    .to_owned(),
            ),
            loads_ended: None,
            tasks_before,
            tasks_after: None,
            rss_before,
            rss_after: None,
            shutdown_clean: false,
            shutdown_detail: "not reached".to_owned(),
            messages: None,
            injected: Vec::new(),
            invariants: Vec::new(),
            durability: None,
        }
    }
}

/// Least-squares slope of RSS over the measured ticks, in bytes per minute.
pub(crate) fn rss_growth_per_min(timeline: &[Tick]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = timeline
        .iter()
        .filter(|t| !t.warmup)
        .filter_map(|t| t.process.rss_bytes.map(|r| (t.t_s, r as f64)))
        .collect();
    if pts.len() < 3 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx * 60.0)
}

pub(crate) fn assemble(
    scenario: &Scenario,
    c: &Collector,
    loads: &[LoadState],
    ending: &Ending,
) -> RunResult {
    let end = ending.loads_ended.unwrap_or_else(Instant::now);
    let elapsed_s = c.t_s(Instant::now());
    let load_s = c.t_s(end).min(scenario.duration.as_secs_f64());
    let measured_s = (load_s - scenario.warmup.as_secs_f64()).max(1e-9);
    let totals: Vec<_> = loads.iter().map(LoadState::totals).collect();

    let ops = c
        .ops
        .iter()
        .enumerate()
        .map(|(slot, name)| {
            let (mut count, mut errors, mut timeouts) = (0, 0, 0);
            let mut kinds = gauntlet_reports::schema::ErrorKinds::default();
            for (i, l) in loads.iter().enumerate() {
                if l.op_slot == slot {
                    let warm = c.warm_totals.get(i).copied().unwrap_or_default();
                    count += totals[i].completed.saturating_sub(warm.completed);
                    errors += totals[i].errors.saturating_sub(warm.errors);
                    timeouts += totals[i].timeouts.saturating_sub(warm.timeouts);
                    kinds.rejected += totals[i].rejected.saturating_sub(warm.rejected);
                    kinds.failed += totals[i].failed.saturating_sub(warm.failed);
                }
            }
            let h = &c.whole[slot];
            let histogram = EncodedHistogram::encode(&h.latency, "ns").unwrap_or_else(|e| {
                tracing::error!(op = %name, error = %e, "cannot encode histogram");
                EncodedHistogram {
                    encoding: ENCODING.to_owned(),
                    unit: "ns".to_owned(),
                    data: String::new(),
                }
            });
            OpResult {
                op: name.clone(),
                count,
                errors,
                timeouts,
                error_kinds: kinds,
                throughput_per_s: count as f64 / measured_s,
                latency: LatencySummary::from_histogram(&h.latency),
                service_time: LatencySummary::from_histogram(&h.service),
                histogram,
                service_histogram: EncodedHistogram::encode(&h.service, "ns").ok(),
            }
        })
        .collect();

    let load_results = loads
        .iter()
        .zip(&totals)
        .zip(&c.warm_totals)
        .enumerate()
        .map(|(i, ((l, t), warm))| LoadResult {
            name: l.load.name.clone(),
            op: l.load.op.clone(),
            executor: l.load.executor.name().to_owned(),
            scheduled: l.rate.as_ref().map(|r| r.total()),
            started: t.started,
            completed: t.completed,
            errors: t.errors,
            dropped_iterations: t.dropped,
            dropped_iterations_measured: t.dropped.saturating_sub(warm.dropped),
            unfinished: t.started.saturating_sub(t.completed),
            max_in_flight: l.load.max_in_flight,
            starved_ticks: c.starved_ticks.get(i).copied().unwrap_or(0),
        })
        .collect();

    let tasks_after = ending.tasks_after.unwrap_or(ending.tasks_before);
    let tasks_leaked = tasks_after as i64 - ending.tasks_before as i64;
    let leaks = LeakCheck {
        shutdown_clean: ending.shutdown_clean,
        tasks_before: ending.tasks_before,
        tasks_after,
        tasks_leaked,
        rss_before_bytes: ending.rss_before,
        rss_after_bytes: ending.rss_after,
        rss_growth_bytes_per_min: rss_growth_per_min(&c.timeline),
        passed: ending.tasks_after.is_some() && tasks_leaked <= 0 && ending.shutdown_clean,
    };

    let mut result = RunResult {
        schema_version: SCHEMA_VERSION,
        gauntlet_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            file: scenario.file.clone(),
            seed: scenario.seed,
            duration_s: scenario.duration.as_secs_f64(),
            warmup_s: scenario.warmup.as_secs_f64(),
            tick_s: scenario.tick.as_secs_f64(),
            workload: scenario.target.workload().to_owned(),
            baseline_tolerances: scenario.baseline_tolerances.clone(),
        },
        started_at_unix_ms: ending
            .started_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        elapsed_s,
        status: ending.status,
        abort_reason: ending.abort_reason.clone(),
        environment: Environment {
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            target_worker_threads: scenario.runtime.worker_threads,
            load_threads: scenario.runtime.load_threads,
        },
        ops,
        loads: load_results,
        timeline: c.timeline.clone(),
        faults: Vec::new(),
        messages: ending.messages.clone().unwrap_or_default(),
        deadlocks: c.deadlocks.clone(),
        stalls: c.stalls.records(),
        leaks,
        invariants: ending.invariants.clone(),
        thresholds: Vec::new(),
        verdict: Verdict {
            passed: false,
            reasons: Vec::new(),
        },
        shard: None,
        merged: None,
        durability: ending.durability.clone(),
    };
    result.faults = crate::faults::recovery::records(
        &ending.injected,
        &mut result.timeline,
        scenario.tick.as_secs_f64(),
        &scenario.recovery,
    );
    result.thresholds = scenario
        .thresholds
        .iter()
        .flat_map(|t| t.evaluate(&result, measured_s))
        .collect();
    result.verdict = verdict(scenario, &result, &ending.shutdown_detail);
    result
}

fn verdict(scenario: &Scenario, r: &RunResult, shutdown_detail: &str) -> Verdict {
    let mut reasons = Vec::new();
    if r.status == RunStatus::Aborted {
        reasons.push(format!(
            "run aborted: {}",
            r.abort_reason.as_deref().unwrap_or("unknown reason")
        ));
    }
    reasons.extend(crate::threshold::failure_reasons(r));
    if !r.leaks.shutdown_clean {
        reasons.push(format!(
            "target did not shut down cleanly: {shutdown_detail}"
        ));
    }
    if r.leaks.tasks_leaked > 0 {
        reasons.push(format!(
            "leak check: {} task(s) still alive after shutdown ({} before, {} after)",
            r.leaks.tasks_leaked, r.leaks.tasks_before, r.leaks.tasks_after
        ));
    }
    if let Some(lost) = r.messages.lost
        && lost != 0
    {
        reasons.push(format!("message accounting: {lost} message(s) lost"));
    }
    reasons.extend(r.faults.iter().filter_map(|f| f.error.clone()));
    if scenario.watchdog.fail_on_stall && !r.stalls.is_empty() {
        reasons.push(format!(
            "{} stall(s) detected by the watchdog",
            r.stalls.len()
        ));
    }
    Verdict {
        passed: reasons.is_empty(),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gauntlet_reports::schema::{ProcessSample, RuntimeSample, TargetSample};

    fn tick(t_s: f64, rss: u64, warmup: bool) -> Tick {
        Tick {
            t_s,
            warmup,
            ops: Vec::new(),
            offered_per_s: 0.0,
            dropped: 0,
            in_flight: 0,
            process: ProcessSample {
                rss_bytes: Some(rss),
                cpu_percent: None,
                threads: None,
                ..Default::default()
            },
            runtime: RuntimeSample {
                alive_tasks: 0,
                global_queue_depth: 0,
                busy_ratio: None,
                sched_lag_max_ns: None,
                sched_lag_mean_ns: None,
            },
            target: TargetSample::default(),
            active_faults: Vec::new(),
            generator: None,
        }
    }

    #[test]
    fn rss_growth_is_the_slope_per_minute_after_warmup() {
        let mut tl = vec![tick(1.0, 999_999_999, true)];
        tl.extend((2..=10).map(|s| tick(f64::from(s), 1_000_000 + 1000 * s as u64, false)));
        let g = rss_growth_per_min(&tl).unwrap();
        assert!((g - 60_000.0).abs() < 1e-6, "{g}");
        assert_eq!(rss_growth_per_min(&tl[..3]), None);
    }
}
