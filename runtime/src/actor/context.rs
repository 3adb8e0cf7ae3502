//! [`Context`]: what a handler can do besides changing its own state.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::{AbortHandle, JoinHandle};

use super::actor_ref::ActorRef;
use super::address::Address;
use super::cell::{Cell, Node};
use super::lifecycle::Actor;
use super::props::Props;
use super::system::{SpawnError, System};

/// Handed to every hook and handler: the actor's own address and ref, its children,
/// timers, and stopping itself.
#[repr(transparent)]
pub struct Context<A: Actor> {
    parts: Parts<A::Msg>,
    _actor: PhantomData<fn() -> A>,
}

/// Everything a context holds depends only on the message type, so contexts of two
/// actor types with one message type have one layout (see [`Context::retype`]).
struct Parts<M: Send + 'static> {
    /// The actor's cell, borrowed: the finalizer beside this context in the actor's task
    /// (`run::Live`) owns it and is dropped after the context. A count of its own (an
    /// `Arc`) cost every actor's life two locked read-modify-writes.
    cell: NonNull<Cell<M>>,
    stop_requested: bool,
    /// Set for a new incarnation until its task runs `started`; a hibernated actor's
    /// new task skips it (see `hibernate`).
    needs_start: bool,
    /// Allocated by the first timer: most actors never start one, and every actor's
    /// task holds its context (8 bytes here rather than a `Vec`'s 24).
    #[allow(clippy::box_collection)] // the box is the point: a thin, nullable pointer
    timers: Option<Box<Vec<JoinHandle<()>>>>,
}

/// Cancels a timer started with [`Context::send_after`] or [`Context::interval`].
#[derive(Debug, Clone)]
pub struct TimerHandle(AbortHandle);

impl TimerHandle {
    /// Cancels the timer; a message already sent stays sent.
    pub fn cancel(&self) {
        self.0.abort();
    }
}

// SAFETY: `Parts` stands for an `Arc<Cell<M>>` (see its `cell`), which is `Send` and
// `Sync`: a cell is shared between threads by design (its message type is `Send`).
unsafe impl<M: Send + 'static> Send for Parts<M> {}
// SAFETY: as above.
unsafe impl<M: Send + 'static> Sync for Parts<M> {}

impl<M: Send + 'static> Parts<M> {
    #[inline]
    fn cell(&self) -> &Cell<M> {
        // SAFETY: `Context::new`'s contract: the cell outlives the context.
        unsafe { self.cell.as_ref() }
    }

    /// A counted reference to the cell.
    fn cell_arc(&self) -> Arc<Cell<M>> {
        let ptr = self.cell.as_ptr().cast_const();
        // SAFETY: the pointer came from an `Arc` that is still alive (`Context::new`'s
        // contract), so adding a count and taking it as an `Arc` is sound.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }
}

impl<A: Actor> Context<A> {
    /// # Safety
    /// `cell` must stay alive (be held by another `Arc`) as long as the context: the
    /// actor's task holds both in `run::Live` and drops the context first.
    pub(crate) unsafe fn new(cell: &Arc<Cell<A::Msg>>) -> Self {
        Self {
            parts: Parts {
                // From `Arc::as_ptr`, not from a reference to the cell: `cell_arc` steps
                // back to the `Arc`'s counts, which a pointer made from `&Cell` may not
                // touch (Miri: undefined behaviour under both borrow models).
                // SAFETY: `Arc::as_ptr` is never null.
                cell: unsafe { NonNull::new_unchecked(Arc::as_ptr(cell).cast_mut()) },
                stop_requested: false,
                needs_start: true,
                timers: None,
            },
            _actor: PhantomData,
        }
    }

    /// The same context seen as the context of another actor type with the same
    /// messages (an actor that wraps another delegates its hooks with it).
    pub(crate) fn retype<B: Actor<Msg = A::Msg>>(&mut self) -> &mut Context<B> {
        // SAFETY: `Context<_>` is `repr(transparent)` over `Parts<Msg>` (its other field
        // is a zero-sized marker), and both types have the same `Msg`.
        unsafe { &mut *(self as *mut Context<A>).cast::<Context<B>>() }
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.parts.stop_requested
    }

    /// Whether the actor's state is still to be made and `started` run (a new actor's
    /// task before its first poll; see `run::Live`).
    pub(crate) fn needs_start(&self) -> bool {
        self.parts.needs_start
    }

    /// The state is made: from now on it is dropped with the task's `Live`.
    pub(crate) fn started(&mut self) {
        self.parts.needs_start = false;
    }

    /// This actor's address.
    pub fn address(&self) -> &Address {
        self.parts.cell().core.address()
    }

    /// A ref to this actor.
    pub fn myself(&self) -> ActorRef<A::Msg> {
        ActorRef::from_cell(self.parts.cell_arc())
    }

    /// The system this actor runs in.
    pub fn system(&self) -> System {
        System::from_shared(self.parts.cell().core.system.clone())
    }

    /// Spawns a child called `name`, at `<this address>/<name>`, supervised by this actor.
    pub fn spawn<C: Actor>(
        &mut self,
        name: &str,
        props: Props<C>,
    ) -> Result<ActorRef<C::Msg>, SpawnError> {
        let parent: Arc<dyn Node> = self.parts.cell_arc();
        super::system::spawn_under(&self.parts.cell().core.system, Some(parent), name, props)
    }

    /// The addresses of this actor's live children, in spawn order.
    pub fn children(&self) -> Vec<Address> {
        self.parts
            .cell()
            .core
            .children()
            .iter()
            .map(|c| c.core().address().clone())
            .collect()
    }

    /// Stops this actor gracefully once the current handler returns.
    pub fn stop(&mut self) {
        self.parts.stop_requested = true;
    }

    /// Sends `msg` to this actor after `delay` (through its mailbox and policy).
    /// Cancelled if the actor stops or restarts first.
    pub fn send_after(&mut self, msg: A::Msg, delay: Duration) -> TimerHandle {
        let me = self.myself();
        self.track(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = me.tell(msg).await;
        }))
    }

    /// Sends `make()` to this actor every `period`, first after one period, until the
    /// actor stops or restarts or the handle is cancelled. Ticks missed while the
    /// mailbox was full are skipped, not bunched up.
    pub fn interval(
        &mut self,
        period: Duration,
        mut make: impl FnMut() -> A::Msg + Send + 'static,
    ) -> TimerHandle {
        let me = self.myself();
        self.track(tokio::spawn(async move {
            let start = tokio::time::Instant::now() + period;
            let mut ticks = tokio::time::interval_at(start, period.max(Duration::from_nanos(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                ticks.tick().await;
                if me.tell(make()).await.is_err() {
                    return;
                }
            }
        }))
    }

    fn track(&mut self, task: JoinHandle<()>) -> TimerHandle {
        let timers = self.parts.timers.get_or_insert_default();
        timers.retain(|t| !t.is_finished());
        let handle = task.abort_handle();
        timers.push(task);
        TimerHandle(handle)
    }

    /// Cancels every timer and waits until their tasks are gone.
    pub(crate) async fn cancel_timers(&mut self) {
        let Some(timers) = self.parts.timers.as_mut() else {
            return;
        };
        for t in timers.iter() {
            t.abort();
        }
        for t in timers.drain(..) {
            let _ = t.await;
        }
    }
}

impl<M: Send + 'static> Drop for Parts<M> {
    fn drop(&mut self) {
        // Killed or dropped without a graceful stop: cancel, cannot wait.
        for t in self.timers.iter().flat_map(|t| t.iter()) {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    /// `myself` counts a new reference to the cell from the context's borrowed pointer.
    /// (Made from a `&Cell` reference, that pointer could not touch the `Arc`'s counts:
    /// undefined behaviour, which `cargo +nightly miri test -p gauntlet-runtime --lib
    /// myself` reports where a nightly toolchain is installed.)
    #[tokio::test]
    async fn myself_in_started_is_the_actor_itself() {
        struct Me(Option<ActorRef<()>>);
        impl Actor for Me {
            type Msg = ();
            async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
                self.0 = Some(ctx.myself());
                Ok(())
            }
            async fn handle(&mut self, _: (), _: &mut Context<Self>) -> Result<(), HandlerError> {
                Ok(())
            }
        }
        let sys = System::new("me").unwrap();
        let a = sys.spawn("me", Props::new(|| Me(None))).unwrap();
        a.tell(()).await.unwrap();
        a.stop();
        a.wait_terminated().await;
        assert!(a.is_terminated());
        sys.shutdown(std::time::Duration::from_secs(5)).await;
    }
}
