//! A circuit breaker: stop calling a repository that keeps failing, and probe it
//! carefully before trusting it again.
//!
//! ```text
//!            failure_threshold consecutive failures
//!   Closed ────────────────────────────────────────► Open ◄──────────┐
//!     ▲                                                 │ reset_timeout │ a probe
//!     │ half_open_probes probes succeeded               ▼ elapsed       │ failed
//!     └───────────────────────────────────────────── HalfOpen ─────────┘
//! ```
//!
//! - **Closed**: calls go through; a success resets the failure count.
//! - **Open**: calls are refused at once with [`BreakerError::Open`] (counted as
//!   rejections), until `reset_timeout` has passed since it opened.
//! - **HalfOpen**: at most `half_open_probes` calls are in flight at once (more are
//!   refused); once that many have succeeded the breaker closes, and any failure opens
//!   it again for another `reset_timeout`.
//!
//! Time is tokio's clock, so tests can drive it with paused time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The breaker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open a closed breaker (at least 1).
    pub failure_threshold: u32,
    /// How long an open breaker refuses calls before it lets probes through.
    pub reset_timeout: Duration,
    /// Probes allowed in flight while half-open, and successes needed to close (at least 1).
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    /// 5 failures, 5 s, 1 probe.
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            reset_timeout: Duration::from_secs(5),
            half_open_probes: 1,
        }
    }
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BreakerState {
    /// Calls go through.
    #[default]
    Closed,
    /// Calls are refused.
    Open,
    /// A few probe calls go through.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half-open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }

    /// 0 closed, 1 half-open, 2 open: a gauge value for metrics.
    pub fn level(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}

/// Why the breaker refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BreakerError {
    /// The breaker is open (or half-open with every probe slot taken).
    #[error("circuit {0}: call refused")]
    Open(&'static str),
}

/// Counters and state of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BreakerStats {
    /// The state now.
    pub state: BreakerState,
    /// Calls let through.
    pub calls: u64,
    /// Calls that succeeded.
    pub successes: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Calls refused without being made.
    pub rejections: u64,
    /// Transitions into Open.
    pub opened: u64,
    /// Transitions into HalfOpen.
    pub half_opened: u64,
    /// Transitions into Closed (from HalfOpen).
    pub closed: u64,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Instant,
    probes_in_flight: u32,
    probe_successes: u32,
}

/// A circuit breaker. See the [module docs](self).
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
    calls: AtomicU64,
    successes: AtomicU64,
    failures: AtomicU64,
    rejections: AtomicU64,
    opened: AtomicU64,
    half_opened: AtomicU64,
    closed: AtomicU64,
}

/// Leave to make one call. Report how it went with [`succeeded`](Permit::succeeded) or
/// [`failed`](Permit::failed); a permit dropped without either (the caller gave up)
/// frees its probe slot and counts as neither.
#[derive(Debug)]
#[must_use = "report the call's outcome"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    done: bool,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        let config = BreakerConfig {
            failure_threshold: config.failure_threshold.max(1),
            half_open_probes: config.half_open_probes.max(1),
            ..config
        };
        Self {
            config,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                opened_at: Instant::now(),
                probes_in_flight: 0,
                probe_successes: 0,
            }),
            calls: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            rejections: AtomicU64::new(0),
            opened: AtomicU64::new(0),
            half_opened: AtomicU64::new(0),
            closed: AtomicU64::new(0),
        }
    }

    /// The settings.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state now (an open breaker whose timeout has passed reads as half-open).
    pub fn state(&self) -> BreakerState {
        let inner = self.lock();
        match inner.state {
            BreakerState::Open if inner.opened_at.elapsed() >= self.config.reset_timeout => {
                BreakerState::HalfOpen
            }
            s => s,
        }
    }

    /// Asks to make a call.
    pub fn acquire(&self) -> Result<Permit<'_>, BreakerError> {
        let mut inner = self.lock();
        if inner.state == BreakerState::Open
            && inner.opened_at.elapsed() >= self.config.reset_timeout
        {
            inner.state = BreakerState::HalfOpen;
            inner.probes_in_flight = 0;
            inner.probe_successes = 0;
            self.half_opened.fetch_add(1, Ordering::Relaxed);
            tracing::info!("circuit half-open: probing the repository");
        }
        let probe = match inner.state {
            BreakerState::Closed => false,
            BreakerState::Open => return Err(self.reject("open")),
            BreakerState::HalfOpen => {
                if inner.probes_in_flight + inner.probe_successes >= self.config.half_open_probes {
                    return Err(self.reject("half-open"));
                }
                inner.probes_in_flight += 1;
                true
            }
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(Permit {
            breaker: self,
            probe,
            done: false,
        })
    }

    fn reject(&self, state: &'static str) -> BreakerError {
        self.rejections.fetch_add(1, Ordering::Relaxed);
        BreakerError::Open(state)
    }

    fn open(&self, inner: &mut Inner) {
        inner.state = BreakerState::Open;
        inner.opened_at = Instant::now();
        inner.probes_in_flight = 0;
        inner.probe_successes = 0;
        self.opened.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("circuit open: repository calls refused");
    }

    fn finish(&self, probe: bool, ok: Option<bool>) {
        let mut inner = self.lock();
        let probing = probe && inner.state == BreakerState::HalfOpen;
        if probing {
            inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
        }
        match ok {
            None => {}
            Some(true) => {
                self.successes.fetch_add(1, Ordering::Relaxed);
                inner.consecutive_failures = 0;
                if probing {
                    inner.probe_successes += 1;
                    if inner.probe_successes >= self.config.half_open_probes {
                        inner.state = BreakerState::Closed;
                        self.closed.fetch_add(1, Ordering::Relaxed);
                        tracing::info!("circuit closed: repository healthy again");
                    }
                }
            }
            Some(false) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                match inner.state {
                    BreakerState::HalfOpen if probing => self.open(&mut inner),
                    BreakerState::Closed => {
                        inner.consecutive_failures += 1;
                        if inner.consecutive_failures >= self.config.failure_threshold {
                            inner.consecutive_failures = 0;
                            self.open(&mut inner);
                        }
                    }
                    // A call that started before the breaker opened: already open.
                    _ => {}
                }
            }
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> BreakerStats {
        BreakerStats {
            state: self.state(),
            calls: self.calls.load(Ordering::Relaxed),
            successes: self.successes.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            rejections: self.rejections.load(Ordering::Relaxed),
            opened: self.opened.load(Ordering::Relaxed),
            half_opened: self.half_opened.load(Ordering::Relaxed),
            closed: self.closed.load(Ordering::Relaxed),
        }
    }
}

impl Permit<'_> {
    /// The call succeeded.
    pub fn succeeded(mut self) {
        self.done = true;
        self.breaker.finish(self.probe, Some(true));
    }

    /// The call failed.
    pub fn failed(mut self) {
        self.done = true;
        self.breaker.finish(self.probe, Some(false));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.finish(self.probe, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, probes: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: threshold,
            reset_timeout: Duration::from_secs(10),
            half_open_probes: probes,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_and_refuses_at_once() {
        let b = breaker(3, 1);
        b.acquire().unwrap().failed();
        b.acquire().unwrap().failed();
        b.acquire().unwrap().succeeded();
        b.acquire().unwrap().failed();
        b.acquire().unwrap().failed();
        assert_eq!(b.state(), BreakerState::Closed, "a success reset the count");
        b.acquire().unwrap().failed();
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.acquire().unwrap_err(), BreakerError::Open("open"));
        let s = b.stats();
        assert_eq!(
            (s.opened, s.rejections, s.failures, s.successes),
            (1, 1, 5, 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_n_probes_through_then_closes() {
        let b = breaker(1, 2);
        b.acquire().unwrap().failed();
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let p1 = b.acquire().unwrap();
        let p2 = b.acquire().unwrap();
        assert!(b.acquire().is_err(), "third probe refused");
        p1.succeeded();
        assert!(
            b.acquire().is_err(),
            "one success + one in flight fill the slots"
        );
        p2.succeeded();
        assert_eq!(b.state(), BreakerState::Closed);
        let s = b.stats();
        assert_eq!(
            (s.opened, s.half_opened, s.closed, s.rejections),
            (1, 1, 1, 2)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_reopens_and_a_dropped_one_frees_its_slot() {
        let b = breaker(1, 1);
        b.acquire().unwrap().failed();
        tokio::time::advance(Duration::from_secs(10)).await;
        drop(b.acquire().unwrap());
        b.acquire().unwrap().failed();
        assert_eq!(b.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(
            b.state(),
            BreakerState::Open,
            "reset timeout restarts on reopen"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        b.acquire().unwrap().succeeded();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.stats().opened, 2);
    }
}
