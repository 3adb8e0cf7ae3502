//! Load generation: executors issuing ops at their intended times.
//!
//! The load generator runs on `load_threads` OS threads, each with its own
//! current-thread tokio runtime, separate from the target's runtime. Every load's
//! in-flight bound (`max_in_flight`, or the concurrency of a closed-loop executor) is a
//! fixed pool of *slots* spread over the threads; a slot issues one op at a time, so
//! the bound holds by construction and no task is spawned per op.
//!
//! **Open loop** (arrival-rate executors): op `i` has an intended start `T_i` given by
//! the load's [`schedule`]. A free slot claims the next op and sleeps until `T_i`;
//! latency is measured from `T_i`, not from when the op was actually issued, so a
//! slow target cannot hide its backlog (coordinated omission, as in wrk2). When every
//! slot is busy, ops queue up in time; an op still unclaimed `drop_after` past its
//! intended start was not issued because the in-flight bound was reached: it is
//! counted in `dropped_iterations` (k6's metric) and skipped, never silently.
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
//! **Per-op cost.** A claim (one compare-and-swap on the load's cursor), one clock read
//! when ops are due back to back, two histogram increments and two relaxed counter
//! stores; no locks, no allocation ([`slot`]). `benches/harness_overhead.rs` measures
//! it: about 50 ns per op on a 2-core VM.
//!
//! **Histograms per tick.** Each load thread owns its histograms; once per tick the
//! collector bumps an epoch and every thread hands over what it recorded
//! ([`recorder::Flush`]). A thread busy inside one long op hands over a little late;
//! its figures then count in the next tick, never lost.

pub mod pacer;
pub mod recorder;
pub mod schedule;
pub mod slot;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

pub use recorder::{Flush, OpHistograms, Recorder};
pub use schedule::{ConcurrencySchedule, RateSchedule};

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
    /// Iterations dropped because every slot was busy.
    pub dropped: AtomicU64,
    /// Per-worker counters.
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
        Self {
            t0_fast,
            rate: RateSchedule::for_executor(&load.executor, length_s),
            concurrency: ConcurrencySchedule::for_executor(&load.executor, length_s),
            t0,
            load,
            op,
            op_slot,
            dropped: AtomicU64::new(0),
            counters: (0..workers).map(|_| WorkerCounters::default()).collect(),
        }
    }

    /// Sums the counters of every worker.
    pub fn totals(&self) -> LoadTotals {
        let mut t = LoadTotals {
            dropped: self.dropped.load(Ordering::Relaxed),
            ..LoadTotals::default()
        };
        for c in self.counters.iter() {
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
