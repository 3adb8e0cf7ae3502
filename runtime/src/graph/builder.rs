//! [`GraphBuilder`]: declare nodes and edges; [`Blueprint`]: a validated graph, ready to
//! be spawned on a [`System`] any number of times.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::config::GraphConfig;
use super::error::{BuildError, SpawnGraphError};
use super::instance::{Graph, Reducer};
use super::node::{
    GraphActor, Kind, Node, PlannedNode, Pool, RouteFn, SpawnNode, TaskPlan, task_spawner,
};
use super::validate::{Decl, DeclKind, Topology, validate};
use crate::actor::address::validate_name;
use crate::actor::{HandlerError, Policy, Props, System};

/// What a task node's function returns on failure: any error, boxed (`?` converts).
pub type TaskError = HandlerError;

/// How long spawning a graph waits for its graph actor to create each node actor.
const SPAWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Declares a graph: its state type `S`, its update type `U`, the reducer that merges an
/// update into the state, nodes and edges. Declaration order does not matter; names are
/// resolved and the whole graph is checked by [`build`](Self::build).
pub struct GraphBuilder<S: Send + Sync + 'static, U: Send + 'static> {
    name: String,
    reducer: Reducer<S, U>,
    decls: Vec<Decl<TaskPlan<S, U>, RouteFn<S, U>>>,
    edges: Vec<(String, String)>,
    config: GraphConfig,
}

impl<S, U> GraphBuilder<S, U>
where
    S: Clone + Send + Sync + 'static,
    U: Clone + Send + 'static,
{
    /// A graph called `name` (its actor's name, so a valid address segment) whose
    /// updates are merged into the state by `reducer`.
    pub fn new(name: &str, reducer: impl Fn(&mut S, U) + Send + Sync + 'static) -> Self {
        Self {
            name: name.to_owned(),
            reducer: Arc::new(reducer),
            decls: Vec::new(),
            edges: Vec::new(),
            config: GraphConfig::default(),
        }
    }

    /// The graph's settings (limits, channel and mailbox bounds, event buffer).
    pub fn config(mut self, config: GraphConfig) -> Self {
        self.config = config;
        self
    }

    fn node(mut self, name: &str, kind: DeclKind<TaskPlan<S, U>, RouteFn<S, U>>) -> Self {
        self.decls.push(Decl {
            name: name.to_owned(),
            kind,
        });
        self
    }

    /// The entry node, where every run starts. Exactly one; give it one [`edge`](Self::edge).
    pub fn entry(self, name: &str) -> Self {
        self.node(name, DeclKind::Entry)
    }

    /// An end node: a run that reaches one is finished. At least one; no outgoing edges.
    pub fn end(self, name: &str) -> Self {
        self.node(name, DeclKind::End)
    }

    /// A task node, run as an actor: `work` gets a snapshot of the state and returns an
    /// update for the reducer, or an error that fails the run. Give it one [`edge`](Self::edge).
    pub fn task<F, Fut>(self, name: &str, work: F) -> Self
    where
        F: Fn(Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, TaskError>> + Send + 'static,
    {
        self.task_pool(name, 1, work)
    }

    /// A task node served by `workers` actors (at least 1) instead of one, for work that
    /// waits (I/O, timers) and should not make other runs queue behind it. Work goes to
    /// the actors in turn; they are named `<name>.0`, `<name>.1`, ... (`<name>` when
    /// there is one).
    pub fn task_pool<F, Fut>(self, name: &str, workers: usize, work: F) -> Self
    where
        F: Fn(Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, TaskError>> + Send + 'static,
    {
        let plan = TaskPlan {
            spawner: task_spawner(work),
            workers: workers.max(1),
        };
        self.node(name, DeclKind::Task(plan))
    }

    /// A router: `route` picks the next node among `targets` from the state and the
    /// update that led here (`Some` when the node before was a task).
    pub fn router<T: AsRef<str>>(
        self,
        name: &str,
        targets: impl IntoIterator<Item = T>,
        route: impl Fn(&S, Option<&U>) -> &'static str + Send + Sync + 'static,
    ) -> Self {
        let targets = targets.into_iter().map(|t| t.as_ref().to_owned()).collect();
        self.node(
            name,
            DeclKind::Router {
                targets,
                route: Arc::new(route),
            },
        )
    }

    /// A fork: the run continues down every branch at once, each branch on its own copy
    /// of the state, until all meet at the [`join`](Self::join) that names this fork.
    pub fn fork<T: AsRef<str>>(self, name: &str, branches: impl IntoIterator<Item = T>) -> Self {
        let branches = branches
            .into_iter()
            .map(|b| b.as_ref().to_owned())
            .collect();
        self.node(name, DeclKind::Fork { branches })
    }

    /// The join of `fork`: waits for all its branches, then merges their updates into
    /// the state the fork saw, in branch order. Give it one [`edge`](Self::edge).
    pub fn join(self, name: &str, fork: &str) -> Self {
        self.node(
            name,
            DeclKind::Join {
                fork: fork.to_owned(),
            },
        )
    }

    /// The edge `from -> to`. Entry, task and join nodes take exactly one.
    pub fn edge(mut self, from: &str, to: &str) -> Self {
        self.edges.push((from.to_owned(), to.to_owned()));
        self
    }

    /// Checks the graph (see [`validate`](super::validate)) and returns it ready to spawn.
    pub fn build(self) -> Result<Blueprint<S, U>, BuildError> {
        let invalid = |what| move |error| BuildError::InvalidName { what, error };
        validate_name(&self.name).map_err(invalid("graph"))?;
        for decl in &self.decls {
            if let DeclKind::Task(_) = decl.kind {
                validate_name(&decl.name).map_err(invalid("task node"))?;
            }
        }
        let policy = self.config.node_mailbox.policy;
        if matches!(policy, Policy::DropNewest | Policy::DropOldest) {
            return Err(BuildError::LossyNodeMailbox(policy));
        }
        let Topology { nodes, entry } = validate(self.decls, &self.edges)?;
        Ok(Blueprint {
            name: self.name,
            reducer: self.reducer,
            nodes: nodes.into(),
            entry,
            config: self.config,
        })
    }
}

/// A validated graph definition. [`spawn`](Self::spawn) starts its actors on a system;
/// it can be spawned more than once (under different names).
pub struct Blueprint<S: Send + Sync + 'static, U: Send + 'static> {
    name: String,
    reducer: Reducer<S, U>,
    nodes: Arc<[PlannedNode<S, U>]>,
    entry: usize,
    config: GraphConfig,
}

impl<S: Send + Sync + 'static, U: Send + 'static> std::fmt::Debug for Blueprint<S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: Vec<&str> = self.nodes.iter().map(|n| &*n.name).collect();
        f.debug_struct("Blueprint")
            .field("name", &self.name)
            .field("nodes", &nodes)
            .field("config", &self.config)
            .finish()
    }
}

impl<S: Send + Sync + 'static, U: Send + 'static> Clone for Blueprint<S, U> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            reducer: self.reducer.clone(),
            nodes: self.nodes.clone(),
            entry: self.entry,
            config: self.config,
        }
    }
}

impl<S, U> Blueprint<S, U>
where
    S: Clone + Send + Sync + 'static,
    U: Clone + Send + 'static,
{
    /// The graph's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same blueprint under another name (to spawn it twice on one system).
    pub fn named(mut self, name: &str) -> Self {
        name.clone_into(&mut self.name);
        self
    }

    /// Spawns the graph actor at `actor://<system>/<name>` and one child actor per task
    /// node at `actor://<system>/<name>/<node>`.
    pub async fn spawn(&self, system: &System) -> Result<Graph<S, U>, SpawnGraphError> {
        let actor = system.spawn(&self.name, Props::new(GraphActor::<S, U>::new))?;
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for node in self.nodes.iter() {
            let kind = match &node.kind {
                Kind::Task { next, task } => {
                    let mut actors = Vec::with_capacity(task.workers);
                    for w in 0..task.workers {
                        let name: Arc<str> = if task.workers == 1 {
                            node.name.clone()
                        } else {
                            format!("{}.{w}", node.name).into()
                        };
                        let spawner = task.spawner.clone();
                        let mailbox = self.config.node_mailbox;
                        let spawned = actor
                            .ask(
                                |reply| SpawnNode {
                                    name,
                                    spawner,
                                    mailbox,
                                    reply,
                                },
                                SPAWN_TIMEOUT,
                            )
                            .await;
                        match spawned {
                            Ok(Ok(a)) => actors.push(a),
                            Ok(Err(e)) => {
                                actor.stop();
                                return Err(e.into());
                            }
                            Err(e) => {
                                actor.stop();
                                return Err(e.into());
                            }
                        }
                    }
                    Kind::Task {
                        next: *next,
                        task: Pool::new(actors.into_boxed_slice()),
                    }
                }
                Kind::Entry { next } => Kind::Entry { next: *next },
                Kind::Router { targets, route } => Kind::Router {
                    targets: targets.clone(),
                    route: route.clone(),
                },
                Kind::Fork { branches, join } => Kind::Fork {
                    branches: branches.clone(),
                    join: *join,
                },
                Kind::Join { next } => Kind::Join { next: *next },
                Kind::End => Kind::End,
            };
            nodes.push(Node {
                name: node.name.clone(),
                kind,
            });
        }
        Ok(Graph::new(
            actor,
            nodes.into_boxed_slice(),
            self.entry,
            self.reducer.clone(),
            self.config,
        ))
    }
}
