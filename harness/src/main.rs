//! The `gauntlet` command line: `run`, `validate` and `list`.
//!
//! Exit codes: 0 all thresholds met; 1 a threshold or invariant failed or the run was
//! aborted; 2 bad usage or an invalid scenario.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::{EXECUTORS, Overrides, ScenarioError, load_file};
use gauntlet_harness::threshold::METRIC_NAMES;
use gauntlet_harness::units::parse_duration;
use gauntlet_harness::workload::WORKLOADS;
use gauntlet_reports::RunResult;

const EXIT_FAIL: u8 = 1;
const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "gauntlet",
    version,
    about = "Puts the Gauntlet runtime under sustained load and judges it.",
    after_help = "Examples:\n  gauntlet run scenarios/smoke.toml\n  gauntlet validate scenarios/*.toml\n  gauntlet list\n\nExit codes: 0 pass, 1 threshold/invariant failure or aborted run, 2 bad usage or invalid scenario."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario and write DIR/results.json.
    #[command(
        after_help = "Examples:\n  gauntlet run scenarios/smoke.toml\n  gauntlet run scenarios/actors-soak.toml --duration 2m --out out/soak --seed 7"
    )]
    Run {
        /// The scenario file.
        scenario: PathBuf,
        /// Output directory (default: `out/<scenario name>`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Override the scenario's duration, e.g. 30s or 2m.
        #[arg(long, value_name = "D", value_parser = duration_arg)]
        duration: Option<Duration>,
        /// Override the scenario's seed.
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Serve Prometheus metrics on ADDR while running (not in this build yet).
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<String>,
        /// Compare against a baseline results file (not in this build yet).
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Do not draw the live progress line.
        #[arg(long)]
        no_progress: bool,
    },
    /// Check scenario files without running them.
    #[command(after_help = "Example:\n  gauntlet validate scenarios/*.toml")]
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the built-in workloads, executors and threshold metrics.
    #[command(after_help = "Example:\n  gauntlet list")]
    List,
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    // Injected failures make the runtime warn on every restart; those are expected and
    // counted in the results, so by default only its errors are shown (RUST_LOG overrides).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,gauntlet_runtime=error"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::List => {
            list();
            ExitCode::SUCCESS
        }
        Command::Validate { files } => validate(&files),
        Command::Run {
            scenario,
            out,
            duration,
            seed,
            metrics_addr,
            baseline,
            no_progress,
        } => {
            if metrics_addr.is_some() {
                eprintln!(
                    "gauntlet: --metrics-addr: Prometheus export is not part of this build yet; ignored"
                );
            }
            if baseline.is_some() {
                eprintln!(
                    "gauntlet: --baseline: baseline comparison is not part of this build yet; ignored"
                );
            }
            let overrides = Overrides { duration, seed };
            match run_command(&scenario, out, &overrides, !no_progress) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("gauntlet: {e:#}");
                    ExitCode::from(EXIT_FAIL)
                }
            }
        }
    }
}

fn list() {
    println!("Workloads ([target] workload = ...):");
    for (name, help) in WORKLOADS {
        println!("  {name:<24} {help}");
    }
    println!("\nExecutors ([[load]] executor = ...):");
    for (name, help) in EXECUTORS {
        println!("  {name:<24} {help}");
    }
    println!("\nFault kinds ([[fault]] kind = ...):");
    let kinds: Vec<&str> = gauntlet_harness::faults::spec::FaultKind::ALL
        .iter()
        .map(|k| k.name())
        .collect();
    println!("  {}", kinds.join(", "));
    println!("\nThreshold metrics ([thresholds] \"metric\" = [\"expression\", ...]):");
    println!("  {}", METRIC_NAMES.join(", "));
    println!(
        "  expressions: p(N) | avg | min | med | max | count | rate, then < <= > >= == !=, then a value (e.g. \"p(99) < 5ms\")"
    );
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for f in files {
        match load_file(f, &Overrides::default()) {
            Ok(s) => println!(
                "ok       {}  ({}: {} load(s), {} threshold(s), {:.0}s)",
                f.display(),
                s.name,
                s.loads.len(),
                s.thresholds
                    .iter()
                    .map(|t| t.expressions.len())
                    .sum::<usize>(),
                s.duration.as_secs_f64()
            ),
            Err(e) => {
                ok = false;
                eprintln!("{e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_USAGE)
    }
}

fn write_results(dir: &Path, result: &RunResult) -> anyhow::Result<PathBuf> {
    let path = dir.join("results.json");
    let tmp = dir.join(".results.json.tmp");
    let json = result.to_json().context("serializing results")?;
    std::fs::write(&tmp, json).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn run_command(
    file: &Path,
    out: Option<PathBuf>,
    overrides: &Overrides,
    progress: bool,
) -> anyhow::Result<ExitCode> {
    let scenario = match load_file(file, overrides) {
        Ok(s) => s,
        Err(e @ (ScenarioError::Io { .. } | ScenarioError::Invalid { .. })) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let dir = out.unwrap_or_else(|| PathBuf::from("out").join(&scenario.name));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!(
            "gauntlet: cannot create output directory {}: {e}",
            dir.display()
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }

    // Last resort: if the harness itself gets stuck past every bound, write what was
    // measured so far and exit 1 rather than hang.
    let snapshot = Arc::new(Mutex::new(None::<RunResult>));
    {
        let (snapshot, dir) = (snapshot.clone(), dir.clone());
        let limit =
            Duration::from_secs(30 + 10) + scenario.deadline() + scenario.watchdog.shutdown_timeout;
        std::thread::Builder::new()
            .name("gauntlet-backstop".into())
            .spawn(move || {
                std::thread::sleep(limit);
                eprintln!("gauntlet: the run exceeded every deadline ({limit:?}); writing partial results and exiting");
                if let Some(r) = snapshot.lock().ok().and_then(|s| s.clone()) {
                    let _ = write_results(&dir, &r);
                }
                std::process::exit(i32::from(EXIT_FAIL));
            })
            .context("starting the backstop thread")?;
    }

    let options = RunOptions {
        progress,
        handle_ctrl_c: true,
        snapshot: Some(snapshot),
    };
    let result = run(&scenario, &options)?;
    let path = write_results(&dir, &result)?;
    print!(
        "{}",
        gauntlet_harness::summary::render(&result, Some(&path.display().to_string()))
    );
    Ok(if result.verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    })
}
