//! Running a sweep: one run of the scenario per level, through [`crate::run::run`],
//! until a level breaks the thresholds, throughput stops rising, or the deadline
//! leaves no room for the next level; then the repeats, interleaved across the
//! levels ([`sweep`]).

use std::path::PathBuf;
use std::time::Instant;

use gauntlet_reports::capacity::analysis::{conclude, slo};
use gauntlet_reports::capacity::level;
use gauntlet_reports::capacity_schema::{
    CAPACITY_SCHEMA_VERSION, CapacityResult, ConcurrencySource, Level, LoadVariable, Source, Stop,
    StopReason,
};
use gauntlet_reports::schema::{RunResult, RunStatus};

use super::output::write_atomic;
use super::plan::Plan;
use crate::run::{RunError, RunOptions, run};
use crate::scenario::Scenario;

/// Why a sweep could not produce a capacity file at all.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The first level could not be run.
    #[error("level 0 could not be run: {0}")]
    FirstLevel(#[from] RunError),
    /// An output file could not be written.
    #[error("{0}")]
    Output(String),
}

/// Options of a sweep that are not part of the plan.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Where `capacity.json`, `summary.md` and `levels/*/results.json` go.
    pub out: PathBuf,
    /// Draw each level's live progress line.
    pub progress: bool,
}

/// One level run once: its per-repeat level and its run.
struct Measured {
    level: Level,
    run: RunResult,
}

/// Why a level's run did not give a level.
enum Failed {
    /// The run could not start (the target failed to build, ...).
    Run(RunError),
    /// Its results could not be written.
    Output(SweepError),
}

/// Runs level `i` (`step`) once as repeat `repeat` and writes its results file.
fn measure(
    base: &Scenario,
    plan: &Plan,
    options: &SweepOptions,
    i: usize,
    step: f64,
    repeat: u32,
) -> Result<Measured, Failed> {
    let scenario = plan.level_scenario(base, step);
    let run_options = RunOptions {
        progress: options.progress,
        handle_ctrl_c: true,
        snapshot: None,
        ..RunOptions::default()
    };
    let result = run(&scenario, &run_options).map_err(Failed::Run)?;
    let mut rel = PathBuf::from("levels").join(format!("{i:02}-{step}"));
    if repeat > 0 {
        rel = rel.join(format!("repeat-{repeat}"));
    }
    let rel = rel.join("results.json");
    let json = result
        .to_json()
        .map_err(|e| Failed::Output(SweepError::Output(format!("serializing level {i}: {e}"))))?;
    write_atomic(&options.out.join(&rel), &json)
        .map_err(|e| Failed::Output(SweepError::Output(e)))?;
    let level = level::from_run(
        &result,
        i,
        step,
        plan.variable,
        Some(rel.display().to_string()),
    );
    Ok(Measured { level, run: result })
}

fn interrupted(result: &RunResult) -> bool {
    result.status == RunStatus::Aborted
        && result
            .abort_reason
            .as_deref()
            .is_some_and(|r| r.contains("Ctrl-C"))
}

/// Each level's repeats joined into one level.
fn combined(runs: &[Vec<Level>]) -> Vec<Level> {
    runs.iter()
        .filter_map(|r| level::combine(r.clone()))
        .collect()
}

/// Sweeps `base` through `plan`'s levels; writes each level's `results.json` as it
/// ends and `capacity.json` after every level (so an interrupted sweep leaves what it
/// measured), and returns the final result.
///
/// **Repeats.** The first round runs the levels in increasing load and decides where
/// the sweep stops (breakpoint, plateau, deadline) from each level's single
/// measurement. With `repeats = K > 1`, K − 1 more rounds then run the same levels
/// again, alternately from the top down and from the bottom up, so that a drift of
/// the machine (warming, another job starting) falls on every level alike instead of
/// on the last ones; a level's figures are over its K runs
/// ([`level::combine`]). A round that the deadline would cut short stops where it
/// is, and the levels keep the repeats they have.
pub fn sweep(
    base: &Scenario,
    plan: &Plan,
    options: &SweepOptions,
) -> Result<CapacityResult, SweepError> {
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let unit = plan.variable.unit();
    let total = plan.steps.len();
    // Per level, its repeats in the order run.
    let mut runs: Vec<Vec<Level>> = Vec::new();
    let mut first: Option<RunResult> = None;
    let mut best = 0.0_f64;
    let mut flat = 0u32;
    let mut first_break: Option<usize> = None;
    let mut stop = Stop {
        reason: StopReason::AllLevels,
        level: None,
        detail: format!("all {total} levels ran"),
    };
    eprintln!(
        "capacity: {} — load `{}` through {total} levels of {unit} ({}s settle + {}s each, {} repeat(s); deadline {}s)",
        base.name,
        base.loads[plan.load].name,
        plan.settle.as_secs_f64(),
        plan.step_duration.as_secs_f64(),
        plan.repeats,
        plan.deadline.as_secs_f64()
    );
    let deadline_stop = |i: usize, step: f64| -> Option<Stop> {
        let worst = plan.level_worst_case(base);
        let left = plan.deadline.saturating_sub(started.elapsed());
        (worst > left).then(|| Stop {
            reason: StopReason::Deadline,
            level: Some(i),
            detail: format!(
                "the sweep's deadline ({:.0}s) left {:.0}s, and level {i} ({step} {unit}) could take up to {:.0}s",
                plan.deadline.as_secs_f64(),
                left.as_secs_f64(),
                worst.as_secs_f64()
            ),
        })
    };
    let mut cut = false;
    for (i, &step) in plan.steps.iter().enumerate() {
        if let Some(s) = deadline_stop(i, step) {
            stop = s;
            cut = true;
            break;
        }
        eprintln!("capacity: level {}/{total}: {step} {unit} ...", i + 1);
        let m = match measure(base, plan, options, i, step, 0) {
            Ok(m) => m,
            Err(Failed::Output(e)) => return Err(e),
            Err(Failed::Run(e)) if runs.is_empty() => return Err(SweepError::FirstLevel(e)),
            Err(Failed::Run(e)) => {
                stop = Stop {
                    reason: StopReason::RunError,
                    level: Some(i),
                    detail: format!("level {i} ({step} {unit}) could not be run: {e}"),
                };
                cut = true;
                break;
            }
        };
        eprintln!("capacity: {}", describe(&m.level, unit));
        let throughput = m.level.throughput_per_s;
        let passed = m.level.passed;
        runs.push(vec![m.level]);
        first.get_or_insert(m.run.clone());

        if interrupted(&m.run) {
            stop = Stop {
                reason: StopReason::Interrupted,
                level: Some(i),
                detail: format!("interrupted during level {i} ({step} {unit})"),
            };
            cut = true;
            break;
        }
        if !passed && first_break.is_none() {
            first_break = Some(i);
        }
        if let Some(b) = first_break
            && i - b >= plan.levels_after_break as usize
        {
            let failure = runs[b][0]
                .failures
                .first()
                .cloned()
                .unwrap_or_else(|| "failed".to_owned());
            stop = Stop {
                reason: StopReason::ThresholdBroken,
                level: Some(b),
                detail: format!(
                    "breakpoint at level {b} ({} {unit}): {failure}",
                    runs[b][0].offered
                ),
            };
            break;
        }
        if throughput < best * (1.0 + plan.min_gain) {
            flat += 1;
        } else {
            flat = 0;
        }
        best = best.max(throughput);
        if flat >= plan.patience {
            stop = Stop {
                reason: StopReason::Plateau,
                level: Some(i),
                detail: format!(
                    "throughput stopped rising: {flat} level(s) in a row below {:.0} ops/s (best so far + {:.0}%), last at level {i} ({step} {unit})",
                    best * (1.0 + plan.min_gain),
                    plan.min_gain * 100.0
                ),
            };
            break;
        }
        write_partial(
            base,
            plan,
            options,
            first.as_ref(),
            &runs,
            started,
            started_at,
            |done| format!("sweep in progress: {done} of {total} levels done"),
        )?;
    }
    // Rounds 2..=K over the levels the first round ran, alternating direction.
    let measured = runs.len();
    'rounds: for repeat in 1..plan.repeats {
        if cut {
            break;
        }
        let order: Vec<usize> = if repeat % 2 == 1 {
            (0..measured).rev().collect()
        } else {
            (0..measured).collect()
        };
        for i in order {
            let step = plan.steps[i];
            if let Some(mut s) = deadline_stop(i, step) {
                s.detail = format!(
                    "{} (repeat {} of {} cut short; levels keep the repeats they have)",
                    s.detail,
                    repeat + 1,
                    plan.repeats
                );
                stop = s;
                break 'rounds;
            }
            eprintln!(
                "capacity: repeat {}/{}: level {i} ({step} {unit}) ...",
                repeat + 1,
                plan.repeats
            );
            let m = match measure(base, plan, options, i, step, repeat) {
                Ok(m) => m,
                Err(Failed::Output(e)) => return Err(e),
                Err(Failed::Run(e)) => {
                    stop = Stop {
                        reason: StopReason::RunError,
                        level: Some(i),
                        detail: format!(
                            "level {i} ({step} {unit}), repeat {}, could not be run: {e}",
                            repeat + 1
                        ),
                    };
                    break 'rounds;
                }
            };
            eprintln!("capacity: {}", describe(&m.level, unit));
            let stopped = interrupted(&m.run);
            runs[i].push(m.level);
            if stopped {
                stop = Stop {
                    reason: StopReason::Interrupted,
                    level: Some(i),
                    detail: format!(
                        "interrupted during level {i} ({step} {unit}), repeat {}",
                        repeat + 1
                    ),
                };
                break 'rounds;
            }
            write_partial(
                base,
                plan,
                options,
                first.as_ref(),
                &runs,
                started,
                started_at,
                |_| {
                    format!(
                        "sweep in progress: repeat {} of {}",
                        repeat + 1,
                        plan.repeats
                    )
                },
            )?;
        }
    }
    let result = assemble(
        base,
        plan,
        first.as_ref(),
        &combined(&runs),
        stop,
        started_at,
        started.elapsed().as_secs_f64(),
    );
    super::output::write_capacity(&options.out, &result).map_err(SweepError::Output)?;
    Ok(result)
}

/// Keeps a readable `capacity.json` on disk while the sweep goes on.
#[allow(clippy::too_many_arguments)]
fn write_partial(
    base: &Scenario,
    plan: &Plan,
    options: &SweepOptions,
    first: Option<&RunResult>,
    runs: &[Vec<Level>],
    started: Instant,
    started_at: std::time::SystemTime,
    detail: impl Fn(usize) -> String,
) -> Result<(), SweepError> {
    let partial = assemble(
        base,
        plan,
        first,
        &combined(runs),
        Stop {
            reason: StopReason::Interrupted,
            level: runs.len().checked_sub(1),
            detail: detail(runs.len()),
        },
        started_at,
        started.elapsed().as_secs_f64(),
    );
    super::output::write_capacity(&options.out, &partial).map_err(SweepError::Output)
}

fn assemble(
    base: &Scenario,
    plan: &Plan,
    first: Option<&RunResult>,
    levels: &[Level],
    stop: Stop,
    started_at: std::time::SystemTime,
    elapsed_s: f64,
) -> CapacityResult {
    let scenario = first.map_or_else(
        || gauntlet_reports::schema::ScenarioInfo {
            name: base.name.clone(),
            description: base.description.clone(),
            file: base.file.clone(),
            seed: base.seed,
            duration_s: (plan.settle + plan.step_duration).as_secs_f64(),
            warmup_s: plan.settle.as_secs_f64(),
            tick_s: base.tick.as_secs_f64(),
            workload: base.target.workload().to_owned(),
            baseline_tolerances: Default::default(),
        },
        |r| r.scenario.clone(),
    );
    let mut r = CapacityResult {
        schema_version: CAPACITY_SCHEMA_VERSION,
        gauntlet_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario,
        started_at_unix_ms: started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        elapsed_s,
        source: Source::Sweep,
        load: base.loads[plan.load].name.clone(),
        op: base.loads[plan.load].op.clone(),
        variable: plan.variable,
        concurrency_source: concurrency_source(plan.variable),
        sweep: Some(plan.settings()),
        slo: slo(first.map_or(&[][..], |r| &r.thresholds)),
        levels: levels.to_vec(),
        stop,
        fit: None,
        fit_error: None,
        max_within_slo: None,
        statement: String::new(),
        bounds: None,
    };
    conclude(&mut r);
    r
}

/// Where the fit's concurrency comes from for levels of `variable`.
pub fn concurrency_source(variable: LoadVariable) -> ConcurrencySource {
    match variable {
        LoadVariable::ArrivalRate => ConcurrencySource::LittlesLaw,
        LoadVariable::Concurrency => ConcurrencySource::Configured,
    }
}

/// One console line about a finished level.
fn describe(l: &Level, unit: &str) -> String {
    let p99 = l
        .ops
        .iter()
        .map(|o| o.latency.p99_ns)
        .max()
        .map_or_else(|| "-".to_owned(), |v| crate::units::format_ns(v as f64));
    let noise = l.noise.map_or_else(String::new, |n| {
        format!(
            ", {}{}",
            gauntlet_reports::capacity::noise::describe(&n),
            if n.noisy { " (NOISY)" } else { "" }
        )
    });
    format!(
        "level {}: {} {unit} -> {:.0} ops/s, p99 {p99}, N {}, errors {}, dropped {}, saturated: {}{noise}: {}",
        l.index,
        l.offered,
        l.throughput_per_s,
        l.concurrency.map_or("-".to_owned(), |n| format!("{n:.2}")),
        l.errors,
        l.dropped_iterations,
        l.saturated.label(),
        if l.passed {
            "pass".to_owned()
        } else {
            format!("FAIL ({})", l.failures.join("; "))
        }
    )
}
