//! Per-worker latency recording.
//!
//! Each load-generator thread owns one [`Recorder`]: a latency and a service-time
//! histogram per operation, and per load the largest start lateness and a sampled
//! start-lateness histogram (every [`LATENESS_SAMPLE`]-th op; how long after
//! its intended time each open-loop op actually started: the generator's own delay). Recording is a plain histogram increment: no lock, no
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
    /// Sampled start lateness per load (ns; every [`LATENESS_SAMPLE`]-th open-loop op
    /// of the thread, the first of each flush included; empty for closed-loop loads).
    pub lateness: Vec<Histogram<u64>>,
    /// Largest start lateness per load (ns, every op; 0 when none started).
    pub max_lateness: Vec<u64>,
    /// Sum of the start lateness of every open-loop op per load (ns), and
    /// [`Flush::lateness_count`] the ops summed: their mean is exact.
    pub lateness_sum: Vec<u64>,
    /// Open-loop ops started per load (those in [`Flush::lateness_sum`]).
    pub lateness_count: Vec<u64>,
    /// The thread's total busy time so far (tokio's `worker_total_busy_duration`),
    /// or `None` when it could not be read.
    pub busy: Option<std::time::Duration>,
}

/// A worker's histograms since its last flush.
#[derive(Debug)]
pub struct Recorder {
    ops: Vec<OpHistograms>,
    lateness: Vec<Histogram<u64>>,
    max_lateness: Vec<u64>,
    lateness_sum: Vec<u64>,
    lateness_seen: Vec<u64>,
}

/// One op in this many has its start lateness recorded in the histogram: its p99 is a
/// diagnostic, and a third histogram record per op cost more than the rest of the
/// bookkeeping it sits beside. The maximum is exact.
pub const LATENESS_SAMPLE: u32 = 8;

/// An empty start-lateness histogram (ns).
#[allow(
    clippy::expect_used,
    reason = "2 significant figures is a constant within hdrhistogram's 0..=5; no input reaches it"
)]
pub fn lateness_histogram() -> Histogram<u64> {
    // Two significant figures: lateness is a diagnostic, and a smaller histogram
    // keeps the per-op record cheap.
    let mut h = Histogram::<u64>::new(2).expect("2 significant figures is valid");
    h.auto(true);
    h
}

impl Recorder {
    /// A recorder for `n_ops` operation slots and `n_loads` loads.
    pub fn new(n_ops: usize, n_loads: usize) -> Self {
        Self {
            ops: (0..n_ops).map(|_| OpHistograms::new()).collect(),
            lateness: (0..n_loads).map(|_| lateness_histogram()).collect(),
            max_lateness: vec![0; n_loads],
            lateness_sum: vec![0; n_loads],
            lateness_seen: vec![0; n_loads],
        }
    }

    /// Records how late (ns) an open-loop op of load `load` started.
    #[inline]
    pub fn record_lateness(&mut self, load: usize, late_ns: u64) {
        if let (Some(max), Some(sum), Some(seen)) = (
            self.max_lateness.get_mut(load),
            self.lateness_sum.get_mut(load),
            self.lateness_seen.get_mut(load),
        ) {
            *max = (*max).max(late_ns);
            *sum = sum.saturating_add(late_ns);
            if (*seen).is_multiple_of(u64::from(LATENESS_SAMPLE))
                && let Some(h) = self.lateness.get_mut(load)
            {
                let _ = h.record(late_ns);
            }
            *seen = seen.wrapping_add(1);
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

    /// Takes the histograms recorded so far, leaving empty ones; `busy` is the
    /// thread's busy time so far.
    pub fn take(
        &mut self,
        worker: usize,
        epoch: u64,
        last: bool,
        busy: Option<std::time::Duration>,
    ) -> Flush {
        let fresh: Vec<OpHistograms> = (0..self.ops.len()).map(|_| OpHistograms::new()).collect();
        let fresh_late: Vec<Histogram<u64>> = (0..self.lateness.len())
            .map(|_| lateness_histogram())
            .collect();
        Flush {
            worker,
            epoch,
            last,
            ops: std::mem::replace(&mut self.ops, fresh),
            lateness: std::mem::replace(&mut self.lateness, fresh_late),
            max_lateness: {
                let zero = vec![0; self.max_lateness.len()];
                std::mem::replace(&mut self.max_lateness, zero)
            },
            lateness_sum: {
                let zero = vec![0; self.lateness_sum.len()];
                std::mem::replace(&mut self.lateness_sum, zero)
            },
            lateness_count: {
                let zero = vec![0; self.lateness_seen.len()];
                std::mem::replace(&mut self.lateness_seen, zero)
            },
            busy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_hands_over_and_resets() {
        let mut r = Recorder::new(2, 1);
        for late in [1_000, 5_000, 2_000] {
            r.record_lateness(0, late);
        }
        r.record_lateness(3, 1_000); // ignored
        r.record(1, Duration::from_micros(5), Duration::from_micros(3));
        r.record(1, Duration::from_secs(30), Duration::from_secs(1));
        r.record(7, Duration::from_micros(5), Duration::from_micros(3)); // ignored
        let f = r.take(0, 3, false, None);
        // The first op of a flush is sampled, the next 7 are not; the max is exact.
        assert_eq!(f.lateness[0].len(), 1);
        assert_eq!(f.max_lateness, [5_000]);
        // The mean is exact: every op is summed.
        assert_eq!((f.lateness_sum[0], f.lateness_count[0]), (8_000, 3));
        assert_eq!(f.ops[0].latency.len(), 0);
        assert_eq!(f.ops[1].latency.len(), 2);
        assert!(f.ops[1].latency.max() >= 29_000_000_000);
        let again = r.take(0, 4, true, None);
        assert_eq!(again.lateness[0].len(), 0);
        assert_eq!(again.max_lateness, [0]);
        assert_eq!((again.lateness_sum[0], again.lateness_count[0]), (0, 0));
        assert_eq!(again.ops[1].latency.len(), 0);
        let mut merged = OpHistograms::new();
        merged.add(&f.ops[1]);
        assert_eq!(merged.latency.len(), 2);
    }
}
