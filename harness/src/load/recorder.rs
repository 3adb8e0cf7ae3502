//! Per-worker latency recording.
//!
//! Each load-generator thread owns one [`Recorder`]: a latency and a service-time
//! histogram per operation. Recording is a plain histogram increment: no lock, no
//! atomic, no allocation. Once per tick the worker hands its histograms to the
//! collector in a [`Flush`] and starts over with empty ones; the collector merges the
//! flushes into the tick's interval histograms and the whole-run histograms.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Significant figures kept by every latency histogram (0.1% relative error).
pub const SIGFIG: u8 = 3;

/// Latency and service-time histograms of one operation.
#[derive(Debug, Clone)]
pub struct OpHistograms {
    /// From intended start to completion, ns.
    pub latency: Histogram<u64>,
    /// From actual start to completion, ns.
    pub service: Histogram<u64>,
}

impl OpHistograms {
    /// Empty, auto-resizing histograms (memory grows with the largest value seen).
    #[allow(
        clippy::expect_used,
        reason = "SIGFIG is a constant within hdrhistogram's 0..=5; no input reaches it"
    )]
    pub fn new() -> Self {
        let mut h = Histogram::<u64>::new(SIGFIG).expect("3 significant figures is valid");
        h.auto(true);
        Self {
            latency: h.clone(),
            service: h,
        }
    }

    /// Adds another set of histograms into this one.
    pub fn add(&mut self, other: &OpHistograms) {
        // Auto-resizing histograms accept any value; `add` cannot fail on them.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
    }
}

impl Default for OpHistograms {
    fn default() -> Self {
        Self::new()
    }
}

/// What a worker hands to the collector each tick.
#[derive(Debug)]
pub struct Flush {
    /// The worker's index.
    pub worker: usize,
    /// The tick epoch the flush answers.
    pub epoch: u64,
    /// Whether this is the worker's last flush (it has stopped).
    pub last: bool,
    /// Histograms per operation slot.
    pub ops: Vec<OpHistograms>,
}

/// A worker's histograms since its last flush.
#[derive(Debug)]
pub struct Recorder {
    ops: Vec<OpHistograms>,
}

impl Recorder {
    /// A recorder for `n_ops` operation slots.
    pub fn new(n_ops: usize) -> Self {
        Self {
            ops: (0..n_ops).map(|_| OpHistograms::new()).collect(),
        }
    }

    /// Records one op.
    #[inline]
    pub fn record(&mut self, slot: usize, latency: Duration, service: Duration) {
        let ns = |d: Duration| d.as_nanos().min(u128::from(u64::MAX)) as u64;
        self.record_ns(slot, ns(latency), ns(service));
    }

    /// Records one op, in nanoseconds.
    #[inline]
    pub fn record_ns(&mut self, slot: usize, latency_ns: u64, service_ns: u64) {
        if let Some(h) = self.ops.get_mut(slot) {
            // Auto-resizing histograms accept every value up to their (huge) limit.
            let _ = h.latency.record(latency_ns);
            let _ = h.service.record(service_ns);
        }
    }

    /// Takes the histograms recorded so far, leaving empty ones.
    pub fn take(&mut self, worker: usize, epoch: u64, last: bool) -> Flush {
        let fresh: Vec<OpHistograms> = (0..self.ops.len()).map(|_| OpHistograms::new()).collect();
        Flush {
            worker,
            epoch,
            last,
            ops: std::mem::replace(&mut self.ops, fresh),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_hands_over_and_resets() {
        let mut r = Recorder::new(2);
        r.record(1, Duration::from_micros(5), Duration::from_micros(3));
        r.record(1, Duration::from_secs(30), Duration::from_secs(1));
        r.record(7, Duration::from_micros(5), Duration::from_micros(3)); // ignored
        let f = r.take(0, 3, false);
        assert_eq!(f.ops[0].latency.len(), 0);
        assert_eq!(f.ops[1].latency.len(), 2);
        assert!(f.ops[1].latency.max() >= 29_000_000_000);
        let again = r.take(0, 4, true);
        assert_eq!(again.ops[1].latency.len(), 0);
        let mut merged = OpHistograms::new();
        merged.add(&f.ops[1]);
        assert_eq!(merged.latency.len(), 2);
    }
}
