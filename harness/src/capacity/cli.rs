//! The `gauntlet capacity` subcommand: its arguments and what it prints and returns.

use std::path::PathBuf;
use std::time::Duration;

use gauntlet_reports::capacity::statement::console;
use gauntlet_reports::capacity_schema::{CapacityResult, StopReason};

use super::from_results::from_results;
use super::output::write_capacity;
use super::plan::{Plan, SweepOverrides};
use super::spec::parse_steps;
use super::sweep::{SweepError, SweepOptions, sweep};
use crate::scenario::{Overrides, load_file_in};
use crate::units::parse_duration;

/// Exit code: the sweep ran and a model was fitted.
pub const EXIT_OK: u8 = 0;
/// Exit code: results were written but no model could be fitted, or the sweep was
/// interrupted or a level could not be run.
pub const EXIT_INCOMPLETE: u8 = 1;
/// Exit code: bad usage, an invalid scenario or an unreadable results file.
pub const EXIT_USAGE: u8 = 2;

/// Time beyond the sweep's deadline and one level's worst case after which the
/// process exits whatever it is doing (building a target may take up to 30 s).
const BACKSTOP_MARGIN: Duration = Duration::from_secs(60);

/// Arguments of `gauntlet capacity`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  gauntlet capacity scenarios/capacity-actors.toml\n  gauntlet capacity scenarios/capacity-smart-home.toml --steps 5000..80000*2 --step-duration 5s\n  gauntlet capacity --from out/run-*/results.json --out out/capacity\n\nExit codes: 0 capacity.json written with a USL model; 1 written without a model (see fit_error), or the sweep was interrupted or a level could not run; 2 bad usage, invalid scenario or unreadable results file."
)]
pub struct CapacityArgs {
    /// The scenario to sweep (its `[capacity]` table, if any, sets the defaults).
    #[arg(required_unless_present = "from", conflicts_with = "from")]
    pub scenario: Option<PathBuf>,
    /// Fit existing results files (one run per level) instead of sweeping.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub from: Vec<PathBuf>,
    /// Levels: `1,2,4,8`, `1000..64000*2` (geometric) or `2..32+2` (arithmetic); ops/s
    /// for an arrival-rate load, clients for a concurrency load.
    #[arg(long, value_name = "LEVELS", value_parser = steps_arg)]
    pub steps: Option<StepsArg>,
    /// Measured time per level, e.g. 10s.
    #[arg(long, value_name = "D", value_parser = duration_arg)]
    pub step_duration: Option<Duration>,
    /// Time at the start of each level left out of its figures, e.g. 2s.
    #[arg(long, value_name = "D", value_parser = duration_arg)]
    pub settle: Option<Duration>,
    /// Hard limit of the whole sweep, e.g. 10m.
    #[arg(long, value_name = "D", value_parser = duration_arg)]
    pub deadline: Option<Duration>,
    /// Measure each level K times, interleaved across the levels, for 95% intervals
    /// (default: the scenario's `[capacity]` repeats, or 1).
    #[arg(long, value_name = "K")]
    pub repeats: Option<u32>,
    /// The load whose level is stepped (default: the scenario's `[capacity]` load, or its first).
    #[arg(long, value_name = "NAME")]
    pub load: Option<String>,
    /// Override the scenario's seed.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output directory (default: `out/<scenario name>-capacity`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not draw each level's live progress line.
    #[arg(long)]
    pub no_progress: bool,
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// The levels given with `--steps` (one argument, parsed by [`parse_steps`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StepsArg(pub Vec<f64>);

fn steps_arg(s: &str) -> Result<StepsArg, String> {
    parse_steps(s).map(StepsArg)
}

/// Runs `gauntlet capacity` and returns its exit code; scenarios may name the
/// workloads of `registry`.
pub fn command(args: CapacityArgs, registry: &crate::workload::Registry) -> u8 {
    if !args.from.is_empty() {
        let sweep_flags = [
            ("--steps", args.steps.is_some()),
            ("--step-duration", args.step_duration.is_some()),
            ("--settle", args.settle.is_some()),
            ("--deadline", args.deadline.is_some()),
            ("--seed", args.seed.is_some()),
            ("--repeats", args.repeats.is_some()),
        ];
        if let Some((flag, _)) = sweep_flags.iter().find(|(_, set)| *set) {
            eprintln!("gauntlet capacity: {flag} belongs to a sweep; --from only reads results");
            return EXIT_USAGE;
        }
        let result = match from_results(&args.from, args.load.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("gauntlet capacity: {e}");
                return EXIT_USAGE;
            }
        };
        let dir = args.out.unwrap_or_else(|| {
            PathBuf::from("out").join(format!("{}-capacity", result.scenario.name))
        });
        if let Err(e) = write_capacity(&dir, &result) {
            eprintln!("gauntlet capacity: {e}");
            return EXIT_USAGE;
        }
        return finish(&result, &dir);
    }
    let Some(file) = args.scenario else {
        eprintln!("gauntlet capacity: give a scenario file or --from FILES");
        return EXIT_USAGE;
    };
    let overrides = Overrides {
        duration: None,
        seed: args.seed,
    };
    let scenario = match load_file_in(registry, &file, &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_USAGE;
        }
    };
    let plan = match Plan::resolve(
        &scenario,
        &SweepOverrides {
            load: args.load,
            steps: args.steps.map(|s| s.0),
            step_duration: args.step_duration,
            settle: args.settle,
            deadline: args.deadline,
            repeats: args.repeats,
        },
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gauntlet capacity: {e}");
            return EXIT_USAGE;
        }
    };
    let dir = args
        .out
        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-capacity", scenario.name)));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!(
            "gauntlet capacity: cannot create output directory {}: {e}",
            dir.display()
        );
        return EXIT_USAGE;
    }
    // Last resort, as for `gauntlet run`: if the harness itself gets stuck past every
    // bound, exit 1 rather than hang; capacity.json holds every level finished so far.
    let limit = plan.deadline + plan.level_worst_case(&scenario) + BACKSTOP_MARGIN;
    let spawned = std::thread::Builder::new()
        .name("gauntlet-capacity-backstop".into())
        .spawn(move || {
            std::thread::sleep(limit);
            eprintln!(
                "gauntlet capacity: the sweep exceeded every deadline ({limit:?}); exiting with the levels written so far"
            );
            std::process::exit(i32::from(EXIT_INCOMPLETE));
        });
    if let Err(e) = spawned {
        eprintln!("gauntlet capacity: cannot start the backstop thread: {e}");
        return EXIT_INCOMPLETE;
    }
    let options = SweepOptions {
        out: dir.clone(),
        progress: !args.no_progress,
    };
    match sweep(&scenario, &plan, &options) {
        Ok(result) => finish(&result, &dir),
        Err(e @ SweepError::FirstLevel(_)) => {
            eprintln!("gauntlet capacity: {e}");
            EXIT_INCOMPLETE
        }
        Err(e @ SweepError::Output(_)) => {
            eprintln!("gauntlet capacity: {e}");
            EXIT_INCOMPLETE
        }
    }
}

fn finish(result: &CapacityResult, dir: &std::path::Path) -> u8 {
    println!("{}", console(result));
    println!(
        "capacity.json, capacity.html, summary.md, junit.xml and charts/ written to {}",
        dir.display()
    );
    let incomplete = matches!(
        result.stop.reason,
        StopReason::Interrupted | StopReason::RunError
    );
    if result.fit.is_none() || incomplete {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    }
}
