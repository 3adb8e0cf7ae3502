//! Operational laws beside the USL: what the workers' busy time says about the most
//! throughput the target can give.
//!
//! The utilization law `U = X·D` ties a resource's busy ratio `U` to the throughput
//! `X` and the service demand per op `D` (seconds of that resource's time per op).
//! For the target runtime's `workers` worker threads, with `U` their mean busy ratio,
//! `D = U·workers / X`, and since no resource can be busier than always, throughput
//! is bounded by `X_max = workers / D = X / U` (the bottleneck bound). The device
//! runtime's store writer is one thread: `D_store = U_store / X`, `X_max = X / U_store`.
//! The level's bound is the lower of the two.
//!
//! `D` is best estimated where `U` is high (a small busy ratio divides noise), so the
//! sweep's bound is taken from its busiest level ([`sweep_bound`]). It is an upper
//! bound of what the *measured* mix of ops can reach on these workers; it knows
//! nothing of contention that grows with load, which is what the USL adds.

use crate::capacity::measured;
use crate::capacity_schema::{Bounds, Level, TighterBound, Utilization};
use crate::schema::RunResult;

/// Busy ratio below which a level's demand estimate is not trusted for the sweep's
/// bound (a few percent busy is mostly probe noise).
pub const MIN_BUSY: f64 = 0.05;

/// The utilization law for run `r`, whose ops total `throughput` ops/s (`None` when
/// the workers' busy time was not measured, or nothing completed).
pub fn of_run(r: &RunResult, throughput: f64) -> Option<Utilization> {
    let u = measured::mean(r, |t| t.runtime.busy_ratio)?;
    let workers = r.environment.target_worker_threads;
    let store = measured::mean(r, |t| t.process.store_thread_busy_ratio);
    from_figures(workers, u, store, throughput)
}

/// The utilization law for `workers` workers busy `busy` (0..1) of the time, a store
/// writer busy `store`, at `throughput` ops/s (`None` unless all are positive).
pub fn from_figures(
    workers: usize,
    busy: f64,
    store: Option<f64>,
    throughput: f64,
) -> Option<Utilization> {
    let (u, store) = (busy, store.filter(|s| *s > 0.0));
    if !(throughput > 0.0 && u > 0.0 && workers > 0) {
        return None;
    }
    Some(Utilization {
        workers,
        busy_ratio: u,
        service_demand_s: u * workers as f64 / throughput,
        workers_bound_per_s: throughput / u,
        store_busy_ratio: store,
        store_bound_per_s: store.map(|s| throughput / s),
    })
}

impl Utilization {
    /// The lower of the workers' and the store writer's bounds, ops/s, and which.
    pub fn bound(&self) -> (f64, &'static str) {
        match self.store_bound_per_s {
            Some(s) if s < self.workers_bound_per_s => (s, "store writer"),
            _ => (self.workers_bound_per_s, "target workers"),
        }
    }
}

/// The sweep's bound (from the level whose workers were busiest, at least
/// [`MIN_BUSY`]) against the USL's highest throughput `usl_peak` (`None` when no level
/// measured busy time).
pub fn sweep_bound(levels: &[Level], usl_peak: Option<f64>) -> Option<Bounds> {
    let (level, u) = levels
        .iter()
        .filter_map(|l| Some((l, l.utilization?)))
        .filter(|(_, u)| u.busy_ratio >= MIN_BUSY)
        .max_by(|a, b| a.1.busy_ratio.total_cmp(&b.1.busy_ratio))?;
    let (bound, resource) = u.bound();
    let tighter = match usl_peak {
        Some(p) if p < bound => TighterBound::Usl,
        _ => TighterBound::Utilization,
    };
    Some(Bounds {
        utilization_bound_per_s: bound,
        level: level.index,
        resource: resource.to_owned(),
        usl_peak_per_s: usl_peak,
        tighter,
        usl_exceeds_bound: usl_peak.is_some_and(|p| p > bound),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demand_and_bound_from_busy_time() {
        // 12 workers 92% busy at 551 k ops/s: D = 0.92 · 12 / 551 k = 20.0 µs per op,
        // X_max = 12 / D = 599 k ops/s.
        let u = from_figures(12, 0.92, None, 551_000.0).unwrap();
        assert!(
            (u.service_demand_s - 20.036e-6).abs() < 1e-8,
            "{}",
            u.service_demand_s
        );
        assert!((u.workers_bound_per_s - 598_913.0).abs() < 1.0);
        assert_eq!(u.bound().1, "target workers");
        // A store writer busy 80% at 10 k ops/s bounds at 12.5 k, below 4 workers
        // 10% busy (100 k).
        let d = from_figures(4, 0.10, Some(0.8), 10_000.0).unwrap();
        assert_eq!(d.bound(), (12_500.0, "store writer"));
        assert!(from_figures(4, 0.0, None, 10.0).is_none());
        assert!(from_figures(4, 0.5, None, 0.0).is_none());
    }
}
