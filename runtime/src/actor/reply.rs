//! Ask replies and their deadlines.
//!
//! An ask needs a one-shot reply slot and a timeout. A tokio timer per ask costs a
//! timer-wheel insert and removal under the wheel's lock, which measured as the largest
//! part of an ask round trip (about 650 instructions of ~3,000; see the README's
//! performance section). Here, instead, every reply slot carries its deadline and is
//! handed to the system's *reaper*: one OS thread that wakes every millisecond while
//! asks are in flight (and parks when none are), drops slots that have been answered,
//! and expires the overdue ones, waking their askers with a timeout. The asker pays one
//! queue push; the reaper, off the ask path, pays the rest. Timeouts fire between
//! `timeout` and `timeout` + about 1 ms, like tokio's (1 ms resolution).
//!
//! Memory stays bounded: answered slots leave the reaper's list at its next tick, so it
//! holds about one millisecond's worth of asks plus the ones still waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering, fence};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;

use super::queue::Queue;

const PENDING: u8 = 0;
const REPLIED: u8 = 1;
const DROPPED: u8 = 2;
const EXPIRED: u8 = 3;
const ABANDONED: u8 = 4;

/// The shared one-shot slot between an asker and the handler that answers.
pub(crate) struct Slot<R> {
    state: AtomicU8,
    value: std::cell::UnsafeCell<Option<R>>,
    waker: AtomicWaker,
    deadline: Instant,
}

// SAFETY: `value` is written only by the one `ReplyTo` (before it publishes REPLIED) and
// read only by the asker after it has seen REPLIED, or by whoever drops the slot last.
unsafe impl<R: Send> Send for Slot<R> {}
unsafe impl<R: Send> Sync for Slot<R> {}

/// What the reaper needs of a slot, whatever its reply type.
pub(crate) trait Expiring: Send + Sync {
    /// Expires the slot if it is overdue. Returns whether the reaper must keep it.
    fn keep(&self, now: Instant) -> bool;
}

impl<R: Send> Expiring for Slot<R> {
    fn keep(&self, now: Instant) -> bool {
        if self.state.load(Ordering::Acquire) != PENDING {
            return false;
        }
        if now < self.deadline {
            return true;
        }
        if self
            .state
            .compare_exchange(PENDING, EXPIRED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.waker.wake();
        }
        false
    }
}

/// The reply half of an ask, carried inside the request message.
pub struct ReplyTo<R>(Option<Arc<Slot<R>>>);

impl<R> std::fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyTo")
    }
}

impl<R> ReplyTo<R> {
    /// Answers the ask. If the asker already gave up (timed out or was dropped), the
    /// reply is dropped.
    pub fn send(mut self, reply: R) {
        let Some(slot) = self.0.take() else { return };
        if slot.state.load(Ordering::Acquire) != PENDING {
            return;
        }
        // SAFETY: only this (consumed) `ReplyTo` writes the value, and nobody reads it
        // before REPLIED is published below.
        unsafe { *slot.value.get() = Some(reply) };
        if slot
            .state
            .compare_exchange(PENDING, REPLIED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            slot.waker.wake();
        } else {
            // The asker gave up in between; the value is dropped with the slot.
        }
    }

    /// Whether the asker has given up (timed out or was cancelled).
    pub fn is_closed(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|s| s.state.load(Ordering::Acquire) != PENDING)
    }
}

impl<R> Drop for ReplyTo<R> {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take()
            && slot
                .state
                .compare_exchange(PENDING, DROPPED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            slot.waker.wake();
        }
    }
}

/// Why a reply did not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoReply {
    /// The `ReplyTo` was dropped unanswered.
    Dropped,
    /// The deadline passed.
    Expired,
}

/// The asker's half: resolves to the reply, or why there is none.
pub(crate) struct Reply<R>(Arc<Slot<R>>);

impl<R> Reply<R> {
    /// When the ask times out.
    pub(crate) fn deadline(&self) -> Instant {
        self.0.deadline
    }
}

impl<R> Future for Reply<R> {
    type Output = Result<R, NoReply>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let slot = &self.0;
        for attempt in 0..2 {
            match slot.state.load(Ordering::Acquire) {
                // SAFETY: REPLIED is published after the value was written, and only
                // this future takes it.
                REPLIED => {
                    return Poll::Ready(
                        unsafe { (*slot.value.get()).take() }.ok_or(NoReply::Dropped),
                    );
                }
                DROPPED => return Poll::Ready(Err(NoReply::Dropped)),
                EXPIRED => return Poll::Ready(Err(NoReply::Expired)),
                _ if attempt == 0 => slot.waker.register(cx.waker()),
                _ => {}
            }
        }
        Poll::Pending
    }
}

impl<R> Drop for Reply<R> {
    fn drop(&mut self) {
        // Let the answering side (`is_closed`) and the reaper know nobody waits.
        let _ =
            self.0
                .state
                .compare_exchange(PENDING, ABANDONED, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// The reaper: expires overdue asks. One per system, started with the first ask.
pub(crate) struct Reaper {
    queue: Arc<Queue<Arc<dyn Expiring>>>,
    idle: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How often the reaper looks while asks are in flight.
const TICK: Duration = Duration::from_millis(1);

impl Reaper {
    /// Starts the reaper thread. If the OS refuses a thread, the reaper is not running
    /// and askers fall back to a tokio timer (see [`is_running`](Self::is_running)).
    pub(crate) fn start() -> Self {
        let queue: Arc<Queue<Arc<dyn Expiring>>> = Arc::new(Queue::new());
        let idle = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (q, i, s) = (queue.clone(), idle.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("gauntlet-asks".into())
            .spawn(move || reap(&q, &i, &s));
        if let Err(e) = &thread {
            tracing::warn!(error = %e, "no ask reaper thread: asks time out by tokio timers");
        }
        Self {
            queue,
            idle,
            stop,
            thread: Mutex::new(thread.ok()),
        }
    }

    /// Whether the reaper thread is watching deadlines.
    pub(crate) fn is_running(&self) -> bool {
        !self.stop.load(Ordering::Acquire) && super::cell::lock(&self.thread).is_some()
    }

    /// A new reply slot due at `timeout` from now, watched by the reaper.
    pub(crate) fn slot<R: Send + 'static>(&self, timeout: Duration) -> (ReplyTo<R>, Reply<R>) {
        let now = Instant::now();
        let slot = Arc::new(Slot {
            state: AtomicU8::new(PENDING),
            value: std::cell::UnsafeCell::new(None),
            waker: AtomicWaker::new(),
            deadline: now
                .checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(86_400 * 365)),
        });
        self.queue.push(slot.clone());
        // Pairs with the reaper's fence between "I am idle" and its last look.
        fence(Ordering::SeqCst);
        if self.idle.load(Ordering::SeqCst)
            && let Some(t) = super::cell::lock(&self.thread).as_ref()
        {
            t.thread().unpark();
        }
        (ReplyTo(Some(slot.clone())), Reply(slot))
    }

    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = super::cell::lock(&self.thread).take() {
            t.thread().unpark();
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.stop();
    }
}

fn reap(queue: &Queue<Arc<dyn Expiring>>, idle: &AtomicBool, stop: &AtomicBool) {
    let mut watched: Vec<Arc<dyn Expiring>> = Vec::new();
    while !stop.load(Ordering::Acquire) {
        // SAFETY: this thread is the queue's only consumer.
        while let Some(slot) = unsafe { queue.pop() } {
            watched.push(slot);
        }
        let now = Instant::now();
        watched.retain(|s| s.keep(now));
        if watched.is_empty() {
            idle.store(true, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            // SAFETY: as above.
            match unsafe { queue.pop() } {
                Some(slot) => watched.push(slot),
                None => std::thread::park(),
            }
            idle.store(false, Ordering::SeqCst);
        } else {
            std::thread::park_timeout(TICK);
        }
    }
    // Stopping: wake every asker still waiting with a timeout rather than leave it.
    // SAFETY: as above.
    while let Some(slot) = unsafe { queue.pop() } {
        watched.push(slot);
    }
    let far = Instant::now() + Duration::from_secs(86_400 * 365 * 100);
    for s in &watched {
        s.keep(far);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reply_arrives() {
        let reaper = Reaper::start();
        let (tx, rx) = reaper.slot::<u32>(Duration::from_secs(5));
        assert!(!tx.is_closed());
        tx.send(7);
        assert_eq!(rx.await, Ok(7));
    }

    #[tokio::test]
    async fn a_dropped_reply_to_is_no_reply() {
        let reaper = Reaper::start();
        let (tx, rx) = reaper.slot::<u32>(Duration::from_secs(5));
        drop(tx);
        assert_eq!(rx.await, Err(NoReply::Dropped));
    }

    #[tokio::test]
    async fn an_overdue_ask_expires_and_a_late_reply_is_dropped() {
        let reaper = Reaper::start();
        let (tx, rx) = reaper.slot::<String>(Duration::from_millis(5));
        assert_eq!(rx.await, Err(NoReply::Expired));
        assert!(tx.is_closed());
        tx.send("late".into());
    }

    #[tokio::test]
    async fn an_abandoned_ask_closes_its_reply_to() {
        let reaper = Reaper::start();
        let (tx, rx) = reaper.slot::<u32>(Duration::from_secs(5));
        drop(rx);
        assert!(tx.is_closed());
    }

    #[tokio::test]
    async fn stopping_the_reaper_expires_waiting_asks() {
        let reaper = Reaper::start();
        let (_tx, rx) = reaper.slot::<u32>(Duration::from_secs(3600));
        reaper.stop();
        assert_eq!(rx.await, Err(NoReply::Expired));
    }

    #[test]
    fn answered_slots_leave_the_reaper() {
        let reaper = Reaper::start();
        let mut rxs = Vec::new();
        for i in 0..1000u32 {
            let (tx, rx) = reaper.slot::<u32>(Duration::from_secs(3600));
            tx.send(i);
            rxs.push(rx);
        }
        drop(rxs);
        // The reaper drops every answered slot; then it parks, idle.
        let start = Instant::now();
        while !reaper.idle.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(reaper.idle.load(Ordering::SeqCst));
    }
}
