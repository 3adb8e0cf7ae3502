//! The ask reaper: one thread per system that expires overdue asks.
//!
//! An ask needs a one-shot reply slot (see [`reply`](super::reply)) and a timeout. A
//! tokio timer per ask costs a timer-wheel insert and removal under the wheel's lock,
//! which measured as the largest part of an ask round trip (about 650 instructions of
//! ~3,000; see the README's performance section). Here, instead, every reply slot
//! carries its deadline and is handed to the system's *reaper*: one OS thread that
//! wakes every millisecond while asks are in flight (and parks when none are), drops
//! slots that have been answered, and expires the overdue ones, waking their askers
//! with a timeout. The asker pays one queue push; the reaper, off the ask path, pays the
//! rest. Timeouts fire between `timeout` and `timeout` + about 1 ms, like tokio's (1 ms
//! resolution).
//!
//! Memory stays bounded: answered slots leave the reaper's list at its next tick, so it
//! holds about one millisecond's worth of asks plus the ones still waiting.
//!
//! With nothing to watch the reaper parks, and an asker must unpark it. That is a
//! Dekker-style handshake, like the termination [`handshake`](super::handshake): the
//! reaper raises its idle flag, fences, and looks at the queue once more before it
//! parks; the asker pushes, fences, and unparks the reaper if the flag is up. Either the
//! reaper's last look finds the new slot, or the asker sees the flag and unparks it
//! (an unpark before the park makes the park return at once). Model-checked by
//! `loom_an_idle_reaper_wakes_for_a_new_ask` below.

use super::queue::Queue;
use super::sync::{AtomicBool, Ordering, fence};

/// The reaper's side of the sleep handshake, with nothing left to watch: raises `idle`,
/// looks at the queue once more, and calls `park` if it is still empty; lowers `idle`
/// and returns what the look found.
///
/// # Safety
/// The caller must be `queue`'s only consumer.
unsafe fn idle_wait<T>(queue: &Queue<T>, idle: &AtomicBool, park: impl FnOnce()) -> Option<T> {
    idle.store(true, Ordering::SeqCst);
    // Pairs with the fence in `must_unpark`: a push this look misses sees the flag.
    fence(Ordering::SeqCst);
    // SAFETY: the caller is the only consumer (this function's contract).
    let found = unsafe { queue.pop() };
    if found.is_none() {
        park();
    }
    idle.store(false, Ordering::SeqCst);
    found
}

/// The asker's side, right after pushing a slot: whether the reaper may be parked and
/// must be unparked.
#[inline]
fn must_unpark(idle: &AtomicBool) -> bool {
    fence(Ordering::SeqCst);
    idle.load(Ordering::SeqCst)
}

#[cfg(not(gauntlet_loom))]
pub(crate) use thread::Reaper;

#[cfg(not(gauntlet_loom))]
mod thread {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use super::super::queue::Queue;
    use super::super::reply::{self, Expiring, Reply, ReplyTo};
    use super::{idle_wait, must_unpark};

    /// The reaper: expires overdue asks. One per system, started with the first ask.
    pub(crate) struct Reaper {
        queue: Arc<Queue<Arc<dyn Expiring>>>,
        pub(super) idle: Arc<AtomicBool>,
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
            !self.stop.load(Ordering::Acquire) && super::super::cell::lock(&self.thread).is_some()
        }

        /// A new reply slot due at `timeout` from now, watched by the reaper.
        pub(crate) fn slot<R: Send + 'static>(&self, timeout: Duration) -> (ReplyTo<R>, Reply<R>) {
            let now = Instant::now();
            let deadline = now
                .checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(86_400 * 365));
            let (slot, reply_to, reply) = reply::slot(deadline);
            self.queue.push(slot);
            if must_unpark(&self.idle)
                && let Some(t) = super::super::cell::lock(&self.thread).as_ref()
            {
                t.thread().unpark();
            }
            (reply_to, reply)
        }

        pub(crate) fn stop(&self) {
            self.stop.store(true, Ordering::Release);
            if let Some(t) = super::super::cell::lock(&self.thread).take() {
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
                // SAFETY: as above.
                if let Some(slot) = unsafe { idle_wait(queue, idle, std::thread::park) } {
                    watched.push(slot);
                }
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
}

#[cfg(all(test, not(gauntlet_loom)))]
mod tests {
    use super::super::reply::NoReply;
    use super::*;
    use std::time::{Duration, Instant};

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

#[cfg(all(test, gauntlet_loom))]
mod loom_tests {
    use super::*;
    use crate::actor::mailbox::loom_tests::model;
    use loom::sync::Arc;
    use loom::thread;

    /// An asker pushes a slot while the reaper, with nothing to watch, goes to sleep:
    /// the reaper always gets the slot (loom reports a reaper parked forever as a
    /// deadlock). Would catch: either fence missing, or the flag raised after the last
    /// look (the reaper would sleep through a new ask, which then never expires).
    #[test]
    fn loom_an_idle_reaper_wakes_for_a_new_ask() {
        model(|| {
            let queue = Arc::new(Queue::new());
            let idle = Arc::new(AtomicBool::new(false));
            let reaper = {
                let (queue, idle) = (queue.clone(), idle.clone());
                thread::spawn(move || {
                    loop {
                        // SAFETY: this thread is the queue's only consumer.
                        if let Some(v) = unsafe { queue.pop() } {
                            return v;
                        }
                        // SAFETY: as above.
                        if let Some(v) = unsafe { idle_wait(&queue, &idle, thread::park) } {
                            return v;
                        }
                    }
                })
            };
            queue.push(7u32);
            if must_unpark(&idle) {
                reaper.thread().unpark();
            }
            assert_eq!(reaper.join().unwrap(), 7);
        });
    }
}
