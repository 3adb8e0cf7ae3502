//! A target as the harness drives it: the workload's target plus the runtime events of
//! the actor system it handed over, read by the harness itself.
//!
//! Every method forwards to the inner target (monomorphic, inlined: no cost per op);
//! only [`Target::events`] adds the actor system's deadlock and stall events, from a
//! subscription made right after the target was built, so a workload gets the
//! runtime's detection without keeping a receiver of its own.

use std::sync::Mutex;
use std::time::Duration;

use gauntlet_reports::schema::{MessageAccounting, TargetSample};
use gauntlet_runtime::actor::{RuntimeEvent, System};
use tokio::sync::broadcast;

use crate::faults::FaultSurface;
use crate::target::{OpError, OpId, SampleDetail, ShutdownOutcome, Target, TargetEvent};
use crate::workload::{Checkpoint, InvariantCheck};

pub(crate) struct Observed<T> {
    inner: T,
    events: Option<Mutex<broadcast::Receiver<RuntimeEvent>>>,
}

impl<T: Target> Observed<T> {
    pub(crate) fn new(inner: T) -> Self {
        let events = inner.system().map(|s| Mutex::new(s.events()));
        Self { inner, events }
    }
}

impl<T: Target> Target for Observed<T> {
    #[inline]
    fn call(&self, op: OpId, seq: u64) -> impl Future<Output = Result<(), OpError>> {
        self.inner.call(op, seq)
    }

    fn system(&self) -> Option<&System> {
        self.inner.system()
    }

    fn sample(&self) -> TargetSample {
        self.inner.sample()
    }

    fn sample_detail(&self) -> SampleDetail {
        self.inner.sample_detail()
    }

    fn stall_detail(&self) -> String {
        self.inner.stall_detail()
    }

    fn events(&self) -> Vec<TargetEvent> {
        let mut out = self.inner.events();
        if let Some(rx) = &self.events {
            out.extend(crate::workload::system_view::drain_events(rx));
        }
        out
    }

    fn check_invariants(&self, at: Checkpoint) -> impl Future<Output = Vec<InvariantCheck>> + Send {
        self.inner.check_invariants(at)
    }

    fn shutdown(&self, timeout: Duration) -> impl Future<Output = ShutdownOutcome> + Send {
        self.inner.shutdown(timeout)
    }

    fn messages(&self) -> MessageAccounting {
        self.inner.messages()
    }

    fn fault_surface(&self) -> FaultSurface {
        self.inner.fault_surface()
    }

    fn read_back(
        &self,
        keys: Vec<String>,
    ) -> impl Future<Output = Vec<Option<crate::durability::Stored>>> + Send {
        self.inner.read_back(keys)
    }

    fn durability(&self) -> Option<gauntlet_reports::schema::Durability> {
        self.inner.durability()
    }
}
