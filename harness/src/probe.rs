//! Probes sampled every tick: this process (RSS, CPU, threads; its load and store
//! threads' busy ratios and the machine's noise, through [`crate::proc_cpu`]), the
//! target's tokio runtime (alive tasks, global queue depth, busy time) and its
//! scheduling lag.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gauntlet_reports::schema::{ProcessSample, RuntimeSample};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Samples this process through sysinfo, refreshing only this process (~70 µs).
pub struct ProcessProbe {
    system: Option<System>,
    pid: Option<Pid>,
    cpu: crate::proc_cpu::CpuAccounting,
}

impl std::fmt::Debug for ProcessProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessProbe")
            .field("pid", &self.pid)
            .finish()
    }
}

impl ProcessProbe {
    /// A probe of the current process; figures are `None` where the platform has none.
    pub fn new() -> Self {
        let pid = sysinfo::get_current_pid().ok();
        let system = System::new().ok();
        let mut p = Self {
            system,
            pid,
            cpu: crate::proc_cpu::CpuAccounting::new(),
        };
        // CPU use is a difference between two refreshes: prime the first.
        p.refresh();
        p
    }

    fn refresh(&mut self) {
        if let (Some(sys), Some(pid)) = (self.system.as_mut(), self.pid) {
            sys.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                false,
                ProcessRefreshKind::nothing().with_memory().with_cpu(),
            );
        }
    }

    /// Takes a sample.
    pub fn sample(&mut self) -> ProcessSample {
        self.refresh();
        let proc_ = match (self.system.as_ref(), self.pid) {
            (Some(sys), Some(pid)) => sys.process(pid),
            _ => None,
        };
        let cpu = self.cpu.sample();
        ProcessSample {
            rss_bytes: proc_.map(|p| p.memory()),
            cpu_percent: proc_.map(|p| f64::from(p.cpu_usage())),
            threads: thread_count(),
            load_threads_busy_ratio: cpu.load_threads_busy_ratio,
            store_thread_busy_ratio: cpu.store_thread_busy_ratio,
            steal_percent: cpu.steal_percent,
            other_cpu_percent: cpu.other_cpu_percent,
        }
    }

    /// The current RSS only.
    pub fn rss(&mut self) -> Option<u64> {
        self.sample().rss_bytes
    }
}

impl Default for ProcessProbe {
    fn default() -> Self {
        Self::new()
    }
}

/// OS threads of this process (Linux: entries of `/proc/self/task`).
fn thread_count() -> Option<u64> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(|d| d.count() as u64)
}

/// Samples the target's tokio runtime through its stable metrics.
#[derive(Debug)]
pub struct RuntimeProbe {
    handle: tokio::runtime::Handle,
    last_busy: Duration,
    last_at: Instant,
    lag: Arc<LagStats>,
}

/// Scheduling-lag figures shared with the probe task on the target runtime.
#[derive(Debug, Default)]
struct LagStats {
    max_ns: AtomicU64,
    sum_ns: AtomicU64,
    count: AtomicU64,
}

/// How often the lag probe task sleeps and measures its wake-up.
pub const LAG_PROBE_INTERVAL: Duration = Duration::from_millis(10);

impl RuntimeProbe {
    /// Starts probing the runtime behind `handle`. Spawns one lag-probe task there,
    /// which stays alive (and counted in `alive_tasks`) for the probe's lifetime.
    pub fn start(handle: tokio::runtime::Handle) -> (Self, tokio::task::JoinHandle<()>) {
        let lag = Arc::new(LagStats::default());
        let l = lag.clone();
        let task = handle.spawn(async move {
            loop {
                let due = Instant::now() + LAG_PROBE_INTERVAL;
                tokio::time::sleep_until(due.into()).await;
                let late = Instant::now().saturating_duration_since(due).as_nanos() as u64;
                l.max_ns.fetch_max(late, Ordering::Relaxed);
                l.sum_ns.fetch_add(late, Ordering::Relaxed);
                l.count.fetch_add(1, Ordering::Relaxed);
            }
        });
        let busy = total_busy(&handle);
        (
            Self {
                handle,
                last_busy: busy,
                last_at: Instant::now(),
                lag,
            },
            task,
        )
    }

    /// Alive tasks on the runtime right now.
    pub fn alive_tasks(&self) -> u64 {
        self.handle.metrics().num_alive_tasks() as u64
    }

    /// Takes a sample; busy ratio and lag cover the time since the previous sample.
    pub fn sample(&mut self) -> RuntimeSample {
        let m = self.handle.metrics();
        let now = Instant::now();
        let busy = total_busy(&self.handle);
        let wall =
            now.saturating_duration_since(self.last_at).as_secs_f64() * m.num_workers() as f64;
        let busy_ratio = (wall > 0.0)
            .then(|| (busy.saturating_sub(self.last_busy).as_secs_f64() / wall).clamp(0.0, 1.0));
        self.last_busy = busy;
        self.last_at = now;
        let count = self.lag.count.swap(0, Ordering::Relaxed);
        let sum = self.lag.sum_ns.swap(0, Ordering::Relaxed);
        let max = self.lag.max_ns.swap(0, Ordering::Relaxed);
        RuntimeSample {
            alive_tasks: m.num_alive_tasks() as u64,
            global_queue_depth: m.global_queue_depth() as u64,
            busy_ratio,
            sched_lag_max_ns: (count > 0).then_some(max),
            sched_lag_mean_ns: (count > 0).then(|| sum / count),
        }
    }
}

fn total_busy(handle: &tokio::runtime::Handle) -> Duration {
    let m = handle.metrics();
    (0..m.num_workers())
        .map(|w| m.worker_total_busy_duration(w))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_probe_sees_this_process() {
        let mut p = ProcessProbe::new();
        let s = p.sample();
        if cfg!(target_os = "linux") {
            assert!(s.rss_bytes.unwrap() > 0);
            assert!(s.threads.unwrap() >= 1);
        }
    }

    #[test]
    fn runtime_probe_counts_its_own_task_and_measures_lag() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        let (mut probe, task) = RuntimeProbe::start(rt.handle().clone());
        std::thread::sleep(Duration::from_millis(60));
        let s = probe.sample();
        assert_eq!(s.alive_tasks, 1);
        assert!(
            s.sched_lag_max_ns.is_some(),
            "the probe task woke at least once"
        );
        task.abort();
    }
}
