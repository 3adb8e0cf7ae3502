//! One load-generator thread: a current-thread runtime running its share of every
//! load's slots, plus a flusher that hands the thread's histograms (and its busy
//! time) to the collector each tick. Each load has a [`Gate`] on the thread, so the
//! thread serves its loads in turn (see [`super::share`]).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::LocalSet;

use super::LoadState;
use super::pacer::Pacer;
use super::recorder::{Flush, Recorder};
use super::share::Gate;
use super::slot::{SlotThread, closed_loop, open_loop};
use crate::target::Target;

pub(super) struct WorkerContext<T> {
    pub index: usize,
    pub workers: usize,
    pub target: Arc<T>,
    pub loads: Arc<[LoadState]>,
    pub n_ops: usize,
    pub flushes: mpsc::UnboundedSender<Flush>,
    pub epoch: watch::Receiver<u64>,
    pub stop: watch::Receiver<bool>,
}

pub(super) fn run<T: Target>(ctx: WorkerContext<T>) {
    let w = ctx.index;
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(worker = w, error = %e, "cannot start load runtime");
            let _ = ctx
                .flushes
                .send(Recorder::new(ctx.n_ops, ctx.loads.len()).take(w, u64::MAX, true, None));
            return;
        }
    };
    let pacer = match Pacer::start(format!("gauntlet-pacer-{w}")) {
        Ok(p) => Rc::new(p),
        Err(e) => {
            tracing::error!(worker = w, error = %e, "cannot start pacer thread");
            let _ = ctx
                .flushes
                .send(Recorder::new(ctx.n_ops, ctx.loads.len()).take(w, u64::MAX, true, None));
            return;
        }
    };
    let local = LocalSet::new();
    let flushes = ctx.flushes.clone();
    let recorder = Rc::new(RefCell::new(Recorder::new(ctx.n_ops, ctx.loads.len())));
    let metrics = rt.metrics();
    let busy = move || Some(metrics.worker_total_busy_duration(0));
    let flusher_busy = busy.clone();
    let rec = recorder.clone();
    let last_epoch = local.block_on(&rt, async move {
        let mut slots = Vec::new();
        for (li, l) in ctx.loads.iter().enumerate() {
            let bound = l.load.max_in_flight as usize;
            let gate = Rc::new(Gate::new(bound.div_ceil(ctx.workers)));
            for slot in (w..bound).step_by(ctx.workers) {
                let (target, loads, rec) = (ctx.target.clone(), ctx.loads.clone(), rec.clone());
                let (pacer, gate) = (pacer.clone(), gate.clone());
                slots.push(if l.rate.is_some() {
                    tokio::task::spawn_local(async move {
                        let thread = SlotThread {
                            worker: w,
                            recorder: &rec,
                            pacer: &pacer,
                        };
                        open_loop(&*target, &loads[li], li, &thread, &gate).await
                    })
                } else {
                    tokio::task::spawn_local(async move {
                        closed_loop(&*target, &loads[li], w, slot as u64, &rec).await
                    })
                });
            }
        }
        let mut epoch_rx = ctx.epoch.clone();
        let flusher = {
            let (rec, tx, busy) = (rec.clone(), flushes.clone(), flusher_busy);
            tokio::task::spawn_local(async move {
                while epoch_rx.changed().await.is_ok() {
                    let e = *epoch_rx.borrow_and_update();
                    let f = rec.borrow_mut().take(w, e, false, busy());
                    if tx.send(f).is_err() {
                        break;
                    }
                }
            })
        };
        let mut stop = ctx.stop.clone();
        let all = async {
            for s in slots {
                let _ = s.await;
            }
        };
        tokio::select! {
            _ = all => {}
            _ = stop.wait_for(|s| *s) => {}
        }
        flusher.abort();
        *ctx.epoch.borrow()
    });
    // Dropping the LocalSet cancels any slot still in flight (after a stop).
    drop(local);
    let f = recorder.borrow_mut().take(w, last_epoch, true, busy());
    let _ = ctx.flushes.send(f);
}
