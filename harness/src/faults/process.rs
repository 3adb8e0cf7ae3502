//! Process faults: the target's child process killed (`kill-process`), frozen
//! (`pause-process`) or restarted gracefully (`restart-process`), through its
//! [`ProcessControl`](crate::child::ProcessControl) (only with `[target] process =
//! "child"`); each kind's module under [`super::kinds`] says what it does. What they
//! share is here: how a window ends.
//!
//! While no child is running, ops fail at once as
//! [`OpError::Unavailable`](crate::target::OpError::Unavailable); `events_affected`
//! is the number of ops that failed so during the window, and `restart_s` how long
//! the new child took to be ready. A new child is started on the same scenario and
//! seed and builds the target again, on the run's state directory: state survives
//! where the workload keeps it there (smart-home with `storage = "file"` reopens its
//! database), and the durability checker reads the acknowledged keys back before the
//! new child takes an op.

use super::Injection;
use super::vocabulary::Toxicity;
use super::vocabulary::{Detection, Facts, Requires, Scope, Targets};

/// The facts of a process fault kind named `name`: it acts on the child process (no
/// target glob, no toxicity, no settings of its own), needs `[target] process =
/// "child"`, and detects nothing by itself (the ops it fails are its evidence);
/// `restarts_process` when a new child starts on the same state at the window's end.
pub const fn facts(name: &'static str, restarts_process: bool) -> Facts {
    Facts {
        name,
        target: Targets::Nothing("it acts on the target's child process"),
        fields: &[],
        toxicity: Toxicity::Refused,
        requires: Requires::CHILD,
        detected: Detection::Nothing,
        restarts_process,
    }
}

/// What a running process fault holds until its window ends.
#[derive(Debug)]
pub enum Down {
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

/// Ends a process fault's window: restarts or continues the child.
pub async fn end(scope: Scope<'_>, down: Down, record: &mut Injection) {
    let Ok(control) = scope.process() else {
        return;
    };
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
