//! Typed actors on tokio.
//!
//! An [`Actor`] owns its state and handles one message at a time from its mailbox. You
//! talk to it through an [`ActorRef`]: [`tell`](ActorRef::tell) (obeys the mailbox
//! policy), [`try_tell`](ActorRef::try_tell) (never waits), [`ask`](ActorRef::ask)
//! (request/reply with a timeout), [`stop`](ActorRef::stop) and [`kill`](ActorRef::kill).
//! Every actor has an [`Address`] `actor://<system>/<parent>/<child>` and a parent that
//! supervises it; top-level actors are supervised by the system's root guardian.
//!
//! ```
//! use std::time::Duration;
//! use gauntlet_runtime::actor::{Actor, Context, HandlerError, Props, ReplyTo, System};
//!
//! enum CounterMsg { Add(u64), Get(ReplyTo<u64>) }
//!
//! struct Counter(u64);
//!
//! impl Actor for Counter {
//!     type Msg = CounterMsg;
//!     async fn handle(&mut self, msg: CounterMsg, _ctx: &mut Context<Self>) -> Result<(), HandlerError> {
//!         match msg {
//!             CounterMsg::Add(n) => self.0 += n,
//!             CounterMsg::Get(reply) => reply.send(self.0),
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let system = System::new("home")?;
//! let counter = system.spawn("counter", Props::new(|| Counter(0)))?;
//! counter.tell(CounterMsg::Add(2)).await?;
//! let n = counter.ask(CounterMsg::Get, Duration::from_secs(1)).await?;
//! assert_eq!(n, 2);
//! assert_eq!(counter.address().as_str(), "actor://home/counter");
//! let report = system.shutdown(Duration::from_secs(1)).await;
//! assert!(report.graceful);
//! # Ok(()) }
//! ```
//!
//! # What the runtime needs
//!
//! A [`System`] runs its actors as tasks on the tokio runtime it was created in: any
//! flavour, current-thread or multi-thread, **with the time driver enabled**
//! (`Builder::enable_time()` or `enable_all()`; `#[tokio::main]`, `#[tokio::test]` and
//! `Runtime::new()` enable it). Actors need timers for stop deadlines, restart backoff,
//! [`Context::send_after`] and shutdown, so [`System::new`] refuses a runtime without
//! them with [`SystemError::NoTimeDriver`] rather than let every actor fail in its stop
//! path. The IO driver is not needed. Asks time out on the system's own reaper thread,
//! in wall-clock time (see [`reply`]).
//!
//! # Guarantees
//!
//! **Ordering.** Messages from one sender to one actor are handled in the order they
//! were sent (the mailbox is FIFO; a sender's sends are sequenced). There is no order
//! between different senders. Under `DropOldest`, an evicted message is skipped, and
//! the rest keep their order.
//!
//! **Backpressure.** Every mailbox is bounded unless its policy is
//! [`Policy::Unbounded`], which must be chosen explicitly. What each policy does when
//! full is in the [`mailbox`] docs. Nothing is dropped silently: every message is
//! counted as delivered, dropped (per policy), rejected, dead-lettered, or still queued
//! (see [`stats`]).
//!
//! **System messages.** Stop, restart and escalation travel on a separate lane that the
//! actor checks before each message, so they never wait behind user messages. They do
//! wait for the handler that is running to return (or, for `kill`, to reach an `.await`).
//!
//! **Failures and restarts.** A handler or hook that returns `Err` or panics fails the
//! actor; its parent's [`SupervisorStrategy`] decides (see [`supervision`]). A restart
//! replaces the state with a fresh one from the [`Props`] factory and runs `started`
//! again; **the mailbox survives**, so queued messages are handled by the new instance.
//! The message being handled when the failure happened is not retried. The restarted
//! actor's children are stopped first and its timers cancelled; its `started` may create
//! them again.
//!
//! **Stopping.** A graceful stop ([`ActorRef::stop`], [`Context::stop`], a supervisor's
//! `Stop`, or shutdown) closes the mailbox first: later sends are dead letters. The
//! messages already queued are drained (handled) or discarded per [`OnStop`], within the
//! actor's stop timeout; then `stopping` runs; then its children are stopped, each
//! stopping its own children first (deepest first) and each waited for up to the stop
//! timeout, after which any still running are killed; then `stopped` runs.
//! [`kill`](ActorRef::kill) skips all hooks: the actor's task is aborted at its next `.await`,
//! its children are killed, and its queued messages become dead letters.
//!
//! **Shutdown.** [`System::shutdown`] always returns within its deadline plus a short
//! grace for killed tasks to unwind, and reports actors stopped, messages drained and
//! discarded, and anything aborted. After it returns, the actors' tokio tasks have
//! finished: the runtime's alive-task count is back where it was before the system
//! started (tested).
//!
//! **Dead letters.** A message sent to a stopped actor or to an address with no actor,
//! or discarded at stop, is a dead letter: counted, logged at `debug`, and published to
//! [`System::dead_letters`] subscribers.
//!
//! **Entities (virtual actors).** [`System::entities`] creates a region of keyed
//! actors: an [`EntityRef`] activates its entity on demand and a watchdog passivates it
//! when idle ([`StopReason::Passivated`]; its `stopping` hook persists state). Callers
//! never see whether it was asleep, and no message is lost across a passivation. See
//! [`entity`].
//!
//! **Hibernation.** An actor with [`Props::hibernate_after`] (or every actor, with
//! [`SystemConfig::hibernate_after`]) idle that long gives up its tokio task and its
//! empty mailbox's queue block, keeping its state, context, children and address; the
//! next message or signal spawns a new task that carries on with the same state
//! (`started` does not run again). Nothing sent to it is lost or reordered
//! (`runtime/tests/hibernation.rs`). A small hibernating actor holds about half of an
//! idle one's memory. Stop it or shut the system down before dropping the runtime.
//!
//! **Deadlocks.** An ask from inside a handler that would close a cycle of actors
//! waiting on each other fails at once with [`AskError::Deadlock`] and the cycle,
//! instead of hanging until its timeout. What is and is not detected is listed in
//! [`deadlock`].
//!
//! **Stalls.** A watchdog on its own OS thread reports any handler busy for longer than
//! [`SystemConfig::stall_threshold`] (on by default, 1 s), including one that blocks its
//! worker thread, with what it waits on if it is in an ask. See [`watchdog`]. Stalls and
//! refused deadlocks are counted in [`System::stats`] and published to
//! [`System::events`].
//!
//! **Live view.** [`System::snapshot`] lists the live actors (state, mailbox depth,
//! handled, busy time, current handler, restarts, last failure, what each waits on),
//! filtered by address glob and cut to the top N by a [`SortKey`], with the wait-for
//! graph. See [`snapshot`].
//!
//! **Logging.** Lifecycle, supervision decisions, dead letters and shutdown emit
//! `tracing` events carrying the actor's address and kind. Nothing is logged per
//! delivered message.

// Under `--cfg gauntlet_loom` only the model-checked pieces are built.
#[cfg(not(gauntlet_loom))]
mod actor_ref;
#[cfg(not(gauntlet_loom))]
pub mod address;
#[cfg(not(gauntlet_loom))]
mod cell;
#[cfg(not(gauntlet_loom))]
mod children;
#[cfg(not(gauntlet_loom))]
mod context;
#[cfg(not(gauntlet_loom))]
pub mod deadlock;
#[cfg(not(gauntlet_loom))]
pub mod entity;
#[cfg(not(gauntlet_loom))]
pub mod fault;
mod handshake;
// Under loom only its model uses the handoff and the settling look.
#[cfg_attr(gauntlet_loom, allow(dead_code))]
mod hibernate;
#[cfg(not(gauntlet_loom))]
mod lifecycle;
pub mod mailbox;
#[cfg(not(gauntlet_loom))]
mod props;
// Under loom only its model uses it.
#[cfg_attr(gauntlet_loom, allow(dead_code))]
mod owners;
mod queue;
// Under loom only its models use the inbox and the handshake.
#[cfg_attr(gauntlet_loom, allow(dead_code))]
mod reaper;
mod registry;
pub mod reply;
#[cfg(not(gauntlet_loom))]
mod run;
#[cfg(not(gauntlet_loom))]
pub mod snapshot;
#[cfg(not(gauntlet_loom))]
pub mod stats;
#[cfg(not(gauntlet_loom))]
pub mod supervision;
mod sync;
#[cfg(not(gauntlet_loom))]
mod system;
#[cfg(not(gauntlet_loom))]
mod time_driver;
#[cfg(not(gauntlet_loom))]
pub mod watchdog;

#[cfg(not(gauntlet_loom))]
pub use actor_ref::{ActorRef, AskError, ReplyTo, SendError};
#[cfg(not(gauntlet_loom))]
pub use address::{Address, AddressError};
#[cfg(not(gauntlet_loom))]
pub use context::{Context, TimerHandle};
#[cfg(not(gauntlet_loom))]
pub use entity::{Entities, EntityKey, EntityProps, EntityRef};
#[cfg(not(gauntlet_loom))]
pub use fault::{ActorFault, HandlerFault};
#[cfg(not(gauntlet_loom))]
pub use lifecycle::{Actor, HandlerError, StopReason};
pub use mailbox::{MailboxConfig, Policy};
#[cfg(not(gauntlet_loom))]
pub use props::{OnStop, Props};
#[cfg(not(gauntlet_loom))]
pub use snapshot::{ActorRow, ActorState, Snapshot, SnapshotQuery, SortKey, WaitEdge};
#[cfg(not(gauntlet_loom))]
pub use stats::{ActorCounts, AskCounts, MailboxDepth, MessageCounts, SystemStats};
#[cfg(not(gauntlet_loom))]
pub use supervision::{Backoff, Directive, Failure, RestartScope, SupervisorStrategy};
#[cfg(not(gauntlet_loom))]
pub use system::{
    DeadLetter, DeadLetterReason, ShutdownReport, SpawnError, System, SystemConfig, SystemError,
};
#[cfg(not(gauntlet_loom))]
pub use watchdog::{DeadlockReport, RuntimeEvent, StallReport};
