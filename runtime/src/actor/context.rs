//! [`Context`]: what a handler can do besides changing its own state.

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
pub struct Context<A: Actor> {
    cell: Arc<Cell<A::Msg>>,
    pub(crate) stop_requested: bool,
    timers: Vec<JoinHandle<()>>,
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

impl<A: Actor> Context<A> {
    pub(crate) fn new(cell: Arc<Cell<A::Msg>>) -> Self {
        Self {
            cell,
            stop_requested: false,
            timers: Vec::new(),
        }
    }

    /// This actor's address.
    pub fn address(&self) -> &Address {
        &self.cell.core.address
    }

    /// A ref to this actor.
    pub fn myself(&self) -> ActorRef<A::Msg> {
        ActorRef::from_cell(self.cell.clone())
    }

    /// The system this actor runs in.
    pub fn system(&self) -> System {
        System::from_shared(self.cell.core.system.clone())
    }

    /// Spawns a child called `name`, at `<this address>/<name>`, supervised by this actor.
    pub fn spawn<C: Actor>(
        &mut self,
        name: &str,
        props: Props<C>,
    ) -> Result<ActorRef<C::Msg>, SpawnError> {
        let parent: Arc<dyn Node> = self.cell.clone();
        super::system::spawn_under(&self.cell.core.system, Some(parent), name, props)
    }

    /// The addresses of this actor's live children, in spawn order.
    pub fn children(&self) -> Vec<Address> {
        self.cell
            .core
            .children()
            .iter()
            .map(|c| c.core().address.clone())
            .collect()
    }

    /// Stops this actor gracefully once the current handler returns.
    pub fn stop(&mut self) {
        self.stop_requested = true;
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
        self.timers.retain(|t| !t.is_finished());
        let handle = task.abort_handle();
        self.timers.push(task);
        TimerHandle(handle)
    }

    /// Cancels every timer and waits until their tasks are gone.
    pub(crate) async fn cancel_timers(&mut self) {
        for t in &self.timers {
            t.abort();
        }
        for t in self.timers.drain(..) {
            let _ = t.await;
        }
    }
}

impl<A: Actor> Drop for Context<A> {
    fn drop(&mut self) {
        // Killed or dropped without a graceful stop: cancel, cannot wait.
        for t in &self.timers {
            t.abort();
        }
    }
}
