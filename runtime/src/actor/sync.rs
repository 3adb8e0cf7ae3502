//! The synchronisation primitives the hand-written concurrent pieces use.
//!
//! Under `--cfg gauntlet_loom` they are loom's model-checked versions, and the lock-free
//! queue is replaced by a linearizable model (a loom mutex around a `VecDeque`), so that
//! loom explores every interleaving of *our* coordination logic: reservation, close,
//! eviction, draining and wake-ups. The queue itself is crossbeam's, tested upstream.
//! (A custom cfg name, because `--cfg loom` would also switch tokio into its own loom
//! mode, which it only supports for its own tests.)

#[cfg(gauntlet_loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(gauntlet_loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(not(gauntlet_loom))]
pub(crate) use atomic_waker::AtomicWaker;
#[cfg(gauntlet_loom)]
pub(crate) use loom::future::AtomicWaker;

#[cfg(not(gauntlet_loom))]
pub(crate) use crossbeam_queue::SegQueue;

/// Spin hint while another thread finishes a short, non-blocking step.
#[inline]
pub(crate) fn spin() {
    #[cfg(gauntlet_loom)]
    loom::thread::yield_now();
    #[cfg(not(gauntlet_loom))]
    std::hint::spin_loop();
}

/// Linearizable stand-in for `crossbeam_queue::SegQueue` under loom.
#[cfg(gauntlet_loom)]
pub(crate) struct SegQueue<T>(loom::sync::Mutex<std::collections::VecDeque<T>>);

#[cfg(gauntlet_loom)]
impl<T> SegQueue<T> {
    pub(crate) fn new() -> Self {
        Self(loom::sync::Mutex::new(std::collections::VecDeque::new()))
    }
    pub(crate) fn push(&self, value: T) {
        self.0.lock().unwrap().push_back(value);
    }
    pub(crate) fn pop(&self) -> Option<T> {
        self.0.lock().unwrap().pop_front()
    }
}
