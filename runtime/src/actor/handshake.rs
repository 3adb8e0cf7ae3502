//! The termination handshake between an actor that finishes and the tasks waiting for it.
//!
//! Waking waiters costs a lock inside tokio's `Notify`, and most actors are never
//! waited for. So a waiter first *announces* itself, and the finishing actor notifies
//! only if someone announced. Both sides use sequentially consistent operations on two
//! flags (a Dekker-style handshake): either the finisher sees the announcement and
//! notifies, or the waiter sees the actor already finished. The waiter creates its
//! `Notified` before looking, so a notification between its look and its wait is not
//! missed (tokio's guarantee for `notify_waiters`). Model-checked with loom below.

//!
//! One waiter at a time (usually whoever stopped the actor) skips the `Notify` and its
//! lock: it claims the *first-waiter slot*, registers its waker there and then looks;
//! the finishing actor marks itself done and then wakes the slot. The slot's
//! read-modify-writes order the two: either the look sees the actor done, or the wake
//! finds the waker. Other waiters meanwhile take the announced path above.

use std::task::{Context, Poll};

use super::sync::{AtomicBool, AtomicWaker, Ordering, fence, register, take_waker};

/// Finished, someone waits on the shared path, and the first-waiter slot.
pub(crate) struct Handshake {
    done: AtomicBool,
    awaited: AtomicBool,
    first_claimed: AtomicBool,
    first: AtomicWaker,
}

impl Handshake {
    pub(crate) fn new() -> Self {
        Self {
            done: AtomicBool::new(false),
            awaited: AtomicBool::new(false),
            first_claimed: AtomicBool::new(false),
            first: AtomicWaker::new(),
        }
    }

    /// Claims the first-waiter slot; `false` if another waiter holds it.
    pub(crate) fn claim_first(&self) -> bool {
        self.first_claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// The first waiter's poll: ready once the actor is done.
    pub(crate) fn poll_first(&self, cx: &mut Context<'_>) -> Poll<()> {
        register(&self.first, cx.waker());
        if self.is_done() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Gives the first-waiter slot back (the wait ended or was cancelled).
    pub(crate) fn release_first(&self) {
        drop(take_waker(&self.first));
        self.first_claimed.store(false, Ordering::Release);
    }

    /// Whether the actor has finished.
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// A waiter announces itself (before creating its `Notified`).
    pub(crate) fn announce(&self) {
        self.awaited.store(true, Ordering::SeqCst);
        // The fences make the store-then-load order explicit on both sides (loom,
        // which treats SeqCst accesses as AcqRel, checks the protocol with them).
        fence(Ordering::SeqCst);
    }

    /// The actor finishes: wakes the first waiter, if any, and returns whether waiters
    /// on the shared path must be notified.
    pub(crate) fn finish(&self) -> bool {
        self.done.store(true, Ordering::SeqCst);
        self.first.wake();
        fence(Ordering::SeqCst);
        self.awaited.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("done", &self.is_done())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, gauntlet_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// A waiter that found the actor running is always notified.
    #[test]
    fn loom_no_waiter_is_forgotten() {
        crate::actor::mailbox::loom_tests::model(|| {
            let h = Arc::new(Handshake::new());
            let waiter = {
                let h = h.clone();
                thread::spawn(move || {
                    h.announce();
                    // true: it will sleep until notified.
                    !h.is_done()
                })
            };
            let notified = h.finish();
            let sleeps = waiter.join().unwrap();
            assert!(
                !sleeps || notified,
                "a waiter sleeps and nobody notifies it"
            );
        });
    }

    /// The first waiter, polled as a task, is always woken when the actor finishes
    /// (loom's `block_on` parks until woken: a lost wake-up is a deadlock). Would catch:
    /// looking before registering, or finishing without waking the slot.
    #[test]
    fn loom_the_first_waiter_is_woken() {
        crate::actor::mailbox::loom_tests::model(|| {
            let h = Arc::new(Handshake::new());
            let waiter = {
                let h = h.clone();
                thread::spawn(move || {
                    assert!(h.claim_first());
                    loom::future::block_on(std::future::poll_fn(|cx| h.poll_first(cx)));
                    h.release_first();
                })
            };
            let _ = h.finish();
            waiter.join().unwrap();
            assert!(h.is_done());
        });
    }
}
