//! `pause-process`: SIGSTOP to the target's child for the window, then SIGCONT. Ops
//! wait in the frozen child: their latency counts from their intended start
//! (coordinated omission corrected), and an op past its `op_timeout` is a timeout.

use crate::faults::Injection;
use crate::faults::error::InjectError;
use crate::faults::process::{self, Down};
use crate::faults::vocabulary::{Facts, FaultKind, Fields, Scope};

/// `pause-process`: no settings of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct PauseProcess;

impl FaultKind for PauseProcess {
    const FACTS: Facts = process::facts("pause-process", false);
    type Active = Down;

    fn read(_: &mut Fields) -> Option<Self> {
        Some(PauseProcess)
    }

    async fn start(&self, scope: Scope<'_>, record: &mut Injection) -> Result<Down, InjectError> {
        let control = scope.process()?;
        let unavailable_before = control.unavailable_ops();
        let pid = control.pause()?;
        record.victims = vec![format!("process:{pid}")];
        Ok(Down::Paused {
            pid,
            unavailable_before,
        })
    }

    async fn end(&self, down: Down, scope: Scope<'_>, record: &mut Injection) {
        process::end(scope, down, record).await;
    }
}
