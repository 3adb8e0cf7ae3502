//! The `gauntlet` command line: `run`, `validate`, `list`, `suite`, `capacity`, `top`,
//! `report`, `compare` and `merge`.
//!
//! [`main`] runs it with the built-in workloads; [`main_with`] with a registry of one's
//! own, so that a user's binary gets the whole command line for its own workloads
//! (see `examples/bank`).
//!
//! Exit codes: 0 all thresholds met; 1 a threshold or invariant failed, the run was
//! aborted or a metric regressed against its baseline; 2 bad usage, an invalid
//! scenario or an unreadable results file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::gate::command;
use crate::metrics::push::push_url;
use crate::metrics::{Exporter, MetricsServer, RunInfo, parse_addr};
use crate::run::{RunOptions, run};
use crate::scenario::{EXECUTORS, Overrides, ScenarioError, load_file_in};
use crate::threshold::METRIC_NAMES;
use crate::units::parse_duration;
use crate::workload::Registry;
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use gauntlet_reports::RunResult;

const EXIT_FAIL: u8 = 1;
const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "gauntlet",
    version,
    about = "Puts the Gauntlet runtime under sustained load and judges it.",
    after_help = "Examples:\n  gauntlet run scenarios/smoke.toml\n  gauntlet validate scenarios/*.toml\n  gauntlet list\n\nExit codes: 0 pass, 1 threshold/invariant failure, aborted run or regression, 2 bad usage, invalid scenario or unreadable input file (not a regular file, over 64 MiB, corrupt histogram)."
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
        /// Serve Prometheus metrics on http://ADDR/metrics while running
        /// (HOST:PORT, or PORT for 127.0.0.1:PORT; port 0 picks a free one).
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<String>,
        /// Push the final metrics to this Pushgateway once the run ends
        /// (e.g. http://127.0.0.1:9091).
        #[arg(long, value_name = "URL")]
        push_gateway: Option<String>,
        /// Compare against baseline results file(s); repeat for several runs, whose
        /// spread widens the tolerances. A regression exits 1.
        #[arg(long, value_name = "FILE")]
        baseline: Vec<PathBuf>,
        /// Tolerance of a baseline metric, e.g. p99=30% or max=off (repeatable).
        #[arg(long = "tolerance", value_name = "METRIC=VALUE")]
        tolerances: Vec<String>,
        /// Do not draw the live progress line.
        #[arg(long)]
        no_progress: bool,
        /// Run shard I of N (`I/N`), or of N with I from $JOB_COMPLETION_INDEX (`N`,
        /// or $GAUNTLET_SHARDS without this flag): this shard's share of every load.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Start the loads at this instant (milliseconds since the Unix epoch or RFC
        /// 3339; or $GAUNTLET_START_AT), the same for every shard.
        #[arg(long, value_name = "T")]
        start_at: Option<String>,
    },
    /// Internal: serve a scenario's target to the harness that started this process
    /// (`[target] process = "child"`; frames on stdin and stdout).
    #[command(name = "__target", hide = true)]
    Target,
    /// Merge the results of every shard of a sharded run into one, exactly.
    #[command(
        after_help = "Example:\n  gauntlet merge out/shard-*/results.json --out out/merged\n\nHistograms are added (never percentiles averaged), counts summed, timelines aligned by wall-clock tick; thresholds are judged again on the merged data.\nExit codes: 0 pass, 1 a threshold, invariant or baseline failed, 2 the shards were refused (different runs, a missing or duplicate shard, starts too far apart) or unreadable."
    )]
    Merge {
        /// The shards' results files.
        #[arg(required = true, value_name = "RESULTS")]
        results: Vec<PathBuf>,
        /// Output directory for the merged results.json and reports.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Largest allowed difference between the shards' load starts.
        #[arg(long, value_name = "D", value_parser = duration_arg, default_value = "1s")]
        max_skew: Duration,
        /// Compare against baseline results file(s). A regression exits 1.
        #[arg(long, value_name = "FILE")]
        baseline: Vec<PathBuf>,
        /// Tolerance of a baseline metric, e.g. p99=30% (repeatable).
        #[arg(long = "tolerance", value_name = "METRIC=VALUE")]
        tolerances: Vec<String>,
    },
    /// Check scenario files without running them.
    #[command(after_help = "Example:\n  gauntlet validate scenarios/*.toml")]
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the registered workloads (ops, [target] fields, capabilities, invariants),
    /// executors, fault kinds and threshold metrics.
    #[command(after_help = "Examples:\n  gauntlet list\n  gauntlet list --addresses")]
    List {
        /// Also list the actor addresses each workload creates (what `[[fault]] target`
        /// globs can match), per example configuration.
        #[arg(long)]
        addresses: bool,
    },
    /// Sweep a scenario through increasing load levels and fit a USL capacity model.
    Capacity(crate::capacity::CapacityArgs),
    /// Re-render report.html, summary.md, junit.xml and the charts of a results file.
    #[command(
        after_help = "Examples:\n  gauntlet report out/smoke/results.json\n  gauntlet report results.json --out /tmp/report\n\nExit codes: 0 written (whatever the run's verdict), 1 the reports could not be written, 2 unreadable, corrupt or unknown results file."
    )]
    Report {
        /// The results file.
        results: PathBuf,
        /// Output directory (default: the results file's directory).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Compare a run with one or more baseline runs: BASELINE... RESULTS.
    #[command(
        after_help = "Examples:\n  gauntlet compare baseline.json out/smoke/results.json\n  gauntlet compare base1.json base2.json base3.json results.json --tolerance p99=30%\n\nThe last file is the run under test; every earlier one is a baseline. Metrics: throughput, p50, p99, p999, max, errors, rss, rss_growth, tasks.\nExit codes: 0 no regression, 1 a metric regressed, 2 bad input."
    )]
    Compare {
        /// Baseline results file(s), then the results file under test.
        #[arg(required = true, num_args = 2.., value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Tolerance of a metric, e.g. p99=30% or max=off (repeatable).
        #[arg(long = "tolerance", value_name = "METRIC=VALUE")]
        tolerances: Vec<String>,
        /// Also write report.html, summary.md and junit.xml with the comparison to DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Watch a running run's actors live (its --metrics-addr endpoint), or print them once.
    Top(crate::top::TopArgs),
    /// Run several scenarios in order with one verdict, junit.xml and summary.md.
    #[command(
        after_help = "Examples:\n  gauntlet suite scenarios/smoke.toml\n  gauntlet suite scenarios/chaos --baseline-dir ci/baselines --out out/suite\n\nWrites OUT/summary.md, OUT/junit.xml, OUT/index.html and each scenario's reports in OUT/<name>/.\nExit codes: 0 every scenario passed, 1 one failed or regressed, 2 bad input (checked before the first run)."
    )]
    Suite {
        /// Scenario files, or directories whose *.toml files are run in name order.
        #[arg(required = true, value_name = "DIR_OR_FILE")]
        inputs: Vec<PathBuf>,
        /// Output directory (default: out/suite).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Baselines: DIR/<scenario name>.json or DIR/<scenario name>/*.json.
        #[arg(long, value_name = "DIR")]
        baseline_dir: Option<PathBuf>,
        /// Tolerance of a baseline metric, e.g. p99=30% (repeatable).
        #[arg(long = "tolerance", value_name = "METRIC=VALUE")]
        tolerances: Vec<String>,
        /// Override every scenario's duration, e.g. 5s.
        #[arg(long, value_name = "D", value_parser = duration_arg)]
        duration: Option<Duration>,
        /// Do not draw the live progress line.
        #[arg(long)]
        no_progress: bool,
    },
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// Runs the `gauntlet` command line with the built-in workloads on the process's
/// arguments and returns its exit code (see the module docs).
pub fn main() -> ExitCode {
    main_with(Registry::builtin())
}

/// Runs the `gauntlet` command line with the workloads of `registry` (built-ins
/// included if it was made from [`Registry::builtin`]). A registry with mistakes
/// (duplicate or badly named workloads) exits 2 before anything runs.
pub fn main_with(registry: Registry) -> ExitCode {
    // Injected failures make the runtime warn on every restart; those are expected and
    // counted in the results, so by default only its errors are shown (RUST_LOG overrides).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,gauntlet_runtime=error"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
    if !registry.errors().is_empty() {
        for e in registry.errors() {
            eprintln!("gauntlet: cannot register a workload: {e}");
        }
        return ExitCode::from(EXIT_USAGE);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::List { addresses } => {
            list(&registry, addresses);
            ExitCode::SUCCESS
        }
        Command::Validate { files } => validate(&registry, &files),
        Command::Target => crate::child::serve::main(&registry),
        Command::Capacity(args) => ExitCode::from(crate::capacity::command(args, &registry)),
        Command::Top(args) => ExitCode::from(crate::top::command(args)),
        Command::Run {
            scenario,
            out,
            duration,
            seed,
            metrics_addr,
            push_gateway,
            baseline,
            tolerances,
            no_progress,
            shard,
            start_at,
        } => {
            let sharding = crate::shard::command::ShardFlags { shard, start_at };
            let overrides = Overrides { duration, seed };
            let export = Export {
                addr: metrics_addr,
                push_gateway,
            };
            let baseline = command::Baseline {
                files: baseline,
                tolerances,
            };
            match run_command(
                &registry,
                &scenario,
                out,
                &overrides,
                &baseline,
                !no_progress,
                &export,
                &sharding,
            ) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("gauntlet: {e:#}");
                    ExitCode::from(EXIT_FAIL)
                }
            }
        }
        Command::Merge {
            results,
            out,
            max_skew,
            baseline,
            tolerances,
        } => crate::shard::command::merge(
            &results,
            &out,
            gauntlet_reports::merge::MergeSettings {
                max_start_skew_ms: max_skew.as_millis() as u64,
            },
            &command::Baseline {
                files: baseline,
                tolerances,
            },
        ),
        Command::Report { results, out } => command::report(&results, out),
        Command::Compare {
            files,
            tolerances,
            out,
        } => command::compare(&files, &tolerances, out),
        Command::Suite {
            inputs,
            out,
            baseline_dir,
            tolerances,
            duration,
            no_progress,
        } => command::suite(
            &inputs,
            crate::gate::suite::SuiteOptions {
                out: out.unwrap_or_else(|| PathBuf::from("out").join("suite")),
                baseline_dir,
                tolerance_flags: tolerances,
                overrides: Overrides {
                    duration,
                    seed: None,
                },
                progress: !no_progress,
                registry,
            },
        ),
    }
}

fn list(registry: &Registry, addresses: bool) {
    println!("Workloads ([target] workload = ...):");
    for w in registry.workloads() {
        println!("\n  {}: {}", w.name, w.help);
        println!("    ops: {}", w.ops.join(", "));
        let caps = w.capabilities.names();
        println!(
            "    capabilities: {}",
            if caps.is_empty() {
                "none (faults: memory-pressure only)".to_owned()
            } else {
                caps.join(", ")
            }
        );
        if !w.fields.is_empty() {
            println!("    [target] fields:");
            for f in w.fields {
                println!("      {:<20} {:<16} {}", f.name, f.example, f.help);
            }
        }
        if !w.invariants.is_empty() {
            println!("    invariants (threshold invariant{{name=..}}):");
            for i in &w.invariants {
                let when = if i.every_tick {
                    "every tick"
                } else {
                    "at the end"
                };
                println!("      {:<32} {when}: {}", i.name, i.description);
            }
        }
    }
    if addresses {
        println!("\nActor addresses (what [[fault]] target globs can match):");
        for (workload, examples) in registry.address_table() {
            for (label, list) in examples {
                let shown = if list.is_empty() {
                    "no actors".to_owned()
                } else if list.len() > 8 {
                    format!(
                        "{} ... {} ({} actors)",
                        list[..3].join(", "),
                        list[list.len() - 1],
                        list.len()
                    )
                } else {
                    list.join(", ")
                };
                println!("  {workload:<12} {label:<44} {shown}");
            }
        }
    }
    println!("\nExecutors ([[load]] executor = ...):");
    for (name, help) in EXECUTORS {
        println!("  {name:<24} {help}");
    }
    println!("\nFault kinds ([[fault]] kind = ...):");
    let kinds: Vec<&str> = crate::faults::Kind::ALL.iter().map(|k| k.name()).collect();
    println!("  {}", kinds.join(", "));
    println!("\nThreshold metrics ([thresholds] \"metric\" = [\"expression\", ...]):");
    println!("  {}", METRIC_NAMES.join(", "));
    println!(
        "  expressions: p(N) | avg | min | med | max | count | rate, then < <= > >= == !=, then a value (e.g. \"p(99) < 5ms\")"
    );
}

fn validate(registry: &Registry, files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for f in files {
        match load_file_in(registry, f, &Overrides::default()) {
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

/// Where the run's live metrics go (`--metrics-addr`, `--push-gateway`).
struct Export {
    addr: Option<String>,
    push_gateway: Option<String>,
}

/// Sets up the metrics exporter (and binds its port) before the run starts, so a bad
/// address or a busy port is a usage error, not a run without metrics.
fn start_export(
    export: &Export,
    scenario: &crate::scenario::Scenario,
) -> anyhow::Result<Option<(Arc<Exporter>, Option<MetricsServer>)>> {
    if export.addr.is_none() && export.push_gateway.is_none() {
        return Ok(None);
    }
    if let Some(url) = &export.push_gateway {
        push_url(url, &scenario.name)?;
    }
    let addr = export.addr.as_deref().map(parse_addr).transpose()?;
    let ops: Vec<String> = scenario.ops().into_iter().map(str::to_owned).collect();
    let info = RunInfo {
        seed: scenario.seed,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        workload: scenario.target.workload().to_owned(),
    };
    let exporter = Arc::new(Exporter::new(&scenario.name, &ops, &info)?);
    let server = match addr {
        Some(addr) => {
            let server = MetricsServer::start(exporter.clone(), addr)?;
            eprintln!(
                "gauntlet: serving metrics on http://{}/metrics",
                server.local_addr()
            );
            Some(server)
        }
        None => None,
    };
    Ok(Some((exporter, server)))
}

#[allow(clippy::too_many_arguments)] // one per group of `run` flags, each its own type
fn run_command(
    registry: &Registry,
    file: &Path,
    out: Option<PathBuf>,
    overrides: &Overrides,
    baseline: &command::Baseline,
    progress: bool,
    export: &Export,
    sharding: &crate::shard::command::ShardFlags,
) -> anyhow::Result<ExitCode> {
    let scenario = match load_file_in(registry, file, overrides) {
        Ok(s) => s,
        Err(e @ (ScenarioError::Io { .. } | ScenarioError::Invalid { .. })) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let (scenario, shard) =
        match crate::shard::command::prepare(&scenario, sharding, |k| std::env::var(k).ok()) {
            Ok(prepared) => prepared,
            Err(e) => {
                eprintln!("gauntlet: {e}");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        };
    let exporting = match start_export(export, &scenario) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("gauntlet: {e:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let dir = out.unwrap_or_else(|| {
        let dir = PathBuf::from("out").join(&scenario.name);
        match &shard {
            Some(s) => dir.join(format!("shard-{}", s.shard.index)),
            None => dir,
        }
    });
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
        let limit = Duration::from_secs(30 + 10)
            + scenario.deadline()
            + scenario.watchdog.shutdown_timeout
            + crate::shard::command::wait_before_start(shard.as_ref());
        std::thread::Builder::new()
            .name("gauntlet-backstop".into())
            .spawn(move || {
                std::thread::sleep(limit);
                eprintln!("gauntlet: the run exceeded every deadline ({limit:?}); writing partial results and exiting");
                if let Some(r) = snapshot.lock().ok().and_then(|s| s.clone()) {
                    let _ = crate::gate::write_results(&dir, &r);
                }
                std::process::exit(i32::from(EXIT_FAIL));
            })
            .context("starting the backstop thread")?;
    }

    let options = RunOptions {
        progress,
        handle_ctrl_c: true,
        snapshot: Some(snapshot),
        metrics: exporting.as_ref().map(|(e, _)| e.clone()),
        shard,
    };
    let result = run(&scenario, &options)?;
    if let (Some((exporter, _)), Some(url)) = (&exporting, &export.push_gateway) {
        // The run's results stand on their own: a failed push is reported, not fatal.
        match exporter.push(url) {
            Ok(to) => eprintln!("gauntlet: pushed metrics to {to}"),
            Err(e) => eprintln!("gauntlet: {e}"),
        }
    }
    Ok(command::finish_run(&dir, &result, baseline))
}
