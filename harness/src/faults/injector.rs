//! The injector: a task on the harness's control runtime that starts and ends every
//! fault window on time and records what each one did.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gauntlet_runtime::actor::Address;
use gauntlet_runtime::device::FaultStats;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::actor::{self, Installed};
use super::ask_cycle::Ring;
use super::memory::Ballast;
use super::schedule::{self, Window};
use super::selector::{Selector, choose};
use super::spec::{FaultKind, FaultParams, FaultSpec};
use super::traffic::{self, Partition};
use super::{FaultSurface, FloodOutcome, Injection};

/// How long `restart-process` gives the target to shut down gracefully.
const PROCESS_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// What a running window holds until it ends.
enum Active {
    /// Nothing to undo (kill, or injection failed).
    Done,
    Handler(Installed),
    Flood(JoinHandle<FloodOutcome>),
    Dependency(FaultStats),
    Partition(Partition),
    Memory(#[allow(dead_code)] Ballast),
    Cycles {
        stop: Arc<AtomicBool>,
        task: JoinHandle<(u64, u64)>,
    },
    Process(super::process::Down),
}

/// A running injector.
#[derive(Debug)]
pub struct Injector {
    stop: watch::Sender<bool>,
    task: JoinHandle<Vec<Injection>>,
}

impl Injector {
    /// Starts injecting `faults` against `surface`, with windows measured from
    /// `run_start`. Must be called on a tokio runtime (the control runtime).
    pub fn start(
        faults: &[FaultSpec],
        seed: u64,
        run: Duration,
        surface: FaultSurface,
        run_start: Instant,
    ) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let windows = schedule::windows(faults, run, seed);
        let specs = faults.to_vec();
        let task = tokio::spawn(inject(specs, windows, surface, run_start, stop_rx));
        Self { stop, task }
    }

    /// Ends every window still open and returns what was injected, in start order.
    pub async fn finish(self) -> Vec<Injection> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "the fault injector panicked");
            Vec::new()
        })
    }
}

async fn inject(
    specs: Vec<FaultSpec>,
    windows: Vec<Window>,
    surface: FaultSurface,
    run_start: Instant,
    mut stop: watch::Receiver<bool>,
) -> Vec<Injection> {
    // (time, is_start, window index); ends sort before starts at the same instant.
    let mut events: Vec<(Duration, bool, usize)> = windows
        .iter()
        .enumerate()
        .flat_map(|(i, w)| [(w.start, true, i), (w.end, false, i)])
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut open: Vec<Option<(Injection, Active)>> = windows.iter().map(|_| None).collect();
    let mut done = Vec::new();
    for (at, is_start, i) in events {
        let stopped = tokio::select! {
            _ = tokio::time::sleep_until((run_start + at).into()) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        if stopped {
            break;
        }
        let w = &windows[i];
        let Some(spec) = specs.iter().find(|s| s.index == w.fault) else {
            continue;
        };
        if is_start {
            open[i] = Some(start(spec, w, &surface).await);
        } else if let Some((record, active)) = open[i].take() {
            done.push(end(spec, record, active, &surface).await);
        }
    }
    // The run ended: close what is still open, at the time it actually ended.
    let now_s = run_start.elapsed().as_secs_f64();
    for (i, slot) in open.iter_mut().enumerate() {
        if let Some((mut record, active)) = slot.take() {
            record.end_s = record.end_s.min(now_s);
            if let Some(spec) = specs.iter().find(|s| s.index == windows[i].fault) {
                done.push(end(spec, record, active, &surface).await);
            }
        }
    }
    done.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.fault.cmp(&b.fault)));
    done
}

fn victims(
    glob: &str,
    count: Option<usize>,
    seed: u64,
    live: &[String],
) -> Result<Vec<String>, String> {
    let selector = Selector::new(glob).map_err(|e| e.to_string())?;
    let hits = selector.resolve(live).map_err(|e| e.to_string())?;
    Ok(choose(hits, count, seed))
}

fn addresses(victims: &[String]) -> Vec<Address> {
    victims
        .iter()
        .filter_map(|v| Address::parse(v).ok())
        .collect()
}

async fn start(spec: &FaultSpec, w: &Window, surface: &FaultSurface) -> (Injection, Active) {
    let mut record = Injection {
        fault: spec.index,
        window: w.window,
        kind: spec.kind.name().to_owned(),
        target: spec.target.clone(),
        start_s: w.start.as_secs_f64(),
        end_s: w.end.as_secs_f64(),
        toxicity: spec.toxicity,
        victims: Vec::new(),
        affected: 0,
        detected: None,
        error: None,
        restart_s: None,
    };
    match try_start(spec, w, surface, &mut record).await {
        Ok(active) => {
            tracing::info!(kind = %spec.kind, target = %spec.target, window = w.window, victims = record.victims.len(), "fault window started");
            (record, active)
        }
        Err(e) => {
            tracing::warn!(kind = %spec.kind, target = %spec.target, error = %e, "fault not injected");
            record.error = Some(format!("fault[{}] ({}): {e}", spec.index, spec.kind));
            (record, Active::Done)
        }
    }
}

async fn try_start(
    spec: &FaultSpec,
    w: &Window,
    surface: &FaultSurface,
    record: &mut Injection,
) -> Result<Active, String> {
    let system = || {
        surface
            .system
            .clone()
            .ok_or_else(|| "the target has no actor system to inject into".to_owned())
    };
    match spec.kind {
        FaultKind::Crash | FaultKind::Latency | FaultKind::BlockingWorker => {
            let system = system()?;
            record.victims = victims(&spec.target, spec.victims, w.seed, &surface.live())?;
            let kind = actor::handler_fault(spec).ok_or("no handler fault for this kind")?;
            let (installed, n) = actor::install(
                &system,
                kind,
                spec.toxicity,
                w.seed,
                &addresses(&record.victims),
            );
            if n == 0 {
                return Err("every chosen victim stopped before the fault reached it".into());
            }
            Ok(Active::Handler(installed))
        }
        FaultKind::Kill => {
            let system = system()?;
            record.victims = victims(&spec.target, spec.victims, w.seed, &surface.live())?;
            record.affected =
                actor::kill(&system, spec.toxicity, w.seed, &addresses(&record.victims));
            Ok(Active::Done)
        }
        FaultKind::Flood => {
            let flooder = surface
                .flood
                .clone()
                .ok_or("the target's workload cannot be flooded")?;
            let FaultParams::Flood { messages } = spec.params else {
                return Err("flood without `messages`".into());
            };
            record.victims = victims(&spec.target, spec.victims, w.seed, &surface.live())?;
            let targets = addresses(&record.victims);
            Ok(Active::Flood(tokio::task::spawn_blocking(move || {
                traffic::flood(&flooder, &targets, messages)
            })))
        }
        FaultKind::DependencyErrors
        | FaultKind::DependencyLatency
        | FaultKind::DependencyOutage => {
            let repo = surface
                .repository
                .as_ref()
                .ok_or("the target has no device repository")?;
            Ok(Active::Dependency(super::dependency::start(repo, spec)))
        }
        FaultKind::Partition => {
            let system = system()?;
            let FaultParams::Partition { peer } = &spec.params else {
                return Err("partition without `peer`".into());
            };
            let live = surface.live();
            let a = victims(&spec.target, spec.victims, w.seed, &live)?;
            let b = victims(peer, None, w.seed, &live)?;
            let p = traffic::partition(&system, &addresses(&a), &addresses(&b))?;
            record.victims = a.into_iter().chain(b).collect();
            Ok(Active::Partition(p))
        }
        FaultKind::MemoryPressure => {
            let FaultParams::Memory { bytes } = spec.params else {
                return Err("memory-pressure without `size`".into());
            };
            let ballast = tokio::task::spawn_blocking(move || Ballast::hold(bytes))
                .await
                .ok()
                .flatten()
                .ok_or_else(|| format!("cannot allocate {bytes} bytes"))?;
            record.affected = ballast.len() as u64;
            Ok(Active::Memory(ballast))
        }
        FaultKind::KillProcess | FaultKind::PauseProcess | FaultKind::RestartProcess => {
            let control = surface
                .process
                .as_ref()
                .ok_or("the target does not run in a child process")?;
            let down = super::process::start(spec, control, PROCESS_STOP_TIMEOUT, record).await?;
            Ok(Active::Process(down))
        }
        FaultKind::AskCycle => {
            let system = system()?;
            let FaultParams::AskCycle { length, cycles } = spec.params else {
                return Err("ask-cycle without its settings".into());
            };
            let prefix = format!("fault-{}-ask-cycle-{}", spec.index, w.window);
            let ring = Ring::spawn(&system, &prefix, length).await?;
            record.victims = ring.addresses();
            let stop = Arc::new(AtomicBool::new(false));
            let gap = (w.end - w.start) / (cycles as u32).max(1);
            let flag = stop.clone();
            let task = tokio::spawn(async move {
                let (mut injected, mut detected) = (0, 0);
                for k in 0..cycles {
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    if k > 0 {
                        tokio::time::sleep(gap).await;
                    }
                    injected += 1;
                    if ring.close().await {
                        detected += 1;
                    }
                }
                ring.stop().await;
                (injected, detected)
            });
            Ok(Active::Cycles { stop, task })
        }
    }
}

async fn end(
    spec: &FaultSpec,
    mut record: Injection,
    active: Active,
    surface: &FaultSurface,
) -> Injection {
    match active {
        Active::Done => {}
        Active::Handler(installed) => {
            if let Some(system) = &surface.system {
                record.affected = installed.remove(system);
            }
        }
        Active::Flood(task) => {
            if let Ok(o) = task.await {
                record.affected = o.sent;
            }
        }
        Active::Dependency(before) => {
            if let Some(repo) = &surface.repository {
                record.affected = super::dependency::end(repo, spec, before);
            }
        }
        Active::Partition(p) => {
            if let Some(system) = &surface.system {
                record.affected = p.heal(system);
            }
        }
        Active::Memory(ballast) => drop(ballast),
        Active::Process(down) => {
            if let Some(control) = &surface.process {
                super::process::end(control, down, &mut record).await;
            }
        }
        Active::Cycles { stop, task } => {
            stop.store(true, Ordering::Relaxed);
            if let Ok((injected, detected)) = task.await {
                record.affected = injected;
                record.detected = Some(detected);
            }
        }
    }
    tracing::info!(kind = %spec.kind, target = %spec.target, affected = record.affected, "fault window ended");
    record
}
