//! Fault seams: the hooks a chaos tool (the harness's `[[fault]]` blocks) uses to make
//! chosen actors misbehave on purpose, and to cut chosen actors off from each other.
//!
//! - **Handler faults** ([`System::inject_handler_fault`]): before each message of a
//!   marked actor, with probability `toxicity`, the handler is replaced by a panic
//!   ([`HandlerFault::Crash`]: the actor fails exactly as if its handler had panicked,
//!   the message is not handled, its supervisor decides), delayed by an awaited sleep
//!   ([`HandlerFault::Delay`], with uniform jitter), or preceded by a *blocking* sleep
//!   of the worker thread ([`HandlerFault::Block`], the classic async mistake: the stall
//!   watchdog sees the actor busy, other tasks on that worker wait). The mark survives
//!   restarts (it is on the actor's cell, which a restart keeps) and is removed by
//!   [`System::clear_handler_fault`].
//! - **Kill** ([`System::kill_at`]): [`ActorRef::kill`](super::ActorRef::kill) by address.
//! - **Partition** ([`System::partition`]): actors are put on side A or side B; a
//!   message sent from inside a handler of one side to an actor of the other is not
//!   delivered but dead-lettered ([`DeadLetterReason::Partitioned`]): counted as sent
//!   and dead-lettered, so the message accounting still balances. A tell reports
//!   success (a sender cannot see a partition); an ask fails with
//!   [`AskError::NoReply`](super::AskError::NoReply). Sends from outside any actor
//!   cross no partition. Entity refs ([`EntityRef`](super::EntityRef)) are not cut.
//!   One partition at a time; [`System::heal`] removes it.
//!
//! Every random choice comes from a generator the caller seeds, so a fault schedule
//! replays. **Cost when off**: one relaxed load of a byte in the actor's own cell and a
//! branch, per message handled and per send; nothing else runs until an actor is marked.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rustc_hash::FxBuildHasher;

use super::actor_ref::SendError;
use super::address::Address;
use super::cell::{Core, Node, lock};
use super::deadlock::{AsActor, current};
use super::supervision::Failure;
use super::system::{DeadLetterReason, System};

const HANDLER: u8 = 1;
const SIDE_A: u8 = 2;
const SIDE_B: u8 = 4;
const SIDES: u8 = SIDE_A | SIDE_B;

/// The fault bits of one actor, in its cell.
#[derive(Debug, Default)]
pub(crate) struct Mark(AtomicU8);

impl Mark {
    #[inline]
    pub(crate) fn has_handler_fault(&self) -> bool {
        self.0.load(Ordering::Relaxed) & HANDLER != 0
    }

    #[inline]
    fn bits(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, bits: u8) {
        self.0.fetch_or(bits, Ordering::Relaxed);
    }

    fn clear(&self, bits: u8) {
        self.0.fetch_and(!bits, Ordering::Relaxed);
    }
}

/// What a handler fault does to an affected message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerFault {
    /// The handler panics instead of handling the message.
    Crash,
    /// The handler first awaits a sleep of `base` plus a uniform draw from `0..=jitter`.
    Delay {
        /// The least added delay.
        base: Duration,
        /// The most added on top of `base`.
        jitter: Duration,
    },
    /// The handler first blocks its worker thread for this long (`std::thread::sleep`).
    Block(Duration),
}

/// One injected handler fault, shared by every actor it is installed on.
#[derive(Debug)]
pub struct ActorFault {
    kind: HandlerFault,
    /// Probability of affecting a message, in parts per million.
    toxicity_ppm: u32,
    rng: Mutex<StdRng>,
    affected: AtomicU64,
}

impl ActorFault {
    /// A fault affecting each message with probability `toxicity` (clamped to 0..=1),
    /// with its random draws from a generator seeded with `seed`.
    pub fn new(kind: HandlerFault, toxicity: f64, seed: u64) -> Arc<Self> {
        Arc::new(Self {
            kind,
            toxicity_ppm: (toxicity.clamp(0.0, 1.0) * 1_000_000.0).round() as u32,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            affected: AtomicU64::new(0),
        })
    }

    /// Messages this fault has affected so far.
    pub fn affected(&self) -> u64 {
        self.affected.load(Ordering::Relaxed)
    }

    /// Whether the next message is affected, and the delay drawn for it.
    fn roll(&self) -> Option<Duration> {
        let mut rng = lock(&self.rng);
        if self.toxicity_ppm < 1_000_000 && rng.random_range(0..1_000_000u32) >= self.toxicity_ppm {
            return None;
        }
        let extra = match self.kind {
            HandlerFault::Delay { base, jitter } if !jitter.is_zero() => {
                base + Duration::from_nanos(rng.random_range(0..=jitter.as_nanos() as u64))
            }
            HandlerFault::Delay { base, .. } => base,
            HandlerFault::Block(d) => d,
            HandlerFault::Crash => Duration::ZERO,
        };
        self.affected.fetch_add(1, Ordering::Relaxed);
        Some(extra)
    }
}

/// The system's installed faults.
#[derive(Default)]
pub(crate) struct FaultTable {
    /// Actor id -> its handler fault, and the actor (to unmark it again).
    handlers: DashMap<u64, (Arc<ActorFault>, Arc<dyn Node>), FxBuildHasher>,
    /// Actors on either side of the partition.
    partition: Mutex<Vec<Arc<dyn Node>>>,
    partitioned: AtomicU64,
}

/// Runs the handler fault of a marked actor before its next message: `Some` is the
/// failure to report instead of handling the message (a crash).
#[cold]
pub(crate) async fn before_handle(core: &Core) -> Option<Failure> {
    let fault = core.system.faults.handlers.get(&core.id)?.0.clone();
    let extra = fault.roll()?;
    match fault.kind {
        HandlerFault::Crash => Some(Failure::from_panic(Box::new("injected crash"))),
        HandlerFault::Delay { .. } => {
            AsActor::new(core, tokio::time::sleep(extra)).await;
            None
        }
        HandlerFault::Block(_) => {
            AsActor::new(core, async move { std::thread::sleep(extra) }).await;
            None
        }
    }
}

/// Whether a message to `to` from the current handler crosses the partition.
#[inline]
pub(crate) fn cut_off(to: &Core) -> bool {
    to.fault.bits() & SIDES != 0 && crosses(to)
}

#[cold]
fn crosses(to: &Core) -> bool {
    let Some(from) = current() else {
        return false;
    };
    let (a, b) = (from.fault.bits() & SIDES, to.fault.bits() & SIDES);
    a != 0 && a != b
}

/// Dead-letters a message the partition cut off (counted as sent and dead-lettered).
#[cold]
pub(crate) fn drop_partitioned<M>(to: &Core, msg: M) -> Result<(), SendError<M>> {
    drop(msg);
    let system = &to.system;
    let stripe = system.counters.local();
    stripe.bump(&stripe.sent);
    stripe.bump(&stripe.dead_lettered);
    system.faults.partitioned.fetch_add(1, Ordering::Relaxed);
    system.publish_dead_letters(
        to.address(),
        std::any::type_name::<M>(),
        DeadLetterReason::Partitioned,
        1,
    );
    Ok(())
}

impl System {
    /// Installs `fault` on the live actor at `address`; `false` when no actor lives
    /// there. Replaces a fault already installed on it.
    pub fn inject_handler_fault(&self, address: &Address, fault: &Arc<ActorFault>) -> bool {
        let shared = self.shared();
        let Some(node) = shared.node_at(address.as_str()) else {
            return false;
        };
        node.core().fault.set(HANDLER);
        let id = node.core().id;
        shared.faults.handlers.insert(id, (fault.clone(), node));
        true
    }

    /// Removes `fault` from every actor it is installed on; returns how many.
    pub fn clear_handler_fault(&self, fault: &Arc<ActorFault>) -> usize {
        let table = &self.shared().faults.handlers;
        let mut n = 0;
        table.retain(|_, (f, node)| {
            if Arc::ptr_eq(f, fault) {
                node.core().fault.clear(HANDLER);
                n += 1;
                false
            } else {
                true
            }
        });
        n
    }

    /// Kills the live actor at `address` (see [`ActorRef::kill`](super::ActorRef::kill));
    /// `false` when no actor lives there.
    pub fn kill_at(&self, address: &Address) -> bool {
        match self.shared().node_at(address.as_str()) {
            Some(node) => {
                node.kill();
                true
            }
            None => false,
        }
    }

    /// Cuts the live actors at addresses `a` off from those at `b` (replacing any
    /// earlier partition); returns how many actors were found on each side.
    pub fn partition(&self, a: &[Address], b: &[Address]) -> (usize, usize) {
        self.heal();
        let shared = self.shared();
        let mut marked = lock(&shared.faults.partition);
        let mut mark = |addresses: &[Address], side: u8| {
            let mut found = 0;
            for address in addresses {
                if let Some(node) = shared.node_at(address.as_str()) {
                    node.core().fault.set(side);
                    marked.push(node);
                    found += 1;
                }
            }
            found
        };
        (mark(a, SIDE_A), mark(b, SIDE_B))
    }

    /// Removes the partition, if any.
    pub fn heal(&self) {
        for node in lock(&self.shared().faults.partition).drain(..) {
            node.core().fault.clear(SIDES);
        }
    }

    /// Messages a partition has dead-lettered so far.
    pub fn partitioned_messages(&self) -> u64 {
        self.shared().faults.partitioned.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{Actor, ActorRef, AskError, Context, HandlerError, Props, ReplyTo};

    enum Msg {
        Ping(ReplyTo<u32>),
        Forward(ActorRef<Msg>, ReplyTo<Result<u32, AskError>>),
    }

    struct Echo(u32);

    impl Actor for Echo {
        type Msg = Msg;
        async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) -> Result<(), HandlerError> {
            self.0 += 1;
            match msg {
                Msg::Ping(r) => r.send(self.0),
                Msg::Forward(to, r) => r.send(to.ask(Msg::Ping, Duration::from_secs(1)).await),
            }
            Ok(())
        }
    }

    const T: Duration = Duration::from_secs(2);

    #[tokio::test]
    async fn crash_fails_the_handler_and_supervision_restarts_it() {
        let system = System::new("f").unwrap();
        let a = system.spawn("a", Props::new(|| Echo(0))).unwrap();
        assert_eq!(a.ask(Msg::Ping, T).await.unwrap(), 1);
        let fault = ActorFault::new(HandlerFault::Crash, 1.0, 7);
        assert!(system.inject_handler_fault(a.address(), &fault));
        assert!(matches!(a.ask(Msg::Ping, T).await, Err(AskError::NoReply)));
        assert_eq!(system.clear_handler_fault(&fault), 1);
        // A fresh instance (count restarted) answers again.
        assert_eq!(a.ask(Msg::Ping, T).await.unwrap(), 1);
        assert_eq!(fault.affected(), 1);
        assert_eq!(system.stats().actors.restarted, 1);
        let missing = Address::parse("actor://f/nobody").unwrap();
        assert!(!system.inject_handler_fault(&missing, &fault));
        system.shutdown(T).await;
    }

    #[tokio::test]
    async fn toxicity_draws_replay_with_the_seed() {
        let draws = |seed| {
            let f = ActorFault::new(HandlerFault::Crash, 0.3, seed);
            (0..200).map(|_| f.roll().is_some()).collect::<Vec<_>>()
        };
        assert_eq!(draws(1), draws(1));
        assert_ne!(draws(1), draws(2));
        let hits = draws(3).iter().filter(|h| **h).count();
        assert!((30..=90).contains(&hits), "{hits}");
    }

    #[tokio::test(start_paused = true)]
    async fn delay_adds_latency_within_the_jitter() {
        let system = System::new("f").unwrap();
        let a = system.spawn("a", Props::new(|| Echo(0))).unwrap();
        let d = HandlerFault::Delay {
            base: Duration::from_millis(100),
            jitter: Duration::from_millis(50),
        };
        let fault = ActorFault::new(d, 1.0, 1);
        system.inject_handler_fault(a.address(), &fault);
        let t0 = tokio::time::Instant::now();
        a.ask(Msg::Ping, T).await.unwrap();
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(100) && took <= Duration::from_millis(151));
        system.clear_handler_fault(&fault);
        system.shutdown(T).await;
    }

    #[tokio::test]
    async fn partition_dead_letters_across_and_heals() {
        let system = System::new("f").unwrap();
        let a = system.spawn("a", Props::new(|| Echo(0))).unwrap();
        let b = system.spawn("b", Props::new(|| Echo(0))).unwrap();
        let c = system.spawn("c", Props::new(|| Echo(0))).unwrap();
        assert_eq!(
            system.partition(&[a.address().clone()], &[b.address().clone()]),
            (1, 1)
        );
        let via = |from: &ActorRef<Msg>, to: &ActorRef<Msg>| {
            let (from, to) = (from.clone(), to.clone());
            async move { from.ask(|r| Msg::Forward(to, r), T).await.unwrap() }
        };
        assert!(matches!(via(&a, &b).await, Err(AskError::NoReply)));
        assert!(via(&a, &c).await.is_ok(), "c is on no side");
        // From outside any actor nothing is cut.
        assert!(b.ask(Msg::Ping, T).await.is_ok());
        assert_eq!(system.partitioned_messages(), 1);
        system.heal();
        assert!(via(&a, &b).await.is_ok());
        let m = system.stats().messages;
        assert_eq!(m.dead_lettered, 1);
        system.shutdown(T).await;
        assert_eq!(system.stats().messages.lost(), 0);
    }

    #[tokio::test]
    async fn kill_at_stops_the_actor() {
        let system = System::new("f").unwrap();
        let a = system.spawn("a", Props::new(|| Echo(0))).unwrap();
        a.ask(Msg::Ping, T).await.unwrap();
        assert!(system.kill_at(a.address()));
        a.wait_terminated().await;
        assert!(!system.kill_at(a.address()));
        system.shutdown(T).await;
    }
}
