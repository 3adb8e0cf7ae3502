//! The roles actors play in the `actors` workload: worker, router, supervisor.

use std::time::{Duration, Instant};

use gauntlet_runtime::actor::{Actor, ActorRef, Context, HandlerError, Props, ReplyTo};

/// The one message type every actor of the workload handles.
#[derive(Debug)]
pub enum Msg {
    /// A tell: do the handler's work, and forward it (in a chain or ring: at most the
    /// given number of further hops).
    Work(u64, u32),
    /// An ask: do the work and reply.
    Ask(u64, ReplyTo<u64>),
    /// Collect the leaf workers of a supervision tree.
    Leaves(ReplyTo<Vec<ActorRef<Msg>>>),
    /// Set a worker's successor (closes a ring after its actors exist). A restart
    /// re-creates the worker from its factory and so forgets it.
    SetNext(ActorRef<Msg>),
}

/// What each worker does per message.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub work: Duration,
    pub sleep: Duration,
    pub fail_every: u64,
    pub ask_timeout: Duration,
}

impl WorkerConfig {
    async fn perform(&self) {
        if !self.work.is_zero() {
            let until = Instant::now() + self.work;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        if !self.sleep.is_zero() {
            tokio::time::sleep(self.sleep).await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("injected failure (fail_every = {0})")]
struct Injected(u64);

/// A worker: does the configured work, optionally forwarding to the next in a chain.
pub struct Worker {
    cfg: WorkerConfig,
    next: Option<ActorRef<Msg>>,
    handled: u64,
}

impl Worker {
    pub fn new(cfg: WorkerConfig, next: Option<ActorRef<Msg>>) -> Self {
        Self {
            cfg,
            next,
            handled: 0,
        }
    }
}

impl Actor for Worker {
    type Msg = Msg;

    async fn handle(&mut self, msg: Msg, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        self.handled += 1;
        if self.cfg.fail_every > 0 && self.handled.is_multiple_of(self.cfg.fail_every) {
            return Err(Box::new(Injected(self.cfg.fail_every)));
        }
        match msg {
            Msg::Work(n, hops) => {
                self.cfg.perform().await;
                if let Some(next) = self.next.as_ref().filter(|_| hops > 0) {
                    // A full or stopped successor is counted by the runtime; the chain goes on.
                    let _ = next.tell(Msg::Work(n, hops - 1)).await;
                }
            }
            Msg::Ask(n, reply) => {
                self.cfg.perform().await;
                match &self.next {
                    None => reply.send(n),
                    Some(next) => {
                        if let Ok(v) = next.ask(|r| Msg::Ask(n, r), self.cfg.ask_timeout).await {
                            reply.send(v);
                        }
                    }
                }
            }
            Msg::Leaves(reply) => reply.send(vec![ctx.myself()]),
            Msg::SetNext(next) => self.next = Some(next),
        }
        Ok(())
    }
}

/// A router that forwards every op to all of its children.
pub struct Router {
    width: usize,
    cfg: WorkerConfig,
    ask_timeout: Duration,
    children: Vec<ActorRef<Msg>>,
}

impl Router {
    pub fn new(width: usize, cfg: WorkerConfig, ask_timeout: Duration) -> Self {
        Self {
            width,
            cfg,
            ask_timeout,
            children: Vec::new(),
        }
    }
}

impl Actor for Router {
    type Msg = Msg;

    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        self.children.clear();
        for i in 0..self.width {
            let cfg = self.cfg.clone();
            self.children.push(ctx.spawn(
                &format!("leaf-{i}"),
                Props::new(move || Worker::new(cfg.clone(), None)),
            )?);
        }
        Ok(())
    }

    async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            Msg::Work(n, hops) => {
                for c in &self.children {
                    let _ = c.tell(Msg::Work(n, hops)).await;
                }
            }
            Msg::Ask(n, reply) => {
                let timeout = self.ask_timeout;
                let answers = futures_util::future::join_all(
                    self.children
                        .iter()
                        .map(|c| c.ask(move |r| Msg::Ask(n, r), timeout)),
                )
                .await;
                if answers.iter().all(Result::is_ok) {
                    reply.send(n);
                }
            }
            Msg::Leaves(reply) => reply.send(self.children.clone()),
            Msg::SetNext(_) => {}
        }
        Ok(())
    }
}

/// A supervisor: `breadth` children, supervisors again until the last level, whose
/// children are workers.
pub struct Supervisor {
    depth: u32,
    breadth: usize,
    cfg: WorkerConfig,
    children: Vec<ActorRef<Msg>>,
}

impl Supervisor {
    pub fn new(depth: u32, breadth: usize, cfg: WorkerConfig) -> Self {
        Self {
            depth,
            breadth,
            cfg,
            children: Vec::new(),
        }
    }
}

impl Actor for Supervisor {
    type Msg = Msg;

    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        self.children.clear();
        for i in 0..self.breadth {
            let cfg = self.cfg.clone();
            let child = if self.depth > 1 {
                let (d, b) = (self.depth - 1, self.breadth);
                ctx.spawn(
                    &format!("sup-{i}"),
                    Props::new(move || Supervisor::new(d, b, cfg.clone()))
                        .supervisor(super::restart_everything()),
                )?
            } else {
                ctx.spawn(
                    &format!("leaf-{i}"),
                    Props::new(move || Worker::new(cfg.clone(), None)),
                )?
            };
            self.children.push(child);
        }
        Ok(())
    }

    async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            Msg::Leaves(reply) => {
                if self.depth <= 1 {
                    reply.send(self.children.clone());
                } else {
                    let mut leaves = Vec::new();
                    for c in &self.children {
                        leaves.extend(c.ask(Msg::Leaves, self.cfg.ask_timeout).await?);
                    }
                    reply.send(leaves);
                }
            }
            // Ops go to the leaves; a supervisor handed one passes it on.
            Msg::Work(n, hops) => {
                if let Some(c) = self.children.first() {
                    let _ = c.tell(Msg::Work(n, hops)).await;
                }
            }
            Msg::Ask(n, reply) => {
                if let Some(c) = self.children.first()
                    && let Ok(v) = c.ask(|r| Msg::Ask(n, r), self.cfg.ask_timeout).await
                {
                    reply.send(v);
                }
            }
            Msg::SetNext(_) => {}
        }
        Ok(())
    }
}
