//! Running a scenario: build the target, drive the loads, probe, watch, shut down,
//! check for leaks, judge.
//!
//! Three runtimes take part, so each is measured cleanly: the **target** runtime
//! (multi-threaded, `runtime.worker_threads`) owns the system under test; the
//! **load** threads (see [`crate::load`]) issue ops; the **control** runtime on the
//! calling thread runs the collector, probes and watchdog.
//!
//! **Never hangs.** Every run has a hard deadline, `duration + grace`. Past it the
//! loads are stopped (in-flight ops cancelled), the target gets its
//! `shutdown_timeout`, the results are written with `status = "aborted"`, and the
//! verdict fails. Building the target, stopping the load threads and the final
//! runtime shutdown each have their own bound too.

mod assemble;
mod collector;
mod invariants;
pub(crate) mod observed;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gauntlet_reports::schema::{RunResult, RunStatus};

use crate::load::{Generator, LoadState};
use crate::probe::{ProcessProbe, RuntimeProbe};
use crate::progress::Progress;
use crate::scenario::Scenario;
use crate::target::{BuildError, OpId, Target};
use crate::workload::Checkpoint;

use assemble::Ending;
use collector::Collector;

/// How long building the target may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the collector waits each tick for the workers' histograms.
const FLUSH_WAIT: Duration = Duration::from_millis(50);
/// How long load threads get to exit after the loads end or are stopped.
const JOIN_WAIT: Duration = Duration::from_secs(2);
/// Lead time between starting the load threads and the first intended op.
const START_LEAD: Duration = Duration::from_millis(20);

/// Options of a run that are not part of the scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Draw the live progress line (when stderr is a terminal).
    pub progress: bool,
    /// Abort the run cleanly on Ctrl-C (results are still produced).
    pub handle_ctrl_c: bool,
    /// Receives a partial result after every tick, for a last-resort writer that must
    /// produce results even if the harness itself gets stuck.
    pub snapshot: Option<Arc<Mutex<Option<RunResult>>>>,
    /// Receives every tick's figures for live Prometheus metrics (`--metrics-addr`).
    pub metrics: Option<Arc<crate::metrics::Exporter>>,
    /// Run as one shard of a sharded run: this shard's share of every load, started
    /// at the shared instant, recorded in the results ([`crate::shard`]). Pass the
    /// scenario from [`crate::shard::ShardRun::prepare`].
    pub shard: Option<crate::shard::ShardRun>,
}

/// Why a run could not produce results at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A runtime or thread could not be started.
    #[error("cannot start the run: {0}")]
    Startup(#[from] std::io::Error),
    /// The target could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Runs `scenario` and returns its results (also when the run was aborted): builds its
/// workload's target and drives it.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunResult, RunError> {
    scenario.target.run(scenario, options)
}

/// Runs `scenario` against the target `build` creates (on the target runtime), for
/// programs that build a target by hand rather than through a registered
/// [`Workload`](crate::workload::Workload); the invariants checked are those the
/// scenario's workload declares.
pub fn execute<T, F, Fut>(
    scenario: &Scenario,
    options: &RunOptions,
    build: F,
) -> Result<RunResult, RunError>
where
    T: Target,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, BuildError>> + Send + 'static,
{
    let target_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(scenario.runtime.worker_threads)
        .thread_name("gauntlet-target")
        .enable_all()
        .build()?;
    let control = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started_at = std::time::SystemTime::now();
    let result = control.block_on(drive(scenario, options, &target_rt, build, started_at));
    // Tasks that ignored shutdown must not keep the process alive.
    target_rt.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn drive<T, F, Fut>(
    scenario: &Scenario,
    options: &RunOptions,
    target_rt: &tokio::runtime::Runtime,
    build: F,
    started_at: std::time::SystemTime,
) -> Result<RunResult, RunError>
where
    T: Target,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, BuildError>> + Send + 'static,
{
    let mut process = ProcessProbe::new();
    let (runtime, lag_task) = RuntimeProbe::start(target_rt.handle().clone());
    // Let the lag probe start so that it is part of the baseline task count.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let tasks_before = runtime.alive_tasks();
    let rss_before = process.rss();

    let target = match tokio::time::timeout(BUILD_TIMEOUT, target_rt.spawn(build())).await {
        Ok(Ok(Ok(t))) => Arc::new(observed::Observed::new(t)),
        Ok(Ok(Err(e))) => return Err(RunError::Build(e)),
        Ok(Err(join)) => {
            return Err(RunError::Build(BuildError(format!(
                "building panicked: {join}"
            ))));
        }
        Err(_) => {
            return Err(RunError::Build(BuildError(format!(
                "building did not finish within {}s",
                BUILD_TIMEOUT.as_secs()
            ))));
        }
    };

    if let Some(exporter) = &options.metrics {
        // `/actors` and `/waits` show the target's actor system (the one its fault
        // surface acts on), for every workload that hands one over.
        exporter.live().attach(target.system().cloned());
    }
    let ops = scenario.ops();
    let workload_ops = scenario.target.ops();
    let workers = scenario.runtime.load_threads;
    // Sharded runs: the shared start instant (crate::shard::start).
    let (run_start, load_started_at) =
        crate::shard::start::load_start(options.shard.as_ref(), START_LEAD);
    let mut states: Vec<LoadState> = scenario
        .loads
        .iter()
        .map(|l| {
            LoadState::new(
                l.clone(),
                OpId(workload_ops.iter().position(|o| *o == l.op).unwrap_or(0)),
                ops.iter().position(|o| *o == l.op).unwrap_or(0),
                workers,
                run_start,
                scenario.duration,
            )
        })
        .collect();
    if let Some(s) = &options.shard {
        s.shard.apply(&mut states);
    }
    let mut generator = Generator::start(target.clone(), states, ops.len(), workers)?;
    let injector = (!scenario.faults.is_empty()).then(|| {
        let surface = target.fault_surface();
        crate::faults::injector::Injector::start(
            &scenario.faults,
            scenario.seed,
            scenario.duration,
            surface,
            run_start,
        )
    });
    let fault_windows =
        crate::faults::schedule::windows(&scenario.faults, scenario.duration, scenario.seed);
    let mut collector = Collector::new(scenario, run_start, process, runtime);
    let mut invariants = invariants::Tally::new(&crate::durability::declared(scenario));
    let tick_check_limit = scenario.tick / 2;
    let progress = Progress::new(scenario.duration, options.progress);

    let deadline = run_start + scenario.deadline();
    let mut ticks = tokio::time::interval_at((run_start + scenario.tick).into(), scenario.tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ctrl_c = async {
        if options.handle_ctrl_c {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        } else {
            std::future::pending::<()>().await;
        }
    };
    let mut ctrl_c = std::pin::pin!(ctrl_c);
    let mut abort_reason: Option<String> = None;
    loop {
        let mut nominal = Instant::now();
        tokio::select! {
            at = ticks.tick() => nominal = at.into_std(),
            _ = tokio::time::sleep_until(deadline.into()) => {
                abort_reason = Some(format!(
                    "hard deadline reached ({:.1}s = duration + grace) with {} ops in flight",
                    scenario.deadline().as_secs_f64(),
                    collector.timeline.last().map_or(0, |t| t.in_flight)
                ));
            }
            _ = &mut ctrl_c => abort_reason = Some("interrupted (Ctrl-C)".to_owned()),
        }
        if abort_reason.is_some() {
            break;
        }
        let flushes = generator.collect(FLUSH_WAIT).await;
        let now = Instant::now();
        collector.tick(nominal, now, generator.loads(), &flushes, &*target);
        if let Some(tick) = collector.timeline.last_mut() {
            // Live, for the metrics exporter and snapshots; the final records refine it
            // (faults that could not be injected are left out there).
            tick.active_faults = active_faults(&fault_windows, scenario, tick.t_s);
        }
        if invariants.per_tick() {
            let t_s = collector.timeline.last().map_or(0.0, |t| t.t_s);
            match invariants::check(
                &target,
                target_rt.handle(),
                Checkpoint::Tick,
                tick_check_limit,
            )
            .await
            {
                Ok(checks) => invariants.absorb(checks, t_s),
                Err(why) => tracing::warn!(%why, "invariant check at a tick"),
            }
        }
        let Some(tick) = collector.timeline.last() else {
            continue;
        };
        progress.update(tick, 0);
        if let Some(exporter) = &options.metrics {
            observe(exporter, &collector, &*target);
        }
        if let Some(snapshot) = &options.snapshot {
            let mut ending = Ending::partial(started_at, tasks_before, rss_before);
            ending.invariants = invariants.snapshot();
            let partial = assemble::assemble(scenario, &collector, generator.loads(), &ending);
            if let Ok(mut s) = snapshot.lock() {
                *s = Some(partial);
            }
        }
        if generator.finished() && now >= run_start + scenario.duration {
            break;
        }
    }
    let loads_ended = Instant::now();
    let injected = match injector {
        Some(i) => i.finish().await,
        None => Vec::new(),
    };

    progress.phase("stopping load generators");
    if abort_reason.is_some() {
        generator.stop();
    }
    let loads = generator.shared_loads();
    let late = generator.join(JOIN_WAIT).await;
    collector.absorb(&late);

    progress.phase("checking invariants");
    let end_t_s = run_start.elapsed().as_secs_f64();
    let end_limit = scenario
        .watchdog
        .shutdown_timeout
        .max(Duration::from_secs(5));
    match invariants::check(&target, target_rt.handle(), Checkpoint::End, end_limit).await {
        Ok(checks) => invariants.absorb(checks, end_t_s),
        Err(why) => invariants.missed(Checkpoint::End, &why),
    }

    progress.phase("shutting down target");
    let budget = scenario.watchdog.shutdown_timeout;
    let shutdown = {
        let t = target.clone();
        tokio::time::timeout(
            budget + Duration::from_secs(1),
            target_rt.spawn(async move { t.shutdown(budget).await }),
        )
        .await
    };
    let (shutdown_clean, shutdown_detail) = match shutdown {
        Ok(Ok(o)) => (o.clean, o.detail),
        Ok(Err(join)) => (false, format!("shutdown panicked: {join}")),
        Err(_) => (
            false,
            format!(
                "shutdown did not finish within {}s",
                budget.as_secs_f64() + 1.0
            ),
        ),
    };

    if let Some(exporter) = &options.metrics {
        exporter.live().end();
    }
    progress.phase("leak check");
    // Tasks finish asynchronously after shutdown returns: give them a bounded moment.
    let settle = Instant::now() + Duration::from_secs(1);
    while collector.runtime.alive_tasks() > tasks_before && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let tasks_after = collector.runtime.alive_tasks();
    let rss_after = collector.process.rss();
    lag_task.abort();
    progress.finish();

    let ending = Ending {
        started_at,
        status: if abort_reason.is_some() {
            RunStatus::Aborted
        } else {
            RunStatus::Completed
        },
        abort_reason,
        loads_ended: Some(loads_ended),
        tasks_before,
        tasks_after: Some(tasks_after),
        rss_before,
        rss_after,
        shutdown_clean,
        shutdown_detail,
        messages: Some(target.messages()),
        injected,
        invariants: invariants.records(),
        durability: crate::durability::checked(scenario)
            .then(|| target.durability())
            .flatten(),
    };
    let mut result = assemble::assemble(scenario, &collector, &loads, &ending);
    if let Some(s) = &options.shard {
        s.record(&mut result, load_started_at);
    }
    Ok(result)
}

/// Kinds of the scheduled fault windows that cover the middle of the tick ending at
/// `t_s` (the same rule the final fault records use).
fn active_faults(
    windows: &[crate::faults::schedule::Window],
    scenario: &Scenario,
    t_s: f64,
) -> Vec<String> {
    let middle = t_s - scenario.tick.as_secs_f64() / 2.0;
    let mut kinds: Vec<String> = windows
        .iter()
        .filter(|w| w.start.as_secs_f64() <= middle && middle < w.end.as_secs_f64())
        .filter_map(|w| scenario.faults.iter().find(|f| f.index == w.fault))
        .map(|f| f.kind().name().to_owned())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// Hands the tick the collector just built to the metrics exporter.
fn observe<T: Target>(exporter: &crate::metrics::Exporter, collector: &Collector, target: &T) {
    let Some(tick) = collector.timeline.last() else {
        return;
    };
    exporter.observe(&crate::metrics::Observation {
        tick,
        interval: &collector.interval,
        detail: &target.sample_detail(),
        watchdog_stalls: collector.stalls.records().len() as u64,
        stalled: collector.stalls.stalled(),
    });
}
