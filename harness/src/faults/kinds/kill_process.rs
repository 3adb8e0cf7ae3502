//! `kill-process`: SIGKILL to the target's child at the start of the window (it gets
//! no chance to flush or reply); at the end a new child is started on the same
//! scenario and seed and builds the target again, so `for` is how long the target
//! stays down. State survives where the workload keeps it in the harness's state
//! directory (`BuildContext::state_dir`; smart-home with `storage = "file"` reopens its
//! database); the durability checker reads the acknowledged keys back before the new
//! child takes an op. See [`crate::faults::process`] for what ops see meanwhile.

use crate::faults::Injection;
use crate::faults::error::InjectError;
use crate::faults::process::{self, Down};
use crate::faults::vocabulary::{Facts, FaultKind, Fields, Scope};

/// `kill-process`: no settings of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct KillProcess;

impl FaultKind for KillProcess {
    const FACTS: Facts = process::facts("kill-process", true);
    type Active = Down;

    fn read(_: &mut Fields) -> Option<Self> {
        Some(KillProcess)
    }

    async fn start(&self, scope: Scope<'_>, record: &mut Injection) -> Result<Down, InjectError> {
        let control = scope.process()?;
        let unavailable_before = control.unavailable_ops();
        let pid = control.kill()?;
        record.victims = vec![format!("process:{pid}")];
        Ok(Down::Gone { unavailable_before })
    }

    async fn end(&self, down: Down, scope: Scope<'_>, record: &mut Injection) {
        process::end(scope, down, record).await;
    }
}
