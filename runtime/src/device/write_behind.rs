//! The write-behind buffer and its flusher, in slices.
//!
//! Devices are split into [`SLICES`] slices by id. Each slice has its own dirty list,
//! tick counter (epoch) and buffer of handed-over twins. The flusher ticks every
//! `flush_interval / slices` and serves one slice per tick, in turn: it bumps that
//! slice's epoch (a busy device of the slice hands its twin over on its next reading),
//! writes what the slice's devices handed over since its previous turn, and sends
//! `Flush` to the slice's listed devices that are still dirty (the quiet ones). So every
//! device is still written at most once per flush interval, within two intervals of
//! its change, as with one global tick.
//!
//! **Why slices.** With one global tick, every busy device cloned its twin into one
//! buffer within a few milliseconds of the tick (10,000 clones and lock acquisitions
//! under a 1 M readings/s load), and the store then wrote them all in one burst: a
//! queueing spike every interval that set the p99 of telemetry latency. Slices spread
//! the same work evenly over the interval and split the locks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::device_actor::{DIRTY, DeviceMsg, DeviceShared, LISTED};
use super::domain::DeviceId;
use super::stats::Count;
use super::twin::TwinRecord;
use crate::actor::{Actor, ActorRef, Context, HandlerError, SendError, StopReason, System};

/// Slices at most. A slice's turn comes every `flush_interval / slices`; with a short
/// interval fewer slices are used so that a turn is never shorter than [`MIN_TURN`].
pub const SLICES: usize = 16;

/// The shortest time between two flusher ticks (tokio's timer resolution).
const MIN_TURN: Duration = Duration::from_millis(1);

/// A listed device: its ref and its mark (`DIRTY | LISTED` bits).
pub(crate) type Listed = (ActorRef<DeviceMsg>, Arc<AtomicU8>);

/// Dirty twins waiting to be written, one per device.
pub(crate) type Pending = HashMap<DeviceId, TwinRecord>;

/// One slice's share of the write-behind state.
#[derive(Default)]
pub(crate) struct Slice {
    /// The slice's devices changed since their last flush.
    pub(crate) dirty: Mutex<Vec<Listed>>,
    /// The slice's flusher turns so far.
    pub(crate) epoch: AtomicU64,
    /// Twins handed over and not yet written.
    pub(crate) pending: Mutex<Pending>,
}

impl Slice {
    /// Adds `record` to the buffer unless a newer one of the device is there.
    pub(crate) fn buffer(&self, record: TwinRecord) {
        merge(&mut lock(&self.pending), record);
    }

    /// The twin of `device` waiting to be written, if any (including one being
    /// written: a record leaves the buffer only once its write committed).
    pub(crate) fn buffered(&self, device: DeviceId) -> Option<TwinRecord> {
        lock(&self.pending).get(&device).cloned()
    }
}

/// The slices of one device runtime.
pub(crate) struct Slices {
    slices: Box<[Slice]>,
    turn: Duration,
}

impl Slices {
    /// As many slices as fit `interval` (at most [`SLICES`], each turn at least
    /// [`MIN_TURN`]).
    pub(crate) fn new(interval: Duration) -> Self {
        let fit = (interval.as_nanos() / MIN_TURN.as_nanos()).clamp(1, SLICES as u128) as usize;
        Self {
            slices: (0..fit).map(|_| Slice::default()).collect(),
            turn: (interval / fit as u32).max(MIN_TURN),
        }
    }

    /// The slice device `id` belongs to.
    #[inline]
    pub(crate) fn of(&self, id: DeviceId) -> &Slice {
        &self.slices[(id.0 % self.slices.len() as u64) as usize]
    }

    /// Twins buffered in all slices.
    pub(crate) fn pending(&self) -> u64 {
        self.slices
            .iter()
            .map(|s| lock(&s.pending).len() as u64)
            .sum()
    }

    fn len(&self) -> usize {
        self.slices.len()
    }
}

/// Keeps the newer of two records of one device.
pub(crate) fn merge(pending: &mut Pending, record: TwinRecord) {
    match pending.get(&record.device) {
        Some(old)
            if (old.twin.version, old.last_seen) > (record.twin.version, record.last_seen) => {}
        _ => {
            pending.insert(record.device, record);
        }
    }
}

/// The write-behind flusher's messages.
pub(crate) enum FlushMsg {
    Tick,
}

/// Serves one slice per tick, in turn: see the [module docs](self).
pub(crate) struct Flusher {
    pub(crate) shared: Arc<DeviceShared>,
    next: usize,
}

impl Flusher {
    pub(crate) fn new(shared: Arc<DeviceShared>) -> Self {
        Self { shared, next: 0 }
    }
}

/// Flush signals sent between yields: with 100k dirty devices one uninterrupted loop
/// held a worker for tens of milliseconds and delayed every reading queued behind it.
const SIGNAL_SLICE: usize = 512;

/// Asks the slice's listed devices that are still dirty to hand their twins over.
async fn signal(shared: &DeviceShared, slice: &Slice, system: &System) {
    if shared.closing.load(Ordering::Acquire) || system.is_shutting_down() {
        return;
    }
    let listed = std::mem::take(&mut *lock(&slice.dirty));
    let mut again = Vec::new();
    for (i, (device, mark)) in listed.into_iter().enumerate() {
        if i > 0 && i % SIGNAL_SLICE == 0 {
            tokio::task::yield_now().await;
        }
        if device.is_terminated() {
            continue; // it wrote its twin while stopping
        }
        let state = mark.load(Ordering::Acquire);
        // Clean: it handed its twin over by itself. Unlist it, unless it became
        // dirty again in the meantime (then the exchange fails and it gets a Flush).
        if state & DIRTY == 0
            && mark
                .compare_exchange(state, state & !LISTED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            continue;
        }
        if let Err(SendError::Full(_)) = device.try_tell(DeviceMsg::Flush) {
            again.push((device, mark)); // busy: next turn
        }
    }
    if !again.is_empty() {
        lock(&slice.dirty).extend(again);
    }
}

impl Actor for Flusher {
    type Msg = FlushMsg;

    fn kind() -> &'static str {
        "WriteBehind"
    }

    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        ctx.interval(self.shared.slices.turn, || FlushMsg::Tick);
        Ok(())
    }

    async fn handle(&mut self, msg: FlushMsg, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            FlushMsg::Tick => {
                let shared = self.shared.clone();
                let slices = &shared.slices;
                let slice = &slices.slices[self.next];
                self.next = (self.next + 1) % slices.len();
                // The slice's readings after this point hand their device's twin over.
                slice.epoch.fetch_add(1, Ordering::Relaxed);
                write_slice(&shared, slice).await;
                signal(&shared, slice, &ctx.system()).await;
            }
        }
        Ok(())
    }

    async fn stopping(
        &mut self,
        _: &mut Context<Self>,
        _: &StopReason,
    ) -> Result<(), HandlerError> {
        write_pending(&self.shared).await;
        Ok(())
    }
}

/// Records per store call when writing behind: large enough to amortise, small enough
/// that other calls (activations, durable commands) get in between.
const WRITE_CHUNK: usize = 256;

/// Writes every slice's buffered twins; what fails goes back into its buffer. Returns
/// the number still buffered.
pub(crate) async fn write_pending(shared: &DeviceShared) -> u64 {
    for slice in shared.slices.slices.iter() {
        write_slice(shared, slice).await;
    }
    shared.slices.pending()
}

/// Writes one slice's buffered twins. They stay in the buffer while written (a device
/// activated meanwhile finds them there, see `DeviceActor::load`) and leave it once
/// committed, unless a newer one of the device came in; what fails stays for a retry.
async fn write_slice(shared: &DeviceShared, slice: &Slice) {
    let mut records: Vec<TwinRecord> = lock(&slice.pending).values().cloned().collect();
    while !records.is_empty() {
        let rest = records.split_off(records.len().min(WRITE_CHUNK));
        let chunk = Arc::new(std::mem::replace(&mut records, rest));
        let write = chunk.clone();
        let result = shared
            .store
            .call(move |repo| {
                for r in write.iter() {
                    repo.put_twin(r)?;
                }
                Ok(write.len())
            })
            .await;
        match result {
            Ok(n) => {
                shared.counters.add(Count::WriteBehindRecords, n as u64);
                let mut pending = lock(&slice.pending);
                for r in chunk.iter() {
                    let key = (r.twin.version, r.last_seen);
                    if pending
                        .get(&r.device)
                        .is_some_and(|p| (p.twin.version, p.last_seen) <= key)
                    {
                        pending.remove(&r.device);
                    }
                }
            }
            Err(e) => {
                shared.counters.bump(Count::WriteBehindFailures);
                tracing::debug!(error = %e, records = chunk.len(), "write-behind failed: kept for retry");
            }
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_fit_the_interval() {
        let s = Slices::new(Duration::from_secs(1));
        assert_eq!(s.len(), SLICES);
        assert_eq!(
            s.turn,
            Duration::from_millis(62) + Duration::from_micros(500)
        );
        let s = Slices::new(Duration::from_millis(5));
        assert_eq!(s.len(), 5);
        assert_eq!(s.turn, Duration::from_millis(1));
        let s = Slices::new(Duration::ZERO);
        assert_eq!(s.len(), 1);
        assert_eq!(s.turn, MIN_TURN);
    }

    #[test]
    fn every_device_has_one_slice() {
        let s = Slices::new(Duration::from_secs(1));
        for id in 0..100u64 {
            let a = s.of(DeviceId(id)) as *const Slice;
            let b = &s.slices[(id % SLICES as u64) as usize] as *const Slice;
            assert_eq!(a, b);
        }
    }
}
