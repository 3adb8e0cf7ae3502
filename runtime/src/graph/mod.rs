//! Flow graphs over actors.
//!
//! A graph is a set of named nodes joined by edges, with a typed state `S` that every
//! run carries from its entry to an end. Nodes never share mutable state: a task node
//! gets a snapshot of the state and returns an *update* `U`, and the run merges the
//! update into its state with the graph's *reducer* (`Fn(&mut S, U)`), which the user
//! supplies. Task nodes run as actors on the [`actor`](crate::actor) runtime, one actor
//! per node, children of the graph's own actor.
//!
//! ```
//! use std::sync::Arc;
//! use gauntlet_runtime::actor::System;
//! use gauntlet_runtime::graph::GraphBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let system = System::new("home")?;
//! // State: a counter. Update: how much to add.
//! let graph = GraphBuilder::new("counter", |n: &mut u64, add: u64| *n += add)
//!     .entry("start")
//!     .task("add", |n: Arc<u64>| async move { Ok(*n + 1) }) // doubles, plus one
//!     .router("check", ["add", "done"], |n: &u64, _| if *n < 10 { "add" } else { "done" })
//!     .end("done")
//!     .edge("start", "add")
//!     .edge("add", "check")
//!     .build()?
//!     .spawn(&system)
//!     .await?;
//! let out = graph.run(0).await?;
//! assert_eq!(out.state, 15); // 0 -> 1 -> 3 -> 7 -> 15
//! assert_eq!(&*out.end, "done");
//! assert_eq!(out.steps, 1 + 4 * 2 + 1); // entry, 4 x (add, check), end
//! system.shutdown(std::time::Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```
//!
//! # Node kinds
//!
//! | kind   | declared with                         | does                                                   |
//! |--------|---------------------------------------|--------------------------------------------------------|
//! | entry  | [`entry`](GraphBuilder::entry)        | where every run starts; exactly one, one edge out      |
//! | task   | [`task`](GraphBuilder::task), [`task_pool`](GraphBuilder::task_pool) | user async function on its own actor (or pool of actors); one edge out |
//! | router | [`router`](GraphBuilder::router)      | picks one of its declared targets from the state and the update that led to it |
//! | fork   | [`fork`](GraphBuilder::fork)          | continues down every branch concurrently               |
//! | join   | [`join`](GraphBuilder::join)          | waits for all branches of its fork, merges them; one edge out |
//! | end    | [`end`](GraphBuilder::end)            | the run is finished; its state is the result           |
//!
//! Control nodes (entry, router, fork, join, end) are pure and never block, so the run's
//! driver evaluates them itself; only task nodes cost a message to an actor.
//!
//! # Semantics
//!
//! **Steps.** A step is one visit of a node by a run: every node kind counts, entry and
//! end included; a join counts once, when its last branch arrives (arrivals before that
//! do not). Branches of a fork count toward the same run's total.
//! [`RunOutput::steps`] is the total. Tested by `steps_count_every_node_visit`.
//!
//! **State and snapshots.** A task gets `Arc<S>`, the state of its scope when its work
//! was sent. When the task returns, its update is merged at once. A snapshot shares the
//! state until the next merge, which clones it only if a snapshot is still alive
//! (`Arc::make_mut`).
//!
//! **Forks and joins.** A fork gives each branch its own copy of the fork's state;
//! nodes in a branch see that copy with the branch's own updates merged, and nothing of
//! the other branches. Branches run concurrently (their tasks are in flight at once). The
//! join waits for every branch, then merges into the state the fork saw each branch's
//! updates, **in branch declaration order, and within a branch in the order they were
//! applied**, whatever order the branches finished in. Forks nest. Tested by
//! `join_merges_in_branch_order_not_finish_order` and `branches_see_only_their_own_updates`.
//!
//! **Routers** choose from the state and from the update of the task just before them
//! (`None` after other kinds). Returning a name that is not one of the declared targets
//! fails the run with [`RunError::UndeclaredRoute`]. Tested by
//! `router_chooses_from_the_state`, `router_sees_the_update_that_led_to_it` and
//! `an_undeclared_route_fails_the_run`.
//!
//! **Cycles** are allowed (a router can lead back). Every run has [`RunLimits`]: a step
//! limit (default 1000) and a timeout from the run's start (default 30 s). The visit that
//! would exceed the step limit fails the run with [`RunError::StepLimit`] instead of
//! happening; the timeout fails it with [`RunError::Timeout`], even if a node never
//! answers. Tested by `step_limit_stops_an_endless_cycle` and
//! `timeout_ends_a_run_whose_node_never_answers`.
//!
//! **Backpressure and memory.** Each run hands updates from node actors to its driver
//! through a bounded *state channel* ([`GraphConfig::state_channel`], default 1024); a
//! run never has more node executions in flight than the channel holds, so a node actor
//! never waits on it and a fork wider than it runs its branches in waves. Sending work
//! to a task node obeys the node's bounded mailbox ([`GraphConfig::node_mailbox`],
//! default 1024, `Block`): a run waits for room (within its timeout); under `Fail` it
//! fails with [`RunError::NodeBusy`] instead; policies that drop are refused at build.
//! Node actors only ever wait on the user's function, never on a run, so graph and runs
//! cannot deadlock each other. An idle graph holds its node table and its actors with empty mailboxes;
//! the channel exists only while its run does, and event buffers only once observed.
//! Tested by `a_fork_wider_than_the_state_channel_runs_in_waves`,
//! `runs_wait_for_room_in_a_full_node_mailbox` and
//! `a_full_fail_mailbox_fails_the_run_with_node_busy`.
//!
//! **Failure.** A task that returns `Err` or panics fails its run with
//! [`RunError::NodeFailed`], carrying the node's name, its actor's address and the
//! cause; the node's actor keeps running and other runs are unaffected. Tested by
//! `node_failure_fails_only_that_run` and `a_panicking_node_fails_the_run_with_its_message`.
//!
//! The reducer and routers run in the run's driver, not in an actor: a panic there is a
//! bug in the graph definition; it panics the caller of [`Graph::run`], and ends a run
//! started with [`Graph::start`] with [`RunError::Driver`]. Tested by
//! `a_panicking_reducer_ends_a_started_run_with_a_driver_error`.
//!
//! **Concurrent runs.** Any number of runs of one graph may be in flight, each with its
//! own state. A node's actor takes one piece of work at a time, so runs share a node in
//! the order their work reached its mailbox; a node declared with
//! [`task_pool`](GraphBuilder::task_pool) has several actors that take work in turn.
//! Tested by `many_concurrent_runs_keep_their_own_state` and
//! `a_task_pool_serves_runs_in_parallel`.
//!
//! **Cancellation.** [`RunHandle::cancel`] ends the run with [`RunError::Cancelled`] at
//! once, even while it waits for a node or for mailbox room. No further node is visited.
//! Work of the run already queued at a node actor is skipped without calling the user's
//! function; a function already running is not interrupted (an actor's handler runs to
//! completion) and its update is discarded. The same happens to a run that failed or
//! timed out, and to a [`Graph::run`] future that is dropped. Tested by
//! `cancel_skips_queued_node_work`.
//!
//! **Observers.** [`Graph::observe`] subscribes to [`StepEvent`]s of every run, at the
//! [`Level::Status`] or [`Level::Debug`] level; see [`events`]. Tested by
//! `observers_see_each_step_in_order`.
//!
//! **Validation.** [`GraphBuilder::build`] rejects dangling edges, unreachable nodes,
//! nodes with no path to an end, a join without its fork, and fork branches that can
//! leave without passing the join; see [`validate`] and [`BuildError`]. It also rejects
//! a graph or task node name that cannot be an actor name, so spawning fails only if
//! the name is taken or the system is shutting down.

mod builder;
mod config;
mod error;
pub mod events;
mod instance;
mod node;
mod run;
mod slab;
pub mod validate;

pub use builder::{Blueprint, GraphBuilder, TaskError};
pub use config::{GraphConfig, RunLimits};
pub use error::{BuildError, NodePanic, RunError, SpawnGraphError};
pub use events::{EventKind, Level, ObserveError, Observer, RunId, StepEvent};
pub use instance::{Graph, RunHandle};
pub use run::RunOutput;
