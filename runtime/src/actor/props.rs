//! [`Props`]: how to make an actor and how it lives.

use std::sync::Arc;
use std::time::Duration;

use super::lifecycle::Actor;
use super::mailbox::MailboxConfig;
use super::supervision::SupervisorStrategy;

/// What a stopping actor does with the messages still in its mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnStop {
    /// Handle them before stopping (within the stop deadline; the rest are discarded).
    #[default]
    Drain,
    /// Discard them as dead letters.
    Discard,
}

/// A recipe for an actor: its factory (a restart calls it again), mailbox, how it
/// supervises its own children, and its stop behaviour. Anything not set takes the
/// system's default from [`SystemConfig`](super::SystemConfig).
pub struct Props<A: Actor> {
    pub(crate) factory: Arc<dyn Fn() -> A + Send + Sync>,
    pub(crate) mailbox: Option<MailboxConfig>,
    pub(crate) supervisor: Option<SupervisorStrategy>,
    pub(crate) stop_timeout: Option<Duration>,
    pub(crate) on_stop: Option<OnStop>,
    /// Set for entities: passivate after this long idle.
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) hibernate_after: Option<Duration>,
}

impl<A: Actor> Clone for Props<A> {
    fn clone(&self) -> Self {
        Self {
            factory: self.factory.clone(),
            mailbox: self.mailbox,
            supervisor: self.supervisor.clone(),
            stop_timeout: self.stop_timeout,
            on_stop: self.on_stop,
            idle_timeout: self.idle_timeout,
            hibernate_after: self.hibernate_after,
        }
    }
}

impl<A: Actor> Props<A> {
    /// An actor made by `factory`, with the system's defaults. The factory runs in the
    /// actor's own task, for its first incarnation and for each restart.
    pub fn new(factory: impl Fn() -> A + Send + Sync + 'static) -> Self {
        Self {
            factory: Arc::new(factory),
            mailbox: None,
            supervisor: None,
            stop_timeout: None,
            on_stop: None,
            idle_timeout: None,
            hibernate_after: None,
        }
    }

    /// This actor's mailbox.
    pub fn mailbox(mut self, config: MailboxConfig) -> Self {
        self.mailbox = Some(config);
        self
    }

    /// How this actor supervises its children.
    pub fn supervisor(mut self, strategy: SupervisorStrategy) -> Self {
        self.supervisor = Some(strategy);
        self
    }

    /// How long a graceful stop may take (drain, hooks, each wait for children) before
    /// what is left is discarded and children still running are killed.
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = Some(timeout);
        self
    }

    /// Drain or discard the mailbox on stop.
    pub fn on_stop(mut self, on_stop: OnStop) -> Self {
        self.on_stop = Some(on_stop);
        self
    }

    /// Hibernate after `idle` without a message: the actor gives up its tokio task and
    /// keeps only its state, its mailbox and its place in the tree, until the next
    /// message or signal spawns a new task for it (`started` does not run again; the
    /// actor never stopped). For fleets of mostly idle actors: a small hibernating
    /// actor holds about half the memory of an idle one (README, "Performance").
    ///
    /// Detected by the watchdog, so within one tick (a quarter of `idle`, 10 ms to 1 s)
    /// after `idle`. A wake-up spawns one tokio task. A hibernating actor is kept alive
    /// by its own mailbox: stop it or shut the system down ([`System::shutdown`]) rather
    /// than drop the tokio runtime under it. Overrides
    /// [`SystemConfig::hibernate_after`](super::SystemConfig::hibernate_after); the
    /// smallest `idle` is 1 ms.
    ///
    /// [`System::shutdown`]: super::System::shutdown
    pub fn hibernate_after(mut self, idle: Duration) -> Self {
        self.hibernate_after = Some(idle.max(Duration::from_millis(1)));
        self
    }
}

impl<A: Actor + Clone + Sync> Props<A> {
    /// An actor whose every incarnation starts as a clone of `initial`.
    pub fn from_clone(initial: A) -> Self {
        Self::new(move || initial.clone())
    }
}
