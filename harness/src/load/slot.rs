//! The per-op loops of the load generator's slots: the harness's hot path.
//!
//! Per op, when ops are due back to back: one claim (a load and a store on this
//! thread's own lane of the schedule), one clock read (an op's end is the next op's
//! "now"), two histogram increments (latency, service time), the start lateness (an
//! exact maximum, a histogram record every 8th op) and two counter stores; every
//! [`super::share::BURST`] ops, one self-wake. The op's timeout costs nothing unless
//! the op actually waits ([`within`]). No lock, no allocation.
//!
//! **Clock.** Op timing uses `quanta` (the TSC, scaled to nanoseconds: about half the
//! cost of `std::time::Instant::now` on a VM) as nanoseconds since the load's start.
//! Pacer waits cross into the std clock as relative spans (how long to wait from
//! now), so the two clocks never have to agree on an absolute instant there; op
//! timeouts are mapped onto the load's std start, where a ppm drift does not matter.

use std::cell::RefCell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::pacer::Pacer;
use super::recorder::Recorder;
use super::share::{Burst, Gate};
use super::{LoadState, bump};
use crate::target::{OpError, Target};

/// Waits shorter than this are done by yielding to the thread's other slots instead of
/// on the pacer: at high rates the load thread is busy anyway, and a pacer round trip
/// (two cross-thread wake-ups) costs more than the wait and is less precise.
const SPIN_BELOW_NS: u64 = 50_000;

/// The op did not complete before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

/// Polls `op` to completion or until the deadline `deadline()` returns, whichever
/// comes first. `timer` is the slot's one reusable timer: it is armed (and the deadline
/// computed) only if the op does not complete on its first poll, so an op that is
/// ready at once pays nothing for its timeout, and no op allocates or moves a timer.
/// `on_wait` runs at the same moment, once: the op is in flight in the target.
pub async fn within<F: Future>(
    mut op: Pin<&mut F>,
    mut timer: Pin<&mut tokio::time::Sleep>,
    deadline: impl FnOnce() -> Instant,
    on_wait: impl FnOnce(),
) -> Result<F::Output, TimedOut> {
    let mut deadline = Some((deadline, on_wait));
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        if let Poll::Ready(v) = op.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if let Some((d, on_wait)) = deadline.take() {
            timer.as_mut().reset(d().into());
            on_wait();
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(TimedOut)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// A timer for [`within`] that is not armed.
fn idle_timer() -> tokio::time::Sleep {
    // About 30 years ahead, as tokio does for its own "never" deadline.
    tokio::time::sleep(Duration::from_secs(86_400 * 365 * 30))
}

/// Nanoseconds from `t0` to now on the fast clock (0 before `t0`).
#[inline]
fn since(t0: quanta::Instant) -> u64 {
    quanta::Instant::now()
        .saturating_duration_since(t0)
        .as_nanos() as u64
}

/// The std-clock deadline of an op that started `start_ns` after the load's start.
/// Mapping fast-clock offsets onto the std anchor can drift by parts per million over
/// a long run: irrelevant for a timeout, and it saves a clock read per op.
#[inline]
fn deadline(l: &LoadState, start_ns: u64, timeout: Duration) -> Instant {
    l.t0 + Duration::from_nanos(start_ns) + timeout
}

/// Waits until the load's start, if it lies ahead.
async fn reach_start(l: &LoadState) {
    if let Some(ahead) = l.t0_fast.checked_duration_since(quanta::Instant::now()) {
        tokio::time::sleep(ahead).await;
    }
}

#[inline]
fn finish(l: &LoadState, w: usize, res: Result<Result<(), OpError>, TimedOut>) {
    let c = &l.counters[w];
    match res {
        Ok(Ok(())) => {}
        Ok(Err(OpError::Timeout)) | Err(TimedOut) => {
            bump(&c.errors);
            bump(&c.timeouts);
        }
        Ok(Err(OpError::Rejected | OpError::Unavailable)) => {
            bump(&c.errors);
            bump(&c.rejected);
        }
        Ok(Err(OpError::Failed)) => {
            bump(&c.errors);
            bump(&c.failed);
        }
    }
    bump(&c.completed);
}

/// What one load thread lends its open-loop slots.
#[derive(Debug)]
pub struct SlotThread<'a> {
    /// The thread's index (selects the counters and the schedule lane).
    pub worker: usize,
    /// The thread's histograms.
    pub recorder: &'a RefCell<Recorder>,
    /// The thread's pacer.
    pub pacer: &'a Pacer,
}

/// The loop of one open-loop slot: hold the load's [`Gate`] on this thread, claim the
/// next op of this thread's lane of `l`'s schedule, wait for its intended time on the
/// pacer, issue it on `target`, record it. An op that could not start within
/// `drop_after` of its intended time (the thread was busy elsewhere) is counted as
/// dropped instead of being issued late. Returns when the lane is exhausted. `li` is
/// the load's index (its lateness histogram). Public so that the overhead benchmark
/// measures exactly this code.
pub async fn open_loop<T: Target>(
    target: &T,
    l: &LoadState,
    li: usize,
    thread: &SlotThread<'_>,
    gate: &Gate,
) {
    let Some(schedule) = &l.rate else { return };
    let w = thread.worker;
    let counters = &l.counters[w];
    let drop_after = l.load.drop_after.as_secs_f64();
    let drop_after_ns = u64::try_from(l.load.drop_after.as_nanos()).unwrap_or(u64::MAX);
    let timeout = l.load.op_timeout;
    let t0 = l.t0_fast;
    let mut timer = pin!(idle_timer());
    let mut burst = Burst::default();
    reach_start(l).await;
    let mut hold = gate.enter().await;
    let mut now = since(t0);
    loop {
        if !hold.held() {
            hold = gate.enter().await;
            now = since(t0);
        }
        let Some(claim) = schedule.claim(&counters.lane, now as f64 * 1e-9, drop_after, |n| {
            counters.dropped.store(
                counters.dropped.load(Ordering::Relaxed) + n,
                Ordering::Relaxed,
            );
        }) else {
            return;
        };
        if claim.dropped > 0 {
            let d = &counters.dropped;
            d.store(d.load(Ordering::Relaxed) + claim.dropped, Ordering::Relaxed);
        }
        let intended = (claim.at_s * 1e9) as u64;
        let start = if intended > now {
            let wait = intended - now;
            burst.waited();
            if wait < SPIN_BELOW_NS {
                // Shorter than the pacer's own precision: let the thread's other slots
                // run and look again, rather than pay two cross-thread wake-ups.
                let mut t = now;
                while t < intended {
                    tokio::task::yield_now().await;
                    t = since(t0);
                }
                t
            } else {
                thread
                    .pacer
                    .until(Instant::now() + Duration::from_nanos(wait))
                    .await;
                since(t0)
            }
        } else {
            now
        };
        if start.saturating_sub(intended) > drop_after_ns {
            // Woken too late to start in time: the op is dropped, not measured wrong.
            bump(&counters.dropped);
            now = start;
            continue;
        }
        bump(&counters.started);
        let op = pin!(target.call(l.op, claim.seq));
        let res = within(
            op,
            timer.as_mut(),
            || deadline(l, start, timeout),
            || hold.release(),
        )
        .await;
        let end = since(t0);
        {
            let mut r = thread.recorder.borrow_mut();
            r.record_ns(
                l.op_slot,
                end.saturating_sub(intended),
                end.saturating_sub(start),
            );
            r.record_lateness(li, start.saturating_sub(intended));
        }
        finish(l, w, res);
        // The slot is free from the moment the op ended.
        now = end;
        if hold.held() {
            burst.ran_at_once().await;
        } else {
            burst.waited();
        }
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
    let t0 = l.t0_fast;
    let mut seq = k;
    let stride = l.load.max_in_flight.max(1);
    let mut timer = pin!(idle_timer());
    let mut burst = Burst::default();
    reach_start(l).await;
    let mut now = since(t0);
    loop {
        let t = now as f64 * 1e-9;
        if schedule.level_at(t) <= k {
            match schedule.next_at_least(k + 1, t) {
                Some(at) if at > t => tokio::time::sleep(Duration::from_secs_f64(at - t)).await,
                // Rounding put us on the boundary: step past it.
                Some(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                None => return,
            }
            now = since(t0);
            continue;
        }
        bump(&l.counters[w].started);
        let op = pin!(target.call(l.op, seq));
        let mut waited = false;
        let res = within(
            op,
            timer.as_mut(),
            || deadline(l, now, timeout),
            || waited = true,
        )
        .await;
        let end = since(t0);
        let took = end.saturating_sub(now);
        rec.borrow_mut().record_ns(l.op_slot, took, took);
        finish(l, w, res);
        seq += stride;
        now = end;
        if waited {
            burst.waited();
        } else {
            // An op that never waits would otherwise keep the thread to itself.
            burst.ran_at_once().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_passes_ready_values_and_times_out_pending_ones() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut timer = pin!(idle_timer());
            let soon = || Instant::now() + Duration::from_millis(5);
            let never = || -> Instant { unreachable!("a ready op never arms the timer") };
            let mut waits = 0;
            assert_eq!(
                within(pin!(async { 7 }), timer.as_mut(), never, || waits += 1).await,
                Ok(7)
            );
            assert_eq!(waits, 0, "a ready op never waited");
            let hang = pin!(std::future::pending::<()>());
            assert_eq!(
                within(hang, timer.as_mut(), soon, || waits += 1).await,
                Err(TimedOut)
            );
            assert_eq!(waits, 1);
            // The same timer serves the next op with a new deadline.
            let later = || Instant::now() + Duration::from_secs(5);
            let slow = pin!(async {
                tokio::time::sleep(Duration::from_millis(2)).await;
                3
            });
            assert_eq!(within(slow, timer.as_mut(), later, || ()).await, Ok(3));
        });
    }
}
