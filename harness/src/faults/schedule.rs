//! The fault schedule: every window of every `[[fault]]` block, in time order, and the
//! seed each window draws its random choices from. Pure: the same scenario and seed
//! give the same schedule.

use std::time::Duration;

use super::spec::FaultSpec;

/// One window of one fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Index of the fault in the scenario (`fault[i]`).
    pub fault: usize,
    /// Index of the window within the fault (0 for the first).
    pub window: usize,
    /// Start, from the start of the run.
    pub start: Duration,
    /// End (cut at the end of the run).
    pub end: Duration,
    /// Seed of this window's random choices (victims, toxicity draws, jitter).
    pub seed: u64,
}

/// Mixes the scenario seed with a fault and window index (SplitMix64), so that windows
/// draw independent streams and adding a fault does not change the others' draws.
pub fn window_seed(seed: u64, fault: usize, window: usize) -> u64 {
    let mut z = seed
        ^ (fault as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (window as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Every window of `faults` within a run of length `run`, sorted by start.
pub fn windows(faults: &[FaultSpec], run: Duration, seed: u64) -> Vec<Window> {
    let mut out = Vec::new();
    for f in faults {
        let mut start = f.at;
        let mut w = 0;
        while start < run {
            out.push(Window {
                fault: f.index,
                window: w,
                start,
                end: (start + f.duration).min(run),
                seed: window_seed(seed, f.index, w),
            });
            match f.every {
                Some(every) if !every.is_zero() => start += every,
                _ => break,
            }
            w += 1;
        }
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.fault.cmp(&b.fault)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Fault;
    use crate::faults::kinds::crash::Crash;

    fn spec(index: usize, at: u64, dur: u64, every: Option<u64>) -> FaultSpec {
        FaultSpec {
            index,
            fault: Fault::Crash(Crash),
            target: "actor://g/*".into(),
            at: Duration::from_secs(at),
            duration: Duration::from_secs(dur),
            every: every.map(Duration::from_secs),
            toxicity: 1.0,
            victims: None,
        }
    }

    #[test]
    fn repeating_windows_are_cut_at_the_end_and_sorted() {
        let w = windows(
            &[spec(0, 2, 2, Some(5)), spec(1, 3, 1, None)],
            Duration::from_secs(13),
            1,
        );
        let starts: Vec<(usize, u64, u64)> = w
            .iter()
            .map(|w| (w.fault, w.start.as_secs(), w.end.as_secs()))
            .collect();
        assert_eq!(starts, [(0, 2, 4), (1, 3, 4), (0, 7, 9), (0, 12, 13)]);
        assert_eq!(
            w,
            windows(
                &[spec(0, 2, 2, Some(5)), spec(1, 3, 1, None)],
                Duration::from_secs(13),
                1
            )
        );
        assert_ne!(w[0].seed, w[2].seed);
        assert_ne!(window_seed(1, 0, 0), window_seed(2, 0, 0));
    }
}
