//! Process faults: the target's child process killed (`kill-process`), frozen
//! (`pause-process`) or restarted gracefully (`restart-process`), through its
//! [`ProcessControl`] (only with `[target] process = "child"`).
//!
//! - `kill-process`: SIGKILL at the start of the window; the child gets no chance to
//!   flush or reply. At the end of the window a new child is started on the same
//!   scenario, seed and state directory: it builds the target again, and state
//!   survives where the workload reopens it (smart-home's `storage = "file"`); the
//!   durability checker ([`crate::durability`]) reads back what was acknowledged.
//!   `for` is how long the target stays down.
//! - `pause-process`: SIGSTOP at the start, SIGCONT at the end. Ops wait in the
//!   frozen child; their latency counts from their intended start (coordinated
//!   omission corrected), and an op whose `op_timeout` fires counts as a timeout.
//! - `restart-process`: a graceful shutdown at the start (the target's own
//!   `shutdown`, within `[watchdog] shutdown_timeout`), a new child at the end: to
//!   compare with the kill.
//!
//! While no child is running, ops fail at once as
//! [`OpError::Unavailable`](crate::target::OpError::Unavailable); `events_affected`
//! is the number of ops that failed so during the window, and `restart_s` how long
//! the new child took to be ready.

use std::time::Duration;

use super::Injection;
use super::spec::{FaultKind, FaultSpec};
use crate::child::ProcessControl;

/// What a running process fault holds until its window ends.
#[derive(Debug)]
pub(crate) enum Down {
    /// Killed or stopped: start a new child at the end.
    Gone {
        /// Ops refused so far when the window began.
        unavailable_before: u64,
    },
    /// Frozen: continue it at the end.
    Paused {
        /// The frozen child.
        pid: u32,
        /// Ops refused so far when the window began.
        unavailable_before: u64,
    },
}

/// Starts a process fault's window.
pub(crate) async fn start(
    spec: &FaultSpec,
    control: &ProcessControl,
    stop_timeout: Duration,
    record: &mut Injection,
) -> Result<Down, String> {
    let unavailable_before = control.unavailable_ops();
    match spec.kind {
        FaultKind::KillProcess => {
            let pid = control.kill().map_err(|e| e.to_string())?;
            record.victims = vec![format!("process:{pid}")];
            Ok(Down::Gone { unavailable_before })
        }
        FaultKind::PauseProcess => {
            let pid = control.pause().map_err(|e| e.to_string())?;
            record.victims = vec![format!("process:{pid}")];
            Ok(Down::Paused {
                pid,
                unavailable_before,
            })
        }
        FaultKind::RestartProcess => {
            let outcome = control.stop(stop_timeout).await;
            record.victims = vec![format!("process (stopped: {})", outcome.detail)];
            Ok(Down::Gone { unavailable_before })
        }
        other => Err(format!("`{other}` is not a process fault")),
    }
}

/// Ends a process fault's window: restarts or continues the child.
pub(crate) async fn end(control: &ProcessControl, down: Down, record: &mut Injection) {
    match down {
        Down::Gone { unavailable_before } => {
            match control.restart().await {
                Ok(took) => record.restart_s = Some(took.as_secs_f64()),
                Err(e) => {
                    record.error = Some(format!("fault[{}] ({}): {e}", record.fault, record.kind))
                }
            }
            record.affected = control.unavailable_ops() - unavailable_before;
        }
        Down::Paused {
            pid,
            unavailable_before,
        } => {
            if let Err(e) = control.resume(pid) {
                record.error = Some(format!("fault[{}] ({}): {e}", record.fault, record.kind));
            }
            record.affected = control.unavailable_ops() - unavailable_before;
        }
    }
}
