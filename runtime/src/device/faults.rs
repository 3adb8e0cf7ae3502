//! A seam for injecting repository faults: errors with a probability, added latency,
//! and a full outage. The chaos scenarios drive it through [`Faults`]; everything else
//! leaves it alone.
//!
//! **Cost when unused**: the store checks one relaxed atomic flag per repository call
//! (not per message); nothing else runs until a fault is set. Faults act on the store's
//! writer thread, *before* the real call: an injected error or outage means the call
//! was not made, and added latency blocks the writer thread as a slow disk would (calls
//! queued behind it wait too).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// An injected fault, as the failed call reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InjectedFault {
    /// The repository is down.
    #[error("injected outage")]
    Outage,
    /// A random failure.
    #[error("injected error")]
    Error,
}

/// What has been injected so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultStats {
    /// Calls failed by an outage.
    pub outages: u64,
    /// Calls failed at random.
    pub errors: u64,
    /// Calls delayed.
    pub delayed: u64,
}

/// The fault settings of one store, changeable while it runs. Cheap to share.
#[derive(Debug)]
pub struct Faults {
    armed: AtomicBool,
    outage: AtomicBool,
    /// Error probability in parts per million.
    error_ppm: AtomicU32,
    latency_us: AtomicU64,
    rng: Mutex<StdRng>,
    outages: AtomicU64,
    errors: AtomicU64,
    delayed: AtomicU64,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(0x5eed)
    }
}

impl Faults {
    /// No faults; random errors (once set) drawn from a generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            armed: AtomicBool::new(false),
            outage: AtomicBool::new(false),
            error_ppm: AtomicU32::new(0),
            latency_us: AtomicU64::new(0),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            outages: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
        }
    }

    fn rearm(&self) {
        let armed = self.outage.load(Ordering::Relaxed)
            || self.error_ppm.load(Ordering::Relaxed) > 0
            || self.latency_us.load(Ordering::Relaxed) > 0;
        self.armed.store(armed, Ordering::Release);
    }

    /// Fails every call while `down` (a full outage).
    pub fn set_outage(&self, down: bool) {
        self.outage.store(down, Ordering::Relaxed);
        self.rearm();
    }

    /// Fails each call with probability `p` (clamped to 0..=1).
    pub fn set_error_probability(&self, p: f64) {
        let ppm = (p.clamp(0.0, 1.0) * 1_000_000.0).round() as u32;
        self.error_ppm.store(ppm, Ordering::Relaxed);
        self.rearm();
    }

    /// Delays each call by `latency` (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        self.latency_us
            .store(latency.as_micros() as u64, Ordering::Relaxed);
        self.rearm();
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.outage.store(false, Ordering::Relaxed);
        self.error_ppm.store(0, Ordering::Relaxed);
        self.latency_us.store(0, Ordering::Relaxed);
        self.rearm();
    }

    /// Whether any fault is set.
    #[inline]
    pub fn is_armed(&self) -> bool {
        self.armed.load(Ordering::Acquire)
    }

    /// What has been injected so far.
    pub fn stats(&self) -> FaultStats {
        FaultStats {
            outages: self.outages.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
        }
    }

    /// Applies the faults to one call, on the thread that makes it: may block for the
    /// added latency; `Err` means the call must not be made.
    #[inline]
    pub(crate) fn before_call(&self) -> Result<(), InjectedFault> {
        if !self.is_armed() {
            return Ok(());
        }
        self.inject()
    }

    #[cold]
    fn inject(&self) -> Result<(), InjectedFault> {
        let latency = self.latency_us.load(Ordering::Relaxed);
        if latency > 0 {
            self.delayed.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_micros(latency));
        }
        if self.outage.load(Ordering::Relaxed) {
            self.outages.fetch_add(1, Ordering::Relaxed);
            return Err(InjectedFault::Outage);
        }
        let ppm = self.error_ppm.load(Ordering::Relaxed);
        if ppm > 0 {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            if rng.random_range(0..1_000_000u32) < ppm {
                self.errors.fetch_add(1, Ordering::Relaxed);
                return Err(InjectedFault::Error);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unarmed_never_injects_and_settings_apply() {
        let f = Faults::new(1);
        assert!(!f.is_armed());
        assert!((0..1000).all(|_| f.before_call().is_ok()));
        f.set_outage(true);
        assert_eq!(f.before_call(), Err(InjectedFault::Outage));
        f.set_outage(false);
        f.set_error_probability(1.0);
        assert_eq!(f.before_call(), Err(InjectedFault::Error));
        f.set_error_probability(0.5);
        let failed = (0..10_000).filter(|_| f.before_call().is_err()).count();
        assert!((4_000..6_000).contains(&failed), "{failed}");
        f.clear();
        assert!(!f.is_armed());
        let s = f.stats();
        assert_eq!(s.outages, 1);
        assert_eq!(s.errors as usize, 1 + failed);
    }
}
