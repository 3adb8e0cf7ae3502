//! Load generation: executors issuing ops at their intended times.
//!
//! The load generator runs on `load_threads` OS threads, each with its own
//! current-thread tokio runtime, separate from the target's runtime. Every load's
//! in-flight bound (`max_in_flight`, or the concurrency of a closed-loop executor) is a
//! fixed pool of *slots* spread over the threads; a slot issues one op at a time, so
//! the bound holds by construction and no task is spawned per op.
//!
//! **Open loop** (arrival-rate executors): op `i` has an intended start `T_i` given by
//! the load's [`schedule`]. The schedule is divided between the load threads that
//! hold the load's slots (thread `w` of `n` takes ops `w, w + n, ...`: its own
//! [`Lane`], so threads share no cursor). A free slot claims its lane's next op and
//! sleeps until `T_i`; latency is measured from `T_i`, not from when the op was
//! actually issued, so a slow target cannot hide its backlog (coordinated omission, as
//! in wrk2). When every slot is busy, or the load thread itself is behind, ops queue
//! up in time. **Every op starts within `drop_after` of `T_i` or is dropped**: an op
//! still unclaimed `drop_after` past `T_i`, or whose slot was woken later than that,
//! is counted in `dropped_iterations` (k6's metric) and skipped, never silently and
//! never measured late. An op's latency is therefore at most `drop_after` plus its own
//! service time. The thread's start lateness per load is recorded too and reported
//! per tick (`generator` in the timeline), with the thread's busy ratio, so a run
//! whose generator was saturated says so.
//!
//! **Saturation and fairness** ([`share`]): one slot per load per thread runs at a
//! time when ops are due back to back, and it hands the thread on every
//! [`share::BURST`] ops, so a saturated load cannot starve another load, the flusher
//! or a woken slot. A load that dropped iterations while fewer than half of its slots
//! had an op in flight was held back by the generator, not by its in-flight bound: it
//! is reported as *starved* for that tick.
//!
//! **Closed loop** (concurrency executors): `N(t)` slots are active; each issues its
//! next op when the last completes. Latency is measured from the actual start.
//!
//! **Timer resolution.** Open-loop slots wait for their op's intended time on a
//! [`pacer::Pacer`] (one small OS thread per load thread using the kernel's
//! high-resolution timers) rather than on tokio's 1 ms timer, so an op starts
//! typically 50-150 µs after its intended time on an idle machine; waits shorter than
//! 50 µs (high rates) are spent yielding to the thread's other slots instead. That
//! delay is part of `latency` (a caller would have waited it too) and shows separately
//! as the difference to `service_time`.
//!
//! **Per-op cost.** A claim (a load and a store on the thread's own lane), one clock
//! read when ops are due back to back, two histogram increments, the start lateness
//! (an exact maximum, and a histogram record every 8th op) and two relaxed counter
//! stores; no locks, no atomics shared between threads, no allocation ([`slot`]).
//! `benches/harness_overhead.rs` measures it (`docs/perf/generator.md`: 92 ns per op
//! on a 16-core machine, about 105 ns on a loaded 2-core one; the generator's ceiling
//! 8.3 M ops/s per load thread, scaling to 8 threads at 0.96 of linear).
//!
//! **Histograms per tick.** Each load thread owns its histograms; once per tick the
//! collector bumps an epoch and every thread hands over what it recorded
//! ([`recorder::Flush`]). Since slots hand the thread on, the flusher runs within
//! microseconds even when the thread is saturated; a thread blocked inside one long
//! op hands over late, and its figures then count in the next tick, never lost.

pub mod pacer;
pub mod recorder;
pub mod schedule;
pub mod share;
pub mod slot;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

pub use recorder::{Flush, OpHistograms, Recorder};
pub use schedule::{ConcurrencySchedule, Lane, RateSchedule};

use crate::scenario::Load;
use crate::target::{OpId, Target};

/// Counters of one load on one worker thread. Each is written by its worker thread
/// only (plain load + store, no read-modify-write) and read by the collector.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct WorkerCounters {
    /// Ops started.
    pub started: AtomicU64,
    /// Ops completed (successfully or not).
    pub completed: AtomicU64,
    /// Ops that failed or timed out.
    pub errors: AtomicU64,
    /// Ops that hit the load's `op_timeout`.
    pub timeouts: AtomicU64,
    /// Ops the target refused (`OpError::Rejected`; included in `errors`).
    pub rejected: AtomicU64,
    /// Ops that ran and failed (`OpError::Failed`; included in `errors`).
    pub failed: AtomicU64,
    /// Scheduled ops of this thread's lane that were dropped (not started within
    /// `drop_after` of their intended time).
    pub dropped: AtomicU64,
    /// This thread's share of an open-loop schedule, with its own cursor.
    pub lane: Lane,
}

#[inline]
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// One load, ready to run.
#[derive(Debug)]
pub struct LoadState {
    /// The load as configured.
    pub load: Load,
    /// The op it issues (index into the workload's ops).
    pub op: OpId,
    /// Index of the op among the scenario's ops (its histogram slot).
    pub op_slot: usize,
    /// Schedule of an open-loop load.
    pub rate: Option<RateSchedule>,
    /// Schedule of a closed-loop load.
    pub concurrency: Option<ConcurrencySchedule>,
    /// Per-worker counters (and open-loop lanes), one cache line pair each.
    pub counters: Box<[WorkerCounters]>,
    /// When the load starts.
    pub t0: Instant,
    /// The same instant on the fast clock the slots time ops with.
    pub t0_fast: quanta::Instant,
}

/// Totals of one load at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadTotals {
    /// Ops started.
    pub started: u64,
    /// Ops completed.
    pub completed: u64,
    /// Ops failed.
    pub errors: u64,
    /// Ops timed out.
    pub timeouts: u64,
    /// Ops the target refused.
    pub rejected: u64,
    /// Ops that ran and failed.
    pub failed: u64,
    /// Iterations dropped.
    pub dropped: u64,
}

impl LoadState {
    /// Prepares `load`, which issues workload op `op` and records into `op_slot`;
    /// `run_start` is the start of the run, `run_length` its duration.
    pub fn new(
        load: Load,
        op: OpId,
        op_slot: usize,
        workers: usize,
        run_start: Instant,
        run_length: Duration,
    ) -> Self {
        let length_s = run_length.saturating_sub(load.start).as_secs_f64();
        let t0 = run_start + load.start;
        let (now, now_fast) = (Instant::now(), quanta::Instant::now());
        let t0_fast = match t0.checked_duration_since(now) {
            Some(ahead) => now_fast + ahead,
            None => now_fast
                .checked_sub(now.duration_since(t0))
                .unwrap_or(now_fast),
        };
        let mut state = Self {
            t0_fast,
            rate: RateSchedule::for_executor(&load.executor, length_s),
            concurrency: ConcurrencySchedule::for_executor(&load.executor, length_s),
            t0,
            load,
            op,
            op_slot,
            counters: (0..workers).map(|_| WorkerCounters::default()).collect(),
        };
        state.assign_lanes();
        state
    }

    /// Divides the open-loop schedule between the load threads that hold slots of the
    /// load: threads `0..lanes` (slot `s` runs on thread `s % workers`). Done again by
    /// [`Generator::start`], after anything that changed the schedule or the in-flight
    /// bound (a shard's share of them).
    pub fn assign_lanes(&mut self) {
        let workers = self.counters.len() as u64;
        let lanes = workers.min(self.load.max_in_flight).max(1);
        let total = self.rate.as_ref().map_or(0, RateSchedule::total);
        for (w, c) in self.counters.iter_mut().enumerate() {
            c.lane = Lane::new(w as u64, lanes, total);
        }
    }

    /// Sums the counters of every worker.
    pub fn totals(&self) -> LoadTotals {
        let mut t = LoadTotals::default();
        for c in self.counters.iter() {
            t.dropped += c.dropped.load(Ordering::Relaxed);
            t.started += c.started.load(Ordering::Relaxed);
            t.completed += c.completed.load(Ordering::Relaxed);
            t.errors += c.errors.load(Ordering::Relaxed);
            t.timeouts += c.timeouts.load(Ordering::Relaxed);
            t.rejected += c.rejected.load(Ordering::Relaxed);
            t.failed += c.failed.load(Ordering::Relaxed);
        }
        t
    }

    /// Ops the schedule calls for by `t` (open loop), for the offered-rate figure.
    pub fn offered_by(&self, t: Instant) -> Option<f64> {
        let s = self.rate.as_ref()?;
        let elapsed = t.saturating_duration_since(self.t0).as_secs_f64();
        Some(s.count_at(elapsed).min(s.total() as f64))
    }
}

/// The running load generator.
#[derive(Debug)]
pub struct Generator {
    loads: Arc<[LoadState]>,
    epoch: watch::Sender<u64>,
    stop: watch::Sender<bool>,
    flushes: mpsc::UnboundedReceiver<Flush>,
    threads: Vec<std::thread::JoinHandle<()>>,
    workers: usize,
    finished: Vec<bool>,
}

impl Generator {
    /// Starts `workers` load threads driving `target` with `loads`; `n_ops` is the
    /// number of histogram slots.
    pub fn start<T: Target>(
        target: Arc<T>,
        loads: Vec<LoadState>,
        n_ops: usize,
        workers: usize,
    ) -> std::io::Result<Self> {
        let mut loads = loads;
        for l in &mut loads {
            l.assign_lanes();
        }
        let loads: Arc<[LoadState]> = loads.into();
        let (epoch, epoch_rx) = watch::channel(0_u64);
        let (stop, stop_rx) = watch::channel(false);
        let (flush_tx, flushes) = mpsc::unbounded_channel();
        let mut threads = Vec::with_capacity(workers);
        for w in 0..workers {
            let ctx = worker::WorkerContext {
                index: w,
                workers,
                target: target.clone(),
                loads: loads.clone(),
                n_ops,
                flushes: flush_tx.clone(),
                epoch: epoch_rx.clone(),
                stop: stop_rx.clone(),
            };
            threads.push(
                std::thread::Builder::new()
                    .name(format!("gauntlet-load-{w}"))
                    .spawn(move || worker::run(ctx))?,
            );
        }
        Ok(Self {
            loads,
            epoch,
            stop,
            flushes,
            threads,
            workers,
            finished: vec![false; workers],
        })
    }

    /// The loads being driven.
    pub fn loads(&self) -> &[LoadState] {
        &self.loads
    }

    /// The loads being driven, shared (they outlive the generator).
    pub fn shared_loads(&self) -> Arc<[LoadState]> {
        self.loads.clone()
    }

    /// Whether every worker has finished (its loads are done or it was stopped).
    pub fn finished(&self) -> bool {
        self.finished.iter().all(|f| *f)
    }

    /// Asks every worker to hand over its histograms for the tick that just ended, and
    /// waits up to `wait` for them. Flushes that arrive later are returned by a later
    /// call, so nothing is lost, only attributed to the next tick.
    pub async fn collect(&mut self, wait: Duration) -> Vec<Flush> {
        self.epoch.send_modify(|e| *e += 1);
        let epoch = *self.epoch.borrow();
        let mut out = Vec::new();
        let mut answered = vec![false; self.workers];
        for (w, f) in self.finished.iter().enumerate() {
            answered[w] = *f;
        }
        let deadline = tokio::time::Instant::now() + wait;
        while !answered.iter().all(|a| *a) {
            match tokio::time::timeout_at(deadline, self.flushes.recv()).await {
                Ok(Some(f)) => {
                    if f.epoch >= epoch || f.last {
                        answered[f.worker] = true;
                    }
                    if f.last {
                        self.finished[f.worker] = true;
                    }
                    out.push(f);
                }
                Ok(None) | Err(_) => break,
            }
        }
        while let Ok(f) = self.flushes.try_recv() {
            if f.last {
                self.finished[f.worker] = true;
            }
            out.push(f);
        }
        out
    }

    /// Tells every worker to stop now; in-flight ops are cancelled.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits up to `wait` for the worker threads to exit; threads still running after
    /// that (a target op blocking its thread) are left detached.
    pub async fn join(mut self, wait: Duration) -> Vec<Flush> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::new();
        while !self.finished() {
            match tokio::time::timeout_at(deadline, self.flushes.recv()).await {
                Ok(Some(f)) => {
                    if f.last {
                        self.finished[f.worker] = true;
                    }
                    out.push(f);
                }
                Ok(None) | Err(_) => break,
            }
        }
        if self.finished() {
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Executor;

    #[test]
    fn lanes_follow_a_shards_share_of_the_schedule() {
        let load = Load {
            name: "l".into(),
            op: "op".into(),
            executor: Executor::ConstantArrivalRate {
                rate: 1000.0,
                duration: Duration::from_secs(1),
            },
            start: Duration::ZERO,
            max_in_flight: 8,
            drop_after: Duration::from_secs(10),
            op_timeout: Duration::from_secs(1),
        };
        let mut l = LoadState::new(load, OpId(0), 0, 3, Instant::now(), Duration::from_secs(1));
        // A shard takes every 2nd op after the state was built; the generator
        // reassigns the lanes before it starts.
        l.rate = l.rate.take().map(|r| r.strided(1, 2));
        l.assign_lanes();
        let s = l.rate.as_ref().unwrap();
        assert_eq!(s.total(), 500);
        let mut claimed = 0;
        for c in l.counters.iter() {
            while s
                .claim(&c.lane, 0.0, 10.0, |_| panic!("none late"))
                .is_some()
            {
                claimed += 1;
            }
        }
        assert_eq!(
            claimed, 500,
            "the three lanes cover the shard's share exactly"
        );
    }
}
