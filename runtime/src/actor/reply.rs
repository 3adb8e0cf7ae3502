//! Ask replies: the one-shot slot between an asker and the handler that answers.
//!
//! A slot is one state byte, the reply value and the asker's waker. Its state moves
//! once, from `PENDING` to one final state, by a compare-and-swap, and whoever wins
//! decides what happened:
//!
//! | who                         | moves to    | the asker sees        |
//! |-----------------------------|-------------|-----------------------|
//! | [`ReplyTo::send`]           | `REPLIED`   | the value             |
//! | [`ReplyTo`] dropped unsent  | `DROPPED`   | [`NoReply::Dropped`]  |
//! | the reaper, past the deadline | `EXPIRED` | [`NoReply::Expired`]  |
//! | the asker's [`Reply`] dropped | `ABANDONED` | (nobody waits)      |
//!
//! The answering side writes the value *before* its compare-and-swap publishes
//! `REPLIED` (release), and the asker reads it only after seeing `REPLIED` (acquire), so
//! the two never touch it at once. If the answer loses the race (the ask expired or was
//! abandoned in between), the value stays in the slot and is dropped with it, by
//! whoever releases the slot last. Every side that moves the state wakes the asker.
//!
//! Deadlines are watched by the system's [`reaper`](super::reaper) (one thread per
//! system, not a tokio timer per ask). The atomics come from the [`sync`](super::sync)
//! shim, so the protocol is model-checked by loom below: reply against expiry, against
//! abandonment, and a dropped `ReplyTo` against expiry, each with the asker polling.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::sync::{Arc, AtomicU8, AtomicWaker, Ordering, UnsafeCell, register};

const PENDING: u8 = 0;
const REPLIED: u8 = 1;
const DROPPED: u8 = 2;
const EXPIRED: u8 = 3;
const ABANDONED: u8 = 4;

/// The part of a slot the reaper reads, whatever the reply type: first in every
/// [`Slot`] (`repr(C)`), so a pointer to a slot is a pointer to its head.
#[repr(C)]
pub(crate) struct Head {
    state: AtomicU8,
    waker: AtomicWaker,
    deadline: Instant,
    /// Drops one reference to the whole slot (an `Arc<Slot<R>>` given as its head).
    release: unsafe fn(*const Head),
}

/// The shared one-shot slot between an asker and the handler that answers.
#[repr(C)]
pub(crate) struct Slot<R> {
    head: Head,
    value: UnsafeCell<Option<R>>,
}

impl<R> std::ops::Deref for Slot<R> {
    type Target = Head;
    fn deref(&self) -> &Head {
        &self.head
    }
}

// SAFETY: `value` is written only by the one `ReplyTo` (before it publishes REPLIED) and
// read only by the asker after it has seen REPLIED, or dropped by whoever drops the slot
// last; so it is never accessed from two threads at once, and `R: Send` lets it move.
unsafe impl<R: Send> Send for Slot<R> {}
// SAFETY: as for `Send`: shared access never touches `value` concurrently.
unsafe impl<R: Send> Sync for Slot<R> {}

/// Drops one `Arc<Slot<R>>` reference given as its head.
///
/// # Safety
/// `head` must come from `Arc::into_raw` of an `Arc<Slot<R>>`, and be released once.
#[cfg_attr(gauntlet_loom, allow(dead_code))]
unsafe fn release<R>(head: *const Head) {
    // SAFETY: `Slot<R>` is `repr(C)` with its head first, so the pointers are the same;
    // the caller gives up the reference `into_raw` kept.
    drop(unsafe { Arc::from_raw(head.cast::<Slot<R>>()) });
}

/// One reference to a slot, type-erased: what the reaper holds while it watches an ask.
#[cfg_attr(gauntlet_loom, allow(dead_code))]
pub(crate) struct Registered(std::ptr::NonNull<Head>);

// SAFETY: a `Registered` is an `Arc<Slot<R>>` with `R: Send` (see `slot`), which is
// `Send` and `Sync`; the reaper only reads the head's atomics through it.
unsafe impl Send for Registered {}
// SAFETY: as above.
unsafe impl Sync for Registered {}

impl Registered {
    fn head(&self) -> &Head {
        // SAFETY: the reference this value owns keeps the slot alive.
        unsafe { self.0.as_ref() }
    }

    /// Expires the slot if it is overdue. Returns whether the reaper must keep it.
    pub(crate) fn keep(&self, now: Instant) -> bool {
        let head = self.head();
        if head.state.load(Ordering::Acquire) != PENDING {
            return false;
        }
        if now < head.deadline {
            return true;
        }
        if head
            .state
            .compare_exchange(PENDING, EXPIRED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            head.waker.wake();
        }
        false
    }

    /// The owning pointer, for the reaper's inbox.
    pub(crate) fn into_ptr(self) -> *mut () {
        let ptr = self.0.as_ptr().cast();
        std::mem::forget(self);
        ptr
    }

    /// # Safety
    /// `ptr` must come from [`into_ptr`](Self::into_ptr), and be turned back once.
    pub(crate) unsafe fn from_ptr(ptr: *mut ()) -> Self {
        // SAFETY: `into_ptr` gave a non-null pointer (the caller's contract).
        Self(unsafe { std::ptr::NonNull::new_unchecked(ptr.cast()) })
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let head = self.0.as_ptr();
        // SAFETY: `release` of the slot's own type, for the one reference this owns.
        unsafe { ((*head).release)(head) };
    }
}

/// A new pending slot due at `deadline`: a reference for the reaper, the answering half
/// and the asker's half.
pub(crate) fn slot<R: Send>(deadline: Instant) -> (Registered, ReplyTo<R>, Reply<R>) {
    let slot = Arc::new(Slot {
        head: Head {
            state: AtomicU8::new(PENDING),
            waker: AtomicWaker::new(),
            deadline,
            release: release::<R>,
        },
        value: UnsafeCell::new(None),
    });
    let registered = Arc::into_raw(slot.clone()).cast::<Head>().cast_mut();
    // SAFETY: `into_raw` never gives a null pointer.
    let registered = Registered(unsafe { std::ptr::NonNull::new_unchecked(registered) });
    (registered, ReplyTo(Some(slot.clone())), Reply(slot))
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
        slot.value.with_mut(|v| unsafe { *v = Some(reply) });
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
    #[cfg_attr(gauntlet_loom, allow(dead_code))]
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
                REPLIED => {
                    // SAFETY: REPLIED is published after the value was written, and only
                    // this future takes it.
                    let value = slot.value.with_mut(|v| unsafe { (*v).take() });
                    return Poll::Ready(value.ok_or(NoReply::Dropped));
                }
                DROPPED => return Poll::Ready(Err(NoReply::Dropped)),
                EXPIRED => return Poll::Ready(Err(NoReply::Expired)),
                _ if attempt == 0 => register(&slot.waker, cx.waker()),
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

#[cfg(all(test, gauntlet_loom))]
mod loom_tests {
    //! Each model races two of the slot's parties, with the asker polling as a task
    //! (loom's `block_on`, which parks until woken: a lost wake-up is a deadlock). Loom
    //! also checks that the value is never touched from two threads at once and that
    //! no slot leaks. After the shape of tokio's own `oneshot` loom tests.
    use super::*;
    use crate::actor::mailbox::loom_tests::model;
    use loom::future::block_on;
    use loom::sync::atomic::AtomicUsize;
    use loom::thread;
    use std::time::Duration;

    /// Counts its drops, so a model can check a reply is dropped exactly once.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn overdue() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    /// A reply races the reaper expiring the ask: the asker is woken and gets exactly
    /// one outcome, the reply or the timeout, and the reply is dropped exactly once
    /// either way. Would catch: the value read before it is published, or an answer
    /// and an expiry both "winning" (a reply lost although the asker saw success, or a
    /// wake-up lost).
    #[test]
    fn loom_reply_races_expiry() {
        model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let (slot, tx, rx) = slot::<Counted>(Instant::now());
            let replier = {
                let value = Counted(drops.clone());
                thread::spawn(move || tx.send(value))
            };
            let reaper = thread::spawn(move || {
                let _ = slot.keep(overdue());
            });
            let outcome = block_on(rx);
            replier.join().unwrap();
            reaper.join().unwrap();
            match outcome {
                Ok(value) => drop(value),
                Err(e) => assert_eq!(e, NoReply::Expired),
            }
            assert_eq!(
                drops.load(Ordering::SeqCst),
                1,
                "the reply was not dropped once"
            );
        });
    }

    /// A reply races the asker giving up (its `Reply` dropped): the answering side then
    /// sees the ask closed, and the reply is dropped exactly once, by whoever holds the
    /// slot last. Would catch: the value leaked or dropped twice when the answer loses.
    #[test]
    fn loom_reply_races_abandon() {
        model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let (shared, tx, rx) = slot::<Counted>(overdue());
            let replier = {
                let value = Counted(drops.clone());
                thread::spawn(move || tx.send(value))
            };
            drop(rx);
            replier.join().unwrap();
            drop(shared);
            assert_eq!(
                drops.load(Ordering::SeqCst),
                1,
                "the reply was not dropped once"
            );
        });
    }

    /// The handler drops its `ReplyTo` unanswered while the reaper expires the ask: the
    /// asker is woken with one of the two, never left waiting. Would catch: a wake-up
    /// lost between two parties that both move the state.
    #[test]
    fn loom_dropped_reply_to_races_expiry() {
        model(|| {
            let (slot, tx, rx) = slot::<u32>(Instant::now());
            let handler = thread::spawn(move || drop(tx));
            let reaper = thread::spawn(move || {
                let _ = slot.keep(overdue());
            });
            let outcome = block_on(rx);
            handler.join().unwrap();
            reaper.join().unwrap();
            assert!(matches!(
                outcome,
                Err(NoReply::Dropped) | Err(NoReply::Expired)
            ));
        });
    }
}
