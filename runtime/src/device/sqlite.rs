//! [`SqliteRepository`]: the repository on SQLite (the bundled library; nothing to
//! install), in a file or in memory.
//!
//! A file database runs in WAL mode with `synchronous = FULL`: once a
//! [`batch`](Repository::batch) has returned `Ok`, its changes survive a crash of the
//! process and of the machine. The connection is used from one thread at a time (the
//! store's writer thread); the mutex only makes the type `Sync`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use super::domain::{Device, DeviceId, DeviceStatus, Metadata, Room, RoomId, RoomType, Timestamp};
use super::repository::{
    DeviceRepository, Repository, RepositoryError, RoomRepository, TwinRepository,
};
use super::state::State;
use super::twin::{DigitalTwin, TwinRecord};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS devices (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    metadata TEXT NOT NULL,
    last_seen INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS room_members (
    room INTEGER NOT NULL,
    device INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (room, device)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS room_members_by_device ON room_members (device);
CREATE TABLE IF NOT EXISTS twins (
    device INTEGER PRIMARY KEY,
    reported TEXT NOT NULL,
    desired TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER,
    status TEXT NOT NULL,
    last_seen INTEGER
);
";

/// The repository on SQLite.
pub struct SqliteRepository {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteRepository")
    }
}

fn db(e: rusqlite::Error) -> RepositoryError {
    RepositoryError::Database(e.to_string())
}

fn corrupt(table: &'static str, reason: impl ToString) -> RepositoryError {
    RepositoryError::Corrupt {
        table,
        reason: reason.to_string(),
    }
}

// SQLite integers are i64; ids and times are stored bit for bit.
fn i(v: u64) -> i64 {
    v as i64
}

fn metadata_json(m: &Metadata) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

fn metadata_from(table: &'static str, s: &str) -> Result<Metadata, RepositoryError> {
    let v: serde_json::Value = serde_json::from_str(s).map_err(|e| corrupt(table, e))?;
    let serde_json::Value::Object(map) = v else {
        return Err(corrupt(table, "metadata is not an object"));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

fn state_from(s: &str) -> Result<State, RepositoryError> {
    let v: serde_json::Value = serde_json::from_str(s).map_err(|e| corrupt("twins", e))?;
    State::from_json(&v).map_err(|e| corrupt("twins", e))
}

impl SqliteRepository {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RepositoryError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        Self::with(conn)
    }

    /// A private database in memory, gone when the repository is dropped.
    pub fn in_memory() -> Result<Self, RepositoryError> {
        Self::with(Connection::open_in_memory().map_err(db)?)
    }

    fn with(conn: Connection) -> Result<Self, RepositoryError> {
        conn.execute_batch(SCHEMA).map_err(db)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn device_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 4]> {
    Ok([
        row.get::<_, Option<String>>(1)?,
        row.get::<_, Option<String>>(2)?,
        row.get::<_, Option<String>>(3)?,
        row.get::<_, Option<String>>(4)?,
    ])
}

impl DeviceRepository for SqliteRepository {
    fn put_device(&self, d: &Device) -> Result<(), RepositoryError> {
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO devices
                 (id, name, type, status, metadata, last_seen, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    i(d.id.0),
                    d.name,
                    d.device_type,
                    d.status.as_str(),
                    metadata_json(&d.metadata),
                    d.last_seen.map(|t| i(t.0)),
                    i(d.created_at.0),
                    i(d.updated_at.0),
                ])
            })
            .map_err(db)?;
        Ok(())
    }

    fn device(&self, id: DeviceId) -> Result<Option<Device>, RepositoryError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                // Two plain lookups: a LEFT JOIN here is re-prepared on every step by the
                // bundled SQLite (STAT4), which made it 30x slower (measured).
                "SELECT id, name, type, status, metadata, last_seen, created_at, updated_at
                 FROM devices WHERE id = ?1",
            )
            .map_err(db)?;
        let row = stmt
            .query_row(params![i(id.0)], |row| {
                Ok((
                    device_from_row(row)?,
                    row.get::<_, Option<i64>>(5)?,
                    row.get::<_, i64>(6)?,
                    row.get::<_, i64>(7)?,
                ))
            })
            .optional()
            .map_err(db)?;
        let Some(([name, device_type, mut status, metadata], mut last_seen, created, updated)) =
            row
        else {
            return Ok(None);
        };
        let live = conn
            .prepare_cached("SELECT status, last_seen FROM twins WHERE device = ?1")
            .and_then(|mut s| {
                s.query_row(params![i(id.0)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()
            })
            .map_err(db)?;
        if let Some((s, seen)) = live {
            status = Some(s);
            last_seen = seen.or(last_seen);
        }
        let status = status.unwrap_or_default();
        Ok(Some(Device {
            id,
            name: name.unwrap_or_default(),
            device_type: device_type.unwrap_or_default(),
            status: DeviceStatus::parse(&status)
                .ok_or_else(|| corrupt("devices", format!("unknown status {status:?}")))?,
            metadata: metadata_from("devices", metadata.as_deref().unwrap_or("{}"))?,
            last_seen: last_seen.map(|t| Timestamp(t as u64)),
            created_at: Timestamp(created as u64),
            updated_at: Timestamp(updated as u64),
        }))
    }

    fn delete_device(&self, id: DeviceId) -> Result<bool, RepositoryError> {
        let conn = self.conn();
        let n = conn
            .prepare_cached("DELETE FROM devices WHERE id = ?1")
            .and_then(|mut s| s.execute(params![i(id.0)]))
            .map_err(db)?;
        conn.prepare_cached("DELETE FROM twins WHERE device = ?1")
            .and_then(|mut s| s.execute(params![i(id.0)]))
            .map_err(db)?;
        conn.prepare_cached("DELETE FROM room_members WHERE device = ?1")
            .and_then(|mut s| s.execute(params![i(id.0)]))
            .map_err(db)?;
        Ok(n > 0)
    }

    fn device_count(&self) -> Result<u64, RepositoryError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM devices", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db)
    }
}

impl RoomRepository for SqliteRepository {
    fn put_room(&self, room: &Room) -> Result<(), RepositoryError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO rooms (id, name, type, metadata) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, type = excluded.type,
                 metadata = excluded.metadata",
            )
            .and_then(|mut s| {
                s.execute(params![
                    i(room.id.0),
                    room.name,
                    room.room_type.as_str(),
                    metadata_json(&room.metadata)
                ])
            })
            .map_err(db)?;
        Ok(())
    }

    fn room(&self, id: RoomId) -> Result<Option<Room>, RepositoryError> {
        let conn = self.conn();
        let row = conn
            .prepare_cached("SELECT name, type, metadata FROM rooms WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row(params![i(id.0)], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .optional()
            })
            .map_err(db)?;
        let Some((name, room_type, metadata)) = row else {
            return Ok(None);
        };
        let room_type = RoomType::parse(&room_type)
            .ok_or_else(|| corrupt("rooms", format!("unknown room type {room_type:?}")))?;
        let mut room = Room::new(id, name, room_type);
        room.metadata = metadata_from("rooms", &metadata)?;
        let mut stmt = conn
            .prepare_cached("SELECT device FROM room_members WHERE room = ?1 ORDER BY seq")
            .map_err(db)?;
        let members = stmt
            .query_map(params![i(id.0)], |r| r.get::<_, i64>(0))
            .map_err(db)?;
        for m in members {
            room.devices.insert(DeviceId(m.map_err(db)? as u64));
        }
        Ok(Some(room))
    }

    fn delete_room(&self, id: RoomId) -> Result<bool, RepositoryError> {
        let conn = self.conn();
        let n = conn
            .prepare_cached("DELETE FROM rooms WHERE id = ?1")
            .and_then(|mut s| s.execute(params![i(id.0)]))
            .map_err(db)?;
        conn.prepare_cached("DELETE FROM room_members WHERE room = ?1")
            .and_then(|mut s| s.execute(params![i(id.0)]))
            .map_err(db)?;
        Ok(n > 0)
    }

    fn add_member(&self, room: RoomId, device: DeviceId) -> Result<bool, RepositoryError> {
        let conn = self.conn();
        let exists = |sql: &str, id: u64| -> Result<bool, RepositoryError> {
            conn.prepare_cached(sql)
                .and_then(|mut s| s.exists(params![i(id)]))
                .map_err(db)
        };
        if !exists("SELECT 1 FROM rooms WHERE id = ?1", room.0)? {
            return Err(RepositoryError::NotFound(format!("room {room}")));
        }
        if !exists("SELECT 1 FROM devices WHERE id = ?1", device.0)? {
            return Err(RepositoryError::NotFound(format!("device {device}")));
        }
        let n = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO room_members (room, device, seq)
                 SELECT ?1, ?2, COALESCE(MAX(seq), 0) + 1 FROM room_members WHERE room = ?1",
            )
            .and_then(|mut s| s.execute(params![i(room.0), i(device.0)]))
            .map_err(db)?;
        Ok(n > 0)
    }

    fn remove_member(&self, room: RoomId, device: DeviceId) -> Result<bool, RepositoryError> {
        let n = self
            .conn()
            .prepare_cached("DELETE FROM room_members WHERE room = ?1 AND device = ?2")
            .and_then(|mut s| s.execute(params![i(room.0), i(device.0)]))
            .map_err(db)?;
        Ok(n > 0)
    }
}

impl TwinRepository for SqliteRepository {
    fn twin(&self, device: DeviceId) -> Result<Option<TwinRecord>, RepositoryError> {
        let row = self
            .conn()
            .prepare_cached(
                "SELECT reported, desired, version, updated_at, status, last_seen
                 FROM twins WHERE device = ?1",
            )
            .and_then(|mut s| {
                s.query_row(params![i(device.0)], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                    ))
                })
                .optional()
            })
            .map_err(db)?;
        let Some((reported, desired, version, updated_at, status, last_seen)) = row else {
            return Ok(None);
        };
        Ok(Some(TwinRecord {
            device,
            twin: DigitalTwin {
                reported: state_from(&reported)?,
                desired: state_from(&desired)?,
                version: version as u64,
                updated_at: updated_at.map(|t| Timestamp(t as u64)),
            },
            status: DeviceStatus::parse(&status)
                .ok_or_else(|| corrupt("twins", format!("unknown status {status:?}")))?,
            last_seen: last_seen.map(|t| Timestamp(t as u64)),
        }))
    }

    fn put_twin(&self, record: &TwinRecord) -> Result<(), RepositoryError> {
        let t = &record.twin;
        self.conn()
            .prepare_cached(
                "INSERT INTO twins
                   (device, reported, desired, version, updated_at, status, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(device) DO UPDATE SET reported = excluded.reported,
                   desired = excluded.desired, version = excluded.version,
                   updated_at = excluded.updated_at, status = excluded.status,
                   last_seen = COALESCE(excluded.last_seen, twins.last_seen)
                 WHERE excluded.version > twins.version
                   OR (excluded.version = twins.version
                       AND COALESCE(excluded.last_seen, 0) >= COALESCE(twins.last_seen, 0))",
            )
            .and_then(|mut s| {
                s.execute(params![
                    i(record.device.0),
                    t.reported.to_json().to_string(),
                    t.desired.to_json().to_string(),
                    i(t.version),
                    t.updated_at.map(|u| i(u.0)),
                    record.status.as_str(),
                    record.last_seen.map(|u| i(u.0)),
                ])
            })
            .map_err(db)?;
        Ok(())
    }

    fn twin_count(&self) -> Result<u64, RepositoryError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM twins", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db)
    }
}

impl Repository for SqliteRepository {
    fn batch(&self, work: &mut dyn FnMut()) -> Result<(), RepositoryError> {
        self.conn().execute_batch("BEGIN IMMEDIATE").map_err(db)?;
        work();
        let conn = self.conn();
        if let Err(e) = conn.execute_batch("COMMIT") {
            // Some errors roll back by themselves; make sure nothing is left open.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            return Err(db(e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::state::{Key, Value};

    #[test]
    fn devices_rooms_and_twins_round_trip() {
        let repo = SqliteRepository::in_memory().unwrap();
        let mut d = Device::new(DeviceId(7), "lamp", "light");
        d.metadata.insert("floor".into(), "1".into());
        repo.put_device(&d).unwrap();
        assert_eq!(repo.device(DeviceId(7)).unwrap(), Some(d.clone()));
        assert_eq!(repo.device(DeviceId(8)).unwrap(), None);

        let room = Room::new(RoomId(1), "hall", RoomType::OneToMany);
        repo.put_room(&room).unwrap();
        for id in [9, 7] {
            repo.put_device(&Device::new(DeviceId(id), "x", "light"))
                .unwrap();
        }
        assert!(repo.add_member(RoomId(1), DeviceId(9)).unwrap());
        assert!(repo.add_member(RoomId(1), DeviceId(7)).unwrap());
        assert!(!repo.add_member(RoomId(1), DeviceId(9)).unwrap());
        assert!(matches!(
            repo.add_member(RoomId(1), DeviceId(99)),
            Err(RepositoryError::NotFound(_))
        ));
        let back = repo.room(RoomId(1)).unwrap().unwrap();
        assert_eq!(back.devices.iter().map(|d| d.0).collect::<Vec<_>>(), [9, 7]);
        assert!(repo.remove_member(RoomId(1), DeviceId(9)).unwrap());

        let mut twin = DigitalTwin::new();
        twin.report_number(Key::new("temperature").unwrap(), 21.5, Timestamp(3));
        let mut want = State::new();
        want.set(Key::new("power").unwrap(), Value::Bool(true));
        twin.desire(&want, &[], Timestamp(4));
        let mut rec = TwinRecord::new(DeviceId(7), twin.clone());
        rec.status = DeviceStatus::Online;
        rec.last_seen = Some(Timestamp(9));
        repo.put_twin(&rec).unwrap();
        let stale = TwinRecord::new(DeviceId(7), DigitalTwin::new());
        repo.put_twin(&stale).unwrap();
        assert_eq!(
            repo.twin(DeviceId(7)).unwrap(),
            Some(rec),
            "older version ignored"
        );
        let seen = repo.device(DeviceId(7)).unwrap().unwrap();
        assert_eq!(
            (seen.status, seen.last_seen),
            (DeviceStatus::Online, Some(Timestamp(9)))
        );
    }

    #[test]
    fn a_batch_is_one_transaction() {
        let repo = SqliteRepository::in_memory().unwrap();
        repo.batch(&mut || {
            for id in 0..100 {
                repo.put_device(&Device::new(DeviceId(id), "d", "t"))
                    .unwrap();
            }
        })
        .unwrap();
        assert_eq!(repo.device_count().unwrap(), 100);
    }
}
