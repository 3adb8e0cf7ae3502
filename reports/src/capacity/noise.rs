//! Machine noise: was something else using the machine while a run measured?
//!
//! Each tick records the CPU the hypervisor stole (`/proc/stat`'s `steal`) and the CPU
//! used by every other process (the machine's busy time less this process's). A run
//! whose mean steal is above [`NOISY_STEAL_PERCENT`], or whose other processes used
//! more than [`NOISY_OTHER_SHARE`] of the machine's CPUs, is flagged as noisy: its
//! figures are not the target's alone, and a level measured so is not comparable
//! with a quiet one.

use crate::capacity::measured;
use crate::capacity_schema::Noise;
use crate::schema::RunResult;

/// Mean steal, percent of all CPUs' time, above which a run is noisy.
pub const NOISY_STEAL_PERCENT: f64 = 2.0;
/// Share of the machine's CPUs used by other processes above which a run is noisy.
pub const NOISY_OTHER_SHARE: f64 = 0.10;

/// The noise during run `r` (`None` when neither figure was measured).
pub fn of_run(r: &RunResult) -> Option<Noise> {
    let steal_percent = measured::mean(r, |t| t.process.steal_percent);
    let other_cpu_percent = measured::mean(r, |t| t.process.other_cpu_percent);
    if steal_percent.is_none() && other_cpu_percent.is_none() {
        return None;
    }
    Some(judge(steal_percent, other_cpu_percent, r.environment.cpus))
}

/// Flags figures measured on a machine of `cpus` CPUs.
pub fn judge(steal_percent: Option<f64>, other_cpu_percent: Option<f64>, cpus: usize) -> Noise {
    let other_limit = NOISY_OTHER_SHARE * cpus.max(1) as f64 * 100.0;
    Noise {
        steal_percent,
        other_cpu_percent,
        noisy: steal_percent.is_some_and(|s| s > NOISY_STEAL_PERCENT)
            || other_cpu_percent.is_some_and(|o| o > other_limit),
    }
}

/// One line about noise (`steal 0.0%, other processes 35% of a core`).
pub fn describe(n: &Noise) -> String {
    let steal = n
        .steal_percent
        .map_or_else(|| "steal n/a".to_owned(), |s| format!("steal {s:.1}%"));
    let other = n.other_cpu_percent.map_or_else(
        || "other processes n/a".to_owned(),
        |o| format!("other processes {:.2} cores", o / 100.0),
    );
    format!("{steal}, {other}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_scale_with_the_machine() {
        assert!(!judge(Some(0.5), Some(15.0), 2).noisy);
        assert!(judge(Some(0.5), Some(25.0), 2).noisy);
        assert!(!judge(Some(0.5), Some(25.0), 16).noisy);
        assert!(judge(Some(3.0), Some(0.0), 16).noisy);
        assert!(!judge(None, None, 4).noisy);
        assert_eq!(
            describe(&judge(Some(1.0), Some(150.0), 2)),
            "steal 1.0%, other processes 1.50 cores"
        );
    }
}
