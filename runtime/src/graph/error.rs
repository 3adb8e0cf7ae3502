//! What can go wrong: building a graph ([`BuildError`]), spawning it ([`SpawnGraphError`])
//! and running it ([`RunError`]).

use std::sync::Arc;
use std::time::Duration;

use crate::actor::{Address, HandlerError, SpawnError};

/// A graph definition that cannot run. Found by [`GraphBuilder::build`](super::GraphBuilder::build)
/// before any actor exists; checks run in the order the variants are listed and the first
/// problem found is reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// [`GraphConfig::node_mailbox`](super::GraphConfig::node_mailbox) has a policy that
    /// drops messages: dropped work would leave its run waiting for its timeout. Use
    /// `Block` (runs wait for room), `Fail` (runs fail with `NodeBusy`) or `Unbounded`.
    #[error("node mailbox policy `{0}` would drop node work; use block, fail or unbounded")]
    LossyNodeMailbox(crate::actor::Policy),
    /// The graph's name, or a task node's name, cannot be an actor name (task nodes
    /// are actors at `actor://<system>/<graph>/<node>`).
    #[error("invalid {what} name: {error}")]
    InvalidName {
        /// `graph` or `task node`.
        what: &'static str,
        /// What is wrong with it.
        error: crate::actor::AddressError,
    },
    /// Two nodes share a name.
    #[error("node `{0}` is declared twice")]
    DuplicateNode(String),
    /// No node was declared with [`entry`](super::GraphBuilder::entry).
    #[error("the graph has no entry node")]
    NoEntry,
    /// More than one entry node.
    #[error("the graph has two entry nodes, `{first}` and `{second}`")]
    MultipleEntries {
        /// The first entry declared.
        first: String,
        /// The second entry declared.
        second: String,
    },
    /// No node was declared with [`end`](super::GraphBuilder::end).
    #[error("the graph has no end node")]
    NoEnd,
    /// An edge, route, branch or join names a node that was never declared.
    #[error("dangling edge `{from}` -> `{to}`: `{missing}` is not a node")]
    DanglingEdge {
        /// Where the edge starts (for a route, branch or join: the router, fork or join).
        from: String,
        /// Where it ends.
        to: String,
        /// The undeclared name (`from` or `to`).
        missing: String,
    },
    /// An edge starts at a node that takes its successors from its own declaration
    /// (router, fork) or has none (end).
    #[error("`{node}` is a {kind} node: it cannot have a plain edge (to `{to}`)")]
    EdgeNotAllowed {
        /// The source of the edge.
        node: String,
        /// Its kind.
        kind: &'static str,
        /// The edge's target.
        to: String,
    },
    /// An entry, task or join node has no outgoing edge.
    #[error("`{node}` has no outgoing edge")]
    MissingEdge {
        /// The node.
        node: String,
    },
    /// An entry, task or join node has more than one outgoing edge (use a router or a fork).
    #[error("`{node}` has two outgoing edges, to `{first}` and `{second}`; use a router or a fork")]
    AmbiguousEdge {
        /// The node.
        node: String,
        /// The first target.
        first: String,
        /// The second target.
        second: String,
    },
    /// A router with no targets or a fork with no branches.
    #[error("`{node}` has no targets")]
    NoTargets {
        /// The node.
        node: String,
    },
    /// A join names a fork that is not declared, or a node that is not a fork.
    #[error("join `{join}` has no fork: `{fork}` is not a fork node")]
    JoinWithoutFork {
        /// The join.
        join: String,
        /// The name it gave as its fork.
        fork: String,
    },
    /// A fork that no join names.
    #[error("fork `{fork}` has no join")]
    ForkWithoutJoin {
        /// The fork.
        fork: String,
    },
    /// Two joins name the same fork.
    #[error("fork `{fork}` has two joins, `{first}` and `{second}`")]
    ForkWithTwoJoins {
        /// The fork.
        fork: String,
        /// The first join.
        first: String,
        /// The second join.
        second: String,
    },
    /// No path from the entry reaches this node.
    #[error("`{node}` is unreachable from the entry")]
    Unreachable {
        /// The node.
        node: String,
    },
    /// No path from this node reaches an end node.
    #[error("no path from `{node}` to an end node")]
    NoPathToEnd {
        /// The node.
        node: String,
    },
    /// A fork's branch can leave the fork without passing its join: it reaches an end
    /// node, the fork itself, or a join of a fork outside the branch.
    #[error(
        "a branch of fork `{fork}` escapes it through `{node}` (branches may only leave through join `{join}`)"
    )]
    BranchEscapes {
        /// The fork.
        fork: String,
        /// Its join.
        join: String,
        /// The node the branch must not reach.
        node: String,
    },
    /// A fork branch from which its join cannot be reached.
    #[error("branch `{branch}` of fork `{fork}` never reaches join `{join}`")]
    BranchMissesJoin {
        /// The fork.
        fork: String,
        /// The branch head.
        branch: String,
        /// The fork's join.
        join: String,
    },
    /// A join reached from a node that is not inside one of its fork's branches.
    #[error(
        "join `{join}` is entered from `{from}`, which is outside the branches of fork `{fork}`"
    )]
    JoinOutsideFork {
        /// The join.
        join: String,
        /// Its fork.
        fork: String,
        /// The node outside the branches.
        from: String,
    },
}

/// Why a validated graph could not be started on a system.
#[derive(Debug, thiserror::Error)]
pub enum SpawnGraphError {
    /// The graph actor or a node actor could not be spawned.
    #[error("spawning graph actors failed: {0}")]
    Spawn(#[from] SpawnError),
    /// The graph actor did not confirm a node actor in time.
    #[error("the graph actor did not answer: {0}")]
    Ask(#[from] crate::actor::AskError),
}

/// A task node's user function panicked; the panic message as the failure's cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("panicked: {0}")]
pub struct NodePanic(pub String);

/// Why a run ended without reaching an end node. The graph itself stays usable: other
/// runs, in flight or later, are not affected.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A task node's function returned an error or panicked.
    #[error("node `{node}` ({address}) failed: {cause}")]
    NodeFailed {
        /// The node's name.
        node: Arc<str>,
        /// The node actor's address.
        address: Address,
        /// The error it returned, or a [`NodePanic`].
        #[source]
        cause: HandlerError,
    },
    /// The run visited more nodes than its step limit allows.
    #[error("step limit of {limit} exceeded at node `{node}`")]
    StepLimit {
        /// The limit.
        limit: u64,
        /// The node whose visit would have been one step too many.
        node: Arc<str>,
    },
    /// The run did not reach an end node within its timeout.
    #[error("run timed out after {limit:?} ({steps} steps done)")]
    Timeout {
        /// The timeout.
        limit: Duration,
        /// Steps taken before it expired.
        steps: u64,
    },
    /// The run was cancelled through its [`RunHandle`](super::RunHandle).
    #[error("run cancelled after {steps} steps")]
    Cancelled {
        /// Steps taken before the cancellation.
        steps: u64,
    },
    /// A router returned a name that is not one of its declared targets.
    #[error("router `{router}` chose `{target}`, which is not one of its targets")]
    UndeclaredRoute {
        /// The router.
        router: Arc<str>,
        /// What it returned.
        target: &'static str,
    },
    /// A task node's actor has stopped (the graph was stopped or the system is shutting down).
    #[error("node `{node}` ({address}) is not running")]
    NodeUnavailable {
        /// The node's name.
        node: Arc<str>,
        /// The node actor's address.
        address: Address,
    },
    /// A task node's mailbox refused the work (its policy is `Fail` and it is full).
    #[error("node `{node}` ({address}) refused work: mailbox full")]
    NodeBusy {
        /// The node's name.
        node: Arc<str>,
        /// The node actor's address.
        address: Address,
    },
    /// Nothing is running and no end was reached. Validation rules this out; reported
    /// rather than waited on forever.
    #[error("run stuck after {steps} steps: no work in flight and no end reached")]
    Stuck {
        /// Steps taken.
        steps: u64,
    },
    /// The run's driver task panicked (a reducer or router panicked) or was aborted.
    #[error("run driver failed: {0}")]
    Driver(String),
}
