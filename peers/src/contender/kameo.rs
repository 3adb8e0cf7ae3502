//! kameo 0.22: `Spawn::spawn_with_mailbox` with a bounded mailbox, `tell(..).await`
//! (waits for mailbox capacity like a bounded mpsc send), `ask(..).await` without a reply
//! timeout, and `stop_gracefully` + `wait_for_shutdown` for stop.

use crate::Contender;
use ::kameo::actor::{ActorRef, Spawn};
use ::kameo::mailbox;
use ::kameo::message::{Context, Message};
use std::convert::Infallible;

/// kameo with its default features (`macros`, `tracing`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Kameo;

/// The kameo counter actor.
#[derive(Debug)]
pub struct KameoCounter {
    total: u64,
}

impl ::kameo::Actor for KameoCounter {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(state: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(state)
    }
}

/// Tell message: add `n`.
#[derive(Debug)]
pub struct Add(u64);

/// Ask message: add `n`, reply with the total.
#[derive(Debug)]
pub struct AddAndGet(u64);

impl Message<Add> for KameoCounter {
    type Reply = ();

    async fn handle(&mut self, Add(n): Add, _: &mut Context<Self, ()>) {
        self.total += n;
    }
}

impl Message<AddAndGet> for KameoCounter {
    type Reply = u64;

    async fn handle(&mut self, AddAndGet(n): AddAndGet, _: &mut Context<Self, u64>) -> u64 {
        self.total += n;
        self.total
    }
}

impl Contender for Kameo {
    const NAME: &'static str = "kameo";
    type Counter = ActorRef<KameoCounter>;

    async fn spawn(&self, capacity: usize) -> ActorRef<KameoCounter> {
        let actor =
            KameoCounter::spawn_with_mailbox(KameoCounter { total: 0 }, mailbox::bounded(capacity));
        actor.wait_for_startup().await;
        actor
    }

    async fn tell(counter: &ActorRef<KameoCounter>, n: u64) {
        counter.tell(Add(n)).await.expect("kameo tell failed");
    }

    async fn ask(counter: &ActorRef<KameoCounter>, n: u64) -> u64 {
        counter.ask(AddAndGet(n)).await.expect("kameo ask failed")
    }

    async fn stop(counter: ActorRef<KameoCounter>) {
        counter.stop_gracefully().await.expect("kameo stop failed");
        counter.wait_for_shutdown().await;
    }
}
