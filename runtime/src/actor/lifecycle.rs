//! The [`Actor`] trait: one message type, a handler, and lifecycle hooks.

use std::fmt;
use std::future::Future;

use super::context::Context;
use super::supervision::Failure;

/// The error a hook or handler returns to report a failure to its supervisor.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an actor stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// `ActorRef::stop` or `Context::stop`.
    Normal,
    /// Its parent is stopping (children stop before their parent).
    ParentStopping,
    /// `System::shutdown`.
    Shutdown,
    /// Its supervisor answered a failure with `Stop`.
    Failed(Failure),
    /// It failed and its supervisor escalated (or the restart intensity ran out).
    Escalated(Failure),
    /// A sibling failed under a one-for-all or rest-for-one supervisor that stops.
    SiblingFailed,
    /// An entity was idle for longer than its idle timeout. Its `stopping` hook is the
    /// place to persist state; the next message activates it again.
    Passivated,
    /// `ActorRef::kill`, a stop deadline that ran out, or an aborted shutdown. Hooks do
    /// not run for a killed actor; this reason is only reported, never passed to a hook.
    Killed,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Normal => f.write_str("stopped"),
            StopReason::ParentStopping => f.write_str("parent stopping"),
            StopReason::Shutdown => f.write_str("system shutdown"),
            StopReason::Failed(e) => write!(f, "failed ({e})"),
            StopReason::Escalated(e) => write!(f, "escalated ({e})"),
            StopReason::SiblingFailed => f.write_str("sibling failed"),
            StopReason::Passivated => f.write_str("passivated"),
            StopReason::Killed => f.write_str("killed"),
        }
    }
}

/// A typed actor. State lives in `self`; messages arrive one at a time, in the order
/// each sender sent them.
///
/// Implement `handle` with `async fn`; the hooks have defaults that do nothing. A hook or
/// handler that returns `Err` or panics is a *failure*, which the actor's supervisor
/// answers (see [`supervision`](super::supervision)).
///
/// Order of hooks: `started` once per incarnation; on restart, `before_restart` on the
/// old state, then a fresh state from the factory and its `started`; on a graceful
/// stop, `stopping` (children still alive), then the children stop, then `stopped`.
pub trait Actor: Send + Sized + 'static {
    /// The one message type this actor handles (often an enum). Asks carry a
    /// [`ReplyTo`](super::ReplyTo) inside the message.
    type Msg: Send + 'static;

    /// The actor's kind in stats and logs. Defaults to the type's name without its path.
    fn kind() -> &'static str {
        short_type_name::<Self>()
    }

    /// Runs before the first message of each incarnation.
    fn started(
        &mut self,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Handles one message.
    fn handle(
        &mut self,
        msg: Self::Msg,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Runs when a graceful stop begins, after the mailbox was drained or discarded and
    /// before the children stop. The place to persist state.
    fn stopping(
        &mut self,
        ctx: &mut Context<Self>,
        reason: &StopReason,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        let _ = (ctx, reason);
        async { Ok(()) }
    }

    /// Runs last, after the children have stopped.
    fn stopped(&mut self, reason: &StopReason) {
        let _ = reason;
    }

    /// Runs on the failed state before it is replaced by a fresh one from the factory.
    fn before_restart(&mut self, ctx: &mut Context<Self>, cause: &Failure) {
        let _ = (ctx, cause);
    }
}

/// `my_crate::module::Thing<u8>` -> `Thing<u8>`.
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let head = full.split('<').next().unwrap_or(full);
    match head.rfind("::") {
        Some(i) => &full[i + 2..],
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    #[allow(dead_code)]
    struct Generic<T>(T);

    #[test]
    fn kinds_are_short_type_names() {
        assert_eq!(short_type_name::<Plain>(), "Plain");
        assert_eq!(
            short_type_name::<Generic<std::string::String>>(),
            "Generic<alloc::string::String>"
        );
        assert_eq!(short_type_name::<u32>(), "u32");
    }
}
