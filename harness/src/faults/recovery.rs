//! Recovery measurement: the timeline around each fault window, and how long after
//! the window throughput, p99 and the error ratio took to come back to their
//! pre-fault level.
//!
//! A tick belongs to the stretch its midpoint falls in (tick boundaries drift a little
//! against the schedule):
//!
//! - **before**: the ticks in the `baseline` stretch before the window that no fault
//!   was active in (the level to come back to);
//! - **during**: the ticks of the window;
//! - **after**: from the end of the window to the start of the next fault's window (or
//!   the end of the run).
//!
//! A fault has **recovered** at the end of the first tick after its window whose total
//! throughput is at least `(1 - tolerance)` times the baseline's, whose worst p99 is
//! at most `(1 + tolerance)` times the baseline's (or at most `p99_floor`), and whose
//! error ratio (failed ops over ops finished, all ops together) is at most
//! `(1 + tolerance)` times the baseline's (or at most `error_floor`). Throughput counts
//! every op that finished, failed or not, so a target that fails fast keeps it up (a
//! killed child's ops fail at once as unavailable, an open breaker rejects at once):
//! the error ratio is what says it has not recovered. Recovery
//! time is measured at tick resolution, from the end of the window to the end of that
//! tick: an upper bound. `recovered` is true only when that is within the scenario's
//! bound (`[recovery] within`). A fault with no baseline (no fault-free tick before
//! it) or no such tick before the run ended has not recovered (`recovery_s` is null),
//! and says so.

use gauntlet_reports::schema::{FaultRecord, FaultWindows, Tick, WindowOp, WindowStats};

use super::Injection;
use super::spec::RecoverySettings;
use super::vocabulary::Detection;

/// Tolerance for comparing tick times (seconds).
const EPS: f64 = 1e-6;

/// Builds the fault records of a run and marks each tick with the faults active in it.
pub fn records(
    injections: &[Injection],
    timeline: &mut [Tick],
    tick_s: f64,
    settings: &RecoverySettings,
) -> Vec<FaultRecord> {
    for t in timeline.iter_mut() {
        let m = t.t_s - tick_s / 2.0;
        t.active_faults = injections
            .iter()
            .filter(|f| f.error.is_none() && f.start_s <= m && m < f.end_s)
            .map(|f| f.kind.name().to_owned())
            .collect();
        t.active_faults.dedup();
    }
    injections
        .iter()
        .map(|f| record(f, injections, timeline, tick_s, settings))
        .collect()
}

fn record(
    f: &Injection,
    all: &[Injection],
    timeline: &[Tick],
    tick_s: f64,
    settings: &RecoverySettings,
) -> FaultRecord {
    let mut r = FaultRecord {
        kind: f.kind.name().to_owned(),
        target: f.target.clone(),
        start_s: f.start_s,
        end_s: f.end_s,
        recovery_s: None,
        recovered: false,
        toxicity: Some(f.toxicity),
        events_affected: f.affected,
        windows: None,
        victims: f.victims.clone(),
        detected: f.detected,
        error: f.error.clone(),
        restart_s: f.restart_s,
    };
    if f.error.is_some() {
        return r;
    }
    let mid = |t: &Tick| t.t_s - tick_s / 2.0;
    let base_from = f.start_s - settings.baseline.as_secs_f64();
    let before: Vec<&Tick> = timeline
        .iter()
        .filter(|t| mid(t) >= base_from && mid(t) < f.start_s)
        .filter(|t| t.active_faults.is_empty())
        .collect();
    let during: Vec<&Tick> = timeline
        .iter()
        .filter(|t| mid(t) >= f.start_s && mid(t) < f.end_s)
        .collect();
    let next_start = all
        .iter()
        .filter(|o| o.start_s >= f.end_s - EPS && !std::ptr::eq(*o, f))
        .map(|o| o.start_s)
        .fold(f64::INFINITY, f64::min);
    let after: Vec<&Tick> = timeline
        .iter()
        .filter(|t| mid(t) >= f.end_s && mid(t) < next_start)
        .collect();
    let stats = |ticks: &[&Tick], start_s: f64, end_s: f64, prev: Option<&Tick>| {
        stretch(ticks, start_s, end_s, prev)
    };
    let prev_of = |ticks: &[&Tick]| -> Option<&Tick> {
        let first = ticks.first()?;
        timeline
            .iter()
            .take_while(|t| t.t_s < first.t_s - EPS)
            .last()
    };
    let before_stats = stats(&before, base_from.max(0.0), f.start_s, prev_of(&before));
    let during_stats = stats(&during, f.start_s, f.end_s, prev_of(&during));
    let after_end = after.last().map_or(f.end_s, |t| t.t_s);
    let after_stats = stats(&after, f.end_s, after_end, prev_of(&after));
    if !before.is_empty() {
        let tp_floor = before_stats.throughput_per_s * (1.0 - settings.tolerance);
        let p99_limit = before_stats.p99_ns.map_or(0.0, |p| p as f64) * (1.0 + settings.tolerance);
        let p99_limit = p99_limit.max(settings.p99_floor.as_nanos() as f64);
        let error_limit =
            (error_ratio(&before) * (1.0 + settings.tolerance)).max(settings.error_floor);
        if let Some(t) = timeline.iter().filter(|t| mid(t) >= f.end_s).find(|t| {
            throughput(t) >= tp_floor
                && worst_p99(t).is_none_or(|p| p as f64 <= p99_limit)
                && error_ratio(&[*t]) <= error_limit
        }) {
            let took = (t.t_s - f.end_s).max(0.0);
            r.recovery_s = Some(took);
            r.recovered = took <= settings.within.as_secs_f64() + EPS;
        }
    }
    if f.kind.facts().detected == Detection::StallReports {
        // The runtime's stall watchdog must have reported the blocked workers: count
        // its reports from the window's start until the next fault (a report comes
        // only once a handler has been busy past the runtime's stall threshold, which
        // may be after the window).
        let upto: Vec<&Tick> = during.iter().chain(&after).copied().collect();
        r.detected = delta(&upto, prev_of(&during), |t| t.target.stalls);
    }
    r.windows = Some(FaultWindows {
        before: before_stats,
        during: during_stats,
        after: after_stats,
    });
    r
}

fn throughput(t: &Tick) -> f64 {
    t.ops.iter().map(|o| o.rate_per_s).sum()
}

/// Failed ops over ops finished in `ticks` (`completed` counts both, succeeded and
/// failed); 0 when none finished.
fn error_ratio(ticks: &[&Tick]) -> f64 {
    let (mut done, mut failed) = (0u64, 0u64);
    for o in ticks.iter().flat_map(|t| &t.ops) {
        done += o.completed;
        failed += o.errors;
    }
    if done == 0 {
        0.0
    } else {
        failed as f64 / done as f64
    }
}

fn worst_p99(t: &Tick) -> Option<u64> {
    t.ops.iter().filter_map(|o| o.p99_ns).max()
}

/// Growth of a cumulative counter over `ticks`, from the tick before them.
fn delta(ticks: &[&Tick], prev: Option<&Tick>, f: impl Fn(&Tick) -> Option<u64>) -> Option<u64> {
    let last = f(ticks.last()?)?;
    let base = prev.and_then(&f).unwrap_or(0);
    Some(last.saturating_sub(base))
}

fn stretch(ticks: &[&Tick], start_s: f64, end_s: f64, prev: Option<&Tick>) -> WindowStats {
    let n = ticks.len().max(1) as f64;
    let mut ops: Vec<WindowOp> = Vec::new();
    for t in ticks {
        for o in &t.ops {
            match ops.iter_mut().find(|w| w.op == o.op) {
                Some(w) => {
                    w.throughput_per_s += o.rate_per_s / n;
                    w.p99_ns = w.p99_ns.max(o.p99_ns);
                    w.errors += o.errors;
                }
                None => ops.push(WindowOp {
                    op: o.op.clone(),
                    throughput_per_s: o.rate_per_s / n,
                    p99_ns: o.p99_ns,
                    errors: o.errors,
                }),
            }
        }
    }
    WindowStats {
        start_s,
        end_s,
        // `+ 0.0`: an empty sum is -0.0, which would print as "-0".
        throughput_per_s: ops.iter().map(|o| o.throughput_per_s).sum::<f64>() + 0.0,
        p99_ns: ops.iter().filter_map(|o| o.p99_ns).max(),
        errors: ops.iter().map(|o| o.errors).sum(),
        restarts: delta(ticks, prev, |t| t.target.restarts),
        breaker_transitions: delta(ticks, prev, |t| t.target.breaker_transitions),
        dropped: delta(ticks, prev, |t| t.target.messages_dropped),
        dead_lettered: delta(ticks, prev, |t| t.target.messages_dead_lettered),
        ops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gauntlet_reports::schema::{ProcessSample, RuntimeSample, TargetSample, TickOp};

    fn tick(t_s: f64, rate: f64, p99_ms: u64, restarts: u64) -> Tick {
        failing(t_s, rate, 0, p99_ms, restarts)
    }

    /// A one-second tick in which `rate` ops finished, `errors` of them failed.
    fn failing(t_s: f64, rate: f64, errors: u64, p99_ms: u64, restarts: u64) -> Tick {
        Tick {
            t_s,
            warmup: false,
            ops: vec![TickOp {
                op: "ask".into(),
                completed: rate as u64,
                errors,
                rate_per_s: rate,
                p50_ns: None,
                p90_ns: None,
                p99_ns: Some(p99_ms * 1_000_000),
                p999_ns: None,
                max_ns: None,
            }],
            offered_per_s: rate,
            dropped: 0,
            in_flight: 0,
            process: ProcessSample {
                rss_bytes: None,
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
            target: TargetSample {
                restarts: Some(restarts),
                ..TargetSample::default()
            },
            active_faults: Vec::new(),
            generator: None,
        }
    }

    fn injection(start_s: f64, end_s: f64) -> Injection {
        Injection {
            fault: 0,
            window: 0,
            kind: crate::faults::Kind::Crash,
            target: "actor://g/*".into(),
            start_s,
            end_s,
            toxicity: 1.0,
            victims: vec![],
            affected: 3,
            detected: None,
            error: None,
            restart_s: None,
        }
    }

    fn settings() -> RecoverySettings {
        RecoverySettings {
            tolerance: 0.2,
            p99_floor: std::time::Duration::from_millis(1),
            ..RecoverySettings::default()
        }
    }

    #[test]
    fn recovery_is_the_first_tick_back_within_tolerance() {
        // Baseline 1000/s at 2 ms; the fault (3..5 s) halves throughput; the tick
        // ending at 6 s is still slow, the one ending at 7 s is back.
        let mut tl: Vec<Tick> = (1..=9u32)
            .map(|s| match s {
                4 | 5 => tick(f64::from(s), 500.0, 40, 10 * u64::from(s - 3)),
                6 => tick(6.0, 700.0, 10, 20),
                _ if s > 6 => tick(f64::from(s), 990.0, 2, 20),
                _ => tick(f64::from(s), 1000.0, 2, 0),
            })
            .collect();
        let r = &records(&[injection(3.0, 5.0)], &mut tl, 1.0, &settings())[0];
        assert!(r.recovered);
        assert_eq!(r.recovery_s, Some(2.0));
        let w = r.windows.as_ref().unwrap();
        assert_eq!(w.before.throughput_per_s, 1000.0);
        assert_eq!(w.during.throughput_per_s, 500.0);
        assert_eq!(w.during.restarts, Some(20));
        assert_eq!(w.during.p99_ns, Some(40_000_000));
        assert_eq!(tl[3].active_faults, ["crash"]);
        assert!(tl[5].active_faults.is_empty());
        assert!(tl[2].active_faults.is_empty());
    }

    #[test]
    fn a_run_that_never_recovers_says_so() {
        let mut tl: Vec<Tick> = (1..=6u32)
            .map(|s| tick(f64::from(s), if s > 3 { 10.0 } else { 1000.0 }, 2, 0))
            .collect();
        let r = &records(&[injection(3.0, 4.0)], &mut tl, 1.0, &settings())[0];
        assert!(!r.recovered);
        assert_eq!(r.recovery_s, None);
        // With no baseline there is nothing to recover to.
        let r = &records(&[injection(0.0, 1.0)], &mut tl, 1.0, &settings())[0];
        assert!(!r.recovered);
    }

    /// A target that fails fast: throughput (ops finished) and p99 never drop, but
    /// every op fails in the window and 30% until 7 s: the fault has recovered only
    /// at the end of the tick ending at 8 s. The same series with the error check off
    /// (`error_floor = 1`, any ratio passes) recovers at 6 s, so it is the error
    /// ratio that holds the verdict back.
    fn fails_fast_after_the_window() -> Vec<Tick> {
        (1..=10u32)
            .map(|s| {
                let t = f64::from(s);
                match s {
                    4..=7 => failing(t, 1000.0, if s < 6 { 1000 } else { 300 }, 1, 0),
                    _ => failing(t, 1000.0, 2, 1, 0),
                }
            })
            .collect()
    }

    #[test]
    fn errors_keep_a_fault_unrecovered_until_their_ratio_is_back() {
        let mut tl = fails_fast_after_the_window();
        let r = &records(&[injection(3.0, 5.0)], &mut tl, 1.0, &settings())[0];
        assert_eq!(r.recovery_s, Some(3.0));
        assert!(r.recovered);
        // Negative control: without the error check the same series passes at once.
        let off = RecoverySettings {
            error_floor: 1.0,
            ..settings()
        };
        let r = &records(&[injection(3.0, 5.0)], &mut tl, 1.0, &off)[0];
        assert_eq!(r.recovery_s, Some(1.0));
        // And a bound shorter than the failing stretch fails the fault.
        let tight = RecoverySettings {
            within: std::time::Duration::from_secs(2),
            ..settings()
        };
        let r = &records(&[injection(3.0, 5.0)], &mut tl, 1.0, &tight)[0];
        assert!(!r.recovered);
    }

    #[test]
    fn the_error_ratio_is_judged_against_the_baselines_own() {
        // A target that fails 10% of its ops before the fault is back at 11.5%
        // (within the tolerance of 20%), though that is above the floor of 1%.
        let mut tl: Vec<Tick> = (1..=8u32)
            .map(|s| {
                let t = f64::from(s);
                match s {
                    4 | 5 => failing(t, 1000.0, 900, 1, 0),
                    _ if s > 5 => failing(t, 1000.0, 115, 1, 0),
                    _ => failing(t, 1000.0, 100, 1, 0),
                }
            })
            .collect();
        let r = &records(&[injection(3.0, 5.0)], &mut tl, 1.0, &settings())[0];
        assert_eq!(r.recovery_s, Some(1.0));
        // 15% is past the tolerance: never recovered.
        for t in tl.iter_mut().skip(5) {
            t.ops[0].errors = 150;
        }
        let r = &records(&[injection(3.0, 5.0)], &mut tl, 1.0, &settings())[0];
        assert_eq!(r.recovery_s, None);
    }
}
