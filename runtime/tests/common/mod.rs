//! Test actors shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gauntlet_runtime::actor::{
    Actor, Context, Failure, HandlerError, Props, ReplyTo, StopReason, System,
};
use tokio::sync::Semaphore;

/// A shared, ordered log of lifecycle events.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    pub fn count(&self, s: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|e| *e == s).count()
    }
}

pub enum Msg {
    /// Record a value.
    Work(u64),
    /// Wait for one permit of the gate before going on.
    Hold(Arc<Semaphore>),
    /// Reply with everything recorded by this incarnation.
    Get(ReplyTo<Vec<u64>>),
    /// Fail with an error.
    Fail(&'static str),
    /// Panic.
    Panic,
    /// Spawn a child recorder with this name and reply with its address.
    SpawnChild(String, ReplyTo<String>),
    /// Take the request and never answer.
    Ignore(ReplyTo<u64>),
    /// Stop self.
    StopSelf,
}

/// Records work; logs lifecycle as `<name>:<event>`.
pub struct Recorder {
    pub name: String,
    pub seen: Vec<u64>,
    pub log: Log,
}

impl Recorder {
    pub fn props(name: &str, log: &Log) -> Props<Recorder> {
        let (name, log) = (name.to_owned(), log.clone());
        Props::new(move || Recorder {
            name: name.clone(),
            seen: Vec::new(),
            log: log.clone(),
        })
    }
}

impl Actor for Recorder {
    type Msg = Msg;

    async fn started(&mut self, _ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        self.log.push(format!("{}:started", self.name));
        Ok(())
    }

    async fn handle(&mut self, msg: Msg, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            Msg::Work(n) => self.seen.push(n),
            Msg::Hold(gate) => {
                let _permit = gate.acquire().await;
            }
            Msg::Get(reply) => reply.send(self.seen.clone()),
            Msg::Fail(why) => return Err(why.into()),
            Msg::Panic => panic!("{} panicked on purpose", self.name),
            Msg::SpawnChild(name, reply) => {
                let child = ctx.spawn(&name, Recorder::props(&name, &self.log))?;
                reply.send(child.address().to_string());
            }
            Msg::Ignore(_reply) => {}
            Msg::StopSelf => ctx.stop(),
        }
        Ok(())
    }

    async fn stopping(
        &mut self,
        _ctx: &mut Context<Self>,
        reason: &StopReason,
    ) -> Result<(), HandlerError> {
        self.log.push(format!("{}:stopping:{reason}", self.name));
        Ok(())
    }

    fn stopped(&mut self, _reason: &StopReason) {
        self.log.push(format!("{}:stopped", self.name));
    }

    fn before_restart(&mut self, _ctx: &mut Context<Self>, _cause: &Failure) {
        self.log.push(format!("{}:before_restart", self.name));
    }
}

pub const T: Duration = Duration::from_secs(5);

/// Waits (yielding, bounded) until `f` holds. Not a timing assertion: a liveness guard
/// so a broken runtime fails the test instead of hanging it.
pub async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..10_000 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    f()
}

pub fn system(name: &str) -> System {
    System::new(name).expect("system")
}
