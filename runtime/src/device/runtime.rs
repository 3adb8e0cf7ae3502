//! [`DeviceRuntime`]: devices, rooms, the write-behind flusher and the health probe in
//! one actor system, over one store.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::command::{Command, CommandError, Response};
use super::device_actor::{DeviceActor, DeviceMsg, DeviceShared};
use super::domain::{Device, DeviceId, Message, MessageKind, Room, RoomId};
use super::events::DeviceEvent;
use super::faults::Faults;
use super::health::Health;
use super::pipeline::{Pipeline, TelemetryError};
use super::repository::{Repository, RepositoryError};
use super::room_actor::{BroadcastReport, RoomActor, RoomError, RoomMsg, RoomShared};
use super::sqlite::SqliteRepository;
use super::state::{Key, KeyError};
use super::stats::{Counters, DeviceStats};
use super::store::{Store, StoreConfig, StoreError};
use super::telemetry::{Reading, Thresholds};
use super::twin::DigitalTwin;
use super::write_behind::{FlushMsg, Flusher, Slices, write_pending};
use crate::actor::{
    Actor, ActorRef, AddressError, Context, Entities, EntityProps, EntityRef, HandlerError,
    MailboxConfig, Props, ReplyTo, SendError, SpawnError, System,
};

/// How the device runtime runs.
#[derive(Debug)]
pub struct DeviceConfig {
    /// Prefix of the runtime's top-level actor names (`<prefix>devices`, `<prefix>rooms`,
    /// `<prefix>write-behind`, `<prefix>health`), so that several runtimes can share a
    /// system. Default: empty.
    pub prefix: String,
    /// Passivate a device or room idle this long. Default: 60 s.
    pub idle_timeout: Duration,
    /// Each device's mailbox. Keep the `Block` policy (the default) unless you accept
    /// that a dropped write-behind `Flush` leaves a device's reported state unwritten
    /// until it passivates.
    pub mailbox: MailboxConfig,
    /// How often dirty reported state is written behind. Default: 1 s.
    pub flush_interval: Duration,
    /// Timeout of commands and acknowledged readings. Default: 5 s.
    pub ask_timeout: Duration,
    /// The store (queue, batching, timeout, circuit breaker).
    pub store: StoreConfig,
    /// Thresholds by device type.
    pub thresholds: HashMap<String, Thresholds>,
    /// The stages every reading passes through.
    pub pipeline: Pipeline,
    /// Events buffered per subscriber.
    pub event_buffer: usize,
    /// Seed of the fault seam's random errors.
    pub fault_seed: u64,
    /// **Unsafe; a negative control for durability checkers.** Acknowledge
    /// `set_desired` before its commit: the change is applied in memory, acknowledged
    /// at once and written behind like reported state, so a crash can lose an
    /// acknowledged change. Default: `false` (durable before acknowledged).
    pub unsafe_ack_before_commit: bool,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            idle_timeout: Duration::from_secs(60),
            mailbox: MailboxConfig::default(),
            flush_interval: Duration::from_secs(1),
            ask_timeout: Duration::from_secs(5),
            store: StoreConfig::default(),
            thresholds: HashMap::new(),
            pipeline: Pipeline::new(),
            event_buffer: 1024,
            fault_seed: 0x5eed,
            unsafe_ack_before_commit: false,
        }
    }
}

/// Where the SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A file (created if missing); durable.
    File(PathBuf),
    /// Private memory; gone with the runtime.
    InMemory,
}

/// Why the runtime could not start or an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The repository could not be opened.
    #[error("opening the repository: {0}")]
    Open(#[from] RepositoryError),
    /// The store's writer thread could not be started.
    #[error("starting the store thread: {0}")]
    Thread(#[from] std::io::Error),
    /// An actor could not be spawned (a name is taken, or the system is shutting down).
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// An id is not a valid actor name.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// The repository refused or failed: nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why [`DeviceRuntime::deliver`] could not deliver a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliverError {
    /// The target is not a device id.
    #[error("target {0:?} is not a device id")]
    BadTarget(String),
    /// Only `application/json` payloads are understood.
    #[error("unsupported content type {0:?} (expected application/json)")]
    ContentType(String),
    /// The payload is not what the kind needs.
    #[error("malformed {kind:?} payload: {reason}")]
    Malformed {
        /// The message kind.
        kind: MessageKind,
        /// What was wrong.
        reason: String,
    },
    /// Devices take telemetry and commands only.
    #[error("devices do not take {0:?} messages")]
    Unsupported(MessageKind),
    /// The device's mailbox refused a reading, or the device is stopping.
    #[error("reading not delivered: {0}")]
    NotDelivered(String),
}

/// What [`DeviceRuntime::shutdown`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceShutdownReport {
    /// Everything stopped and was written within the deadline.
    pub graceful: bool,
    /// Dirty twins that could not be written (the repository failed at the end).
    pub unsaved: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Answers liveness asks.
struct Probe;

impl Actor for Probe {
    type Msg = ReplyTo<()>;

    fn kind() -> &'static str {
        "HealthProbe"
    }

    async fn handle(
        &mut self,
        reply: ReplyTo<()>,
        _: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        reply.send(());
        Ok(())
    }
}

struct Inner {
    system: System,
    shared: Arc<DeviceShared>,
    counters: Arc<Counters>,
    devices: Entities<DeviceActor, DeviceId>,
    rooms: Entities<RoomActor, RoomId>,
    flusher: ActorRef<FlushMsg>,
    probe: ActorRef<ReplyTo<()>>,
    ask_timeout: Duration,
}

/// The smart-home device runtime. Cheap to clone. See the [module docs](super).
#[derive(Clone)]
pub struct DeviceRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DeviceRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceRuntime({})", self.inner.devices.address())
    }
}

impl DeviceRuntime {
    /// Starts the runtime in `system` on a SQLite database.
    pub fn open(
        system: &System,
        database: Database,
        config: DeviceConfig,
    ) -> Result<Self, DeviceError> {
        let repo = match database {
            Database::File(path) => SqliteRepository::open(path)?,
            Database::InMemory => SqliteRepository::in_memory()?,
        };
        Self::start(system, Arc::new(repo), config)
    }

    /// Starts the runtime in `system` on any repository.
    pub fn start(
        system: &System,
        repo: Arc<dyn Repository>,
        config: DeviceConfig,
    ) -> Result<Self, DeviceError> {
        let faults = Arc::new(Faults::new(config.fault_seed));
        let store = Store::with_faults(repo, config.store, faults)?;
        let counters = Arc::new(Counters::new());
        let (events, _) = broadcast::channel(config.event_buffer.max(1));
        let shared = Arc::new(DeviceShared {
            store: store.clone(),
            pipeline: config.pipeline,
            thresholds: config
                .thresholds
                .into_iter()
                .map(|(k, v)| (k, Arc::new(v)))
                .collect(),
            no_thresholds: Arc::new(Thresholds::new()),
            counters: counters.clone(),
            events,
            slices: Slices::new(config.flush_interval),
            closing: std::sync::atomic::AtomicBool::new(false),
            unsafe_ack_before_commit: config.unsafe_ack_before_commit,
        });
        let p = &config.prefix;
        // Spawned first, so a system shutdown stops it last, after the devices.
        let flusher = {
            let shared = shared.clone();
            system.spawn(
                &format!("{p}write-behind"),
                Props::new(move || Flusher::new(shared.clone())),
            )?
        };
        let probe = system.spawn(&format!("{p}health"), Props::new(|| Probe))?;
        let device_shared = shared.clone();
        let devices = system.entities(
            &format!("{p}devices"),
            EntityProps::new(move |id: &DeviceId| DeviceActor::new(*id, device_shared.clone()))
                .idle_timeout(config.idle_timeout)
                .mailbox(config.mailbox),
        )?;
        let room_shared = Arc::new(RoomShared {
            store,
            devices: devices.clone(),
            counters: counters.clone(),
        });
        let rooms = system.entities(
            &format!("{p}rooms"),
            EntityProps::new(move |id: &RoomId| RoomActor::new(*id, room_shared.clone()))
                .idle_timeout(config.idle_timeout),
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                system: system.clone(),
                shared,
                counters,
                devices,
                rooms,
                flusher,
                probe,
                ask_timeout: config.ask_timeout,
            }),
        })
    }

    /// Registers `device` durably (its record is committed before this returns).
    pub async fn register_device(&self, device: Device) -> Result<DeviceHandle, DeviceError> {
        let id = device.id;
        self.register_devices(vec![device]).await?;
        self.device(id)
    }

    /// Registers many devices durably, in as few transactions as the store batches.
    pub async fn register_devices(&self, devices: Vec<Device>) -> Result<(), DeviceError> {
        let ids: Vec<DeviceId> = devices.iter().map(|d| d.id).collect();
        for chunk in devices.chunks(10_000) {
            let chunk = chunk.to_vec();
            self.inner
                .shared
                .store
                .call(move |repo| {
                    for d in &chunk {
                        repo.put_device(d)?;
                    }
                    Ok(())
                })
                .await?;
        }
        for id in ids {
            self.inner.devices.register(id)?;
            // A running actor that found no record must look again.
            if let Ok(d) = self.inner.devices.get(id)
                && d.is_active()
            {
                let _ = d.tell(DeviceMsg::Reload).await;
            }
        }
        Ok(())
    }

    /// A handle to the device with `id` (registered or not; an unregistered device
    /// answers [`CommandError::UnknownDevice`]). Costs an allocation: keep handles to
    /// devices you send to often.
    pub fn device(&self, id: DeviceId) -> Result<DeviceHandle, DeviceError> {
        Ok(DeviceHandle {
            entity: self.inner.devices.get(id)?,
            ask_timeout: self.inner.ask_timeout,
        })
    }

    /// Creates (or replaces) `room` with its members durably.
    pub async fn create_room(&self, room: Room) -> Result<RoomHandle, DeviceError> {
        let id = room.id;
        self.inner
            .shared
            .store
            .call(move |repo| {
                repo.put_room(&room)?;
                for d in &room.devices {
                    repo.add_member(room.id, *d)?;
                }
                Ok(())
            })
            .await?;
        self.inner.rooms.register(id)?;
        let handle = self.room(id)?;
        if handle.entity.is_active() {
            let _ = handle.entity.tell(RoomMsg::Reload).await;
        }
        Ok(handle)
    }

    /// A handle to the room with `id`.
    pub fn room(&self, id: RoomId) -> Result<RoomHandle, DeviceError> {
        Ok(RoomHandle {
            entity: self.inner.rooms.get(id)?,
            ask_timeout: self.inner.ask_timeout,
        })
    }

    /// Devices stored in the repository (registered in this or an earlier run on the
    /// same database file).
    pub async fn stored_devices(&self) -> Result<u64, DeviceError> {
        Ok(self
            .inner
            .shared
            .store
            .call(|repo| repo.device_count())
            .await?)
    }

    /// Twins stored in the repository (devices whose state was written at least once).
    pub async fn stored_twins(&self) -> Result<u64, DeviceError> {
        Ok(self
            .inner
            .shared
            .store
            .call(|repo| repo.twin_count())
            .await?)
    }

    /// Makes a device already stored in the repository known again, without writing
    /// anything: after a restart on the same database file, where
    /// [`DeviceRuntime::register_devices`] would rewrite every record. The device
    /// loads its record and twin when first used; an id that is not stored answers
    /// [`CommandError::UnknownDevice`] then.
    pub fn reopen_device(&self, id: DeviceId) -> Result<DeviceHandle, DeviceError> {
        self.inner.devices.register(id)?;
        self.device(id)
    }

    /// Makes a room already stored in the repository known again, without writing
    /// anything (see [`DeviceRuntime::reopen_device`]); it loads its members when
    /// first used.
    pub fn reopen_room(&self, id: RoomId) -> Result<RoomHandle, DeviceError> {
        self.inner.rooms.register(id)?;
        self.room(id)
    }

    /// Delivers an edge [`Message`] addressed to a device (`target` is its decimal id):
    /// telemetry is a JSON object of key -> number (one reading per key, fire and
    /// forget, answered `None`); a command is `{"action": .., "payload": ..}` and is
    /// answered with a [`MessageKind::Response`] whose payload is the response or
    /// `{"error": ..}`.
    pub async fn deliver(&self, msg: Message) -> Result<Option<Message>, DeliverError> {
        if msg.content_type != Message::JSON {
            return Err(DeliverError::ContentType(msg.content_type.to_string()));
        }
        let id = msg
            .target
            .parse::<u64>()
            .map(DeviceId)
            .map_err(|_| DeliverError::BadTarget(msg.target.clone()))?;
        let device = self
            .device(id)
            .map_err(|_| DeliverError::BadTarget(msg.target.clone()))?;
        let malformed = |reason: String| DeliverError::Malformed {
            kind: msg.kind,
            reason,
        };
        let body: serde_json::Value =
            serde_json::from_slice(&msg.payload).map_err(|e| malformed(e.to_string()))?;
        match msg.kind {
            MessageKind::Telemetry => {
                let serde_json::Value::Object(map) = body else {
                    return Err(malformed("expected an object of key -> number".into()));
                };
                let mut readings = Vec::with_capacity(map.len());
                for (name, v) in &map {
                    let key = Key::new(name).map_err(|e: KeyError| malformed(e.to_string()))?;
                    let value = v
                        .as_f64()
                        .ok_or_else(|| malformed(format!("{name:?} is not a number")))?;
                    readings.push(Reading {
                        key,
                        value,
                        at: msg.timestamp,
                    });
                }
                for r in readings {
                    device
                        .telemetry(r)
                        .await
                        .map_err(|e| DeliverError::NotDelivered(e.to_string()))?;
                }
                Ok(None)
            }
            MessageKind::Command => {
                let action = body
                    .get("action")
                    .and_then(|a| a.as_str())
                    .ok_or_else(|| malformed("missing string field \"action\"".into()))?
                    .to_string();
                let payload = body.get("payload").cloned().unwrap_or_default();
                let answer = match device.command(Command::new(action, payload)).await {
                    Ok(r) => r.to_json(),
                    Err(e) => serde_json::json!({ "error": e.to_string() }),
                };
                let mut reply = Message::json(
                    msg.id,
                    msg.target.clone(),
                    msg.source.clone(),
                    MessageKind::Response,
                    &answer,
                );
                reply.metadata = msg.metadata.clone();
                Ok(Some(reply))
            }
            kind => Err(DeliverError::Unsupported(kind)),
        }
    }

    /// Subscribes to alerts and refused readings from now on.
    pub fn events(&self) -> broadcast::Receiver<DeviceEvent> {
        self.inner.shared.events.subscribe()
    }

    /// The fault seam of the repository (see [`Faults`]).
    pub fn faults(&self) -> &Arc<Faults> {
        self.inner.shared.store.faults()
    }

    /// The store (its breaker and counters).
    pub fn store(&self) -> &Store {
        &self.inner.shared.store
    }

    /// The device entities (registered and active counts, addresses).
    pub fn devices(&self) -> &Entities<DeviceActor, DeviceId> {
        &self.inner.devices
    }

    /// The system the runtime runs in.
    pub fn system(&self) -> &System {
        &self.inner.system
    }

    /// A snapshot of the counters. O(stripes + stages); call it per tick.
    pub fn stats(&self) -> DeviceStats {
        let inner = &self.inner;
        let mut stats = DeviceStats::default();
        stats.counts(&inner.counters);
        stats.pipeline = inner.shared.pipeline.stats();
        stats.actors.registered = inner.devices.registered() as u64;
        stats.actors.active = inner.devices.active();
        stats.write_behind.pending = inner.shared.slices.pending();
        stats.breaker = inner.shared.store.breaker().stats();
        stats.store = inner.shared.store.stats();
        stats.faults = inner.shared.store.faults().stats();
        stats
    }

    /// Liveness (the probe actor answers within `timeout`) and readiness (live, and the
    /// repository's circuit is closed).
    pub async fn health(&self, timeout: Duration) -> Health {
        let live = self.inner.probe.ask(|r| r, timeout).await.is_ok();
        let breaker = self.inner.shared.store.breaker().state();
        Health {
            live,
            ready: live && breaker == super::breaker::BreakerState::Closed,
            breaker,
        }
    }

    /// Stops rooms, then devices (each writes its dirty twin), then the flusher (which
    /// writes what is still buffered), then closes the store; within `deadline`. Does
    /// not shut the system down. Safe to call after the system was shut down (it then
    /// writes what is buffered and closes the store).
    pub async fn shutdown(&self, deadline: Duration) -> DeviceShutdownReport {
        let started = Instant::now();
        let end = tokio::time::Instant::now() + deadline;
        let inner = &self.inner;
        let mut graceful = true;
        inner.shared.closing.store(true, Ordering::Release);
        let regions = [
            inner.rooms.address().clone(),
            inner.devices.address().clone(),
        ];
        for address in regions {
            if let Some(region) = inner.system.lookup::<Infallible>(&address) {
                region.stop();
                graceful &= tokio::time::timeout_at(end, region.wait_terminated())
                    .await
                    .is_ok();
            }
        }
        inner.flusher.stop();
        inner.probe.stop();
        graceful &= tokio::time::timeout_at(end, inner.flusher.wait_terminated())
            .await
            .is_ok();
        let unsaved = tokio::time::timeout_at(end, write_pending(&inner.shared))
            .await
            .unwrap_or_else(|_| inner.shared.slices.pending());
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        graceful &= inner.shared.store.close(left).await;
        DeviceShutdownReport {
            graceful: graceful && unsaved == 0,
            unsaved,
            elapsed: started.elapsed(),
        }
    }
}

/// A handle to one device. Cheap to clone; holding one costs two words.
#[derive(Clone)]
pub struct DeviceHandle {
    entity: EntityRef<DeviceActor, DeviceId>,
    ask_timeout: Duration,
}

impl std::fmt::Debug for DeviceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceHandle({})", self.entity.key())
    }
}

impl DeviceHandle {
    /// The device's id.
    pub fn id(&self) -> DeviceId {
        *self.entity.key()
    }

    /// Whether its actor is running now.
    pub fn is_active(&self) -> bool {
        self.entity.is_active()
    }

    /// Sends a reading (fire and forget; obeys the device's mailbox policy).
    #[inline]
    pub async fn telemetry(&self, reading: Reading) -> Result<(), SendError<DeviceMsg>> {
        self.entity.tell(DeviceMsg::Telemetry(reading)).await
    }

    /// Sends a reading and waits for its outcome: the twin's version after it.
    pub async fn telemetry_acked(&self, reading: Reading) -> Result<u64, TelemetryError> {
        self.entity
            .ask(|r| DeviceMsg::TelemetryAck(reading, r), self.ask_timeout)
            .await?
    }

    /// Sends a command and waits for the response.
    pub async fn command(&self, cmd: Command) -> Result<Response, CommandError> {
        let cmd = Box::new(cmd);
        self.entity
            .ask(|r| DeviceMsg::Command(cmd, r), self.ask_timeout)
            .await?
    }

    /// The device's twin (`get_state`).
    pub async fn twin(&self) -> Result<DigitalTwin, CommandError> {
        match self.command(Command::get_state()).await? {
            Response::State(t) => Ok(*t),
            Response::Ack { .. } => Err(CommandError::MalformedPayload {
                action: "get_state",
                reason: "device answered without its state".into(),
            }),
        }
    }
}

/// A handle to one room. Cheap to clone.
#[derive(Clone)]
pub struct RoomHandle {
    entity: EntityRef<RoomActor, RoomId>,
    ask_timeout: Duration,
}

impl std::fmt::Debug for RoomHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RoomHandle({})", self.entity.key())
    }
}

impl RoomHandle {
    /// The room's id.
    pub fn id(&self) -> RoomId {
        *self.entity.key()
    }

    /// Adds `device` (durable before this returns); `true` if it was not a member.
    pub async fn join(&self, device: DeviceId) -> Result<bool, RoomError> {
        self.entity
            .ask(|r| RoomMsg::Join(device, r), self.ask_timeout)
            .await?
    }

    /// Removes `device` (durable before this returns); `true` if it was a member.
    pub async fn leave(&self, device: DeviceId) -> Result<bool, RoomError> {
        self.entity
            .ask(|r| RoomMsg::Leave(device, r), self.ask_timeout)
            .await?
    }

    /// The room with its members.
    pub async fn get(&self) -> Result<Room, RoomError> {
        self.entity.ask(RoomMsg::Get, self.ask_timeout).await?
    }

    /// Sends `cmd` to every member; answers within `deadline` (plus the time the room
    /// takes to start the fan-out), with partial results marked as such.
    pub async fn broadcast(
        &self,
        cmd: Command,
        deadline: Duration,
    ) -> Result<BroadcastReport, RoomError> {
        let cmd = Box::new(cmd);
        self.entity
            .ask(
                |r| RoomMsg::Broadcast(cmd, deadline, r),
                deadline + self.ask_timeout,
            )
            .await?
    }
}
