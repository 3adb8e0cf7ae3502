//! Means over a run's measured ticks (the warm-up left out), the raw material of the
//! per-level diagnoses (saturation, utilization, noise).

use crate::schema::{RunResult, Tick};

/// The ticks after the warm-up.
pub fn ticks(r: &RunResult) -> impl Iterator<Item = &Tick> {
    r.timeline.iter().filter(|t| !t.warmup)
}

/// Mean of `f` over the measured ticks where it has a value; `None` when none has.
pub fn mean(r: &RunResult, f: impl Fn(&Tick) -> Option<f64>) -> Option<f64> {
    let (sum, n) = ticks(r)
        .filter_map(f)
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}
