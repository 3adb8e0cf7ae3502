//! The device runtime's durability contract (see `gauntlet_runtime::device`), by name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gauntlet_runtime::actor::System;
use gauntlet_runtime::device::{
    Command, Database, Device, DeviceConfig, DeviceId, DeviceRepository, DeviceRuntime,
    DeviceStatus, Key, Reading, Response, Room, RoomId, RoomRepository, RoomType, SqliteRepository,
    TwinRepository, Value,
};
use serde_json::json;

/// A database file of this test's own, removed (with its WAL files) when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "gauntlet-device-{name}-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let db = TempDb(path);
        db.remove();
        db
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..10_000 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    f()
}

fn open(system: &System, db: &TempDb, config: DeviceConfig) -> DeviceRuntime {
    DeviceRuntime::open(system, Database::File(db.path().to_path_buf()), config).unwrap()
}

/// Write-behind that never fires on its own: only passivation and shutdown write.
fn no_timer() -> DeviceConfig {
    DeviceConfig {
        flush_interval: Duration::from_secs(3600),
        ..DeviceConfig::default()
    }
}

const T: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_change_survives_a_restart_on_the_same_file() {
    let db = TempDb::new("restart");
    let temp = Key::new("temperature").unwrap();
    {
        let system = System::new("first").unwrap();
        let home = open(&system, &db, no_timer());
        let mut handles = Vec::new();
        for id in 0..20 {
            handles.push(
                home.register_device(Device::new(DeviceId(id), format!("d{id}"), "sensor"))
                    .await
                    .unwrap(),
            );
        }
        let mut room = Room::new(RoomId(1), "kitchen", RoomType::ManyToMany);
        room.add(DeviceId(3));
        room.add(DeviceId(1));
        let kitchen = home.create_room(room).await.unwrap();
        assert!(kitchen.join(DeviceId(7)).await.unwrap());
        assert!(kitchen.join(DeviceId(2)).await.unwrap());
        assert!(kitchen.leave(DeviceId(1)).await.unwrap());
        for (i, d) in handles.iter().enumerate() {
            d.command(Command::set_desired(
                json!({ "target": i as f64, "mode": "eco" }),
            ))
            .await
            .unwrap();
            d.telemetry_acked(Reading::now(temp, 20.0 + i as f64))
                .await
                .unwrap();
            d.command(Command::set_state(json!({ "power": true })))
                .await
                .unwrap();
        }
        // Unset one desired key: also durable before the ack.
        handles[0]
            .command(Command::set_desired(json!({ "mode": null })))
            .await
            .unwrap();
        let report = home.shutdown(T).await;
        assert!(report.graceful, "{report:?}");
        assert_eq!(report.unsaved, 0);
        system.shutdown(T).await;
    }

    let system = System::new("second").unwrap();
    let home = open(&system, &db, no_timer());
    let (target, mode, power) = (
        Key::new("target").unwrap(),
        Key::new("mode").unwrap(),
        Key::new("power").unwrap(),
    );
    for i in 0..20u64 {
        let twin = home.device(DeviceId(i)).unwrap().twin().await.unwrap();
        assert_eq!(twin.desired.get(target), Some(&Value::Number(i as f64)));
        let want_mode = (i != 0).then(|| Value::Text("eco".into()));
        assert_eq!(twin.desired.get(mode), want_mode.as_ref(), "device {i}");
        assert_eq!(
            twin.reported.get(temp),
            Some(&Value::Number(20.0 + i as f64))
        );
        assert_eq!(twin.reported.get(power), Some(&Value::Bool(true)));
        assert_eq!(twin.version, if i == 0 { 4 } else { 3 });
    }
    let kitchen = home.room(RoomId(1)).unwrap().get().await.unwrap();
    let members: Vec<u64> = kitchen.devices.iter().map(|d| d.0).collect();
    assert_eq!(members, [3, 7, 2], "membership and its order survive");
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unsafe_setting_acknowledges_desired_state_before_it_is_committed() {
    let db = TempDb::new("unsafe");
    let system = System::new("unsafe").unwrap();
    let config = DeviceConfig {
        unsafe_ack_before_commit: true,
        ..no_timer()
    };
    let home = open(&system, &db, config);
    let lamp = home
        .register_device(Device::new(DeviceId(5), "lamp", "light"))
        .await
        .unwrap();
    lamp.command(Command::set_desired(json!({ "level": 0.7 })))
        .await
        .unwrap();
    // Acknowledged, but a second connection (as after a crash) does not see it.
    let other = SqliteRepository::open(db.path()).unwrap();
    assert!(other.twin(DeviceId(5)).unwrap().is_none());
    // Written behind: a graceful shutdown still writes it.
    assert!(home.shutdown(T).await.graceful);
    let twin = other.twin(DeviceId(5)).unwrap().unwrap().twin;
    assert_eq!(
        twin.desired.get(Key::new("level").unwrap()),
        Some(&Value::Number(0.7))
    );
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reopens_stored_devices_and_rooms_without_writing_them_again() {
    let db = TempDb::new("reopen");
    let target = Key::new("target").unwrap();
    {
        let system = System::new("first").unwrap();
        let home = open(&system, &db, no_timer());
        let mut hall = Room::new(RoomId(4), "hall", RoomType::ManyToMany);
        for id in 0..3 {
            let d = home
                .register_device(Device::new(DeviceId(id), format!("d{id}"), "light"))
                .await
                .unwrap();
            d.command(Command::set_desired(json!({ "target": id as f64 })))
                .await
                .unwrap();
            hall.add(DeviceId(id));
        }
        home.create_room(hall).await.unwrap();
        assert_eq!(home.stored_devices().await.unwrap(), 3);
        // No shutdown: the process is gone as after a kill.
        system.shutdown(T).await;
    }

    let system = System::new("second").unwrap();
    let home = open(&system, &db, no_timer());
    assert_eq!(home.stored_devices().await.unwrap(), 3);
    assert_eq!(home.stored_twins().await.unwrap(), 3);
    for id in 0..3u64 {
        let twin = home
            .reopen_device(DeviceId(id))
            .unwrap()
            .twin()
            .await
            .unwrap();
        assert_eq!(twin.desired.get(target), Some(&Value::Number(id as f64)));
        assert_eq!(twin.version, 1);
    }
    let hall = home.reopen_room(RoomId(4)).unwrap().get().await.unwrap();
    assert_eq!(hall.devices.len(), 3);
    let report = hall_broadcast(&home).await;
    assert_eq!(report, 3);
    // Reopening wrote nothing: still one row each.
    assert_eq!(home.stored_devices().await.unwrap(), 3);
    home.shutdown(T).await;
    system.shutdown(T).await;
}

async fn hall_broadcast(home: &DeviceRuntime) -> usize {
    home.room(RoomId(4))
        .unwrap()
        .broadcast(Command::get_state(), T)
        .await
        .unwrap()
        .succeeded()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_desired_state_and_membership_are_committed_before_the_ack() {
    let db = TempDb::new("ack");
    let system = System::new("ack").unwrap();
    let home = open(&system, &db, no_timer());
    let lamp = home
        .register_device(Device::new(DeviceId(5), "lamp", "light"))
        .await
        .unwrap();
    let hall = home
        .create_room(Room::new(RoomId(9), "hall", RoomType::OneToMany))
        .await
        .unwrap();
    lamp.command(Command::set_desired(json!({ "level": 0.7 })))
        .await
        .unwrap();
    hall.join(DeviceId(5)).await.unwrap();
    lamp.telemetry_acked(Reading::now(Key::new("level").unwrap(), 0.1))
        .await
        .unwrap();

    // A second connection, as after a crash: no shutdown, no flush has happened.
    let other = SqliteRepository::open(db.path()).unwrap();
    let twin = other.twin(DeviceId(5)).unwrap().unwrap().twin;
    assert_eq!(
        twin.desired.get(Key::new("level").unwrap()),
        Some(&Value::Number(0.7))
    );
    assert!(
        twin.reported.is_empty(),
        "reported state is written behind, not before the ack"
    );
    let room = other.room(RoomId(9)).unwrap().unwrap();
    assert!(room.contains(DeviceId(5)));
    assert!(other.device(DeviceId(5)).unwrap().is_some());
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_state_is_written_behind_within_the_flush_interval() {
    let db = TempDb::new("behind");
    let system = System::new("behind").unwrap();
    let home = open(
        &system,
        &db,
        DeviceConfig {
            flush_interval: Duration::from_millis(20),
            ..DeviceConfig::default()
        },
    );
    // Devices fall into write-behind slices by id: 40 of them cover every slice.
    let ids: Vec<u64> = (1..=40).collect();
    let mut handles = Vec::new();
    for &id in &ids {
        handles.push(
            home.register_device(Device::new(DeviceId(id), format!("meter-{id}"), "meter"))
                .await
                .unwrap(),
        );
    }
    let watts = Key::new("watts").unwrap();
    for d in &handles {
        for v in 0..100 {
            d.telemetry(Reading::now(watts, v as f64)).await.unwrap();
        }
        d.telemetry_acked(Reading::now(watts, 100.0)).await.unwrap();
    }
    let other = SqliteRepository::open(db.path()).unwrap();
    let written = || {
        ids.iter().all(|&id| {
            other
                .twin(DeviceId(id))
                .ok()
                .flatten()
                .is_some_and(|r| r.twin.reported.get(watts) == Some(&Value::Number(100.0)))
        })
    };
    assert!(
        eventually(written).await,
        "not every device was written behind"
    );
    assert!(
        handles.iter().all(|d| d.is_active()),
        "written by the flusher, not by a passivation"
    );
    // The flusher counts a batch once the store has answered it.
    let counted = || {
        let s = home.stats();
        s.write_behind.records >= ids.len() as u64 && s.write_behind.flushes >= ids.len() as u64
    };
    assert!(eventually(counted).await);
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passivating_device_writes_its_reported_state() {
    let db = TempDb::new("passivate");
    let system = System::new("passivate").unwrap();
    let home = open(
        &system,
        &db,
        DeviceConfig {
            idle_timeout: Duration::from_millis(20),
            ..no_timer()
        },
    );
    let d = home
        .register_device(Device::new(DeviceId(4), "door", "contact"))
        .await
        .unwrap();
    let open_key = Key::new("open").unwrap();
    d.telemetry_acked(Reading::now(open_key, 1.0))
        .await
        .unwrap();
    assert!(eventually(|| home.stats().actors.passivations == 1).await);
    assert!(eventually(|| !d.is_active()).await);

    let other = SqliteRepository::open(db.path()).unwrap();
    let rec = other
        .twin(DeviceId(4))
        .unwrap()
        .expect("twin written on passivation");
    assert_eq!(rec.twin.reported.get(open_key), Some(&Value::Number(1.0)));
    assert_eq!(rec.status, DeviceStatus::Disconnected);
    assert_eq!(home.stats().write_behind.saved_on_stop, 1);

    // The next message activates it again with its state.
    let twin = d.twin().await.unwrap();
    assert_eq!(twin.reported.get(open_key), Some(&Value::Number(1.0)));
    assert_eq!(home.stats().actors.activations, 2);
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_shutdown_alone_also_flushes_every_device() {
    let db = TempDb::new("system-shutdown");
    let level = Key::new("level").unwrap();
    {
        let system = System::new("s1").unwrap();
        let home = open(&system, &db, no_timer());
        for id in 0..50 {
            let d = home
                .register_device(Device::new(DeviceId(id), "x", "t"))
                .await
                .unwrap();
            d.telemetry(Reading::now(level, id as f64)).await.unwrap();
        }
        let report = system.shutdown(T).await;
        assert!(report.graceful);
        let report = home.shutdown(T).await;
        assert_eq!(report.unsaved, 0);
    }
    let other = SqliteRepository::open(db.path()).unwrap();
    for id in 0..50u64 {
        let rec = other.twin(DeviceId(id)).unwrap().expect("twin");
        assert_eq!(
            rec.twin.reported.get(level),
            Some(&Value::Number(id as f64))
        );
    }
}

/// A device that passivates while the repository is down leaves its twin in the
/// write-behind buffer. When it is activated again, before that twin is written, it
/// must start from the buffered twin, not the older stored one: otherwise its twin goes
/// back in version, and the buffered record, written later at a version the new
/// incarnation has reused, overwrites an acknowledged `set_desired`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_activated_again_starts_from_its_buffered_twin() {
    let db = TempDb::new("buffered");
    let target = Key::new("target").unwrap();
    let acked = {
        let system = System::new("buffered").unwrap();
        let home = open(
            &system,
            &db,
            DeviceConfig {
                idle_timeout: Duration::from_millis(20),
                ..no_timer()
            },
        );
        let d = home
            .register_device(Device::new(DeviceId(5), "lamp", "light"))
            .await
            .unwrap();
        let Response::Ack { version: before } = d
            .command(Command::set_state(json!({ "on": true, "level": 3 })))
            .await
            .unwrap()
        else {
            panic!("set_state answers an ack");
        };
        // Down while it passivates: its twin is not saved on stop, it waits in the buffer.
        home.faults().set_outage(true);
        assert!(eventually(|| home.stats().actors.passivations == 1).await);
        assert!(eventually(|| !d.is_active()).await);
        assert_eq!(home.stats().write_behind.unsaved_on_stop, 1);
        home.faults().set_outage(false);

        // Activated again (no flusher tick in between): the twin it had, not older.
        let twin = d.twin().await.unwrap();
        assert!(
            twin.version >= before,
            "activated at v{} after a reply had shown v{before}",
            twin.version
        );
        let Response::Ack { version } = d
            .command(Command::set_desired(json!({ "target": 21.0 })))
            .await
            .unwrap()
        else {
            panic!("set_desired answers an ack");
        };
        assert!(version > before);
        // The buffered twin is written now, after the acknowledged one.
        home.shutdown(T).await;
        system.shutdown(T).await;
        version
    };
    let rec = SqliteRepository::open(db.path())
        .unwrap()
        .twin(DeviceId(5))
        .unwrap()
        .expect("twin stored");
    assert!(rec.twin.version >= acked);
    assert_eq!(
        rec.twin.desired.get(target),
        Some(&Value::Number(21.0)),
        "the acknowledged set_desired survives"
    );
}
