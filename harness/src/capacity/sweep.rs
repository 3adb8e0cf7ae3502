//! Running a sweep: one run of the scenario per level, through [`crate::run::run`],
//! until a level breaks the thresholds, throughput stops rising, or the deadline
//! leaves no room for the next level.

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

/// Sweeps `base` through `plan`'s levels; writes each level's `results.json` as it
/// ends and `capacity.json` after every level (so an interrupted sweep leaves what it
/// measured), and returns the final result.
pub fn sweep(
    base: &Scenario,
    plan: &Plan,
    options: &SweepOptions,
) -> Result<CapacityResult, SweepError> {
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let unit = plan.variable.unit();
    let total = plan.steps.len();
    let mut levels: Vec<Level> = Vec::new();
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
        "capacity: {} — load `{}` through {total} levels of {unit} ({}s settle + {}s each; deadline {}s)",
        base.name,
        base.loads[plan.load].name,
        plan.settle.as_secs_f64(),
        plan.step_duration.as_secs_f64(),
        plan.deadline.as_secs_f64()
    );
    for (i, &step) in plan.steps.iter().enumerate() {
        let worst = plan.level_worst_case(base);
        let left = plan.deadline.saturating_sub(started.elapsed());
        if worst > left {
            stop = Stop {
                reason: StopReason::Deadline,
                level: Some(i),
                detail: format!(
                    "the sweep's deadline ({:.0}s) left {:.0}s, and level {i} ({} {unit}) could take up to {:.0}s",
                    plan.deadline.as_secs_f64(),
                    left.as_secs_f64(),
                    step,
                    worst.as_secs_f64()
                ),
            };
            break;
        }
        eprintln!("capacity: level {}/{total}: {step} {unit} ...", i + 1);
        let scenario = plan.level_scenario(base, step);
        let run_options = RunOptions {
            progress: options.progress,
            handle_ctrl_c: true,
            snapshot: None,
            ..RunOptions::default()
        };
        let result = match run(&scenario, &run_options) {
            Ok(r) => r,
            Err(e) if levels.is_empty() => return Err(SweepError::FirstLevel(e)),
            Err(e) => {
                stop = Stop {
                    reason: StopReason::RunError,
                    level: Some(i),
                    detail: format!("level {i} ({step} {unit}) could not be run: {e}"),
                };
                break;
            }
        };
        let rel = PathBuf::from("levels")
            .join(format!("{i:02}-{step}"))
            .join("results.json");
        let json = result
            .to_json()
            .map_err(|e| SweepError::Output(format!("serializing level {i}: {e}")))?;
        write_atomic(&options.out.join(&rel), &json).map_err(SweepError::Output)?;
        let lv = level::from_run(
            &result,
            i,
            step,
            plan.variable,
            Some(rel.display().to_string()),
        );
        eprintln!("capacity: {}", describe(&lv, unit));
        let throughput = lv.throughput_per_s;
        let passed = lv.passed;
        levels.push(lv);
        first.get_or_insert(result.clone());

        let interrupted = result.status == RunStatus::Aborted
            && result
                .abort_reason
                .as_deref()
                .is_some_and(|r| r.contains("Ctrl-C"));
        if interrupted {
            stop = Stop {
                reason: StopReason::Interrupted,
                level: Some(i),
                detail: format!("interrupted during level {i} ({step} {unit})"),
            };
            break;
        }
        if !passed && first_break.is_none() {
            first_break = Some(i);
        }
        if let Some(b) = first_break
            && i - b >= plan.levels_after_break as usize
        {
            let failure = levels[b]
                .failures
                .first()
                .cloned()
                .unwrap_or_else(|| "failed".to_owned());
            stop = Stop {
                reason: StopReason::ThresholdBroken,
                level: Some(b),
                detail: format!(
                    "breakpoint at level {b} ({} {unit}): {failure}",
                    levels[b].offered
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
        // Keep a readable file on disk while the sweep goes on.
        let partial = assemble(
            base,
            plan,
            first.as_ref(),
            &levels,
            Stop {
                reason: StopReason::Interrupted,
                level: Some(i),
                detail: format!("sweep in progress: {} of {total} levels done", i + 1),
            },
            started_at,
            started.elapsed().as_secs_f64(),
        );
        super::output::write_capacity(&options.out, &partial).map_err(SweepError::Output)?;
    }
    let result = assemble(
        base,
        plan,
        first.as_ref(),
        &levels,
        stop,
        started_at,
        started.elapsed().as_secs_f64(),
    );
    super::output::write_capacity(&options.out, &result).map_err(SweepError::Output)?;
    Ok(result)
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
    format!(
        "level {}: {} {unit} -> {:.0} ops/s, p99 {p99}, N {}, errors {}, dropped {}: {}",
        l.index,
        l.offered,
        l.throughput_per_s,
        l.concurrency.map_or("-".to_owned(), |n| format!("{n:.2}")),
        l.errors,
        l.dropped_iterations,
        if l.passed {
            "pass".to_owned()
        } else {
            format!("FAIL ({})", l.failures.join("; "))
        }
    )
}
