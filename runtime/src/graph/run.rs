//! The driver of one run: walks the graph, keeps the run's state, talks to node actors.
//!
//! A run is a set of *tokens*, each a position (a node) in a *scope* (a version of the
//! state). The root scope holds the run's state; a fork opens one branch scope per
//! branch, each starting from the fork's state, and its join closes them, merging each
//! branch's updates into the enclosing scope in branch order. Control nodes are handled
//! here at once; a task node's token is sent to the node's actor as work and waits until
//! the actor's update comes back through the run's state channel.

use std::collections::VecDeque;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, mpsc};
use tokio::time::Sleep;

use super::config::RunLimits;
use super::error::RunError;
use super::events::{EventKind, RunId};
use super::instance::Shared;
use super::node::{Done, Exec, Kind, NodeId};
use super::slab::Slab;
use crate::actor::SendError;

/// How a run ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput<S> {
    /// The run.
    pub run: RunId,
    /// The final state.
    pub state: S,
    /// The end node reached.
    pub end: Arc<str>,
    /// Steps taken.
    pub steps: u64,
}

/// Cancellation of a started run.
#[derive(Debug, Default)]
pub(crate) struct RunControl {
    cancelled: AtomicBool,
    wake: Notify,
}

impl RunControl {
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        // One waiter (the driver); a stored permit covers a cancel before it waits.
        self.wake.notify_one();
    }

    async fn cancelled(&self) {
        while !self.cancelled.load(Ordering::Acquire) {
            self.wake.notified().await;
        }
    }
}

/// Why waiting was cut short.
enum Interrupt {
    Cancelled,
    Timeout,
}

/// Awaits `fut` unless the run is cancelled or its deadline passes first.
async fn interruptible<T>(
    fut: impl Future<Output = T>,
    deadline: Pin<&mut Sleep>,
    control: Option<&RunControl>,
) -> Result<T, Interrupt> {
    let cancelled = async {
        match control {
            Some(c) => c.cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        () = cancelled => Err(Interrupt::Cancelled),
        () = deadline => Err(Interrupt::Timeout),
        v = fut => Ok(v),
    }
}

/// A position in the graph.
struct Token<U> {
    node: NodeId,
    scope: usize,
    /// The update that led here, kept only when `node` is a router.
    msg: Option<U>,
}

/// A version of the state: the run's own (root) or a fork branch's.
struct Scope<S, U> {
    state: Arc<S>,
    branch: Option<Branch<U>>,
}

struct Branch<U> {
    frame: usize,
    index: usize,
    /// This branch's updates in the order they were applied, to merge at the join.
    updates: Vec<U>,
}

/// An open fork: where its branches go back to, and what they produced.
struct Frame<U> {
    join: NodeId,
    parent: usize,
    remaining: usize,
    results: Vec<Vec<U>>,
}

/// What visiting a token's node asks the driver to do next.
enum Visit<S, U> {
    Continue,
    /// Send `Exec` to worker `.1` of task node `.0`.
    Dispatch(NodeId, usize, Exec<S, U>),
    Finished(NodeId),
}

const ROOT: usize = 0;

struct Driver<'g, S: Send + Sync + 'static, U: Send + 'static> {
    g: &'g Shared<S, U>,
    run: RunId,
    max_steps: u64,
    steps: u64,
    scopes: Slab<Scope<S, U>>,
    frames: Slab<Frame<U>>,
    /// Tokens whose work is at a node actor, by the key sent with the work: node,
    /// scope, and which of the node's actors has it.
    in_flight: Slab<(NodeId, usize, usize)>,
    ready: VecDeque<Token<U>>,
    tx: mpsc::Sender<Done<U>>,
}

/// Runs one run to its end. `control` is `None` for runs driven inline.
pub(crate) async fn drive<S, U>(
    g: &Shared<S, U>,
    run: RunId,
    initial: S,
    limits: RunLimits,
    control: Option<&RunControl>,
) -> Result<RunOutput<S>, RunError>
where
    S: Clone + Send + Sync + 'static,
    U: Clone + Send + 'static,
{
    let capacity = g.config.state_channel.max(1);
    let (tx, mut rx) = mpsc::channel(capacity);
    let mut d = Driver {
        g,
        run,
        max_steps: limits.max_steps,
        steps: 0,
        scopes: Slab::new(),
        frames: Slab::new(),
        in_flight: Slab::new(),
        ready: VecDeque::new(),
        tx,
    };
    d.scopes.insert(Scope {
        state: Arc::new(initial),
        branch: None,
    });
    d.ready.push_back(Token {
        node: g.entry,
        scope: ROOT,
        msg: None,
    });
    g.events.emit(run, 0, || EventKind::RunStarted);
    let mut deadline = pin!(tokio::time::sleep(limits.timeout));
    let outcome = d
        .walk(&mut rx, deadline.as_mut(), control, capacity)
        .await
        .map_err(|e| match e {
            Stop::Error(e) => e,
            Stop::Interrupted(Interrupt::Cancelled) => RunError::Cancelled { steps: d.steps },
            Stop::Interrupted(Interrupt::Timeout) => RunError::Timeout {
                limit: limits.timeout,
                steps: d.steps,
            },
        });
    // Closing the channel tells node actors to skip this run's queued work.
    drop(rx);
    match outcome {
        Ok(end) => {
            let root = d.scopes.remove(ROOT).map(|s| s.state);
            let state = root
                .map(Arc::unwrap_or_clone)
                .ok_or(RunError::Stuck { steps: d.steps })?;
            let end = g.nodes[end].name.clone();
            g.events
                .emit(run, d.steps, || EventKind::RunFinished { end: end.clone() });
            Ok(RunOutput {
                run,
                state,
                end,
                steps: d.steps,
            })
        }
        Err(e) => {
            g.events.emit(run, d.steps, || EventKind::RunFailed {
                error: e.to_string().into(),
            });
            Err(e)
        }
    }
}

enum Stop {
    Error(RunError),
    Interrupted(Interrupt),
}

impl From<RunError> for Stop {
    fn from(e: RunError) -> Self {
        Stop::Error(e)
    }
}

impl From<Interrupt> for Stop {
    fn from(i: Interrupt) -> Self {
        Stop::Interrupted(i)
    }
}

impl<S, U> Driver<'_, S, U>
where
    S: Clone + Send + Sync + 'static,
    U: Clone + Send + 'static,
{
    async fn walk(
        &mut self,
        rx: &mut mpsc::Receiver<Done<U>>,
        mut deadline: Pin<&mut Sleep>,
        control: Option<&RunControl>,
        capacity: usize,
    ) -> Result<NodeId, Stop> {
        loop {
            while self.in_flight.len() < capacity {
                let Some(token) = self.ready.pop_front() else {
                    break;
                };
                match self.visit(token)? {
                    Visit::Continue => {}
                    Visit::Finished(end) => return Ok(end),
                    Visit::Dispatch(node, worker, exec) => {
                        let Kind::Task { task, .. } = &self.g.nodes[node].kind else {
                            unreachable!("only task nodes are dispatched");
                        };
                        let task = &task.actors[worker];
                        let sent =
                            interruptible(task.tell(exec), deadline.as_mut(), control).await?;
                        match sent {
                            Ok(()) => {}
                            Err(SendError::Full(_) | SendError::Timeout(_)) => {
                                return Err(RunError::NodeBusy {
                                    node: self.g.nodes[node].name.clone(),
                                    address: task.address().clone(),
                                }
                                .into());
                            }
                            Err(SendError::Stopped(_) | SendError::NotFound(_)) => {
                                return Err(RunError::NodeUnavailable {
                                    node: self.g.nodes[node].name.clone(),
                                    address: task.address().clone(),
                                }
                                .into());
                            }
                        }
                        self.g
                            .events
                            .emit(self.run, self.steps, || EventKind::NodeEntered {
                                node: self.g.nodes[node].name.clone(),
                            });
                    }
                }
            }
            if self.in_flight.len() == 0 {
                return Err(RunError::Stuck { steps: self.steps }.into());
            }
            // We hold a sender, so the channel cannot close under us.
            let Some(done) = interruptible(rx.recv(), deadline.as_mut(), control).await? else {
                return Err(RunError::Stuck { steps: self.steps }.into());
            };
            self.complete(done)?;
        }
    }

    /// Counts one step at `node`.
    fn step(&mut self, node: NodeId) -> Result<(), RunError> {
        if self.steps >= self.max_steps {
            return Err(RunError::StepLimit {
                limit: self.max_steps,
                node: self.g.nodes[node].name.clone(),
            });
        }
        self.steps += 1;
        Ok(())
    }

    fn entered(&self, node: NodeId) {
        self.g
            .events
            .emit(self.run, self.steps, || EventKind::NodeEntered {
                node: self.g.nodes[node].name.clone(),
            });
    }

    /// Moves a token along `from -> to` into the ready queue.
    fn advance(&mut self, from: NodeId, to: NodeId, scope: usize, msg: Option<U>) {
        let nodes = &self.g.nodes;
        self.g
            .events
            .emit(self.run, self.steps, || EventKind::EdgeTaken {
                from: nodes[from].name.clone(),
                to: nodes[to].name.clone(),
            });
        // Only a router reads the update that led to it.
        let msg = msg.filter(|_| matches!(nodes[to].kind, Kind::Router { .. }));
        self.ready.push_back(Token {
            node: to,
            scope,
            msg,
        });
    }

    fn scope(&mut self, key: usize) -> Result<&mut Scope<S, U>, RunError> {
        let steps = self.steps;
        self.scopes.get_mut(key).ok_or(RunError::Stuck { steps })
    }

    /// Merges `update` into scope `key`, as node `node`'s.
    fn apply(&mut self, key: usize, update: U) -> Result<(), RunError> {
        let reducer = &self.g.reducer;
        let scope = self.scope(key)?;
        match &mut scope.branch {
            Some(branch) => {
                reducer(Arc::make_mut(&mut scope.state), update.clone());
                branch.updates.push(update);
            }
            None => reducer(Arc::make_mut(&mut scope.state), update),
        }
        Ok(())
    }

    fn visit(&mut self, token: Token<U>) -> Result<Visit<S, U>, RunError> {
        let Token { node, scope, msg } = token;
        let g = self.g;
        // A join's step is counted when it fires, not per arriving branch.
        if !matches!(g.nodes[node].kind, Kind::Join { .. }) {
            self.step(node)?;
        }
        match &g.nodes[node].kind {
            Kind::Entry { next } => {
                self.entered(node);
                self.advance(node, *next, scope, None);
            }
            Kind::Task { task, .. } => {
                let input = self.scope(scope)?.state.clone();
                let worker = task.pick();
                let token = self.in_flight.insert((node, scope, worker));
                let exec = Exec {
                    token,
                    input,
                    reply: self.tx.clone(),
                };
                return Ok(Visit::Dispatch(node, worker, exec));
            }
            Kind::Router { targets, route } => {
                self.entered(node);
                let state = &self.scope(scope)?.state;
                let chosen = route(state, msg.as_ref());
                let Some(&to) = targets.iter().find(|&&t| &*g.nodes[t].name == chosen) else {
                    return Err(RunError::UndeclaredRoute {
                        router: g.nodes[node].name.clone(),
                        target: chosen,
                    });
                };
                self.advance(node, to, scope, None);
            }
            Kind::Fork { branches, join } => {
                self.entered(node);
                let state = self.scope(scope)?.state.clone();
                let frame = self.frames.insert(Frame {
                    join: *join,
                    parent: scope,
                    remaining: branches.len(),
                    results: (0..branches.len()).map(|_| Vec::new()).collect(),
                });
                for (index, &head) in branches.iter().enumerate() {
                    let branch = self.scopes.insert(Scope {
                        state: state.clone(),
                        branch: Some(Branch {
                            frame,
                            index,
                            updates: Vec::new(),
                        }),
                    });
                    self.advance(node, head, branch, None);
                }
            }
            Kind::Join { next } => {
                let stuck = RunError::Stuck { steps: self.steps };
                let branch = self.scopes.remove(scope).and_then(|s| s.branch);
                let Some(branch) = branch else {
                    return Err(stuck);
                };
                let frame = match self.frames.get_mut(branch.frame) {
                    Some(f) if f.join == node => f,
                    _ => return Err(stuck),
                };
                frame.results[branch.index] = branch.updates;
                frame.remaining -= 1;
                if frame.remaining == 0 {
                    let Some(frame) = self.frames.remove(branch.frame) else {
                        return Err(stuck);
                    };
                    self.step(node)?;
                    self.entered(node);
                    // Branch order, then each branch's own order.
                    for update in frame.results.into_iter().flatten() {
                        self.apply(frame.parent, update)?;
                    }
                    g.events
                        .emit(self.run, self.steps, || EventKind::UpdateApplied {
                            node: g.nodes[node].name.clone(),
                        });
                    self.advance(node, *next, frame.parent, None);
                }
            }
            Kind::End => {
                self.entered(node);
                if scope != ROOT {
                    return Err(RunError::Stuck { steps: self.steps });
                }
                return Ok(Visit::Finished(node));
            }
        }
        Ok(Visit::Continue)
    }

    /// Takes a task node's outcome.
    fn complete(&mut self, done: Done<U>) -> Result<(), RunError> {
        let g = self.g;
        let steps = self.steps;
        let (node, scope, worker) = self
            .in_flight
            .remove(done.token)
            .ok_or(RunError::Stuck { steps })?;
        let Kind::Task { next, task } = &g.nodes[node].kind else {
            return Err(RunError::Stuck { steps });
        };
        match done.outcome {
            Ok(update) => {
                let msg =
                    matches!(g.nodes[*next].kind, Kind::Router { .. }).then(|| update.clone());
                self.apply(scope, update)?;
                g.events
                    .emit(self.run, self.steps, || EventKind::UpdateApplied {
                        node: g.nodes[node].name.clone(),
                    });
                self.advance(node, *next, scope, msg);
                Ok(())
            }
            Err(cause) => {
                g.events
                    .emit(self.run, self.steps, || EventKind::NodeFailed {
                        node: g.nodes[node].name.clone(),
                        cause: cause.to_string().into(),
                    });
                Err(RunError::NodeFailed {
                    node: g.nodes[node].name.clone(),
                    address: task.actors[worker].address().clone(),
                    cause,
                })
            }
        }
    }
}
