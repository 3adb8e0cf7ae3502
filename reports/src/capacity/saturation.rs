//! Who saturated: was a level (or a run) limited by the system under test, by the
//! load generator, or by neither?
//!
//! A throughput figure is a property of the target only if the harness could offer
//! more than the target took. The diagnosis reads, over the measured ticks:
//!
//! - the load threads' busy ratio (their CPU time over wall time, from `/proc`);
//! - the pacing lateness of the load: the mean over the measured ticks of how late
//!   open-loop ops started after their intended time (`pacing_lateness_mean_ns`),
//!   shown beside the label; no rule reads it, because the generator drops an op
//!   rather than start it later than `drop_after`, so its drops (rule 2) already
//!   tell a generator that fell behind;
//! - the open loop's dropped iterations and how often its ops in flight sat at the
//!   load's bound;
//! - the target runtime's worker busy ratio and global queue depth, and the device
//!   runtime's store writer busy ratio.
//!
//! **Rules, in order** (the first that applies gives the label):
//!
//! 1. `generator` when the load threads were busy at least [`GENERATOR_BUSY`] of the
//!    time: the generator ran out of CPU, whatever the target did.
//! 2. `generator` when iterations were dropped while the target had room (workers busy less than
//!    [`TARGET_ROOM`], fewer tasks queued than workers, store writer busy less than
//!    [`TARGET_ROOM`]): the harness did not offer what the schedule called for, and
//!    the target could have taken it.
//! 3. `target` when the target's workers (or its store writer) were busy at least
//!    [`TARGET_BUSY`] of the time, or its global queue held at least one task per
//!    worker on average, or iterations were dropped (the target had no room, rule 2
//!    did not apply): ops waited in the system under test.
//! 4. `none` otherwise: neither side was seen at its limit (the level is below the
//!    knee, or the limit is elsewhere, e.g. a shared CPU: see the level's noise).

use crate::capacity::measured;
use crate::capacity_schema::{Saturated, SaturationEvidence};
use crate::schema::RunResult;

/// Load-thread busy ratio from which the generator counts as saturated.
pub const GENERATOR_BUSY: f64 = 0.90;
/// Target worker (or store writer) busy ratio from which the target counts as saturated.
pub const TARGET_BUSY: f64 = 0.90;
/// Busy ratio below which the target counts as having room for more.
pub const TARGET_ROOM: f64 = 0.80;

/// Labels the run `r` and returns the figures the label was drawn from.
pub fn classify(r: &RunResult) -> (Saturated, SaturationEvidence) {
    let generator_busy_ratio = measured::mean(r, |t| t.process.load_threads_busy_ratio);
    let target_busy_ratio = measured::mean(r, |t| t.runtime.busy_ratio);
    let store_busy_ratio = measured::mean(r, |t| t.process.store_thread_busy_ratio);
    let global_queue_depth_mean = measured::mean(r, |t| Some(t.runtime.global_queue_depth as f64));
    let pacing_lateness_mean_ns =
        measured::mean(r, |t| t.generator.as_ref()?.lateness_mean_s).map(|s| s * 1e9);
    let dropped_iterations: u64 = r.loads.iter().map(|l| l.dropped_iterations_measured).sum();
    let open_loop = r.loads.iter().any(|l| l.scheduled.is_some());
    let bound: u64 = r.loads.iter().map(|l| l.max_in_flight).sum();
    let in_flight_at_bound_share = (open_loop && bound > 0)
        .then(|| {
            let all: Vec<bool> = measured::ticks(r).map(|t| t.in_flight >= bound).collect();
            (!all.is_empty()).then(|| all.iter().filter(|b| **b).count() as f64 / all.len() as f64)
        })
        .flatten();
    let workers = r.environment.target_worker_threads.max(1) as f64;
    let pct = |v: f64| format!("{:.0}%", v * 100.0);

    let queue_full = global_queue_depth_mean.is_some_and(|q| q >= workers);
    let target_busy = target_busy_ratio.is_some_and(|u| u >= TARGET_BUSY)
        || store_busy_ratio.is_some_and(|u| u >= TARGET_BUSY);
    let target_room = target_busy_ratio.is_some_and(|u| u < TARGET_ROOM)
        && store_busy_ratio.is_none_or(|u| u < TARGET_ROOM)
        && !queue_full;

    let (label, reason) = if let Some(g) = generator_busy_ratio.filter(|g| *g >= GENERATOR_BUSY) {
        (
            Saturated::Generator,
            format!("the load threads were busy {} of the time", pct(g)),
        )
    } else if target_room && dropped_iterations > 0 {
        (
            Saturated::Generator,
            format!(
                "the generator dropped {dropped_iterations} start(s) while the target's workers were busy only {}",
                pct(target_busy_ratio.unwrap_or(0.0))
            ),
        )
    } else if target_busy {
        let (what, u) = match (target_busy_ratio, store_busy_ratio) {
            (_, Some(s)) if s >= TARGET_BUSY => ("store writer", s),
            (Some(u), _) => ("workers", u),
            _ => ("workers", 0.0),
        };
        (
            Saturated::Target,
            format!("the target's {what} were busy {} of the time", pct(u)),
        )
    } else if queue_full {
        (
            Saturated::Target,
            format!(
                "the target's global queue held {:.1} task(s) on average for {} worker(s)",
                global_queue_depth_mean.unwrap_or(0.0),
                workers
            ),
        )
    } else if dropped_iterations > 0 {
        (
            Saturated::Target,
            format!(
                "the generator dropped {dropped_iterations} start(s): its slots were held by ops the target had not finished"
            ),
        )
    } else {
        (
            Saturated::None,
            match (target_busy_ratio, generator_busy_ratio) {
                (Some(u), Some(g)) => format!(
                    "neither side at its limit (target workers {}, load threads {})",
                    pct(u),
                    pct(g)
                ),
                (Some(u), None) => format!(
                    "the target's workers were busy {} (load threads not measured)",
                    pct(u)
                ),
                _ => "not measured".to_owned(),
            },
        )
    };
    (
        label,
        SaturationEvidence {
            generator_busy_ratio,
            pacing_lateness_mean_ns,
            dropped_iterations,
            in_flight_at_bound_share,
            target_busy_ratio,
            global_queue_depth_mean,
            store_busy_ratio,
            reason,
        },
    )
}

/// The warning a run prints when its generator saturated (`None` otherwise): the
/// figures measure the harness, not the target.
pub fn run_warning(r: &RunResult) -> Option<String> {
    let (label, evidence) = classify(r);
    (label == Saturated::Generator).then(|| {
        format!(
            "the load generator saturated ({}): throughput and latency are the harness's limit, a lower bound of the target's capacity",
            evidence.reason
        )
    })
}
