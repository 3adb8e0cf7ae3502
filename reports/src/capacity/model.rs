//! The Universal Scalability Law as a model: evaluate it, find its peak.

use serde::{Deserialize, Serialize};

/// Gunther's Universal Scalability Law,
/// `X(N) = λN / (1 + σ(N−1) + κN(N−1))`.
///
/// `N` is the concurrency (clients, workers, ops in flight), `X(N)` the throughput at
/// that concurrency. `λ` is the throughput of one client with no interference, `σ`
/// the contention (the serialized fraction of the work: queueing on a shared
/// resource) and `κ` the coherency cost (pairwise exchange between clients, which
/// makes throughput *fall* past a peak).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UslModel {
    /// λ: throughput at concurrency 1 without contention, ops per second.
    pub lambda: f64,
    /// σ: contention, in `[0, 1]`.
    pub sigma: f64,
    /// κ: coherency, in `[0, 1]`.
    pub kappa: f64,
}

impl UslModel {
    /// Predicted throughput at concurrency `n`.
    pub fn throughput(&self, n: f64) -> f64 {
        self.lambda * n / self.denominator(n)
    }

    /// `1 + σ(N−1) + κN(N−1)`: how much slower each client runs at concurrency `n`
    /// than it would alone.
    pub fn denominator(&self, n: f64) -> f64 {
        1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0)
    }

    /// Efficiency at concurrency `n`: `X(N) / (N·λ)`, the share of linear scaling the
    /// model keeps (1 = perfectly linear).
    pub fn efficiency(&self, n: f64) -> f64 {
        1.0 / self.denominator(n)
    }

    /// The concurrency of peak throughput, `N* = floor(sqrt((1−σ)/κ))` (at least 1);
    /// `None` when κ is 0, where throughput never falls and has no peak (see
    /// [`UslModel::amdahl_ceiling`]).
    pub fn peak_concurrency(&self) -> Option<u64> {
        if self.kappa <= 0.0 {
            return None;
        }
        let n = ((1.0 - self.sigma).max(0.0) / self.kappa).sqrt().floor();
        if !n.is_finite() {
            return None;
        }
        Some((n as u64).max(1))
    }

    /// The throughput at [`UslModel::peak_concurrency`].
    pub fn peak_throughput(&self) -> Option<f64> {
        self.peak_concurrency().map(|n| self.throughput(n as f64))
    }

    /// Amdahl's ceiling `λ/σ`: the throughput approached as `N → ∞` when κ is 0 and
    /// σ is not. `None` otherwise (with κ > 0 the curve peaks instead; with σ = κ = 0
    /// it grows linearly without bound).
    pub fn amdahl_ceiling(&self) -> Option<f64> {
        (self.kappa == 0.0 && self.sigma > 0.0).then(|| self.lambda / self.sigma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_with_no_contention_or_coherency() {
        let m = UslModel {
            lambda: 100.0,
            sigma: 0.0,
            kappa: 0.0,
        };
        assert_eq!(m.throughput(1.0), 100.0);
        assert_eq!(m.throughput(8.0), 800.0);
        assert_eq!(m.efficiency(8.0), 1.0);
        assert_eq!(m.peak_concurrency(), None);
        assert_eq!(m.amdahl_ceiling(), None);
    }

    #[test]
    fn amdahl_when_kappa_is_zero() {
        let m = UslModel {
            lambda: 100.0,
            sigma: 0.1,
            kappa: 0.0,
        };
        assert_eq!(m.amdahl_ceiling(), Some(1000.0));
        assert!(m.throughput(10_000.0) < 1000.0);
        assert!(m.throughput(10_000.0) > 990.0);
    }

    #[test]
    fn peak_is_the_argmax_over_integers() {
        let m = UslModel {
            lambda: 995.6486,
            sigma: 0.02671591,
            kappa: 7.690945e-4,
        };
        let peak = m.peak_concurrency().unwrap();
        assert_eq!(peak, 35);
        // The formula's real-valued peak lies in [35, 36): X(35) and X(36) are the
        // candidates; floor is what Gunther and usl4j report.
        assert!(m.throughput(35.0) > m.throughput(34.0));
        assert!(m.throughput(35.0) > m.throughput(37.0));
        assert!((m.peak_throughput().unwrap() - 12341.7456).abs() < 0.01);
    }
}
