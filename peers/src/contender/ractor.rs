//! ractor 0.16: `Actor::spawn` (unnamed, so no global registry entry), `cast` for tells,
//! `call` without a timeout for asks, `stop` + joining the actor's handle for stop.
//! ractor's message port is unbounded, so `capacity` is ignored: its tells never wait.

use crate::Contender;
use ::ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, rpc::CallResult};
use tokio::task::JoinHandle;

/// ractor with its default features (`tokio_runtime`, `message_span_propogation`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ractor;

/// The ractor counter actor (state lives in `Actor::State`, as ractor prescribes).
#[derive(Debug)]
pub struct RactorCounter;

/// Messages of the ractor counter.
#[derive(Debug)]
pub enum Msg {
    /// Tell: add `n`.
    Add(u64),
    /// Ask: add `n`, reply with the total.
    AddAndGet(u64, RpcReplyPort<u64>),
}

impl Actor for RactorCounter {
    type Msg = Msg;
    type State = u64;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<Msg>, _: ()) -> Result<u64, ActorProcessingErr> {
        Ok(0)
    }

    async fn handle(
        &self,
        _: ActorRef<Msg>,
        msg: Msg,
        total: &mut u64,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Msg::Add(n) => *total += n,
            Msg::AddAndGet(n, reply) => {
                *total += n;
                let _ = reply.send(*total);
            }
        }
        Ok(())
    }
}

/// Handle to one ractor counter.
#[derive(Debug)]
pub struct Counter {
    actor: ActorRef<Msg>,
    task: JoinHandle<()>,
}

impl Contender for Ractor {
    const NAME: &'static str = "ractor";
    type Counter = Counter;

    async fn spawn(&self, _capacity: usize) -> Counter {
        let (actor, task) = Actor::spawn(None, RactorCounter, ())
            .await
            .expect("ractor spawn failed");
        Counter { actor, task }
    }

    async fn tell(counter: &Counter, n: u64) {
        counter.actor.cast(Msg::Add(n)).expect("ractor cast failed");
    }

    async fn ask(counter: &Counter, n: u64) -> u64 {
        match counter
            .actor
            .call(|reply| Msg::AddAndGet(n, reply), None)
            .await
        {
            Ok(CallResult::Success(total)) => total,
            other => panic!("ractor call failed: {other:?}"),
        }
    }

    async fn stop(counter: Counter) {
        counter.actor.stop(None);
        counter.task.await.expect("ractor actor task panicked");
    }
}
