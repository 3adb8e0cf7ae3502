//! Supervision: what a parent does when a child fails.
//!
//! A child *fails* when its `started` or `handle` returns an error or panics. The failure
//! goes to its parent's [`SupervisorStrategy`] (the root guardian's, from
//! [`SystemConfig::guardian`](super::SystemConfig::guardian), for top-level actors). The
//! strategy's decider turns the failure into a [`Directive`]:
//!
//! - `Resume`: keep the actor's state and go on with the next message.
//! - `Restart`: re-create the state from the actor's factory (after `before_restart` on
//!   the old one, and after stopping the actor's own children), then `started`. The
//!   mailbox is kept: messages queued at the failure are handled by the new instance.
//! - `Stop`: stop the actor (reason [`StopReason::Failed`](super::StopReason::Failed)).
//! - `Escalate`: stop the actor and fail its parent with the same cause; the parent's own
//!   supervisor decides for the parent. At the root guardian, escalation stops the actor.
//!
//! The [`RestartScope`] decides who else is affected: `OneForOne` only the failed child,
//! `OneForAll` every sibling, `RestForOne` the siblings spawned after it. Restart
//! intensity is counted per supervisor, as in Erlang/OTP: more than `max_restarts`
//! restarts within `within` turns the next `Restart` into `Escalate`. An optional
//! [`Backoff`] delays each restart exponentially with jitter; while it waits, the actor
//! still obeys `stop` and `kill`.
//!
//! Decisions are taken in the failing actor's own task, against the parent's strategy
//! and restart history, so a parent that is itself busy (even blocked in an `ask` to the
//! child that failed) never delays its child's recovery.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::address::Address;

/// Why an actor failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A hook or handler returned an error (its `Display` text).
    Error(Arc<str>),
    /// A hook or handler panicked (the panic message, when it was a string).
    Panic(Arc<str>),
    /// A child escalated its failure to this actor.
    Escalated {
        /// The child that escalated.
        from: Address,
        /// What the child failed with.
        cause: Arc<Failure>,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => write!(f, "error: {e}"),
            Failure::Panic(p) => write!(f, "panic: {p}"),
            Failure::Escalated { from, cause } => write!(f, "escalated by {from}: {cause}"),
        }
    }
}

impl Failure {
    pub(crate) fn from_panic(payload: Box<dyn std::any::Any + Send>) -> Self {
        let text = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_owned()
        };
        Failure::Panic(Arc::from(text))
    }
}

/// What a supervisor does about a failed child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Directive {
    /// Keep the state, handle the next message.
    Resume,
    /// Re-create the state from the factory; the mailbox survives.
    Restart,
    /// Stop the child.
    Stop,
    /// Stop the child and fail the supervisor itself.
    Escalate,
}

/// Which children a directive applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RestartScope {
    /// Only the failed child.
    #[default]
    OneForOne,
    /// The failed child and all its siblings.
    OneForAll,
    /// The failed child and the siblings spawned after it.
    RestForOne,
}

/// Exponential backoff between restarts: `min * 2^n`, capped at `max`, times a random
/// factor in `[1 - jitter, 1 + jitter]`, where `n` is the number of restarts already in
/// the supervisor's intensity window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first restart.
    pub min: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Relative jitter, 0.0 to 1.0.
    pub jitter: f64,
}

impl Backoff {
    /// The delay before restart number `n` (0-based) in the window.
    pub fn delay(&self, n: u32) -> Duration {
        let base = self
            .min
            .saturating_mul(1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX))
            .min(self.max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return base;
        }
        let factor = 1.0 + jitter * (2.0 * rand::random::<f64>() - 1.0);
        base.mul_f64(factor.max(0.0))
    }
}

type Decider = Arc<dyn Fn(&Failure) -> Directive + Send + Sync>;

/// How a parent treats its children's failures. See the [module docs](self).
#[derive(Clone)]
pub struct SupervisorStrategy {
    /// Who a directive applies to.
    pub scope: RestartScope,
    /// At most this many restarts within `within`, then `Escalate`.
    pub max_restarts: u32,
    /// The intensity window.
    pub within: Duration,
    /// Delay between restarts, if any.
    pub backoff: Option<Backoff>,
    decider: Decider,
}

impl fmt::Debug for SupervisorStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorStrategy")
            .field("scope", &self.scope)
            .field("max_restarts", &self.max_restarts)
            .field("within", &self.within)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Default for SupervisorStrategy {
    /// One-for-one, always restart, at most 10 restarts in 10 s, no backoff.
    fn default() -> Self {
        Self::one_for_one()
    }
}

impl SupervisorStrategy {
    fn with_scope(scope: RestartScope) -> Self {
        Self {
            scope,
            max_restarts: 10,
            within: Duration::from_secs(10),
            backoff: None,
            decider: Arc::new(|_| Directive::Restart),
        }
    }

    /// Restart only the failed child.
    pub fn one_for_one() -> Self {
        Self::with_scope(RestartScope::OneForOne)
    }

    /// Restart all children when one fails.
    pub fn one_for_all() -> Self {
        Self::with_scope(RestartScope::OneForAll)
    }

    /// Restart the failed child and those spawned after it.
    pub fn rest_for_one() -> Self {
        Self::with_scope(RestartScope::RestForOne)
    }

    /// Decide per failure (the default always restarts).
    pub fn decider(mut self, f: impl Fn(&Failure) -> Directive + Send + Sync + 'static) -> Self {
        self.decider = Arc::new(f);
        self
    }

    /// Always answer with `directive`.
    pub fn always(self, directive: Directive) -> Self {
        self.decider(move |_| directive)
    }

    /// At most `max_restarts` within `within`, then escalate.
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.within = within;
        self
    }

    /// Delay restarts exponentially.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// Applies the decider and the intensity limit. `history` is the supervisor's recent
    /// restarts; a `Restart` decision is recorded in it.
    pub(crate) fn decide(
        &self,
        failure: &Failure,
        history: &mut VecDeque<Instant>,
        now: Instant,
    ) -> Decision {
        let directive = (self.decider)(failure);
        if directive != Directive::Restart {
            return Decision {
                directive,
                delay: Duration::ZERO,
            };
        }
        while history
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.within)
        {
            history.pop_front();
        }
        if history.len() >= self.max_restarts as usize {
            return Decision {
                directive: Directive::Escalate,
                delay: Duration::ZERO,
            };
        }
        let n = history.len() as u32;
        history.push_back(now);
        Decision {
            directive: Directive::Restart,
            delay: self.backoff.map_or(Duration::ZERO, |b| b.delay(n)),
        }
    }
}

/// A supervisor's answer to one failure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decision {
    pub(crate) directive: Directive,
    pub(crate) delay: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail() -> Failure {
        Failure::Error(Arc::from("boom"))
    }

    #[test]
    fn intensity_turns_restart_into_escalate() {
        let s = SupervisorStrategy::one_for_one().intensity(2, Duration::from_secs(60));
        let mut h = VecDeque::new();
        let t0 = Instant::now();
        assert_eq!(s.decide(&fail(), &mut h, t0).directive, Directive::Restart);
        assert_eq!(s.decide(&fail(), &mut h, t0).directive, Directive::Restart);
        assert_eq!(s.decide(&fail(), &mut h, t0).directive, Directive::Escalate);
        // Outside the window the budget is back.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(
            s.decide(&fail(), &mut h, later).directive,
            Directive::Restart
        );
    }

    #[test]
    fn decider_sees_the_failure() {
        let s = SupervisorStrategy::one_for_one().decider(|f| match f {
            Failure::Panic(_) => Directive::Stop,
            _ => Directive::Resume,
        });
        let mut h = VecDeque::new();
        let now = Instant::now();
        assert_eq!(s.decide(&fail(), &mut h, now).directive, Directive::Resume);
        let panic = Failure::Panic(Arc::from("x"));
        assert_eq!(s.decide(&panic, &mut h, now).directive, Directive::Stop);
        assert!(h.is_empty(), "only restarts count toward intensity");
    }

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let b = Backoff {
            min: Duration::from_millis(10),
            max: Duration::from_millis(100),
            jitter: 0.0,
        };
        assert_eq!(b.delay(0), Duration::from_millis(10));
        assert_eq!(b.delay(1), Duration::from_millis(20));
        assert_eq!(b.delay(3), Duration::from_millis(80));
        assert_eq!(b.delay(4), Duration::from_millis(100));
        assert_eq!(b.delay(40), Duration::from_millis(100));
        let j = Backoff { jitter: 0.5, ..b };
        for _ in 0..100 {
            let d = j.delay(1);
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(30));
        }
    }

    #[test]
    fn backoff_delay_comes_with_the_restart_decision() {
        let s = SupervisorStrategy::one_for_one().backoff(Backoff {
            min: Duration::from_millis(5),
            max: Duration::from_secs(1),
            jitter: 0.0,
        });
        let mut h = VecDeque::new();
        let now = Instant::now();
        assert_eq!(
            s.decide(&fail(), &mut h, now).delay,
            Duration::from_millis(5)
        );
        assert_eq!(
            s.decide(&fail(), &mut h, now).delay,
            Duration::from_millis(10)
        );
    }
}
