//! Faults on actors' handlers and lives: `crash`, `latency`, `blocking-worker` (through
//! the runtime's handler-fault seam) and `kill`.

use std::sync::Arc;
use std::time::Duration;

use gauntlet_runtime::actor::{ActorFault, Address, HandlerFault, System};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::spec::{FaultKind, FaultParams, FaultSpec};

/// A handler fault installed on its victims for the window.
#[derive(Debug)]
pub struct Installed {
    fault: Arc<ActorFault>,
}

/// The runtime fault a spec installs, if it is a handler fault.
pub fn handler_fault(spec: &FaultSpec) -> Option<HandlerFault> {
    match (&spec.kind, &spec.params) {
        (FaultKind::Crash, _) => Some(HandlerFault::Crash),
        (FaultKind::Latency, FaultParams::Latency { latency, jitter }) => {
            Some(HandlerFault::Delay {
                base: *latency,
                jitter: *jitter,
            })
        }
        (FaultKind::BlockingWorker, FaultParams::Block { block_for }) => {
            Some(HandlerFault::Block(*block_for))
        }
        _ => None,
    }
}

/// Installs `kind` on every victim that is still alive; returns the handle and the
/// victims it was installed on.
pub fn install(
    system: &System,
    kind: HandlerFault,
    toxicity: f64,
    seed: u64,
    victims: &[Address],
) -> (Installed, usize) {
    let fault = ActorFault::new(kind, toxicity, seed);
    let n = victims
        .iter()
        .filter(|a| system.inject_handler_fault(a, &fault))
        .count();
    (Installed { fault }, n)
}

impl Installed {
    /// Removes the fault from its victims; returns the messages it affected.
    pub fn remove(self, system: &System) -> u64 {
        system.clear_handler_fault(&self.fault);
        self.fault.affected()
    }
}

/// Kills each victim with probability `toxicity` (drawn from `seed`); returns how many
/// were killed.
pub fn kill(system: &System, toxicity: f64, seed: u64, victims: &[Address]) -> u64 {
    let mut rng = StdRng::seed_from_u64(seed);
    victims
        .iter()
        .filter(|_| toxicity >= 1.0 || rng.random_bool(toxicity.clamp(0.0, 1.0)))
        .filter(|a| system.kill_at(a))
        .count() as u64
}

/// How long a blocking fault's handler holds its thread; the stall watchdog needs a
/// block longer than its threshold to report it.
pub fn block_for(spec: &FaultSpec) -> Option<Duration> {
    match spec.params {
        FaultParams::Block { block_for } => Some(block_for),
        _ => None,
    }
}
