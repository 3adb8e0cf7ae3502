//! The synchronisation primitives the hand-written concurrent pieces use.
//!
//! Under `--cfg gauntlet_loom` they are loom's model-checked versions, so that loom
//! explores every interleaving of the mailbox queue and of the coordination around it:
//! reservation, close, eviction, draining and wake-ups.
//! (A custom cfg name, because `--cfg loom` would also switch tokio into its own loom
//! mode, which it only supports for its own tests.)

#[cfg(gauntlet_loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(gauntlet_loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(not(gauntlet_loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
};

/// `std::cell::UnsafeCell` with loom's access API, so the queue reads the same both ways.
#[cfg(not(gauntlet_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(gauntlet_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(not(gauntlet_loom))]
pub(crate) use atomic_waker::AtomicWaker;
#[cfg(gauntlet_loom)]
pub(crate) use loom::future::AtomicWaker;

#[cfg(gauntlet_loom)]
pub(crate) use loom::sync::{Arc, Mutex};
/// `Arc`; loom's under loom, so it sees the synchronisation of the last drop.
#[cfg(not(gauntlet_loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(gauntlet_loom))]
pub(crate) use std::sync::Mutex;

/// Takes the waker registered with `slot`, if any (spelled differently by the two).
#[inline]
pub(crate) fn take_waker(slot: &AtomicWaker) -> Option<std::task::Waker> {
    #[cfg(not(gauntlet_loom))]
    return slot.take();
    #[cfg(gauntlet_loom)]
    return slot.take_waker();
}

/// Registers `waker` with `slot` (the two `AtomicWaker`s spell it differently).
#[inline]
pub(crate) fn register(slot: &AtomicWaker, waker: &std::task::Waker) {
    #[cfg(not(gauntlet_loom))]
    slot.register(waker);
    #[cfg(gauntlet_loom)]
    slot.register_by_ref(waker);
}

/// Spin hint while another thread finishes a short, non-blocking step.
#[inline]
pub(crate) fn spin() {
    #[cfg(gauntlet_loom)]
    loom::thread::yield_now();
    #[cfg(not(gauntlet_loom))]
    std::hint::spin_loop();
}
