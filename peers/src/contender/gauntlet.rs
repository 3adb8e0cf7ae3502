//! gauntlet-runtime: actors spawned unnamed (`spawn_unnamed`, as the other contenders
//! spawn) under one `System` with a bounded `Policy::Block` mailbox (the default
//! policy), `tell(..).await` (waits for room, like a bounded mpsc send), `ask` with a
//! generous timeout (gauntlet's ask always carries one), and `stop` +
//! `wait_terminated` for stop.

use crate::Contender;
use gauntlet_runtime::actor::{
    Actor, ActorRef, Context, HandlerError, MailboxConfig, Policy, Props, ReplyTo, System,
    SystemConfig,
};
use std::time::Duration;

/// Ask timeout: never reached in the benches; gauntlet's `ask` requires one.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);

/// gauntlet-runtime, holding the `System` its actors live in.
#[derive(Debug)]
pub struct Gauntlet {
    system: System,
}

impl Gauntlet {
    /// Starts a system named `bench`. Call inside a tokio runtime.
    pub fn new() -> Self {
        Self {
            system: System::new("bench").expect("actor system"),
        }
    }

    /// Like [`new`](Self::new), with every actor hibernating after `idle` without a
    /// message (`SystemConfig::hibernate_after`).
    pub fn hibernating(idle: Duration) -> Self {
        let config = SystemConfig {
            hibernate_after: Some(idle),
            ..SystemConfig::default()
        };
        Self {
            system: System::with_config("bench", config).expect("actor system"),
        }
    }

    /// The system the actors live in.
    pub fn system(&self) -> &System {
        &self.system
    }
}

impl Default for Gauntlet {
    fn default() -> Self {
        Self::new()
    }
}

/// Messages of the gauntlet counter.
#[derive(Debug)]
pub enum Msg {
    /// Tell: add `n`.
    Add(u64),
    /// Ask: add `n`, reply with the total.
    AddAndGet(u64, ReplyTo<u64>),
}

/// The gauntlet counter actor.
#[derive(Debug, Default)]
pub struct GauntletCounter {
    total: u64,
}

impl Actor for GauntletCounter {
    type Msg = Msg;

    async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            Msg::Add(n) => self.total += n,
            Msg::AddAndGet(n, reply) => {
                self.total += n;
                reply.send(self.total);
            }
        }
        Ok(())
    }
}

impl Contender for Gauntlet {
    const NAME: &'static str = "gauntlet";
    type Counter = ActorRef<Msg>;

    async fn spawn(&self, capacity: usize) -> ActorRef<Msg> {
        let props = Props::new(GauntletCounter::default)
            .mailbox(MailboxConfig::new(capacity, Policy::Block));
        // Unnamed, like the kameo and ractor contenders (and raw tokio) spawn.
        self.system
            .spawn_unnamed(props)
            .expect("gauntlet spawn failed")
    }

    async fn tell(counter: &ActorRef<Msg>, n: u64) {
        counter
            .tell(Msg::Add(n))
            .await
            .expect("gauntlet tell failed");
    }

    async fn ask(counter: &ActorRef<Msg>, n: u64) -> u64 {
        counter
            .ask(|reply| Msg::AddAndGet(n, reply), ASK_TIMEOUT)
            .await
            .expect("gauntlet ask failed")
    }

    async fn stop(counter: ActorRef<Msg>) {
        counter.stop();
        counter.wait_terminated().await;
    }

    async fn shutdown(self) {
        self.system.shutdown(Duration::from_secs(10)).await;
    }
}
