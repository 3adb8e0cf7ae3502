//! CPU accounting from `/proc` (Linux): which threads of this process were busy, and
//! what else was using the machine.
//!
//! Each [`CpuAccounting::sample`] reads the machine's CPU times (`/proc/stat`, first
//! line), this process's (`/proc/self/stat`) and each of its threads'
//! (`/proc/self/task/*/stat`), and reports the differences since the previous
//! sample, all in the kernel's clock ticks so that no tick rate or wall clock is
//! needed:
//!
//! - a thread's busy ratio is its CPU ticks over the ticks one CPU had
//!   (`Δthread · cpus / Δtotal`), averaged over the threads whose name starts with
//!   [`LOAD_THREAD_PREFIX`] (the load generator's) or named [`STORE_THREAD`] (the
//!   device runtime's SQLite writer);
//! - steal is the machine's stolen ticks over all its ticks, in percent;
//! - other processes' CPU is the machine's busy ticks (user, nice, system, irq,
//!   softirq) less this process's, in percent of one core.
//!
//! Reading costs one small file per thread of the process plus two; it happens once
//! per tick (see `reads_this_process_on_linux` for the cost measured here), never on
//! the per-op path. Elsewhere than Linux every figure is `None`.

use std::collections::HashMap;

/// Name prefix of the load generator's threads (see `crate::load`).
pub const LOAD_THREAD_PREFIX: &str = "gauntlet-load-";
/// Name of the device runtime's store writer thread.
pub const STORE_THREAD: &str = "gauntlet-store";

/// The machine's CPU ticks from `/proc/stat`'s first line.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MachineTicks {
    /// All ticks of all CPUs (user through steal).
    pub total: u64,
    /// Ticks spent running something (user, nice, system, irq, softirq).
    pub busy: u64,
    /// Ticks stolen by the hypervisor.
    pub steal: u64,
    /// CPUs counted (the `cpuN` lines).
    pub cpus: usize,
}

/// Parses `/proc/stat` text (`None` when its `cpu` line is missing or malformed).
pub fn parse_machine(stat: &str) -> Option<MachineTicks> {
    let mut lines = stat.lines();
    let first = lines.next()?;
    let mut fields = first.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if v.len() < 8 {
        return None;
    }
    let (user, nice, system, idle, iowait, irq, softirq, steal) =
        (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some(MachineTicks {
        total: user + nice + system + idle + iowait + irq + softirq + steal,
        busy: user + nice + system + irq + softirq,
        steal,
        cpus: cpus.max(1),
    })
}

/// Parses a `/proc/.../stat` line of a process or thread: its name and its CPU ticks
/// (user + system).
pub fn parse_task(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // After the name: state(3) ppid(4) ... utime(14) stime(15).
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// One sample's figures (see the module docs); `None` where not measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuFigures {
    /// Mean busy ratio of the load threads (0..1).
    pub load_threads_busy_ratio: Option<f64>,
    /// Busy ratio of the store writer thread (0..1).
    pub store_thread_busy_ratio: Option<f64>,
    /// Stolen share of the machine's CPU time, percent.
    pub steal_percent: Option<f64>,
    /// Other processes' CPU, percent of one core.
    pub other_cpu_percent: Option<f64>,
}

/// The differences between two readings.
#[derive(Debug, Default)]
pub struct CpuAccounting {
    machine: Option<MachineTicks>,
    process: Option<u64>,
    threads: HashMap<u32, u64>,
}

impl CpuAccounting {
    /// Starts accounting (the first sample covers the time since this call).
    pub fn new() -> Self {
        let mut a = Self::default();
        let _ = a.sample();
        a
    }

    /// Reads `/proc` and returns the figures since the previous sample.
    pub fn sample(&mut self) -> CpuFigures {
        let machine = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| parse_machine(&s));
        let process = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| parse_task(&s))
            .map(|(_, t)| t);
        let mut threads: Vec<(u32, String, u64)> = Vec::new();
        if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
            for entry in dir.flatten() {
                let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                if let Some((name, ticks)) = std::fs::read_to_string(entry.path().join("stat"))
                    .ok()
                    .and_then(|s| parse_task(&s))
                {
                    threads.push((tid, name, ticks));
                }
            }
        }
        let figures = self.figures(machine, process, &threads);
        self.machine = machine;
        self.process = process;
        self.threads = threads.iter().map(|(tid, _, t)| (*tid, *t)).collect();
        figures
    }

    /// The figures from a new reading against the stored one.
    fn figures(
        &self,
        machine: Option<MachineTicks>,
        process: Option<u64>,
        threads: &[(u32, String, u64)],
    ) -> CpuFigures {
        let (Some(now), Some(before)) = (machine, self.machine) else {
            return CpuFigures::default();
        };
        let total = now.total.saturating_sub(before.total);
        if total == 0 {
            return CpuFigures::default();
        }
        let per_cpu = total as f64 / now.cpus as f64;
        let busy_ratio = |tid: u32, ticks: u64| {
            // A thread born during the interval spent all its ticks in it.
            let was = self.threads.get(&tid).copied().unwrap_or(0);
            (ticks.saturating_sub(was) as f64 / per_cpu).clamp(0.0, 1.0)
        };
        let mean = |pick: &dyn Fn(&str) -> bool| {
            let v: Vec<f64> = threads
                .iter()
                .filter(|(_, name, _)| pick(name))
                .map(|(tid, _, t)| busy_ratio(*tid, *t))
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let own = match (process, self.process) {
            (Some(a), Some(b)) => a.saturating_sub(b),
            _ => 0,
        };
        let others = now.busy.saturating_sub(before.busy).saturating_sub(own);
        CpuFigures {
            load_threads_busy_ratio: mean(&|n| n.starts_with(LOAD_THREAD_PREFIX)),
            store_thread_busy_ratio: mean(&|n| n == STORE_THREAD),
            steal_percent: Some(
                now.steal.saturating_sub(before.steal) as f64 / total as f64 * 100.0,
            ),
            other_cpu_percent: (process.is_some() && self.process.is_some())
                .then(|| others as f64 / per_cpu * 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 0 50 800 10 5 5 30 0 0\ncpu0 50 0 25 400 5 3 2 15 0 0\ncpu1 50 0 25 400 5 2 3 15 0 0\nintr 1\n";

    #[test]
    fn parses_machine_and_task_lines() {
        let m = parse_machine(STAT).unwrap();
        assert_eq!(
            m,
            MachineTicks {
                total: 1000,
                busy: 160,
                steal: 30,
                cpus: 2
            }
        );
        assert!(parse_machine("intr 1").is_none());
        // A name with spaces and parentheses: the last ')' ends it.
        let line = "42 (gauntlet-load-0) x) S 1 1 1 0 -1 4194560 100 0 0 0 70 30 0 0 20 0 1 0";
        assert_eq!(
            parse_task(line),
            Some(("gauntlet-load-0) x".to_owned(), 100))
        );
        assert!(parse_task("42 (short) S 1").is_none());
    }

    #[test]
    fn differences_give_busy_ratios_steal_and_other_processes() {
        let before = MachineTicks {
            total: 1000,
            busy: 100,
            steal: 0,
            cpus: 2,
        };
        let a = CpuAccounting {
            machine: Some(before),
            process: Some(40),
            threads: [(1, 10), (2, 0)].into_iter().collect(),
        };
        // 200 ticks pass on 2 CPUs: 100 per CPU. The machine was busy 150 of them,
        // this process 60 (so others 90), 10 stolen.
        let now = MachineTicks {
            total: 1200,
            busy: 250,
            steal: 10,
            cpus: 2,
        };
        let threads = vec![
            (1, "gauntlet-load-0".to_owned(), 100), // 90 of 100: 0.9
            (2, "gauntlet-load-1".to_owned(), 50),  // 0.5
            (3, "gauntlet-store".to_owned(), 20),   // born in the interval: 0.2
            (4, "gauntlet-target".to_owned(), 999),
        ];
        let f = a.figures(Some(now), Some(100), &threads);
        assert!((f.load_threads_busy_ratio.unwrap() - 0.7).abs() < 1e-12);
        assert!((f.store_thread_busy_ratio.unwrap() - 0.2).abs() < 1e-12);
        assert!((f.steal_percent.unwrap() - 5.0).abs() < 1e-12);
        assert!((f.other_cpu_percent.unwrap() - 90.0).abs() < 1e-12);
        // Without a previous reading nothing is claimed.
        assert_eq!(
            CpuAccounting::default().figures(Some(now), Some(1), &threads),
            CpuFigures::default()
        );
    }

    #[test]
    fn reads_this_process_on_linux() {
        // Cost of one sample: printed with `--nocapture`, not asserted (a shared
        // machine's timing is no test).
        let mut a = CpuAccounting::new();
        let started = std::time::Instant::now();
        for _ in 0..100 {
            std::hint::black_box(a.sample());
        }
        eprintln!(
            "CpuAccounting::sample: {:?} per call with {} threads",
            started.elapsed() / 100,
            std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
        );
        let mut spin = 0u64;
        for i in 0..2_000_000u64 {
            spin = spin.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(spin);
        let f = a.sample();
        if cfg!(target_os = "linux") {
            assert!(f.steal_percent.is_some());
            assert!(f.other_cpu_percent.is_some());
            assert_eq!(f.load_threads_busy_ratio, None, "no load threads here");
        }
    }
}
