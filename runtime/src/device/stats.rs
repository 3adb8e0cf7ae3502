//! Counters the harness reads: per-kind message counts, alerts, pipeline failures,
//! write-behind, the breaker and the store.
//!
//! The per-message counters are striped like the actor runtime's: each thread adds to
//! its own cache-line-sized stripe with a relaxed add, and a snapshot sums the stripes.
//! Snapshots cost O(stripes + pipeline stages); take them per tick, not per message.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

use super::breaker::BreakerStats;
use super::faults::FaultStats;
use super::pipeline::PipelineStats;
use super::store::StoreStats;

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Count {
    Telemetry,
    TelemetryRejected,
    UnknownDevice,
    SetState,
    GetState,
    SetDesired,
    UnknownAction,
    Malformed,
    CommandFailed,
    Violations,
    Alerts,
    Flushes,
    SavedOnStop,
    UnsavedOnStop,
    LoadFailures,
    Activations,
    Passivations,
    Broadcasts,
    PartialBroadcasts,
    MembershipChanges,
    WriteBehindRecords,
    WriteBehindFailures,
}

const COUNTS: usize = Count::WriteBehindFailures as usize + 1;

#[derive(Default)]
struct Stripe([AtomicU64; COUNTS]);

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn slot() -> usize {
    SLOT.with(|s| {
        let v = s.get();
        if v != usize::MAX {
            return v;
        }
        let v = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
        s.set(v);
        v
    })
}

/// Striped counters.
pub(crate) struct Counters {
    stripes: Box<[CachePadded<Stripe>]>,
    mask: usize,
}

impl Counters {
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        let n = (cores * 2).next_power_of_two().clamp(2, 64);
        Self {
            stripes: (0..n)
                .map(|_| CachePadded::new(Stripe::default()))
                .collect(),
            mask: n - 1,
        }
    }

    #[inline]
    pub(crate) fn add(&self, what: Count, n: u64) {
        self.stripes[slot() & self.mask].0[what as usize].fetch_add(n, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn bump(&self, what: Count) {
        self.add(what, 1);
    }

    pub(crate) fn get(&self, what: Count) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0[what as usize].load(Ordering::Relaxed))
            .sum()
    }
}

/// Commands handled, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandCounts {
    /// `set_state` applied.
    pub set_state: u64,
    /// `get_state` answered.
    pub get_state: u64,
    /// `set_desired` made durable and applied.
    pub set_desired: u64,
    /// Refused: unknown action.
    pub unknown_action: u64,
    /// Refused: malformed payload.
    pub malformed: u64,
    /// Failed for another reason (unregistered device, repository error).
    pub failed: u64,
}

/// Device and room actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActorCounts {
    /// Device keys known to the runtime.
    pub registered: u64,
    /// Device actors running now.
    pub active: u64,
    /// Device activations so far.
    pub activations: u64,
    /// Device passivations so far.
    pub passivations: u64,
    /// Activations whose state could not be loaded at first (retried on the next
    /// message).
    pub load_failures: u64,
}

/// Write-behind of reported state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteBehindCounts {
    /// Times a device handed its dirty twin to the write-behind buffer.
    pub flushes: u64,
    /// Twin records written by the flusher.
    pub records: u64,
    /// Flusher batches that failed (their records stay buffered and are retried).
    pub failures: u64,
    /// Records waiting in the buffer now.
    pub pending: u64,
    /// Dirty twins written directly by a stopping (passivating) device.
    pub saved_on_stop: u64,
    /// Dirty twins a stopping device could not write (left in the buffer for retry).
    pub unsaved_on_stop: u64,
}

/// Room actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoomCounts {
    /// Broadcasts completed.
    pub broadcasts: u64,
    /// Broadcasts in which some member did not answer in time.
    pub partial_broadcasts: u64,
    /// Membership changes made durable.
    pub membership_changes: u64,
}

/// A snapshot of everything the device runtime counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceStats {
    /// Readings applied to twins.
    pub telemetry: u64,
    /// Readings refused by a pipeline stage.
    pub telemetry_rejected: u64,
    /// Messages for devices that are not registered.
    pub unknown_device: u64,
    /// Commands by outcome.
    pub commands: CommandCounts,
    /// Readings outside a threshold.
    pub violations: u64,
    /// Alerts raised (a violation beginning on a key with `alert`).
    pub alerts: u64,
    /// Failures per pipeline stage.
    pub pipeline: PipelineStats,
    /// Device actors.
    pub actors: ActorCounts,
    /// Write-behind.
    pub write_behind: WriteBehindCounts,
    /// Rooms.
    pub rooms: RoomCounts,
    /// The repository's circuit breaker.
    pub breaker: BreakerStats,
    /// The store.
    pub store: StoreStats,
    /// Injected faults.
    pub faults: FaultStats,
}

impl DeviceStats {
    pub(crate) fn counts(&mut self, c: &Counters) {
        self.telemetry = c.get(Count::Telemetry);
        self.telemetry_rejected = c.get(Count::TelemetryRejected);
        self.unknown_device = c.get(Count::UnknownDevice);
        self.commands = CommandCounts {
            set_state: c.get(Count::SetState),
            get_state: c.get(Count::GetState),
            set_desired: c.get(Count::SetDesired),
            unknown_action: c.get(Count::UnknownAction),
            malformed: c.get(Count::Malformed),
            failed: c.get(Count::CommandFailed),
        };
        self.violations = c.get(Count::Violations);
        self.alerts = c.get(Count::Alerts);
        self.actors.load_failures = c.get(Count::LoadFailures);
        self.actors.activations = c.get(Count::Activations);
        self.actors.passivations = c.get(Count::Passivations);
        self.write_behind.flushes = c.get(Count::Flushes);
        self.write_behind.records = c.get(Count::WriteBehindRecords);
        self.write_behind.failures = c.get(Count::WriteBehindFailures);
        self.write_behind.saved_on_stop = c.get(Count::SavedOnStop);
        self.write_behind.unsaved_on_stop = c.get(Count::UnsavedOnStop);
        self.rooms = RoomCounts {
            broadcasts: c.get(Count::Broadcasts),
            partial_broadcasts: c.get(Count::PartialBroadcasts),
            membership_changes: c.get(Count::MembershipChanges),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_sum_across_threads() {
        let c = std::sync::Arc::new(Counters::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.bump(Count::Telemetry);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(c.get(Count::Telemetry), 4000);
        assert_eq!(c.get(Count::Alerts), 0);
    }
}
