//! [`Props`]: how to make an actor and how it lives.

use std::ptr::NonNull;
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
    pub(crate) factory: Factory<A>,
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
            factory: Factory::new(factory),
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

/// What makes an actor's state: shared by the props it came from, every actor spawned
/// from them and each of their restarts. One fat pointer, either to an `Arc`'s value or,
/// for a factory that captures nothing (a function, `Type::default`, a closure without
/// captures: a zero-sized value), to a leaked zero-sized box, which allocates nothing.
/// That saves a fleet of such actors an allocation, and a locked count on and off, per
/// spawn. The two are told apart by the value's size: an `Arc` never holds a
/// zero-sized factory here.
pub(crate) struct Factory<A: 'static>(NonNull<dyn Fn() -> A + Send + Sync>);

impl<A: 'static> Factory<A> {
    pub(crate) fn new<F: Fn() -> A + Send + Sync + 'static>(factory: F) -> Self {
        if size_of::<F>() == 0 && !std::mem::needs_drop::<F>() {
            let leaked: &'static (dyn Fn() -> A + Send + Sync) = Box::leak(Box::new(factory));
            Self(NonNull::from(leaked))
        } else if size_of::<F>() == 0 {
            // Zero-sized but with drop glue: counted, so made non-zero-sized (a size of
            // zero means "leaked box" to `is_counted`).
            let marker = 0u8;
            Self::counted(Arc::new(move || {
                let _pad: u8 = marker;
                factory()
            }))
        } else {
            Self::counted(Arc::new(factory))
        }
    }

    /// From an `Arc` whose value is not zero-sized.
    fn counted(shared: Arc<dyn Fn() -> A + Send + Sync>) -> Self {
        debug_assert_ne!(size_of_val(&*shared), 0);
        // `Arc::into_raw` never returns null.
        Self(NonNull::new(Arc::into_raw(shared).cast_mut()).expect("non-null"))
    }

    /// Whether the pointer is an `Arc`'s (not a leaked zero-sized box).
    fn is_counted(&self) -> bool {
        size_of_val(&**self) != 0
    }
}

impl<A: 'static> std::ops::Deref for Factory<A> {
    type Target = dyn Fn() -> A + Send + Sync;

    #[inline]
    fn deref(&self) -> &Self::Target {
        // SAFETY: either a leaked box (valid forever) or an `Arc`'s value, which this
        // factory holds a count on until it is dropped.
        unsafe { self.0.as_ref() }
    }
}

impl<A: 'static> Clone for Factory<A> {
    fn clone(&self) -> Self {
        if self.is_counted() {
            // SAFETY: from `Arc::into_raw` (`is_counted`), and this factory's count
            // keeps it alive; the new count is given back by the clone's `Drop`.
            unsafe { Arc::increment_strong_count(self.0.as_ptr().cast_const()) };
        }
        Self(self.0)
    }
}

impl<A: 'static> Drop for Factory<A> {
    fn drop(&mut self) {
        if self.is_counted() {
            // SAFETY: from `Arc::into_raw`, and this factory's count is given back once.
            drop(unsafe { Arc::from_raw(self.0.as_ptr().cast_const()) });
        }
    }
}

// SAFETY: it stands for an `Arc<dyn Fn() -> A + Send + Sync>` or a `&'static` of the
// same, both `Send` and `Sync`.
unsafe impl<A: 'static> Send for Factory<A> {}
// SAFETY: as above.
unsafe impl<A: 'static> Sync for Factory<A> {}

#[cfg(test)]
mod tests {
    use super::Factory;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_factory_without_captures_is_not_counted() {
        fn make() -> u32 {
            7
        }
        let f = Factory::new(make);
        assert!(!f.is_counted());
        let g = f.clone();
        assert_eq!((f(), g()), (7, 7));
        let closure = Factory::new(|| 8_u32);
        assert!(!closure.is_counted());
        assert_eq!(closure(), 8);
    }

    /// A capturing factory is shared by its clones and dropped, with what it captured,
    /// exactly once, after the last of them.
    #[test]
    fn a_capturing_factory_is_shared_and_dropped_once() {
        let made = Arc::new(AtomicUsize::new(0));
        let seen = made.clone();
        let f = Factory::new(move || seen.fetch_add(1, Ordering::SeqCst));
        assert!(f.is_counted());
        let g = f.clone();
        f();
        g();
        assert_eq!(made.load(Ordering::SeqCst), 2);
        assert_eq!(Arc::strong_count(&made), 2, "one capture, shared by both");
        drop(f);
        assert_eq!(Arc::strong_count(&made), 2, "the clone still holds it");
        drop(g);
        assert_eq!(Arc::strong_count(&made), 1, "dropped with the last clone");
    }

    /// Zero-sized with drop glue: counted (it must be dropped), and dropped once.
    #[test]
    fn a_zero_sized_factory_with_drop_glue_is_dropped_once() {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Token;
        impl Drop for Token {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::SeqCst);
            }
        }
        let token = Token;
        let make = move || {
            let _held = &token;
            5_u8
        };
        assert_eq!(size_of_val(&make), 0);
        let f = Factory::new(make);
        assert!(f.is_counted());
        let g = f.clone();
        assert_eq!(g(), 5);
        drop(f);
        assert_eq!(DROPS.load(Ordering::SeqCst), 0);
        drop(g);
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
    }
}
