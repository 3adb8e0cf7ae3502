//! The per-op loops of the load generator's slots: the harness's hot path.
//!
//! Per op: one claim (a compare-and-swap on the load's cursor), two or three clock
//! reads, two histogram increments, two counter stores. No lock, no allocation.

use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::pacer::Pacer;
use super::recorder::Recorder;
use super::{LoadState, bump};
use crate::target::{OpError, Target};

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

/// The loop of one open-loop slot: claim the next op of `l`'s schedule, wait for its
/// intended time on `pacer`, issue it on `target`, record it. Returns when the
/// schedule is exhausted. `w` is the worker (thread) index, which selects the
/// counters. Public so that the overhead benchmark measures exactly this code.
pub async fn open_loop<T: Target>(
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
        let start = if intended > now {
            pacer.until(intended).await;
            Instant::now()
        } else {
            now
        };
        bump(&l.counters[w].started);
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

/// The loop of closed-loop slot `k`: while the schedule has more than `k` workers
/// active, issue an op and record it as soon as the last completes.
pub async fn closed_loop<T: Target>(
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
