//! Faults on the messages between actors: `flood` (a burst at a mailbox, which shows
//! what its backpressure policy does: `block` and `fail` refuse the excess, the drop
//! policies drop it, `unbounded` queues all of it and the RSS shows the growth) and
//! `partition` (messages between two address groups are dead-lettered for the window).

use gauntlet_runtime::actor::{Address, System};

use super::error::InjectError;
use super::{FloodOutcome, Flooder};

/// Floods each victim with `messages` messages; returns the total outcome.
pub fn flood(flooder: &Flooder, victims: &[Address], messages: u64) -> FloodOutcome {
    let mut total = FloodOutcome::default();
    for v in victims {
        if let Some(o) = flooder(v, messages) {
            total.sent += o.sent;
            total.accepted += o.accepted;
            total.refused += o.refused;
        }
    }
    total
}

/// A partition in force; healed by [`Cut::heal`].
#[derive(Debug)]
pub struct Cut {
    dead_lettered_before: u64,
}

/// Cuts `a` off from `b`; an error names an empty side.
pub fn partition(system: &System, a: &[Address], b: &[Address]) -> Result<Cut, InjectError> {
    let (target, peer) = system.partition(a, b);
    if target == 0 || peer == 0 {
        system.heal();
        return Err(InjectError::EmptySide { target, peer });
    }
    Ok(Cut {
        dead_lettered_before: system.partitioned_messages(),
    })
}

impl Cut {
    /// Heals the partition; returns the messages it dead-lettered.
    pub fn heal(self, system: &System) -> u64 {
        let n = system.partitioned_messages() - self.dead_lettered_before;
        system.heal();
        n
    }
}
