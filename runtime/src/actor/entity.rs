//! Entities: virtual actors, addressed by key, activated on demand, passivated when idle.
//!
//! [`System::entities`](super::System::entities) creates a *region* for one kind of
//! entity: a top-level actor at `actor://<system>/<region>` whose children are the
//! active entities, `actor://<system>/<region>/<key>`. [`Entities::get`] returns an
//! [`EntityRef`] for a key; sending through it activates the entity from the factory if
//! it is not running, whether it never ran or was passivated. Callers never see the
//! difference.
//!
//! **Passivation.** An entity whose mailbox is empty and whose last handler finished
//! more than its idle timeout ago is stopped by the watchdog with
//! [`StopReason::Passivated`]: its `stopping` hook runs
//! (the place to persist state) and it leaves the registry. Idle tracking costs two
//! relaxed atomic stores per message and one watchdog scan per tick; there is no lock
//! and no timer per message or per actor.
//!
//! **Nothing is lost across a passivation.** A passivating entity closes its mailbox and
//! drains what was queued before the close (entities always drain). A message that
//! arrives after the close is not dead-lettered: the entity ref waits for the old
//! incarnation to finish stopping, activates a new one, and delivers it there. Per
//! sender, order is kept across the switch.
//!
//! **Memory.** A known but inactive key costs one map entry (the key and an empty
//! slot), not an actor: see the `entity_memory` example.

use std::fmt::Display;
use std::hash::Hash;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use dashmap::DashMap;

use super::actor_ref::{ActorRef, AskError, ReplyTo, Route, SendError, ask_routed};
use super::address::{Address, AddressError, validate_actor_name};
use super::cell::Node;
use super::context::Context;
use super::lifecycle::{Actor, HandlerError, StopReason};
use super::mailbox::{MailboxConfig, Push};
use super::props::{OnStop, Props};
use super::stats::KindStats;
use super::supervision::{Failure, SupervisorStrategy};
use super::system::{DeadLetterReason, SpawnError, System, SystemShared, spawn_under};

/// What can key an entity: its `Display` form is the entity's name in its address, so
/// it must be a valid name (letters, digits, `-`, `.`, `_`, `~`).
pub trait EntityKey: Clone + Eq + Hash + Display + Send + Sync + 'static {}

impl<T: Clone + Eq + Hash + Display + Send + Sync + 'static> EntityKey for T {}

/// Spawn attempts per activation before giving up (see `EntityRef::route`).
const ACTIVATION_ROUNDS: usize = 64;

/// How to make one kind of entity and when to passivate it.
pub struct EntityProps<A: Actor, K> {
    factory: Arc<dyn Fn(&K) -> A + Send + Sync>,
    idle_timeout: Duration,
    mailbox: Option<MailboxConfig>,
    stop_timeout: Option<Duration>,
    supervisor: Option<SupervisorStrategy>,
}

impl<A: Actor, K: EntityKey> EntityProps<A, K> {
    /// Entities made by `factory(key)`, passivated after 60 s idle.
    pub fn new(factory: impl Fn(&K) -> A + Send + Sync + 'static) -> Self {
        Self {
            factory: Arc::new(factory),
            idle_timeout: Duration::from_secs(60),
            mailbox: None,
            stop_timeout: None,
            supervisor: None,
        }
    }

    /// Passivate an entity idle for longer than this (at least 1 ms).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Each entity's mailbox.
    pub fn mailbox(mut self, config: MailboxConfig) -> Self {
        self.mailbox = Some(config);
        self
    }

    /// How long passivating (or any stop) may take.
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = Some(timeout);
        self
    }

    /// How the region supervises its entities (default: the system's).
    pub fn supervisor(mut self, strategy: SupervisorStrategy) -> Self {
        self.supervisor = Some(strategy);
        self
    }
}

/// The parent of one kind's entities. It handles no messages of its own.
struct Region;

impl Actor for Region {
    type Msg = std::convert::Infallible;

    async fn handle(
        &mut self,
        msg: std::convert::Infallible,
        _: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        match msg {}
    }
}

struct Shared<A: Actor, K> {
    system: Arc<SystemShared>,
    region: Arc<dyn Node>,
    region_address: Address,
    props: EntityProps<A, K>,
    kind: Arc<KindStats>,
    slots: DashMap<K, Option<ActorRef<A::Msg>>, rustc_hash::FxBuildHasher>,
}

/// One kind of entity in a system. Cheap to clone.
pub struct Entities<A: Actor, K> {
    shared: Arc<Shared<A, K>>,
}

impl<A: Actor, K> Clone for Entities<A, K> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

/// A handle to the entity with one key, running or not.
pub struct EntityRef<A: Actor, K> {
    shared: Arc<Shared<A, K>>,
    key: K,
}

impl<A: Actor, K: Clone> Clone for EntityRef<A, K> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            key: self.key.clone(),
        }
    }
}

impl System {
    /// Creates the region `name` for entities made by `props`, at
    /// `actor://<system>/<name>`.
    pub fn entities<A: Actor, K: EntityKey>(
        &self,
        name: &str,
        props: EntityProps<A, K>,
    ) -> Result<Entities<A, K>, SpawnError> {
        let mut region = Props::new(|| Region);
        if let Some(s) = &props.supervisor {
            region = region.supervisor(s.clone());
        }
        let region = self.spawn(name, region)?;
        let shared = self.shared();
        shared.tick_within(props.idle_timeout);
        Ok(Entities {
            shared: Arc::new(Shared {
                kind: shared.kind_stats(A::kind()),
                system: shared.clone(),
                region: region.node(),
                region_address: region.address().clone(),
                props,
                slots: DashMap::default(),
            }),
        })
    }
}

impl<A: Actor, K: EntityKey> Entities<A, K> {
    /// The entity for `key` (checked to be a valid address name).
    pub fn get(&self, key: K) -> Result<EntityRef<A, K>, AddressError> {
        validate_actor_name(&key.to_string())?;
        Ok(EntityRef {
            shared: self.shared.clone(),
            key,
        })
    }

    /// Makes `key` known without activating it.
    pub fn register(&self, key: K) -> Result<(), AddressError> {
        validate_actor_name(&key.to_string())?;
        self.shared.slots.entry(key).or_insert(None);
        Ok(())
    }

    /// Keys known (registered, active, or active once).
    pub fn registered(&self) -> usize {
        self.shared.slots.len()
    }

    /// Entities of this kind running right now.
    pub fn active(&self) -> u64 {
        self.shared.kind.snapshot().alive
    }

    /// The region's address.
    pub fn address(&self) -> &Address {
        &self.shared.region_address
    }
}

impl<A: Actor, K: EntityKey> EntityRef<A, K> {
    /// The entity's key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The entity's address (whether or not it is running).
    pub fn address(&self) -> Address {
        // `get` validated the key as a name.
        self.shared
            .region_address
            .child(&self.key.to_string())
            .unwrap_or_else(|_| self.shared.region_address.clone())
    }

    /// Whether the entity is running right now.
    pub fn is_active(&self) -> bool {
        self.shared
            .slots
            .get(&self.key)
            .is_some_and(|s| s.as_ref().is_some_and(|r| !r.is_terminated()))
    }

    /// The running incarnation, activating one if needed. `None`: cannot activate
    /// (the system is shutting down).
    fn route(&self) -> Option<ActorRef<A::Msg>> {
        let shared = &self.shared;
        if let Some(slot) = shared.slots.get(&self.key)
            && let Some(r) = slot.as_ref()
            && !r.is_terminated()
        {
            return Some(r.clone());
        }
        let mut slot = shared.slots.entry(self.key.clone()).or_insert(None);
        if let Some(r) = slot.as_ref()
            && !r.is_terminated()
        {
            return Some(r.clone());
        }
        let (key, factory) = (self.key.clone(), shared.props.factory.clone());
        let weak = Arc::downgrade(shared);
        let mut props = Props::new(move || Incarnation {
            inner: factory(&key),
            key: key.clone(),
            shared: weak.clone(),
        })
        .on_stop(OnStop::Drain);
        props.idle_timeout = Some(shared.props.idle_timeout);
        props.mailbox = shared.props.mailbox;
        props.stop_timeout = shared.props.stop_timeout;
        let name = self.key.to_string();
        // Spawning races only with the previous incarnation leaving the registry, which
        // it does once, so a few rounds settle it; the bound keeps a bug from spinning.
        for _ in 0..ACTIVATION_ROUNDS {
            match spawn_under(
                &shared.system,
                Some(shared.region.clone()),
                &name,
                props.clone(),
            ) {
                Ok(r) => {
                    shared.kind.activations.fetch_add(1, Ordering::Relaxed);
                    *slot = Some(r.clone());
                    return Some(r);
                }
                // The previous incarnation has cleared its slot but not yet left the
                // registry: route to it; its closed mailbox sends us round again. If it
                // left between our spawn and the lookup, spawn again.
                Err(SpawnError::Duplicate(address)) => {
                    if let Some(r) =
                        System::from_shared(shared.system.clone()).lookup::<A::Msg>(&address)
                    {
                        return Some(r);
                    }
                }
                Err(e) => {
                    tracing::warn!(region = %shared.region_address, key = %self.key, error = %e, "entity not activated");
                    return None;
                }
            }
        }
        tracing::warn!(region = %shared.region_address, key = %self.key, "entity not activated: its name stayed taken");
        None
    }

    /// Sends `msg` to the entity, activating it if needed; obeys its mailbox policy.
    pub async fn tell(&self, msg: A::Msg) -> Result<(), SendError<A::Msg>> {
        // Fast path: the entity is running and its mailbox takes the message at once;
        // no ref is cloned. Anything else goes the general way below.
        let mut msg = msg;
        if let Some(slot) = self.shared.slots.get(&self.key)
            && let Some(target) = slot.as_ref()
        {
            match target.try_offer(msg) {
                Push::Closed(m) | Push::Full(m) => msg = m,
                outcome => return target.count(outcome),
            }
        }
        loop {
            let Some(target) = self.route() else {
                return Err(self.undeliverable(msg));
            };
            match target.offer(msg).await {
                Push::Closed(m) => {
                    // Passivating: wait for it to finish, then activate a new incarnation.
                    msg = m;
                    target.wait_terminated().await;
                }
                outcome => return target.count(outcome),
            }
        }
    }

    /// Asks the entity, activating it if needed. See [`ActorRef::ask`].
    pub async fn ask<R: Send + 'static>(
        &self,
        make: impl FnOnce(ReplyTo<R>) -> A::Msg,
        timeout: Duration,
    ) -> Result<R, AskError> {
        ask_routed(
            &self.shared.system,
            || self.route().map(Route::Retry).ok_or(AskError::Stopped),
            make,
            timeout,
        )
        .await
    }

    fn undeliverable(&self, msg: A::Msg) -> SendError<A::Msg> {
        let system = &self.shared.system;
        let stripe = system.counters.local();
        stripe.bump(&stripe.sent);
        stripe.bump(&stripe.dead_lettered);
        system.publish_dead_letters(
            &self.address(),
            std::any::type_name::<A::Msg>(),
            DeadLetterReason::Stopped,
            1,
        );
        SendError::Stopped(msg)
    }
}

/// One incarnation of an entity: the user's actor, plus clearing its slot when it stops.
struct Incarnation<A: Actor, K> {
    inner: A,
    key: K,
    shared: Weak<Shared<A, K>>,
}

impl<A: Actor, K: EntityKey> Actor for Incarnation<A, K> {
    type Msg = A::Msg;

    fn kind() -> &'static str {
        A::kind()
    }

    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        self.inner.started(ctx.retype()).await
    }

    async fn handle(&mut self, msg: A::Msg, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        self.inner.handle(msg, ctx.retype()).await
    }

    async fn stopping(
        &mut self,
        ctx: &mut Context<Self>,
        reason: &StopReason,
    ) -> Result<(), HandlerError> {
        self.inner.stopping(ctx.retype(), reason).await
    }

    fn stopped(&mut self, reason: &StopReason) {
        self.inner.stopped(reason);
        if let Some(shared) = self.shared.upgrade() {
            // Only this incarnation can be in the slot: a new one cannot be spawned
            // under the same address until this one has left the registry.
            if let Some(mut slot) = shared.slots.get_mut(&self.key) {
                *slot = None;
            }
            if *reason == StopReason::Passivated {
                shared.kind.passivations.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn before_restart(&mut self, ctx: &mut Context<Self>, cause: &Failure) {
        self.inner.before_restart(ctx.retype(), cause);
    }
}
