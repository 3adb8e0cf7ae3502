//! The target in a child process: `[target] process = "child"`.
//!
//! With `process = "child"` the harness does not build the target itself: it starts
//! the running executable again as `gauntlet __target` (a hidden subcommand of
//! [`crate::cli::main_with`], so a user's binary serves its own workloads too), sends
//! it the scenario, and drives the target the child builds over the child's stdin
//! and stdout ([`wire`]: length-prefixed frames; nothing leaves the machine). The
//! harness side is an ordinary [`Target`](crate::target::Target), [`ChildTarget`]:
//! loads, thresholds, invariants and reports work as in-process.
//!
//! **What crosses the channel.** Ops (an id, the op and its sequence number, answered
//! with the op's outcome), invariant checks, the graceful shutdown with the message
//! accounting after it, and, pushed by the child every quarter tick (10 ms to 250 ms),
//! the target's sample, its events (the actor system's deadlocks and stalls included)
//! and its stall detail.
//!
//! **When the child dies.** Every op waiting on it fails at once with
//! [`OpError::Unavailable`](crate::target::OpError::Unavailable), and so does every
//! op issued while it is gone: counted as errors, never waiting out a timeout. The
//! run goes on. A child stopped (SIGSTOP) keeps its ops until it resumes or their
//! `op_timeout` fires. When the harness dies, the child's stdin closes and it exits.
//!
//! **What is not forwarded yet.** The actor system lives in the child, so the faults
//! that act on it (crash, kill, latency, flood, partition, blocking-worker,
//! ask-cycle, dependency-*) find no surface on the harness side and are recorded as
//! not injected; `sample_detail` (live per-kind metrics) is empty. The harness's
//! process probe measures the harness; the child's own RSS, threads and CPU come from
//! [`probe`], as the target sample's `process_*` figures.
//!
//! **Message accounting.** Each incarnation's accounting is kept ([`accounts`]): exact
//! from a graceful shutdown, from its last sample when killed, where what it still
//! held is `lost_in_kill` rather than `lost`; results carry the sum and, when the
//! child was replaced, one record per incarnation.
//!
//! **State.** Every incarnation builds its target on the run's state directory
//! ([`crate::workload::BuildContext::state_dir`]); the durability checker
//! ([`crate::durability`]) reads back what the target acknowledged after every
//! restart, before the new child takes an op.

pub mod accounts;
pub mod parent;
pub mod probe;
pub mod serve;
pub mod wire;

pub use parent::{ChildTarget, PROGRAM_ENV, ProcessControl, ProcessFaultError};

use std::sync::Arc;

/// Where the target runs (`[target] process`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Process {
    /// In the harness's own process (the default).
    #[default]
    InProcess,
    /// In a child process (`process = "child"`).
    Child,
}

/// What a child needs to build the same target: the scenario's text.
#[derive(Debug, Clone)]
pub struct ChildSource {
    /// The scenario file's text.
    pub text: Arc<str>,
    /// Its name, for messages.
    pub file: String,
}
