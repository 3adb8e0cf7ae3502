//! The device actor: one virtual actor (entity) per device.
//!
//! Activated by its first message: its `started` hook loads the device record and twin
//! from the store. If that fails (the repository is down), the device runs *unloaded*:
//! readings and `set_state` are applied in memory, requests that need the stored twin
//! (`get_state`, `set_desired`) fail with the store's error, and the load is retried on
//! every message; once it succeeds, the in-memory readings are laid over the stored
//! twin. A device that is not registered answers [`CommandError::UnknownDevice`] and
//! counts its readings as `unknown_device`.
//!
//! Per reading (the hot path): the pipeline, the twin update, the threshold check, one
//! striped counter; no allocation, lock or clock read. The first change after a flush
//! puts the device on the dirty list (one short lock per device per flush interval).
//!
//! **Write-behind hand-over.** A busy device hands its dirty twin to the write-behind
//! buffer itself, on its first reading after its write-behind slice's turn (one relaxed
//! load of the slice's turn counter per reading while dirty), so it needs no `Flush`
//! message. The flusher sends `Flush` only to listed devices that are still dirty at
//! their slice's turn: the quiet ones. A per-device atomic mark (dirty, listed) is what
//! the flusher reads. See [`write_behind`](super::write_behind).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::broadcast;

use super::command::{Action, Command, CommandError, Response};
use super::domain::{DeviceId, DeviceStatus, Timestamp};
use super::events::DeviceEvent;
use super::pipeline::{Derived, Pipeline, StageInput, TelemetryError};
use super::state::{Key, State, Value};
use super::stats::{Count, Counters};
use super::store::{Store, StoreError};
use super::telemetry::{Alert, Reading, Thresholds};
use super::twin::{DigitalTwin, TwinRecord};
use super::write_behind::{Slices, lock};
use crate::actor::{Actor, Context, HandlerError, ReplyTo, StopReason};

/// What a device actor handles.
#[derive(Debug)]
pub enum DeviceMsg {
    /// A reading, fire-and-forget.
    Telemetry(Reading),
    /// A reading whose outcome is answered: the twin's version after it, or why it was
    /// refused.
    TelemetryAck(Reading, ReplyTo<Result<u64, TelemetryError>>),
    /// A command; see [`command`](super::Command).
    Command(Box<Command>, ReplyTo<Result<Response, CommandError>>),
    /// Hand the dirty twin to the write-behind buffer (the flusher sends this).
    Flush,
    /// Load the device's record again (sent after it was registered or changed).
    Reload,
}

/// Mark bit: the device holds changes not yet handed to the write-behind buffer.
pub(crate) const DIRTY: u8 = 1;
/// Mark bit: the device is on the flusher's list.
pub(crate) const LISTED: u8 = 2;

/// What every device actor of a runtime shares.
pub(crate) struct DeviceShared {
    pub(crate) store: Store,
    pub(crate) pipeline: Pipeline,
    pub(crate) thresholds: HashMap<String, Arc<Thresholds>>,
    pub(crate) no_thresholds: Arc<Thresholds>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) events: broadcast::Sender<DeviceEvent>,
    /// The write-behind state, per slice of devices.
    pub(crate) slices: Slices,
    /// The runtime is shutting down: devices write their own twins as they stop, so
    /// the flusher stops signalling them (a signal to a stopping device is a dead letter).
    pub(crate) closing: std::sync::atomic::AtomicBool,
    /// [`DeviceConfig::unsafe_ack_before_commit`](super::DeviceConfig::unsafe_ack_before_commit).
    pub(crate) unsafe_ack_before_commit: bool,
}

impl DeviceShared {
    fn publish(&self, event: DeviceEvent) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(event);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    /// Not loaded yet (the repository failed); retried on every message.
    Unloaded,
    /// Loaded; the device is registered.
    Loaded,
    /// Loaded; no such device.
    Unregistered,
}

/// One device's actor. Made by the runtime; you talk to it through a
/// [`DeviceHandle`](super::DeviceHandle).
pub struct DeviceActor {
    id: DeviceId,
    shared: Arc<DeviceShared>,
    load: Load,
    thresholds: Arc<Thresholds>,
    /// Bit i: the key of threshold i is in violation.
    violating: u64,
    twin: DigitalTwin,
    /// Changes made while unloaded, laid over the stored twin once it loads.
    unloaded_changes: u64,
    status: DeviceStatus,
    last_seen: Option<Timestamp>,
    dirty: bool,
    /// The flusher tick at which it became dirty.
    dirty_epoch: u64,
    /// `DIRTY | LISTED`, shared with the flusher's list.
    mark: Arc<AtomicU8>,
}

impl DeviceActor {
    pub(crate) fn new(id: DeviceId, shared: Arc<DeviceShared>) -> Self {
        Self {
            id,
            thresholds: shared.no_thresholds.clone(),
            shared,
            load: Load::Unloaded,
            violating: 0,
            twin: DigitalTwin::new(),
            unloaded_changes: 0,
            status: DeviceStatus::Offline,
            last_seen: None,
            dirty: false,
            dirty_epoch: 0,
            mark: Arc::new(AtomicU8::new(0)),
        }
    }

    async fn load(&mut self, ctx: &mut Context<Self>) -> Result<(), StoreError> {
        let id = self.id;
        // A twin handed to the write-behind buffer (by an earlier incarnation: killed,
        // or passivated while the repository was down) may be newer than the stored
        // one. Looked at before the read: the flusher removes a record only after it
        // committed, so it is either still here or already in what the read returns.
        let buffered = self.shared.slices.of(id).buffered(id);
        let loaded = self
            .shared
            .store
            .call(move |repo| Ok((repo.device(id)?, repo.twin(id)?)))
            .await;
        let (device, record) = match loaded {
            Ok(v) => v,
            Err(e) => {
                self.shared.counters.bump(Count::LoadFailures);
                return Err(e);
            }
        };
        let Some(device) = device else {
            self.load = Load::Unregistered;
            return Ok(());
        };
        self.thresholds = self
            .shared
            .thresholds
            .get(&device.device_type)
            .unwrap_or(&self.shared.no_thresholds)
            .clone();
        let newest = match (record, buffered) {
            (Some(stored), Some(b))
                if (b.twin.version, b.last_seen) <= (stored.twin.version, stored.last_seen) =>
            {
                Some(stored)
            }
            (stored, b) => b.or(stored),
        };
        let mut twin = newest.map(|r| r.twin).unwrap_or_default();
        if self.load == Load::Unloaded && self.unloaded_changes > 0 {
            // What arrived while unloaded is newer than what was stored.
            let at = self.twin.updated_at.unwrap_or_else(Timestamp::now);
            let before = twin.version;
            twin.report(&self.twin.reported, at);
            twin.version = before + self.unloaded_changes;
            self.unloaded_changes = 0;
        }
        self.twin = twin;
        if self.last_seen.is_none() {
            self.last_seen = device.last_seen;
        }
        if self.status == DeviceStatus::Offline {
            self.status = device.status;
        }
        self.load = Load::Loaded;
        if self.dirty {
            self.list(ctx);
        }
        Ok(())
    }

    /// Ready to serve: loaded (retrying if needed) and registered.
    async fn ready(&mut self, ctx: &mut Context<Self>) -> Result<(), StoreError> {
        if self.load == Load::Unloaded {
            self.load(ctx).await?;
        }
        Ok(())
    }

    /// Sets the mark's dirty bit and puts the device on the list unless it is there.
    fn list(&mut self, ctx: &mut Context<Self>) {
        if self.load == Load::Unregistered {
            return;
        }
        let before = self.mark.fetch_or(DIRTY | LISTED, Ordering::AcqRel);
        if before & LISTED == 0 {
            let slice = self.shared.slices.of(self.id);
            lock(&slice.dirty).push((ctx.myself(), self.mark.clone()));
        }
    }

    fn mark_dirty(&mut self, ctx: &mut Context<Self>) {
        self.dirty = true;
        self.dirty_epoch = self.shared.slices.of(self.id).epoch.load(Ordering::Relaxed);
        self.list(ctx);
    }

    /// Hands the twin to the write-behind buffer; the device is clean afterwards.
    fn hand_over(&mut self) {
        self.dirty = false;
        self.shared.slices.of(self.id).buffer(self.record());
        self.mark.fetch_and(!DIRTY, Ordering::AcqRel);
        self.shared.counters.bump(Count::Flushes);
    }

    fn record(&self) -> TwinRecord {
        TwinRecord {
            device: self.id,
            twin: self.twin.clone(),
            status: self.status,
            last_seen: self.last_seen,
        }
    }

    /// Applies one reading after the pipeline.
    #[inline]
    fn apply(&mut self, r: Reading) {
        let changed = self.twin.report_number(r.key, r.value, r.at);
        if changed && self.load == Load::Unloaded {
            self.unloaded_changes += 1;
        }
        if let Some((i, t)) = self.thresholds.find(r.key) {
            let bit = 1u64 << i;
            if t.violated_by(r.value) {
                self.shared.counters.bump(Count::Violations);
                if self.violating & bit == 0 {
                    self.violating |= bit;
                    if t.alert {
                        self.shared.counters.bump(Count::Alerts);
                        let threshold = *t;
                        self.shared.publish(DeviceEvent::Alert(Alert {
                            device: self.id,
                            key: r.key,
                            value: r.value,
                            threshold,
                            at: r.at,
                        }));
                    }
                }
            } else {
                self.violating &= !bit;
            }
        }
    }

    /// Applies a reading. Synchronous, so that the handler's future stays small on the
    /// hot path; an unloaded device first retries its load (boxed, in `handle`).
    #[inline]
    fn telemetry(
        &mut self,
        mut r: Reading,
        ctx: &mut Context<Self>,
    ) -> Result<u64, TelemetryError> {
        if self.load == Load::Unregistered {
            self.shared.counters.bump(Count::UnknownDevice);
            return Err(TelemetryError::UnknownDevice(self.id));
        }
        let mut derived = Derived::default();
        let input = StageInput {
            device: self.id,
            reported: &self.twin.reported,
        };
        if let Err(failure) = self.shared.pipeline.run(input, &mut r, &mut derived) {
            self.shared.counters.bump(Count::TelemetryRejected);
            self.shared.publish(DeviceEvent::PipelineFailed {
                device: self.id,
                failure: failure.clone(),
            });
            return Err(failure.into());
        }
        self.apply(r);
        for extra in derived.drain() {
            self.apply(extra);
        }
        self.shared.counters.bump(Count::Telemetry);
        self.last_seen = Some(r.at);
        if self.status != DeviceStatus::Error {
            self.status = DeviceStatus::Online;
        }
        if !self.dirty {
            self.mark_dirty(ctx);
        } else if self.load == Load::Loaded
            && self.shared.slices.of(self.id).epoch.load(Ordering::Relaxed) != self.dirty_epoch
        {
            // A tick has passed since it became dirty: hand over now, no Flush needed.
            self.hand_over();
        }
        Ok(self.twin.version)
    }

    async fn command(
        &mut self,
        cmd: &Command,
        ctx: &mut Context<Self>,
    ) -> Result<Response, CommandError> {
        let counters = self.shared.counters.clone();
        let counters = &*counters;
        let Some(action) = cmd.action() else {
            counters.bump(Count::UnknownAction);
            return Err(CommandError::UnknownAction(cmd.action.to_string()));
        };
        let loaded = self.ready(ctx).await;
        if self.load == Load::Unregistered {
            counters.bump(Count::CommandFailed);
            return Err(CommandError::UnknownDevice(self.id));
        }
        let malformed = |reason: String| {
            counters.bump(Count::Malformed);
            CommandError::MalformedPayload {
                action: action.as_str(),
                reason,
            }
        };
        match action {
            Action::GetState => {
                let empty = match &cmd.payload {
                    serde_json::Value::Null => true,
                    serde_json::Value::Object(m) => m.is_empty(),
                    _ => false,
                };
                if !empty {
                    return Err(malformed("get_state takes no payload".into()));
                }
                if let Err(e) = loaded {
                    counters.bump(Count::CommandFailed);
                    return Err(e.into());
                }
                counters.bump(Count::GetState);
                Ok(Response::State(Box::new(self.twin.clone())))
            }
            Action::SetState => {
                let state = State::from_json(&cmd.payload).map_err(|e| malformed(e.to_string()))?;
                if let Ok(status) = Key::new("status")
                    && let Some(Value::Text(s)) = state.get(status)
                {
                    match super::domain::DeviceStatus::parse(s) {
                        Some(st) => self.status = st,
                        None => return Err(malformed(format!("unknown status {s:?}"))),
                    }
                }
                if self.twin.report(&state, Timestamp::now()) {
                    if self.load == Load::Unloaded {
                        self.unloaded_changes += 1;
                    }
                    self.mark_dirty(ctx);
                }
                counters.bump(Count::SetState);
                Ok(Response::Ack {
                    version: self.twin.version,
                })
            }
            Action::SetDesired => {
                let serde_json::Value::Object(map) = &cmd.payload else {
                    return Err(malformed(
                        "expected a JSON object of key -> scalar or null".into(),
                    ));
                };
                let (mut set, mut unset) = (State::new(), Vec::new());
                for (name, v) in map {
                    let key = Key::new(name).map_err(|e| malformed(e.to_string()))?;
                    match v {
                        serde_json::Value::Null => unset.push(key),
                        v => {
                            let value = Value::from_json(v).ok_or_else(|| {
                                malformed(format!("value of {name:?} must be a scalar or null"))
                            })?;
                            set.set(key, value);
                        }
                    }
                }
                if let Err(e) = loaded {
                    counters.bump(Count::CommandFailed);
                    return Err(e.into());
                }
                let mut next = self.record();
                if !next.twin.desire(&set, &unset, Timestamp::now()) {
                    counters.bump(Count::SetDesired);
                    return Ok(Response::Ack {
                        version: self.twin.version,
                    });
                }
                if self.shared.unsafe_ack_before_commit {
                    // The negative control: acknowledged now, written behind later.
                    self.twin = next.twin;
                    self.mark_dirty(ctx);
                    counters.bump(Count::SetDesired);
                    return Ok(Response::Ack {
                        version: self.twin.version,
                    });
                }
                // Durable before acknowledged: write the new twin, then adopt it.
                let write = next.clone();
                match self
                    .shared
                    .store
                    .call(move |repo| repo.put_twin(&write))
                    .await
                {
                    Ok(()) => {
                        self.twin = next.twin;
                        self.dirty = false;
                        self.mark.fetch_and(!DIRTY, Ordering::AcqRel);
                        counters.bump(Count::SetDesired);
                        Ok(Response::Ack {
                            version: self.twin.version,
                        })
                    }
                    Err(e) => {
                        counters.bump(Count::CommandFailed);
                        Err(e.into())
                    }
                }
            }
        }
    }

    /// Hands the dirty twin to the write-behind buffer (an unloaded device first
    /// retries its load, and stays listed until it loads).
    async fn flush(&mut self, ctx: &mut Context<Self>) {
        // Off the list (the flusher took it); a later change lists it again.
        self.mark.fetch_and(!LISTED, Ordering::AcqRel);
        if self.load == Load::Unloaded {
            let _ = self.load(ctx).await;
        }
        if self.dirty {
            match self.load {
                Load::Loaded => self.hand_over(),
                // Still no stored twin to lay this over: try again next tick.
                Load::Unloaded => self.list(ctx),
                Load::Unregistered => {}
            }
        }
    }
}

impl Actor for DeviceActor {
    type Msg = DeviceMsg;

    fn kind() -> &'static str {
        "Device"
    }

    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        self.shared.counters.bump(Count::Activations);
        // A failed load is not a failure of the actor: it runs unloaded and retries.
        let _ = self.load(ctx).await;
        Ok(())
    }

    async fn handle(
        &mut self,
        msg: DeviceMsg,
        ctx: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        match msg {
            DeviceMsg::Telemetry(r) => {
                if self.load == Load::Unloaded {
                    // Readings are applied in memory while unloaded; the load is retried.
                    let _ = Box::pin(self.ready(ctx)).await;
                }
                let _ = self.telemetry(r, ctx);
            }
            DeviceMsg::TelemetryAck(r, reply) => {
                if self.load == Load::Unloaded {
                    let _ = Box::pin(self.ready(ctx)).await;
                }
                reply.send(self.telemetry(r, ctx));
            }
            DeviceMsg::Command(cmd, reply) => {
                reply.send(Box::pin(self.command(&cmd, ctx)).await);
            }
            DeviceMsg::Flush => Box::pin(self.flush(ctx)).await,
            DeviceMsg::Reload => {
                if self.load != Load::Loaded {
                    self.load = Load::Unloaded;
                    let _ = Box::pin(self.load(ctx)).await;
                }
            }
        }
        Ok(())
    }

    async fn stopping(
        &mut self,
        _ctx: &mut Context<Self>,
        reason: &StopReason,
    ) -> Result<(), HandlerError> {
        if *reason == StopReason::Passivated {
            self.shared.counters.bump(Count::Passivations);
        }
        if self.load != Load::Loaded {
            if self.load == Load::Unloaded && self.dirty {
                // The stored twin never loaded: what arrived cannot be merged safely.
                tracing::warn!(device = %self.id, "stopping unloaded: in-memory readings not saved");
                self.shared.counters.bump(Count::UnsavedOnStop);
            }
            return Ok(());
        }
        if *reason == StopReason::Passivated && self.status == DeviceStatus::Online {
            self.status = DeviceStatus::Disconnected;
            self.dirty = true;
        }
        if !self.dirty {
            return Ok(());
        }
        // Written before the actor is gone; on failure it waits in the buffer.
        let record = self.record();
        let write = record.clone();
        match self
            .shared
            .store
            .call(move |repo| repo.put_twin(&write))
            .await
        {
            Ok(()) => self.shared.counters.bump(Count::SavedOnStop),
            Err(e) => {
                tracing::warn!(device = %self.id, error = %e, "twin not saved on stop: left for the flusher");
                self.shared.counters.bump(Count::UnsavedOnStop);
                self.shared.slices.of(self.id).buffer(record);
            }
        }
        self.dirty = false;
        Ok(())
    }
}
