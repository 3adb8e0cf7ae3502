//! How a load thread is shared between its loads, its slots and its flusher.
//!
//! A load thread is one current-thread runtime running hundreds of slot tasks. When
//! the generator is saturated (ops are due back to back and the target answers at
//! once) a slot's loop never returns `Pending` by itself, so without these rules one
//! slot keeps the thread: other loads' slots, slots woken by the pacer and the
//! flusher that hands over the tick's histograms all wait until it stops. That was
//! the cause of ticks with completions but no latency figures, of "maximum latency"
//! growing through a saturated run (ops started seconds after the slot claimed them),
//! and of one saturated load starving another.
//!
//! - **[`Gate`]: one hot slot per load per thread.** A slot holds its load's gate on
//!   this thread from claiming an op until the op is in flight (its first `Pending`)
//!   or done. The other slots of that load wait at the gate instead of all being
//!   ready, so in saturation each load has exactly one ready slot per thread and the
//!   thread's round robin serves *loads* equally, not slots (a load with 1024 slots
//!   and one with 8 get the same share). Slots whose ops wait in the target do not
//!   hold the gate, so the in-flight bound still fills up.
//! - **[`Burst`]: a slot gives the thread back every [`BURST`] ops** that completed
//!   without waiting, by waking itself and returning `Pending` once: the other loads'
//!   hot slots, pacer-woken slots and the flusher run in between. One round of a
//!   saturated thread is then at most `loads x BURST` ops (a few microseconds).
//!
//! Both are thread-local (`Cell`, `RefCell`): no atomics, no allocation per op.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Ops a slot runs back to back before it lets the thread's other tasks run. At
/// about 50 ns per op that is a few microseconds; the self-wake costs about one op.
pub const BURST: u32 = 64;

/// One load's gate on one load thread; see the module docs.
#[derive(Debug, Default)]
pub struct Gate {
    hot: Cell<bool>,
    parked: RefCell<Vec<Waker>>,
}

impl Gate {
    /// A gate for a load with `slots` slots on this thread.
    pub fn new(slots: usize) -> Self {
        Self {
            hot: Cell::new(false),
            parked: RefCell::new(Vec::with_capacity(slots)),
        }
    }

    /// Waits until no other slot of this load holds the gate, then holds it. The
    /// returned guard releases it when dropped (also when the slot is cancelled).
    pub fn enter(&self) -> Enter<'_> {
        Enter { gate: self }
    }

    fn release(&self) {
        self.hot.set(false);
        let next = self.parked.borrow_mut().pop();
        if let Some(w) = next {
            w.wake();
        }
    }
}

/// Future of [`Gate::enter`].
#[derive(Debug)]
pub struct Enter<'a> {
    gate: &'a Gate,
}

impl<'a> Future for Enter<'a> {
    type Output = Hold<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Hold<'a>> {
        let gate = self.gate;
        if gate.hot.get() {
            // Woken by the holder's release; a woken slot that finds the gate taken
            // again parks again, and the next release wakes it.
            gate.parked.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        } else {
            gate.hot.set(true);
            Poll::Ready(Hold { gate: Some(gate) })
        }
    }
}

/// The gate, held; see [`Gate::enter`].
#[derive(Debug)]
pub struct Hold<'a> {
    gate: Option<&'a Gate>,
}

impl Hold<'_> {
    /// Releases the gate now (the slot's op went into the target); idempotent.
    #[inline]
    pub fn release(&mut self) {
        if let Some(g) = self.gate.take() {
            g.release();
        }
    }

    /// Whether the gate is still held.
    #[inline]
    pub fn held(&self) -> bool {
        self.gate.is_some()
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Counts a slot's ops that completed without waiting; see the module docs.
#[derive(Debug, Default)]
pub struct Burst {
    ran: u32,
}

impl Burst {
    /// Counts one op that completed at once; every [`BURST`]-th call lets the
    /// thread's other tasks run before it returns.
    #[inline]
    pub async fn ran_at_once(&mut self) {
        self.ran += 1;
        if self.ran >= BURST {
            self.ran = 0;
            YieldOnce(false).await;
        }
    }

    /// The slot waited (for the target or the pacer): the others ran meanwhile.
    #[inline]
    pub fn waited(&mut self) {
        self.ran = 0;
    }
}

/// Returns `Pending` once after waking itself, so the task goes to the back of its
/// thread's run queue. Unlike `tokio::task::yield_now`, which defers the wake until
/// the runtime has polled its driver, this stays within the `LocalSet`'s own queue:
/// cheaper, and the `LocalSet` still hands over to the driver every few dozen polls.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn one_holder_at_a_time_and_a_release_wakes_a_waiter() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let gate = Rc::new(Gate::new(4));
            let order = Rc::new(RefCell::new(Vec::new()));
            let mut first = gate.enter().await;
            assert!(first.held());
            let tasks: Vec<_> = (0..3)
                .map(|i| {
                    let (gate, order) = (gate.clone(), order.clone());
                    tokio::task::spawn_local(async move {
                        let _hold = gate.enter().await;
                        order.borrow_mut().push(i);
                        // Held across a yield: nobody else gets in meanwhile.
                        YieldOnce(false).await;
                        order.borrow_mut().push(i);
                    })
                })
                .collect();
            tokio::task::yield_now().await;
            assert!(order.borrow().is_empty(), "all wait at the held gate");
            first.release();
            first.release();
            for t in tasks {
                t.await.unwrap();
            }
            let order = order.borrow();
            assert_eq!(order.len(), 6);
            for pair in order.chunks(2) {
                assert_eq!(pair[0], pair[1], "holders do not interleave: {order:?}");
            }
            assert!(!gate.hot.get());
        });
    }

    #[test]
    fn a_burst_yields_every_burst_ops() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let turns = Rc::new(Cell::new(0_u32));
            let t = turns.clone();
            let busy = tokio::task::spawn_local(async move {
                let before = t.get();
                let mut burst = Burst::default();
                for _ in 0..BURST * 3 {
                    burst.ran_at_once().await;
                }
                t.get() - before
            });
            let t = turns.clone();
            let other = tokio::task::spawn_local(async move {
                loop {
                    t.set(t.get() + 1);
                    YieldOnce(false).await;
                }
            });
            // The two tasks alternate in the thread's queue: the other one ran once
            // per burst, not once per op and not never.
            assert_eq!(busy.await.unwrap(), 3);
            other.abort();
        });
    }
}
