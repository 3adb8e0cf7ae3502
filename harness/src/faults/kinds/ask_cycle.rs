//! `ask-cycle`: a [`Ring`] of `length` actors spawned in the target's actor system,
//! closed `cycles` times over the window (spread evenly). The runtime's deadlock
//! detection must refuse every cycle; `detected` counts the refusals, and each one it
//! missed counts in `faults.undetected`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::task::JoinHandle;

use crate::faults::Injection;
use crate::faults::error::InjectError;
use crate::faults::ring::Ring;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
};

/// `ask-cycle`.
#[derive(Debug, Clone, PartialEq)]
pub struct AskCycle {
    /// Actors in each ring (1 to 1000; default 3).
    pub length: usize,
    /// Rings closed per window, spread evenly over it (1 to 100000; default 1).
    pub cycles: u64,
}

/// A window's cycles being closed.
#[derive(Debug)]
pub struct Closing {
    stop: Arc<AtomicBool>,
    /// Cycles closed and refused.
    task: JoinHandle<(u64, u64)>,
}

impl FaultKind for AskCycle {
    const FACTS: Facts = Facts {
        name: "ask-cycle",
        target: Targets::Nothing(
            "it spawns its own rings of actors in the target's actor system",
        ),
        fields: &["length", "cycles"],
        toxicity: Toxicity::Refused,
        requires: Requires::in_process(Capability::ActorSystem),
        detected: Detection::EveryEvent,
        restarts_process: false,
    };
    type Active = Closing;

    fn read(fields: &mut Fields) -> Option<Self> {
        let length = fields.int_in("length", fields.length.unwrap_or(3), 1, 1000);
        let cycles = fields.int_in("cycles", fields.cycles.unwrap_or(1), 1, 100_000);
        Some(AskCycle {
            length: length? as usize,
            cycles: cycles? as u64,
        })
    }

    async fn start(&self, scope: Scope<'_>, record: &mut Injection) -> Result<Closing, InjectError> {
        let system = scope.system()?;
        let w = scope.window;
        let prefix = format!("fault-{}-ask-cycle-{}", scope.spec.index, w.window);
        let ring = Ring::spawn(&system, &prefix, self.length).await?;
        record.victims = ring.addresses();
        let cycles = self.cycles;
        let stop = Arc::new(AtomicBool::new(false));
        let gap = (w.end - w.start) / (cycles as u32).max(1);
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let (mut injected, mut detected) = (0, 0);
            for k in 0..cycles {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                if k > 0 {
                    tokio::time::sleep(gap).await;
                }
                injected += 1;
                if ring.close().await {
                    detected += 1;
                }
            }
            ring.stop().await;
            (injected, detected)
        });
        Ok(Closing { stop, task })
    }

    async fn end(&self, closing: Closing, _: Scope<'_>, record: &mut Injection) {
        closing.stop.store(true, Ordering::Relaxed);
        if let Ok((injected, detected)) = closing.task.await {
            record.affected = injected;
            record.detected = Some(detected);
        }
    }
}
