//! Faults on actors' handlers and lives: `crash`, `latency` and `blocking-worker`
//! install a handler fault on their victims through the runtime's seam
//! (`gauntlet_runtime::actor::fault`) for the window; `kill` kills them.

use std::sync::Arc;

use gauntlet_runtime::actor::{ActorFault, Address, HandlerFault, System};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::Injection;
use super::error::InjectError;
use super::vocabulary::{Scope, addresses};

/// A handler fault installed on its victims for the window.
#[derive(Debug)]
pub struct Installed {
    fault: Arc<ActorFault>,
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

/// Starts a handler fault's window: draws the victims and installs `kind` on them.
pub fn start(
    scope: Scope<'_>,
    kind: HandlerFault,
    record: &mut Injection,
) -> Result<Installed, InjectError> {
    let system = scope.system()?;
    record.victims = scope.own_victims()?;
    let (installed, n) = install(
        &system,
        kind,
        scope.spec.toxicity,
        scope.window.seed,
        &addresses(&record.victims),
    );
    if n == 0 {
        return Err(InjectError::VictimsGone);
    }
    Ok(installed)
}

/// Ends a handler fault's window: removes it and records the messages it affected.
pub fn end(installed: Installed, scope: Scope<'_>, record: &mut Injection) {
    if let Ok(system) = scope.system() {
        record.affected = installed.remove(&system);
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
