//! The injector: a task on the harness's control runtime that starts and ends every
//! fault window on time and records what each one did.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::FaultSurface;
use super::Injection;
use super::kinds::Active;
use super::schedule::{self, Window};
use super::spec::FaultSpec;
use super::vocabulary::Scope;

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
    let mut open: Vec<Option<(Injection, Option<Active<'_>>)>> =
        windows.iter().map(|_| None).collect();
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
        let scope = Scope {
            surface: &surface,
            spec,
            window: w,
        };
        if is_start {
            open[i] = Some(start(scope).await);
        } else if let Some((record, active)) = open[i].take() {
            done.push(end(scope, record, active).await);
        }
    }
    // The run ended: close what is still open, at the time it actually ended.
    let now_s = run_start.elapsed().as_secs_f64();
    for (i, slot) in open.iter_mut().enumerate() {
        if let Some((mut record, active)) = slot.take() {
            record.end_s = record.end_s.min(now_s);
            if let Some(spec) = specs.iter().find(|s| s.index == windows[i].fault) {
                let scope = Scope {
                    surface: &surface,
                    spec,
                    window: &windows[i],
                };
                done.push(end(scope, record, active).await);
            }
        }
    }
    done.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.fault.cmp(&b.fault)));
    done
}

/// Starts one window; `None` for what it holds when it could not be injected (the
/// record says why).
async fn start(scope: Scope<'_>) -> (Injection, Option<Active<'_>>) {
    let (spec, w) = (scope.spec, scope.window);
    let mut record = Injection {
        fault: spec.index,
        window: w.window,
        kind: spec.kind(),
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
    match spec.fault.start(scope, &mut record).await {
        Ok(active) => {
            tracing::info!(kind = %record.kind, target = %spec.target, window = w.window, victims = record.victims.len(), "fault window started");
            (record, Some(active))
        }
        Err(e) => {
            tracing::warn!(kind = %record.kind, target = %spec.target, error = %e, "fault not injected");
            record.error = Some(format!("fault[{}] ({}): {e}", spec.index, record.kind));
            (record, None)
        }
    }
}

/// Ends one window and records what it affected.
async fn end(scope: Scope<'_>, mut record: Injection, active: Option<Active<'_>>) -> Injection {
    if let Some(active) = active {
        active.end(scope, &mut record).await;
    }
    tracing::info!(kind = %record.kind, target = %scope.spec.target, affected = record.affected, "fault window ended");
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Fault;
    use crate::faults::kinds::{
        crash::Crash, dependency_outage::DependencyOutage, flood::Flood, kill_process::KillProcess,
        memory_pressure::MemoryPressure,
    };

    fn spec(index: usize, fault: Fault) -> FaultSpec {
        FaultSpec {
            index,
            fault,
            target: "actor://g/*".into(),
            at: Duration::ZERO,
            duration: Duration::from_secs(1),
            every: None,
            toxicity: 1.0,
            victims: None,
        }
    }

    fn window(fault: usize) -> Window {
        Window {
            fault,
            window: 0,
            start: Duration::ZERO,
            end: Duration::from_secs(1),
            seed: 7,
        }
    }

    #[tokio::test]
    async fn a_window_the_target_cannot_take_records_why() {
        let surface = FaultSurface::default();
        let cases = [
            (
                Fault::Crash(Crash),
                "fault[0] (crash): the target has no actor system to inject into",
            ),
            (
                Fault::Flood(Flood { messages: 3 }),
                "fault[1] (flood): the target's workload cannot be flooded",
            ),
            (
                Fault::DependencyOutage(DependencyOutage),
                "fault[2] (dependency-outage): the target has no device repository",
            ),
            (
                Fault::KillProcess(KillProcess),
                "fault[3] (kill-process): the target does not run in a child process",
            ),
        ];
        for (i, (fault, why)) in cases.into_iter().enumerate() {
            let (spec, w) = (spec(i, fault), window(i));
            let scope = Scope {
                surface: &surface,
                spec: &spec,
                window: &w,
            };
            let (record, active) = start(scope).await;
            assert!(active.is_none(), "{why}");
            assert_eq!(record.error.as_deref(), Some(why));
            assert_eq!(record.kind, spec.kind());
        }
    }

    #[tokio::test]
    async fn a_window_that_needs_nothing_of_the_target_starts_and_ends() {
        let surface = FaultSurface::default();
        let spec = spec(0, Fault::MemoryPressure(MemoryPressure { bytes: 1 << 16 }));
        let w = window(0);
        let scope = Scope {
            surface: &surface,
            spec: &spec,
            window: &w,
        };
        let (record, active) = start(scope).await;
        assert!(active.is_some());
        let record = end(scope, record, active).await;
        assert_eq!(record.error, None);
        assert_eq!(record.affected, 1 << 16);
        assert_eq!((record.start_s, record.end_s), (0.0, 1.0));
    }
}
