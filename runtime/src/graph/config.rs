//! [`GraphConfig`] and per-run [`RunLimits`].

use std::time::Duration;

use crate::actor::MailboxConfig;

/// How long and how far one run may go. Exceeding either ends the run with
/// [`RunError::StepLimit`](super::RunError::StepLimit) or
/// [`RunError::Timeout`](super::RunError::Timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// Most node visits (steps) per run. Default 1000.
    pub max_steps: u64,
    /// Longest a run may take, from its start. Default 30 s.
    pub timeout: Duration,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            max_steps: 1000,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Settings of one graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphConfig {
    /// Limits of runs started without their own.
    pub limits: RunLimits,
    /// Capacity of each run's state channel, through which node actors hand their
    /// updates to the run: also the most node executions of one run in flight at once
    /// (a wider fork runs its branches in waves). Default 1024; at least 1.
    pub state_channel: usize,
    /// Mailbox of each task node's actor. Default: 1024, `Block` (a run waits for room).
    /// `Fail` makes a run that finds it full fail with `NodeBusy`; the dropping policies
    /// are refused by `build` (dropped work would be lost).
    pub node_mailbox: MailboxConfig,
    /// Events buffered per observer before a slow one misses some. Default 256. The
    /// buffer is allocated when the first observer subscribes, not before.
    pub event_buffer: usize,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            limits: RunLimits::default(),
            state_channel: 1024,
            node_mailbox: MailboxConfig::default(),
            event_buffer: 256,
        }
    }
}
