//! [`ActorRef`]: the handle senders hold. Cheap to clone (one `Arc`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::address::Address;
use super::cell::{Cell, Node};
use super::mailbox::Push;
use super::reply::NoReply;
pub use super::reply::ReplyTo;
use super::system::DeadLetterReason;

/// Why a message was not queued. The message comes back where it was not consumed.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError<M> {
    /// The mailbox is full and its policy refuses (`Fail`, or `try_tell` under `Block`).
    #[error("mailbox full")]
    Full(M),
    /// A `Block` send waited longer than its timeout.
    #[error("timed out waiting for room in the mailbox")]
    Timeout(M),
    /// The actor has stopped (or is stopping): the message is a dead letter.
    #[error("actor stopped: message dead-lettered")]
    Stopped(M),
    /// No actor lives at the address: the message is a dead letter.
    #[error("no actor at that address: message dead-lettered")]
    NotFound(M),
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Full(_) => "Full(..)",
            SendError::Timeout(_) => "Timeout(..)",
            SendError::Stopped(_) => "Stopped(..)",
            SendError::NotFound(_) => "NotFound(..)",
        })
    }
}

impl<M> SendError<M> {
    /// The message that was not queued.
    pub fn into_inner(self) -> M {
        match self {
            SendError::Full(m)
            | SendError::Timeout(m)
            | SendError::Stopped(m)
            | SendError::NotFound(m) => m,
        }
    }
}

/// Why an ask got no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// No reply within the timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The request was refused by a full mailbox (`Fail` policy).
    #[error("mailbox full: request refused")]
    Full,
    /// The request was dropped on arrival by a full `DropNewest` mailbox.
    #[error("mailbox full: request dropped by policy")]
    Dropped,
    /// The actor has stopped: the request is a dead letter.
    #[error("actor stopped: request dead-lettered")]
    Stopped,
    /// The request was taken but its `ReplyTo` was dropped without a reply: the handler
    /// did not answer, failed, or the request was evicted (`DropOldest`) or discarded.
    #[error("request dropped without a reply")]
    NoReply,
    /// The ask was made from inside a handler and would have closed a cycle of actors
    /// waiting on each other; it was refused without sending. The cycle starts and ends
    /// with the asking actor.
    #[error("ask would deadlock: {}", cycle_text(.0))]
    Deadlock(Vec<Address>),
}

fn cycle_text(cycle: &[Address]) -> String {
    cycle
        .iter()
        .map(Address::as_str)
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// A typed handle to an actor that accepts messages of type `M`.
pub struct ActorRef<M: Send + 'static> {
    cell: Arc<Cell<M>>,
}

impl<M: Send + 'static> Clone for ActorRef<M> {
    fn clone(&self) -> Self {
        Self {
            cell: self.cell.clone(),
        }
    }
}

impl<M: Send + 'static> fmt::Debug for ActorRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActorRef({})", self.cell.core.address())
    }
}

impl<M: Send + 'static> PartialEq for ActorRef<M> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cell, &other.cell)
    }
}

impl<M: Send + 'static> Eq for ActorRef<M> {}

impl<M: Send + 'static> ActorRef<M> {
    pub(crate) fn from_cell(cell: Arc<Cell<M>>) -> Self {
        Self { cell }
    }

    #[cfg(test)]
    pub(crate) fn cell(&self) -> &Arc<Cell<M>> {
        &self.cell
    }

    pub(crate) fn node(&self) -> Arc<dyn Node> {
        self.cell.clone()
    }

    /// The actor's address.
    pub fn address(&self) -> &Address {
        self.cell.core.address()
    }

    /// Whether the actor has terminated.
    pub fn is_terminated(&self) -> bool {
        self.cell.core.is_terminated()
    }

    /// Messages in the mailbox right now.
    pub fn queued(&self) -> usize {
        self.cell.mailbox.len()
    }

    /// Counts the outcome and turns it into the caller's result.
    fn account(&self, outcome: Push<M>) -> Result<(), SendError<M>> {
        let system = &self.cell.core.system;
        let stripe = system.counters.local();
        stripe.bump(&stripe.sent);
        match outcome {
            Push::Queued => Ok(()),
            Push::DroppedNewest => {
                stripe.bump(&stripe.dropped_newest);
                Ok(())
            }
            Push::DroppedOldest => {
                stripe.bump(&stripe.dropped_oldest);
                Ok(())
            }
            Push::Full(m) => {
                stripe.bump(&stripe.rejected);
                Err(SendError::Full(m))
            }
            Push::Closed(m) => {
                stripe.bump(&stripe.dead_lettered);
                system.publish_dead_letters(
                    self.cell.core.address(),
                    std::any::type_name::<M>(),
                    DeadLetterReason::Stopped,
                    1,
                );
                Err(SendError::Stopped(m))
            }
        }
    }

    /// Sends `msg`, obeying the mailbox policy: under `Block` this waits for room (with
    /// no time limit: use [`tell_timeout`](Self::tell_timeout) to bound it); under every
    /// other policy it returns at once.
    pub async fn tell(&self, msg: M) -> Result<(), SendError<M>> {
        if super::fault::cut_off(&self.cell.core) {
            return super::fault::drop_partitioned(&self.cell.core, msg);
        }
        // The common case, room in the mailbox, without entering the waiting future.
        let mailbox = &self.cell.mailbox;
        let outcome = match mailbox.try_push(msg) {
            Push::Full(msg) if mailbox.policy() == super::mailbox::Policy::Block => {
                mailbox.push(msg).await
            }
            outcome => outcome,
        };
        self.account(outcome)
    }

    /// Like [`tell`](Self::tell), but a `Block` wait longer than `timeout` gives up with
    /// [`SendError::Timeout`] (counted as rejected) and hands the message back.
    pub async fn tell_timeout(&self, msg: M, timeout: Duration) -> Result<(), SendError<M>> {
        if super::fault::cut_off(&self.cell.core) {
            return super::fault::drop_partitioned(&self.cell.core, msg);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        match self.cell.mailbox.push_until(msg, Some(deadline)).await {
            Push::Full(m) if self.cell.mailbox.policy() == super::mailbox::Policy::Block => {
                match self.account(Push::Full(m)) {
                    Err(SendError::Full(m)) => Err(SendError::Timeout(m)),
                    other => other,
                }
            }
            outcome => self.account(outcome),
        }
    }

    /// Sends `msg` without ever waiting: a full mailbox answers per its policy, and a
    /// `Block` mailbox answers [`SendError::Full`].
    pub fn try_tell(&self, msg: M) -> Result<(), SendError<M>> {
        if super::fault::cut_off(&self.cell.core) {
            return super::fault::drop_partitioned(&self.cell.core, msg);
        }
        let outcome = self.cell.mailbox.try_push(msg);
        self.account(outcome)
    }

    /// Sends the request built by `make` and waits up to `timeout` for the reply. The
    /// timeout covers both waiting for room (`Block`) and waiting for the reply.
    ///
    /// The timeout is wall-clock time (it is enforced by the system's ask reaper thread,
    /// see [`reply`](super::reply)), also under a paused tokio clock.
    ///
    /// Asked from inside a handler, the ask is recorded in the system's wait-for graph;
    /// one that would close a cycle fails at once with [`AskError::Deadlock`] (see
    /// [`deadlock`](super::deadlock)).
    pub async fn ask<R: Send + 'static>(
        &self,
        make: impl FnOnce(ReplyTo<R>) -> M,
        timeout: Duration,
    ) -> Result<R, AskError> {
        let system = &self.cell.core.system;
        ask_routed(system, || Ok(Route::Final(self)), make, timeout).await
    }

    /// Offers `msg` under the mailbox policy without counting it (the caller counts).
    pub(crate) async fn offer(&self, msg: M) -> Push<M> {
        self.cell.mailbox.push(msg).await
    }

    /// Offers `msg` without waiting and without counting (the caller counts). Under
    /// `Block` a full mailbox answers `Full`, and the caller may then wait with
    /// [`offer`](Self::offer).
    pub(crate) fn try_offer(&self, msg: M) -> Push<M> {
        self.cell.mailbox.try_push(msg)
    }

    /// Counts an outcome of [`offer`](Self::offer).
    pub(crate) fn count(&self, outcome: Push<M>) -> Result<(), SendError<M>> {
        self.account(outcome)
    }

    /// Stops the actor gracefully: its mailbox closes (later sends are dead letters),
    /// queued messages are drained or discarded per its [`OnStop`](super::OnStop), then
    /// `stopping`, children, `stopped`. Returns at once; see
    /// [`wait_terminated`](Self::wait_terminated).
    pub fn stop(&self) {
        self.cell.request_stop();
    }

    /// Stops the actor at once: no hooks run, its children are killed, queued messages
    /// become dead letters. A handler that never yields cannot be interrupted (it is
    /// killed at its next `.await`).
    pub fn kill(&self) {
        Node::kill(&*self.cell);
    }

    /// Waits until the actor has terminated.
    pub async fn wait_terminated(&self) {
        self.cell.core.wait_terminated().await;
    }
}

/// Where an ask goes next.
pub(crate) enum Route<'a, M: Send + 'static> {
    /// This actor, and no other: a closed mailbox is a dead letter.
    Final(&'a ActorRef<M>),
    /// This actor for now: if its mailbox turns out closed (it is passivating), wait for
    /// it to terminate and ask the router again.
    Retry(ActorRef<M>),
}

/// The ask protocol, shared by [`ActorRef::ask`] and entity refs: deadlock check, ask
/// counters, delivery under the mailbox policy, reply with a timeout.
///
/// `system` must be the system of every actor `route` returns; the caller keeps it alive.
pub(crate) async fn ask_routed<'a, M: Send + 'static, R: Send + 'static>(
    system: &super::system::SystemShared,
    mut route: impl FnMut() -> Result<Route<'a, M>, AskError>,
    make: impl FnOnce(ReplyTo<R>) -> M,
    timeout: Duration,
) -> Result<R, AskError> {
    let reaper = system.reaper();
    let (tx, rx, ticket) = reaper.slot(timeout);
    // However the ask ends, its registration is withdrawn: an answered ask frees its own
    // slot, and the reaper never sees it (see `reaper`).
    let _registration = ticket.map(|t| Withdraw(reaper, t));
    let deadline = tokio::time::Instant::from_std(rx.deadline());
    let mut msg = make(tx);
    system.counters.bump(|s| &s.asks_started);
    let _in_flight = AskGuard(system);
    let timed_out = || {
        system.counters.bump(|s| &s.asks_timed_out);
        Err(AskError::Timeout(timeout))
    };
    let mut _waiting = None;
    loop {
        let routed = route()?;
        let (target, retry) = match &routed {
            Route::Final(t) => (*t, false),
            Route::Retry(t) => (t, true),
        };
        let core = &target.cell.core;
        // From inside a handler: record who waits on whom; refuse closing a cycle.
        _waiting = None;
        if let Some(asker) = super::deadlock::current()
            && super::deadlock::same_system(asker, core)
        {
            match system.waits.enter(system, asker, core) {
                Ok(waiting) => _waiting = Some(waiting),
                Err(cycle) => return Err(AskError::Deadlock(cycle)),
            }
        }
        if super::fault::cut_off(core) {
            let _ = super::fault::drop_partitioned(core, msg);
            return Err(AskError::NoReply);
        }
        let mailbox = &target.cell.mailbox;
        let outcome = match mailbox.try_push(msg) {
            // A full `Block` mailbox: wait for room, but not past the ask's deadline.
            Push::Full(m) if mailbox.policy() == super::mailbox::Policy::Block => {
                match mailbox.push_until(m, Some(deadline)).await {
                    Push::Full(_) => return timed_out(),
                    outcome => outcome,
                }
            }
            outcome => outcome,
        };
        if retry && let Push::Closed(m) = outcome {
            msg = m;
            if tokio::time::timeout_at(deadline, target.wait_terminated())
                .await
                .is_err()
            {
                return timed_out();
            }
            continue;
        }
        let dropped = matches!(outcome, Push::DroppedNewest);
        match target.account(outcome) {
            Ok(()) if dropped => return Err(AskError::Dropped),
            Ok(()) => {}
            Err(SendError::Full(_) | SendError::Timeout(_)) => return Err(AskError::Full),
            Err(SendError::Stopped(_) | SendError::NotFound(_)) => {
                return Err(AskError::Stopped);
            }
        }
        break;
    }
    let reply = if reaper.is_running() {
        rx.await
    } else {
        // No reaper (shut down, or no thread): a tokio timer bounds the wait instead.
        tokio::time::timeout_at(deadline, rx)
            .await
            .unwrap_or(Err(NoReply::Expired))
    };
    match reply {
        Ok(reply) => Ok(reply),
        Err(NoReply::Dropped) => Err(AskError::NoReply),
        Err(NoReply::Expired) => timed_out(),
    }
}

/// Withdraws an ask's registration with the reaper when the ask ends.
struct Withdraw<'a>(&'a super::reaper::Reaper, super::reaper::Ticket);

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.0.withdraw(self.1);
    }
}

/// Counts an ask as finished however it ends, cancellation included.
struct AskGuard<'a>(&'a super::system::SystemShared);

impl Drop for AskGuard<'_> {
    fn drop(&mut self) {
        self.0.counters.bump(|s| &s.asks_finished);
    }
}
