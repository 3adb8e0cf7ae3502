//! The target child's own figures, sampled once per tick from `/proc` (through
//! sysinfo, refreshing only that process): its resident memory, threads and CPU, as
//! the timeline's `target.process_rss_bytes`, `process_threads` and
//! `process_cpu_percent`. (The harness's process probe measures the harness itself.)
//!
//! CPU is a difference between two samples of the same process: the first sample of a
//! new child (after a start or restart) has none. Elsewhere than Linux every figure
//! is `None`.

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// What one sample of the child found.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChildFigures {
    /// Resident memory, bytes.
    pub rss_bytes: Option<u64>,
    /// Threads.
    pub threads: Option<u64>,
    /// CPU since the previous sample of the same child, percent of one core.
    pub cpu_percent: Option<f64>,
}

/// Samples the current target child.
pub struct ChildProbe {
    system: Option<System>,
    /// The child the previous sample was of.
    last: Option<u32>,
}

impl std::fmt::Debug for ChildProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildProbe")
            .field("last", &self.last)
            .finish()
    }
}

impl ChildProbe {
    /// A probe; nothing is read until [`ChildProbe::sample`].
    pub fn new() -> Self {
        Self {
            system: System::new().ok(),
            last: None,
        }
    }

    /// Samples the child `pid` (`None`: no child is running, and nothing is known).
    pub fn sample(&mut self, pid: Option<u32>) -> ChildFigures {
        let (Some(pid), Some(system)) = (pid, self.system.as_mut()) else {
            self.last = None;
            return ChildFigures::default();
        };
        let id = Pid::from_u32(pid);
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[id]),
            true,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        let same = self.last == Some(pid);
        self.last = Some(pid);
        let Some(p) = system.process(id) else {
            return ChildFigures::default();
        };
        ChildFigures {
            rss_bytes: Some(p.memory()),
            threads: std::fs::read_dir(format!("/proc/{pid}/task"))
                .ok()
                .map(|d| d.count() as u64),
            cpu_percent: same.then(|| f64::from(p.cpu_usage())),
        }
    }
}

impl Default for ChildProbe {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_has_memory_threads_and_then_cpu() {
        let mut probe = ChildProbe::new();
        let me = std::process::id();
        let first = probe.sample(Some(me));
        if cfg!(target_os = "linux") {
            assert!(first.rss_bytes.is_some_and(|r| r > 0), "{first:?}");
            assert!(first.threads.is_some_and(|t| t >= 1), "{first:?}");
            assert_eq!(first.cpu_percent, None, "no CPU figure from one sample");
            let second = probe.sample(Some(me));
            assert!(second.cpu_percent.is_some(), "{second:?}");
        }
        assert_eq!(probe.sample(None), ChildFigures::default());
    }
}
