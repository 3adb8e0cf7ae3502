//! The domain: devices, rooms and the messages that travel between them.
//!
//! These are plain data types. Identifiers are integers so that the per-message path
//! never hashes or copies a string; names, types and metadata are for people and live
//! in the repository.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::IndexSet;

/// Free-form key/value annotations on a device, room or message.
pub type Metadata = BTreeMap<String, String>;

/// Milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Timestamp(ms)
    }
}

/// A device's identifier. Its decimal form is the device actor's name in its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(pub u64);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A room's identifier. Its decimal form is the room actor's name in its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomId(pub u64);

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Whether a device is reachable and healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeviceStatus {
    /// Registered but not heard from since it was activated.
    #[default]
    Offline,
    /// Sent telemetry since it was activated.
    Online,
    /// Was online, then went quiet long enough to be passivated.
    Disconnected,
    /// Reported a fault (set through `set_state` with `status = "error"`).
    Error,
}

impl DeviceStatus {
    /// The status's name as stored: `online`, `offline`, `disconnected`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Online => "online",
            DeviceStatus::Offline => "offline",
            DeviceStatus::Disconnected => "disconnected",
            DeviceStatus::Error => "error",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "online" => DeviceStatus::Online,
            "offline" => DeviceStatus::Offline,
            "disconnected" => DeviceStatus::Disconnected,
            "error" => DeviceStatus::Error,
            _ => return None,
        })
    }
}

/// A registered device.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Its identifier.
    pub id: DeviceId,
    /// A name for people.
    pub name: String,
    /// Its type (`thermostat`, `light`, ...): selects its telemetry thresholds.
    pub device_type: String,
    /// Whether it is reachable.
    pub status: DeviceStatus,
    /// Free-form annotations.
    pub metadata: Metadata,
    /// When telemetry last arrived (`None`: never).
    pub last_seen: Option<Timestamp>,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When its record last changed.
    pub updated_at: Timestamp,
}

impl Device {
    /// A new, offline device registered now.
    pub fn new(id: DeviceId, name: impl Into<String>, device_type: impl Into<String>) -> Self {
        let now = Timestamp::now();
        Self {
            id,
            name: name.into(),
            device_type: device_type.into(),
            status: DeviceStatus::Offline,
            metadata: Metadata::new(),
            last_seen: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// How messages flow between a room's members. Stored with the room and reported;
/// a room broadcast reaches every member whatever the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RoomType {
    /// Every member talks to every other (a group).
    #[default]
    ManyToMany,
    /// Members report to one collector (sensors to a hub).
    ManyToOne,
    /// One source drives every member (a switch and its lights).
    OneToMany,
}

impl RoomType {
    /// The type's name as stored: `many-to-many`, `many-to-one`, `one-to-many`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomType::ManyToMany => "many-to-many",
            RoomType::ManyToOne => "many-to-one",
            RoomType::OneToMany => "one-to-many",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "many-to-many" => RoomType::ManyToMany,
            "many-to-one" => RoomType::ManyToOne,
            "one-to-many" => RoomType::OneToMany,
            _ => return None,
        })
    }
}

/// A room: a named group of devices.
///
/// Membership is an insertion-ordered set: adding, removing (order-preserving) and
/// testing a member are O(1) on average (removal shifts later members, O(members) in
/// the worst case, to keep the order), and iteration follows the order devices joined.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    /// Its identifier.
    pub id: RoomId,
    /// A name for people.
    pub name: String,
    /// How messages flow between its members.
    pub room_type: RoomType,
    /// Its members, in the order they joined.
    pub devices: IndexSet<DeviceId>,
    /// Free-form annotations.
    pub metadata: Metadata,
}

impl Room {
    /// An empty room.
    pub fn new(id: RoomId, name: impl Into<String>, room_type: RoomType) -> Self {
        Self {
            id,
            name: name.into(),
            room_type,
            devices: IndexSet::new(),
            metadata: Metadata::new(),
        }
    }

    /// Adds `device`; `false` if it was already a member (its position is kept).
    pub fn add(&mut self, device: DeviceId) -> bool {
        self.devices.insert(device)
    }

    /// Removes `device`, keeping the others' order; `false` if it was not a member.
    pub fn remove(&mut self, device: DeviceId) -> bool {
        self.devices.shift_remove(&device)
    }

    /// Whether `device` is a member.
    pub fn contains(&self, device: DeviceId) -> bool {
        self.devices.contains(&device)
    }
}

/// What a [`Message`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A measurement from a device.
    Telemetry,
    /// A request to a device.
    Command,
    /// Something that happened (an alert, a state change).
    Event,
    /// The answer to a command.
    Response,
}

/// A message's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

/// The envelope that messages travel in at the edge (a gateway, a broker, the wire).
/// Inside the runtime, telemetry travels as a compact [`Reading`](super::Reading) and
/// commands as a [`Command`](super::Command); see [`DeviceRuntime::deliver`](super::DeviceRuntime::deliver).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its identifier.
    pub id: MessageId,
    /// Who sent it (a device id, `gateway`, `room/3`, ...).
    pub source: String,
    /// Who it is for.
    pub target: String,
    /// What it is.
    pub kind: MessageKind,
    /// The body, in `content_type`.
    pub payload: Vec<u8>,
    /// The body's media type (`application/json`).
    pub content_type: Cow<'static, str>,
    /// When it was created.
    pub timestamp: Timestamp,
    /// Free-form annotations.
    pub metadata: Metadata,
}

impl Message {
    /// The media type of JSON payloads.
    pub const JSON: &'static str = "application/json";

    /// A JSON message created now.
    pub fn json(
        id: MessageId,
        source: impl Into<String>,
        target: impl Into<String>,
        kind: MessageKind,
        payload: &serde_json::Value,
    ) -> Self {
        Self {
            id,
            source: source.into(),
            target: target.into(),
            kind,
            payload: payload.to_string().into_bytes(),
            content_type: Cow::Borrowed(Self::JSON),
            timestamp: Timestamp::now(),
            metadata: Metadata::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_membership_keeps_insertion_order() {
        let mut room = Room::new(RoomId(1), "kitchen", RoomType::ManyToMany);
        for id in [5, 3, 9, 1] {
            assert!(room.add(DeviceId(id)));
        }
        assert!(!room.add(DeviceId(3)), "a second add is a no-op");
        assert!(room.remove(DeviceId(3)));
        assert!(!room.contains(DeviceId(3)));
        let order: Vec<u64> = room.devices.iter().map(|d| d.0).collect();
        assert_eq!(order, [5, 9, 1]);
    }

    #[test]
    fn names_round_trip() {
        for s in [
            DeviceStatus::Online,
            DeviceStatus::Offline,
            DeviceStatus::Disconnected,
            DeviceStatus::Error,
        ] {
            assert_eq!(DeviceStatus::parse(s.as_str()), Some(s));
        }
        for t in [
            RoomType::ManyToMany,
            RoomType::ManyToOne,
            RoomType::OneToMany,
        ] {
            assert_eq!(RoomType::parse(t.as_str()), Some(t));
        }
        assert_eq!(RoomType::parse("sideways"), None);
    }
}
