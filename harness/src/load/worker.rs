//! One load-generator thread: a current-thread runtime running its share of every
//! load's slots, plus a flusher that hands the thread's histograms to the collector
//! each tick.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::LocalSet;

use super::pacer::Pacer;
use super::recorder::{Flush, Recorder};
use super::{LoadState, bump};
use crate::target::{OpError, Target};

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
                .send(Recorder::new(ctx.n_ops).take(w, u64::MAX, true));
            return;
        }
    };
    let pacer = match Pacer::start(format!("gauntlet-pacer-{w}")) {
        Ok(p) => Rc::new(p),
        Err(e) => {
            tracing::error!(worker = w, error = %e, "cannot start pacer thread");
            let _ = ctx
                .flushes
                .send(Recorder::new(ctx.n_ops).take(w, u64::MAX, true));
            return;
        }
    };
    let local = LocalSet::new();
    let flushes = ctx.flushes.clone();
    let recorder = Rc::new(RefCell::new(Recorder::new(ctx.n_ops)));
    let rec = recorder.clone();
    let last_epoch = local.block_on(&rt, async move {
        let mut slots = Vec::new();
        for (li, l) in ctx.loads.iter().enumerate() {
            let bound = l.load.max_in_flight as usize;
            for slot in (w..bound).step_by(ctx.workers) {
                let (target, loads, rec) = (ctx.target.clone(), ctx.loads.clone(), rec.clone());
                let pacer = pacer.clone();
                slots.push(if l.rate.is_some() {
                    tokio::task::spawn_local(async move {
                        open_loop_slot(&*target, &loads[li], w, &rec, &pacer).await
                    })
                } else {
                    tokio::task::spawn_local(async move {
                        closed_loop_slot(&*target, &loads[li], w, slot as u64, &rec).await
                    })
                });
            }
        }
        let mut epoch_rx = ctx.epoch.clone();
        let flusher = {
            let (rec, tx) = (rec.clone(), flushes.clone());
            tokio::task::spawn_local(async move {
                while epoch_rx.changed().await.is_ok() {
                    let e = *epoch_rx.borrow_and_update();
                    let f = rec.borrow_mut().take(w, e, false);
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
    let f = recorder.borrow_mut().take(w, last_epoch, true);
    let _ = ctx.flushes.send(f);
}

#[inline]
fn finish(l: &LoadState, w: usize, res: Result<Result<(), OpError>, tokio::time::error::Elapsed>) {
    let c = &l.counters[w];
    match res {
        Ok(Ok(())) => {}
        Ok(Err(OpError::Timeout)) | Err(_) => {
            bump(&c.errors);
            bump(&c.timeouts);
        }
        Ok(Err(_)) => bump(&c.errors),
    }
    bump(&c.completed);
}

async fn open_loop_slot<T: Target>(
    target: &T,
    l: &LoadState,
    w: usize,
    rec: &RefCell<Recorder>,
    pacer: &Pacer,
) {
    let Some(schedule) = &l.rate else { return };
    let drop_after = l.load.drop_after.as_secs_f64();
    let timeout = l.load.op_timeout;
    loop {
        let now = Instant::now();
        let now_s = now.saturating_duration_since(l.t0).as_secs_f64();
        let Some(claim) = schedule.claim(now_s, drop_after, |n| {
            l.dropped.fetch_add(n, Ordering::Relaxed);
        }) else {
            return;
        };
        let intended = l.t0 + Duration::from_secs_f64(claim.at_s);
        if intended > now {
            pacer.until(intended).await;
        }
        bump(&l.counters[w].started);
        let start = Instant::now();
        let res =
            tokio::time::timeout_at((start + timeout).into(), target.call(l.op, claim.seq)).await;
        let end = Instant::now();
        rec.borrow_mut().record(
            l.op_slot,
            end.saturating_duration_since(intended),
            end.saturating_duration_since(start),
        );
        finish(l, w, res);
    }
}

async fn closed_loop_slot<T: Target>(
    target: &T,
    l: &LoadState,
    w: usize,
    k: u64,
    rec: &RefCell<Recorder>,
) {
    let Some(schedule) = &l.concurrency else {
        return;
    };
    let timeout = l.load.op_timeout;
    let mut seq = k;
    let stride = l.load.max_in_flight.max(1);
    loop {
        let now = Instant::now();
        if now < l.t0 {
            tokio::time::sleep_until(l.t0.into()).await;
            continue;
        }
        let t = now.saturating_duration_since(l.t0).as_secs_f64();
        if schedule.level_at(t) <= k {
            match schedule.next_at_least(k + 1, t) {
                Some(at) if at > t => {
                    tokio::time::sleep_until((l.t0 + Duration::from_secs_f64(at)).into()).await;
                    continue;
                }
                // Rounding put us on the boundary: step past it.
                Some(_) => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                None => return,
            }
        }
        bump(&l.counters[w].started);
        let res = tokio::time::timeout_at((now + timeout).into(), target.call(l.op, seq)).await;
        let end = Instant::now();
        let took = end.saturating_duration_since(now);
        rec.borrow_mut().record(l.op_slot, took, took);
        finish(l, w, res);
        seq += stride;
    }
}
