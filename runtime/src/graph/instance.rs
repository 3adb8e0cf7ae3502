//! [`Graph`]: a spawned graph, which runs start from; [`RunHandle`]: one started run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::config::{GraphConfig, RunLimits};
use super::error::RunError;
use super::events::{Channels, Level, Observer, RunId};
use super::node::{Kind, LiveNode, NodeId, SpawnNode};
use super::run::{RunControl, RunOutput, drive};
use crate::actor::{ActorRef, Address};

/// Merges one update into the state.
pub(crate) type Reducer<S, U> = Arc<dyn Fn(&mut S, U) + Send + Sync>;

/// What every run of a graph shares, read-only (the observers' channels aside).
pub(crate) struct Shared<S: Send + Sync + 'static, U: Send + 'static> {
    pub(crate) actor: ActorRef<SpawnNode<S, U>>,
    pub(crate) nodes: Box<[LiveNode<S, U>]>,
    pub(crate) entry: NodeId,
    pub(crate) reducer: Reducer<S, U>,
    pub(crate) config: GraphConfig,
    pub(crate) events: Channels,
    next_run: AtomicU64,
}

/// A graph whose task nodes run as actors. Cheap to clone; every clone is the same
/// graph. Runs are independent: each has its own state, limits and outcome, and any
/// number can be in flight at once.
///
/// The graph's actors live until [`stop`](Self::stop) or the system's shutdown; dropping
/// every handle does not stop them.
pub struct Graph<S: Send + Sync + 'static, U: Send + 'static> {
    shared: Arc<Shared<S, U>>,
}

impl<S: Send + Sync + 'static, U: Send + 'static> Clone for Graph<S, U> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<S: Send + Sync + 'static, U: Send + 'static> std::fmt::Debug for Graph<S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Graph({})", self.shared.actor.address())
    }
}

impl<S, U> Graph<S, U>
where
    S: Clone + Send + Sync + 'static,
    U: Clone + Send + 'static,
{
    pub(crate) fn new(
        actor: ActorRef<SpawnNode<S, U>>,
        nodes: Box<[LiveNode<S, U>]>,
        entry: NodeId,
        reducer: Reducer<S, U>,
        config: GraphConfig,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                actor,
                nodes,
                entry,
                reducer,
                events: Channels::new(config.event_buffer),
                config,
                next_run: AtomicU64::new(1),
            }),
        }
    }

    /// The graph actor's address, `actor://<system>/<graph>`.
    pub fn address(&self) -> &Address {
        self.shared.actor.address()
    }

    /// The address of task node `node`'s actor (its first, for a pool), if there is
    /// such a task node.
    pub fn node_address(&self, node: &str) -> Option<&Address> {
        self.node_addresses(node).first().copied()
    }

    /// The addresses of all actors serving task node `node` (empty if there is no such
    /// task node).
    pub fn node_addresses(&self, node: &str) -> Vec<&Address> {
        self.shared
            .nodes
            .iter()
            .filter(|n| &*n.name == node)
            .flat_map(|n| match &n.kind {
                Kind::Task { task, .. } => task.actors.iter().map(|a| a.address()).collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// The graph's settings.
    pub fn config(&self) -> &GraphConfig {
        &self.shared.config
    }

    fn next_id(&self) -> RunId {
        RunId(self.shared.next_run.fetch_add(1, Ordering::Relaxed))
    }

    /// Runs the graph from `initial` in the caller's task, with the graph's limits, and
    /// returns the final state. Dropping the future abandons the run (its queued node
    /// work is skipped), like [`RunHandle::cancel`] but without a `RunFailed` event.
    pub async fn run(&self, initial: S) -> Result<RunOutput<S>, RunError> {
        self.run_with(initial, self.shared.config.limits).await
    }

    /// [`run`](Self::run) with its own limits.
    pub async fn run_with(&self, initial: S, limits: RunLimits) -> Result<RunOutput<S>, RunError> {
        drive(&self.shared, self.next_id(), initial, limits, None).await
    }

    /// Starts a run from `initial` in its own task and returns its handle. Dropping the
    /// handle detaches the run; it still ends by itself (an end, a failure or a limit).
    pub fn start(&self, initial: S) -> RunHandle<S> {
        self.start_with(initial, self.shared.config.limits)
    }

    /// [`start`](Self::start) with its own limits.
    pub fn start_with(&self, initial: S, limits: RunLimits) -> RunHandle<S> {
        let id = self.next_id();
        let control = Arc::new(RunControl::default());
        let shared = self.shared.clone();
        let ctl = control.clone();
        let task =
            tokio::spawn(async move { drive(&shared, id, initial, limits, Some(&ctl)).await });
        RunHandle { id, control, task }
    }

    /// Subscribes to step events of every run from now on (see [`events`](super::events)).
    pub fn observe(&self, level: Level) -> Observer {
        self.shared.events.subscribe(level)
    }

    /// Stops the graph's actors (the graph actor and its node actors) and waits up to
    /// `timeout` for them to end. Runs in flight then fail with
    /// [`RunError::NodeUnavailable`] at their next task node. Returns whether they ended
    /// in time.
    pub async fn stop(&self, timeout: Duration) -> bool {
        self.shared.actor.stop();
        tokio::time::timeout(timeout, self.shared.actor.wait_terminated())
            .await
            .is_ok()
    }
}

/// A run started with [`Graph::start`].
#[derive(Debug)]
pub struct RunHandle<S> {
    id: RunId,
    control: Arc<RunControl>,
    task: JoinHandle<Result<RunOutput<S>, RunError>>,
}

impl<S> RunHandle<S> {
    /// The run's id, as in its step events.
    pub fn id(&self) -> RunId {
        self.id
    }

    /// Cancels the run (see the [module docs](super) for what that does). Idempotent;
    /// a run that already ended keeps its outcome.
    pub fn cancel(&self) {
        self.control.cancel();
    }

    /// Whether the run has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the run's outcome.
    pub async fn wait(self) -> Result<RunOutput<S>, RunError> {
        match self.task.await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => {
                let panic = e.into_panic();
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                Err(RunError::Driver(format!("panicked: {text}")))
            }
            Err(e) => Err(RunError::Driver(e.to_string())),
        }
    }
}
