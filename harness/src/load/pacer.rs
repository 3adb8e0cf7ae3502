//! Precise waits for open-loop slots.
//!
//! tokio's timer has a resolution of 1 ms: an op paced with `sleep_until` starts up to
//! a millisecond after its intended time, and since latency is measured from the
//! intended time, a 30 µs op would show a ~1 ms latency. A [`Pacer`] is a small OS
//! thread per load thread that sleeps on a condition variable with a timeout (the
//! kernel's high-resolution timers, typically 50-100 µs late) and wakes the slots
//! whose time has come. Ops that are already due never touch it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

struct Entry {
    at: Instant,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.at.cmp(&o.at)
    }
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<Entry>>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// A pacing thread; dropping the pacer stops it.
pub struct Pacer {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pacer")
    }
}

impl Pacer {
    /// Starts the pacing thread.
    pub fn start(name: String) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || pace(&s))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// A future that completes at `at` (within the kernel timer's precision).
    pub fn until(&self, at: Instant) -> Until<'_> {
        Until { pacer: self, at }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn pace(shared: &Shared) {
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if state.closed {
            return;
        }
        let now = Instant::now();
        while state.heap.peek().is_some_and(|e| e.0.at <= now) {
            if let Some(Reverse(e)) = state.heap.pop() {
                e.waker.wake();
            }
        }
        state = match state.heap.peek().map(|e| e.0.at) {
            None => shared
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
            Some(at) => {
                shared
                    .changed
                    .wait_timeout(state, at.saturating_duration_since(now))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
}

/// Completes at its instant; see [`Pacer::until`].
pub struct Until<'a> {
    pacer: &'a Pacer,
    at: Instant,
}

impl Future for Until<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        let shared = &self.pacer.shared;
        let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            // No pacer any more: never wake rather than spin; the run is ending.
            return Poll::Pending;
        }
        let earliest = state.heap.peek().is_none_or(|e| self.at < e.0.at);
        state.heap.push(Reverse(Entry {
            at: self.at,
            waker: cx.waker().clone(),
        }));
        drop(state);
        if earliest {
            shared.changed.notify_one();
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn waits_complete_in_order_and_not_early() {
        let pacer = Pacer::start("test-pacer".into()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let t0 = Instant::now();
            let a = t0 + Duration::from_millis(3);
            let b = t0 + Duration::from_millis(1);
            let (ta, tb) = tokio::join!(
                async {
                    pacer.until(a).await;
                    Instant::now()
                },
                async {
                    pacer.until(b).await;
                    Instant::now()
                }
            );
            assert!(ta >= a && tb >= b);
            // An instant in the past is ready at once.
            pacer.until(t0).await;
        });
    }
}
