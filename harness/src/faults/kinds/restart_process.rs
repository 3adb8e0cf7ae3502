//! `restart-process`: a graceful shutdown of the child's target at the start of the
//! window (the target's own `shutdown`, within [`STOP_TIMEOUT`]), a new child at its
//! end: to compare with `kill-process`.

use std::time::Duration;

use crate::faults::Injection;
use crate::faults::error::InjectError;
use crate::faults::process::{self, Down};
use crate::faults::vocabulary::{Facts, FaultKind, Fields, Scope};

/// How long the target gets to shut down gracefully.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// `restart-process`: no settings of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartProcess;

impl FaultKind for RestartProcess {
    const FACTS: Facts = process::facts("restart-process", true);
    type Active = Down;

    fn read(_: &mut Fields) -> Option<Self> {
        Some(RestartProcess)
    }

    async fn start(&self, scope: Scope<'_>, record: &mut Injection) -> Result<Down, InjectError> {
        let control = scope.process()?;
        let unavailable_before = control.unavailable_ops();
        let outcome = control.stop(STOP_TIMEOUT).await;
        record.victims = vec![format!("process (stopped: {})", outcome.detail)];
        Ok(Down::Gone { unavailable_before })
    }

    async fn end(&self, down: Down, scope: Scope<'_>, record: &mut Injection) {
        process::end(scope, down, record).await;
    }
}
