//! The smart-home device runtime: devices, rooms and digital twins as actors, on an
//! embedded SQLite repository behind a circuit breaker.
//!
//! - Every device is a *virtual actor* ([entity](crate::actor::entity)) keyed by its
//!   [`DeviceId`]: activated by its first message (it loads its record and
//!   [`DigitalTwin`] from the repository), passivated when idle (it writes its twin
//!   first). See [`device_actor`].
//!   Telemetry ([`Reading`]) passes through the [`Pipeline`] (validation, transformation,
//!   enrichment), updates the twin's reported state and is checked against per-key
//!   [`Thresholds`], which raise [`Alert`]s. [`Command`]s (`set_state`, `get_state`,
//!   `set_desired`) get a [`Response`] or a typed [`CommandError`].
//! - Every room is a virtual actor too: it keeps its members in join order, changes
//!   membership durably, and [broadcasts](RoomHandle::broadcast) commands with a
//!   deadline, reporting partial results as partial.
//! - The [`Store`] runs every repository call on its own writer thread, behind a
//!   [`CircuitBreaker`] and a fault seam ([`Faults`]).
//! - [`DeviceRuntime::stats`] and [`DeviceRuntime::health`] are what the harness reads.
//!
//! ```
//! use std::time::Duration;
//! use gauntlet_runtime::actor::System;
//! use gauntlet_runtime::device::{
//!     Command, Database, Device, DeviceConfig, DeviceId, DeviceRuntime, Key, Reading,
//!     Response, Room, RoomId, RoomType,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let system = System::new("home")?;
//! let home = DeviceRuntime::open(&system, Database::InMemory, DeviceConfig::default())?;
//! let lamp = home.register_device(Device::new(DeviceId(1), "lamp", "light")).await?;
//!
//! let level = Key::new("level")?;
//! lamp.telemetry(Reading::now(level, 0.4)).await?;
//! let ack = lamp.command(Command::set_desired(serde_json::json!({ "level": 0.8 }))).await?;
//! assert!(matches!(ack, Response::Ack { .. }));       // durable before this returned
//!
//! let twin = lamp.twin().await?;
//! assert_eq!(twin.delta().len(), 1);                  // desired 0.8, reported 0.4
//!
//! let hall = home.create_room(Room::new(RoomId(1), "hall", RoomType::OneToMany)).await?;
//! hall.join(DeviceId(1)).await?;
//! let report = hall.broadcast(Command::get_state(), Duration::from_secs(1)).await?;
//! assert!(report.complete && report.succeeded() == 1);
//!
//! let done = home.shutdown(Duration::from_secs(5)).await;
//! assert!(done.graceful);
//! system.shutdown(Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! # Durability
//!
//! What is durable when, for a file database ([`Database::File`]; SQLite in WAL mode
//! with `synchronous = FULL`). Tested by name in `tests/device_durability.rs`.
//!
//! - **Acknowledged desired state and membership are durable.** `set_desired`,
//!   [`RoomHandle::join`], [`RoomHandle::leave`], [`DeviceRuntime::register_device`]
//!   and [`DeviceRuntime::create_room`] answer `Ok` only after the change was committed.
//!   If the repository fails or the circuit is open, they answer an error and change
//!   nothing (the in-memory twin is only updated after the commit).
//! - **Reported state is written behind.** Telemetry and `set_state` change the
//!   in-memory twin and are acknowledged at once. A changed device is listed as dirty.
//!   Devices are split by id into up to 16 slices, and the flusher serves one slice
//!   per `flush_interval / slices`, in turn, so each slice's turn comes once every
//!   [`DeviceConfig::flush_interval`]: it writes, in batches, the twins the slice's
//!   devices handed over since its previous turn. A busy device hands its twin over on
//!   its first reading after its slice's turn; the flusher asks the slice's listed
//!   devices that are still dirty (the quiet ones) with a `Flush` message. So reported
//!   state reaches the database within about two intervals. A batch that fails stays
//!   buffered and is retried on the slice's next turn (twin writes never go back in
//!   version, so retries are safe). A crash loses at most the last two intervals of
//!   reported state; so does a device actor that is killed (what it had not handed
//!   over), and its next incarnation starts at an older twin version than its last
//!   replies showed. An activation starts from the newer of the stored twin and the
//!   one still waiting in the write-behind buffer (a record leaves the buffer only once
//!   its write committed). (Slices spread the hand-over and the writes evenly over the
//!   interval: one global tick made a latency spike every interval at 1 M readings/s.)
//! - **Passivation and graceful shutdown flush.** A device that passivates or is
//!   stopped writes its dirty twin before it is gone (awaited, not buffered; on failure
//!   the twin goes to the buffer for the flusher). [`DeviceRuntime::shutdown`] stops
//!   rooms, then devices, then the flusher (which writes what is buffered), then closes
//!   the store after its queue is done. After a graceful shutdown
//!   ([`DeviceShutdownReport::graceful`]) every change, reported or desired, is in the
//!   database; `unsaved` counts twins that could not be written.
//! - **Restart on the same file.** A runtime opened on an existing database finds its
//!   devices and rooms there ([`DeviceRuntime::stored_devices`]) and makes them known
//!   again without writing ([`DeviceRuntime::reopen_device`],
//!   [`DeviceRuntime::reopen_room`]); each loads its stored record and twin when
//!   first used.
//! - **The unsafe setting.** [`DeviceConfig::unsafe_ack_before_commit`] breaks the
//!   first rule on purpose (`set_desired` acknowledged before its commit, then written
//!   behind), so that a durability checker can be shown to catch a lost
//!   acknowledged write. Never for real use.
//!
//! # Threading
//!
//! SQLite calls block, so none runs on the async workers: the [`Store`] owns a
//! dedicated writer thread fed by a bounded queue, which also group-commits
//! everything queued into one transaction (see [`store`] for why we chose it over
//! `spawn_blocking`). Callers wait for room in the queue and for their reply within the
//! store's call timeout.
//!
//! # Costs
//!
//! A reading through a device costs one mailbox push and, in the actor, the pipeline,
//! a twin update in a small vector, a threshold lookup and one striped counter: no
//! allocation, lock, string or clock read. A device that is registered but passivated
//! costs one entry in the entity map.

pub mod breaker;
pub mod command;
pub mod device_actor;
pub mod domain;
pub mod events;
pub mod faults;
pub mod health;
pub mod pipeline;
pub mod repository;
pub mod room_actor;
pub mod runtime;
pub mod sqlite;
pub mod state;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod twin;
pub mod write_behind;

pub use breaker::{
    BreakerConfig, BreakerError, BreakerState, BreakerStats, CircuitBreaker, Permit,
};
pub use command::{Action, Command, CommandError, Response};
pub use device_actor::{DeviceActor, DeviceMsg};
pub use domain::{
    Device, DeviceId, DeviceStatus, Message, MessageId, MessageKind, Metadata, Room, RoomId,
    RoomType, Timestamp,
};
pub use events::DeviceEvent;
pub use faults::{FaultStats, Faults, InjectedFault};
pub use health::Health;
pub use pipeline::{
    ArrivalTime, Change, Derived, FiniteValue, Flow, Linear, Pipeline, PipelineStats,
    PlausibleRange, Stage, StageError, StageFailure, StageInput, StageKind, StageStats,
    TelemetryError,
};
pub use repository::{
    DeviceRepository, Repository, RepositoryError, RoomRepository, TwinRepository,
};
pub use room_actor::{BroadcastReport, MemberReply, RoomActor, RoomError, RoomMsg};
pub use runtime::{
    Database, DeliverError, DeviceConfig, DeviceError, DeviceHandle, DeviceRuntime,
    DeviceShutdownReport, RoomHandle,
};
pub use sqlite::SqliteRepository;
pub use state::{Key, KeyError, State, StateError, Value};
pub use stats::{ActorCounts, CommandCounts, DeviceStats, RoomCounts, WriteBehindCounts};
pub use store::{Store, StoreConfig, StoreError, StoreStats};
pub use telemetry::{Alert, Reading, Threshold, Thresholds};
pub use twin::{DigitalTwin, TwinRecord};
