//! Node kinds, and the actors task nodes run in.
//!
//! A task node is an actor, a child of the graph's own actor: it takes one piece of work
//! at a time from its bounded mailbox, runs the user's function on a snapshot of the
//! run's state, and hands the update (or the failure) to the run through the run's state
//! channel. Errors and panics of the user's function are caught and reported to the run;
//! the actor itself never fails, so one run's failure cannot disturb another's.
//! Control nodes (entry, router, fork, join, end) are pure functions of the state and
//! are evaluated by the run's driver, without a message round trip.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::FutureExt;
use tokio::sync::mpsc;

use super::error::NodePanic;
use crate::actor::{
    Actor, ActorRef, Context, HandlerError, MailboxConfig, Props, ReplyTo, SpawnError,
};

/// Index of a node in a graph's node table.
pub(crate) type NodeId = usize;

/// Decides where a router sends the run: from the state and the update that led to the
/// router (if the node before it was a task).
pub(crate) type RouteFn<S, U> = Arc<dyn Fn(&S, Option<&U>) -> &'static str + Send + Sync>;

/// Spawns a task node's actor as a child of the graph actor.
pub(crate) type Spawner<S, U> = Arc<
    dyn Fn(
            &mut Context<GraphActor<S, U>>,
            &str,
            MailboxConfig,
        ) -> Result<ActorRef<Exec<S, U>>, SpawnError>
        + Send
        + Sync,
>;

/// One node of a compiled graph. `T` is what a task node carries: a spawner in a
/// blueprint, an actor ref in a running graph.
pub(crate) struct Node<T, R> {
    pub(crate) name: Arc<str>,
    pub(crate) kind: Kind<T, R>,
}

/// How to spawn a task node: its spawner and how many actors serve it.
pub(crate) struct TaskPlan<S: Send + Sync + 'static, U: Send + 'static> {
    pub(crate) spawner: Spawner<S, U>,
    pub(crate) workers: usize,
}

/// The actors of a running task node. Work goes to them in turn.
pub(crate) struct Pool<S: Send + Sync + 'static, U: Send + 'static> {
    pub(crate) actors: Box<[ActorRef<Exec<S, U>>]>,
    turn: AtomicUsize,
}

impl<S: Send + Sync + 'static, U: Send + 'static> Pool<S, U> {
    pub(crate) fn new(actors: Box<[ActorRef<Exec<S, U>>]>) -> Self {
        Self {
            actors,
            turn: AtomicUsize::new(0),
        }
    }

    /// The index of the actor that takes the next piece of work.
    pub(crate) fn pick(&self) -> usize {
        match self.actors.len() {
            1 => 0,
            n => self.turn.fetch_add(1, Ordering::Relaxed) % n,
        }
    }
}

/// A node of a blueprint: task nodes carry how to spawn their actors.
pub(crate) type PlannedNode<S, U> = Node<TaskPlan<S, U>, RouteFn<S, U>>;

/// A node of a running graph: task nodes carry their actors.
pub(crate) type LiveNode<S, U> = Node<Pool<S, U>, RouteFn<S, U>>;

/// The node kinds, with their successors resolved to ids.
pub(crate) enum Kind<T, R> {
    Entry {
        next: NodeId,
    },
    Task {
        next: NodeId,
        task: T,
    },
    Router {
        targets: Box<[NodeId]>,
        route: R,
    },
    Fork {
        branches: Box<[NodeId]>,
        join: NodeId,
    },
    Join {
        next: NodeId,
    },
    End,
}

/// Work for a task node: run the function on `input` and send the outcome, tagged with
/// `token`, to `reply` (the run's state channel).
pub(crate) struct Exec<S, U> {
    pub(crate) token: usize,
    pub(crate) input: Arc<S>,
    pub(crate) reply: mpsc::Sender<Done<U>>,
}

/// What a task node hands back to the run.
pub(crate) struct Done<U> {
    pub(crate) token: usize,
    pub(crate) outcome: Result<U, HandlerError>,
}

/// The actor a task node runs in. Generic over the user's function so the call is
/// static and its future is not boxed.
struct TaskActor<S, U, F> {
    work: Arc<F>,
    _types: PhantomData<fn(S) -> U>,
}

impl<S, U, F, Fut> Actor for TaskActor<S, U, F>
where
    S: Send + Sync + 'static,
    U: Send + 'static,
    F: Fn(Arc<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<U, HandlerError>> + Send + 'static,
{
    type Msg = Exec<S, U>;

    fn kind() -> &'static str {
        "graph-node"
    }

    async fn handle(
        &mut self,
        exec: Exec<S, U>,
        _: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        // The run is over (finished, failed, timed out or cancelled): skip its work.
        if exec.reply.is_closed() {
            return Ok(());
        }
        let work = &self.work;
        let input = exec.input;
        // The call is inside the guarded future, so a panic before its first await is
        // caught too.
        let outcome = AssertUnwindSafe(async move { work(input).await })
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Err(Box::new(NodePanic(panic_message(&*panic))) as HandlerError)
            });
        // Never waits: a run keeps at most `state_channel` executions in flight. An error
        // means the run is gone; its update is discarded.
        let _ = exec
            .reply
            .send(Done {
                token: exec.token,
                outcome,
            })
            .await;
        Ok(())
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// A spawner for a task node running `work`.
pub(crate) fn task_spawner<S, U, F, Fut>(work: F) -> Spawner<S, U>
where
    S: Send + Sync + 'static,
    U: Send + 'static,
    F: Fn(Arc<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<U, HandlerError>> + Send + 'static,
{
    let work = Arc::new(work);
    Arc::new(move |ctx, name, mailbox| {
        let work = work.clone();
        ctx.spawn(
            name,
            Props::new(move || TaskActor {
                work: work.clone(),
                _types: PhantomData,
            })
            .mailbox(mailbox),
        )
    })
}

/// Asks the graph actor to spawn one node actor as its child.
pub(crate) struct SpawnNode<S: Send + Sync + 'static, U: Send + 'static> {
    pub(crate) name: Arc<str>,
    pub(crate) spawner: Spawner<S, U>,
    pub(crate) mailbox: MailboxConfig,
    pub(crate) reply: ReplyTo<Result<ActorRef<Exec<S, U>>, SpawnError>>,
}

/// The graph's own actor: parent and supervisor of its task node actors, so a graph's
/// actors sit under one address (`actor://<system>/<graph>/<node>`) and stop together.
pub(crate) struct GraphActor<S, U>(PhantomData<fn(S) -> U>);

impl<S, U> GraphActor<S, U> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<S, U> Actor for GraphActor<S, U>
where
    S: Send + Sync + 'static,
    U: Send + 'static,
{
    type Msg = SpawnNode<S, U>;

    fn kind() -> &'static str {
        "graph"
    }

    async fn handle(
        &mut self,
        msg: SpawnNode<S, U>,
        ctx: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        msg.reply.send((msg.spawner)(ctx, &msg.name, msg.mailbox));
        Ok(())
    }
}
