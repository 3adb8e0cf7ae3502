//! Little's law, `N = X·R`: the mean number of ops in the system equals throughput
//! times mean time in the system.
//!
//! It holds for any stable system, so a level where it does not is a level whose
//! figures do not describe one steady state: the load was still ramping, ops queued
//! outside the measured latency (a closed loop with think time, a load generator
//! that could not keep up), or the level was cut short. Each level of a sweep is
//! checked; the check is a warning on the level, not a failure of the run.

use serde::{Deserialize, Serialize};

/// Relative difference between `N` and `X·R` up to which the law counts as holding.
pub const TOLERANCE: f64 = 0.15;

/// Little's law at one level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LittleCheck {
    /// The concurrency observed independently: the configured clients of a closed
    /// loop, or the mean of the sampled ops in flight of an open loop.
    pub concurrency: f64,
    /// `X·R`: throughput (ops/s) times mean service time (s).
    pub implied: f64,
    /// `implied / concurrency`.
    pub ratio: f64,
    /// Whether `ratio` is within `1 ± TOLERANCE`.
    pub holds: bool,
}

/// Checks `N = X·R` for concurrency `n`, throughput `x` (ops/s) and mean time in the
/// system `r_s` (s). `None` when `n` is not positive or a value is not finite.
pub fn check(n: f64, x: f64, r_s: f64) -> Option<LittleCheck> {
    if !(n.is_finite() && x.is_finite() && r_s.is_finite()) || n <= 0.0 {
        return None;
    }
    let implied = x * r_s;
    let ratio = implied / n;
    Some(LittleCheck {
        concurrency: n,
        implied,
        ratio,
        holds: (ratio - 1.0).abs() <= TOLERANCE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_loop_without_think_time_satisfies_it() {
        // 8 clients, 2 ms each: 4000 ops/s.
        let c = check(8.0, 4000.0, 0.002).unwrap();
        assert!((c.implied - 8.0).abs() < 1e-9);
        assert!(c.holds);
    }

    #[test]
    fn time_spent_outside_the_measured_latency_breaks_it() {
        // 8 clients but only 2000 ops/s at 2 ms: half the time is spent elsewhere.
        let c = check(8.0, 2000.0, 0.002).unwrap();
        assert!((c.ratio - 0.5).abs() < 1e-9);
        assert!(!c.holds);
    }

    #[test]
    fn no_concurrency_no_check() {
        assert_eq!(check(0.0, 100.0, 0.01), None);
        assert_eq!(check(4.0, f64::NAN, 0.01), None);
    }
}
