//! Repository traits: where devices, rooms and twins are kept.
//!
//! The traits are synchronous: an implementation may block (SQLite does). The runtime
//! never calls them on an async worker: every call goes through the
//! [`Store`](super::Store), which runs them on its own writer thread, behind the
//! circuit breaker and the fault seam. Implementations must be `Send + Sync`; the
//! store calls them from one thread at a time, inside [`Repository::batch`].

use super::domain::{Device, DeviceId, Room, RoomId};
use super::twin::TwinRecord;

/// Why a repository call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepositoryError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(String),
    /// A stored row could not be decoded.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A referenced device or room does not exist.
    #[error("{0} not found")]
    NotFound(String),
}

/// Devices.
pub trait DeviceRepository: Send + Sync {
    /// Inserts or replaces `device`.
    fn put_device(&self, device: &Device) -> Result<(), RepositoryError>;
    /// The device with `id`. Its status and last-seen time are the latest of its
    /// record and its twin's (which the runtime keeps current).
    fn device(&self, id: DeviceId) -> Result<Option<Device>, RepositoryError>;
    /// Removes the device, its twin and its memberships; `false` if it did not exist.
    fn delete_device(&self, id: DeviceId) -> Result<bool, RepositoryError>;
    /// How many devices are stored.
    fn device_count(&self) -> Result<u64, RepositoryError>;
}

/// Rooms and their members.
pub trait RoomRepository: Send + Sync {
    /// Inserts or replaces the room's record (not its members).
    fn put_room(&self, room: &Room) -> Result<(), RepositoryError>;
    /// The room with its members in the order they joined.
    fn room(&self, id: RoomId) -> Result<Option<Room>, RepositoryError>;
    /// Removes the room and its memberships; `false` if it did not exist.
    fn delete_room(&self, id: RoomId) -> Result<bool, RepositoryError>;
    /// Adds `device` at the end of the room's members; `false` if already a member.
    fn add_member(&self, room: RoomId, device: DeviceId) -> Result<bool, RepositoryError>;
    /// Removes `device` from the room; `false` if it was not a member.
    fn remove_member(&self, room: RoomId, device: DeviceId) -> Result<bool, RepositoryError>;
}

/// Digital twins.
pub trait TwinRepository: Send + Sync {
    /// The stored twin of `device`.
    fn twin(&self, device: DeviceId) -> Result<Option<TwinRecord>, RepositoryError>;
    /// Inserts or replaces a twin. A record older than the stored one (lower version)
    /// is ignored, so a late write-behind can never undo a newer durable write.
    fn put_twin(&self, record: &TwinRecord) -> Result<(), RepositoryError>;
    /// How many twins are stored.
    fn twin_count(&self) -> Result<u64, RepositoryError>;
}

/// Everything the device runtime keeps.
pub trait Repository: DeviceRepository + RoomRepository + TwinRepository {
    /// Runs `work` as one atomic unit (a transaction), so that a batch of calls costs
    /// one commit. Calls inside `work` that fail do not undo the others; if the unit as
    /// a whole cannot be committed, `batch` returns the error and none of it happened.
    fn batch(&self, work: &mut dyn FnMut()) -> Result<(), RepositoryError>;
}
