//! Device and room actors: telemetry, thresholds and alerts, commands, pipelines,
//! broadcasts, edge messages.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gauntlet_runtime::actor::System;
use gauntlet_runtime::device::{
    Command, CommandError, Database, Device, DeviceConfig, DeviceEvent, DeviceId, DeviceRuntime,
    FiniteValue, Flow, Key, Linear, Message, MessageId, MessageKind, Pipeline, Reading, Response,
    Room, RoomId, RoomType, Stage, StageError, StageInput, StageKind, TelemetryError, Threshold,
    Thresholds, Value,
};
use serde_json::json;

const T: Duration = Duration::from_secs(10);

async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..10_000 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    f()
}

fn runtime(system: &System, config: DeviceConfig) -> DeviceRuntime {
    DeviceRuntime::open(system, Database::InMemory, config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_updates_the_twin_and_thresholds_raise_one_alert_per_violation() {
    let system = System::new("alerts").unwrap();
    let temp = Key::new("temperature").unwrap();
    let mut thresholds = HashMap::new();
    thresholds.insert(
        "thermostat".to_string(),
        Thresholds::new().with(temp, Threshold::range(10.0, 30.0)),
    );
    let home = runtime(
        &system,
        DeviceConfig {
            thresholds,
            ..DeviceConfig::default()
        },
    );
    let mut events = home.events();
    let t = home
        .register_device(Device::new(DeviceId(1), "hall", "thermostat"))
        .await
        .unwrap();
    // In range, out (alert), still out (no second alert), back in, out again (alert).
    let mut version = 0;
    for v in [20.0, 35.0, 36.0, 25.0, 5.0] {
        version = t.telemetry_acked(Reading::now(temp, v)).await.unwrap();
    }
    assert_eq!(version, 5, "every reading changed the value");
    let stats = home.stats();
    assert_eq!((stats.telemetry, stats.violations, stats.alerts), (5, 3, 2));
    let mut alerts = Vec::new();
    while let Ok(DeviceEvent::Alert(a)) = events.try_recv() {
        alerts.push(a.value);
    }
    assert_eq!(alerts, [35.0, 5.0]);
    let twin = t.twin().await.unwrap();
    assert_eq!(twin.reported.get(temp), Some(&Value::Number(5.0)));

    // Devices of another type have no thresholds.
    let other = home
        .register_device(Device::new(DeviceId(2), "x", "lamp"))
        .await
        .unwrap();
    other
        .telemetry_acked(Reading::now(temp, 99.0))
        .await
        .unwrap();
    assert_eq!(home.stats().alerts, 2);
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_answer_and_refuse_clearly() {
    let system = System::new("commands").unwrap();
    let home = runtime(&system, DeviceConfig::default());
    let d = home
        .register_device(Device::new(DeviceId(1), "lamp", "light"))
        .await
        .unwrap();
    let ack = d
        .command(Command::set_state(json!({ "power": true, "level": 3 })))
        .await
        .unwrap();
    assert_eq!(ack, Response::Ack { version: 1 });
    let ack = d
        .command(Command::set_desired(json!({ "level": 5 })))
        .await
        .unwrap();
    assert_eq!(ack, Response::Ack { version: 2 });
    let twin = d.twin().await.unwrap();
    let level = Key::new("level").unwrap();
    assert_eq!(twin.delta(), vec![(level, Value::Number(5.0))]);
    assert_eq!(twin.to_json()["delta"], json!({ "level": 5.0 }));

    let unknown = d.command(Command::new("reboot", json!({}))).await;
    assert_eq!(unknown, Err(CommandError::UnknownAction("reboot".into())));
    for bad in [
        Command::set_state(json!([1, 2])),
        Command::set_state(json!({ "x": { "nested": 1 } })),
        Command::set_state(json!({ "bad key": 1 })),
        Command::set_desired(json!("on")),
        Command::set_desired(json!({ "level": [1] })),
        Command::new("get_state", json!({ "unexpected": 1 })),
        Command::set_state(json!({ "status": "sleepy" })),
    ] {
        let action = bad.action.clone();
        match d.command(bad).await {
            Err(CommandError::MalformedPayload { .. }) => {}
            other => panic!("{action}: {other:?}"),
        }
    }
    assert_eq!(
        d.twin().await.unwrap().version,
        2,
        "refusals change nothing"
    );

    let ghost = home.device(DeviceId(404)).unwrap();
    assert_eq!(
        ghost.command(Command::get_state()).await,
        Err(CommandError::UnknownDevice(DeviceId(404)))
    );
    assert_eq!(
        ghost.telemetry_acked(Reading::now(level, 1.0)).await,
        Err(TelemetryError::UnknownDevice(DeviceId(404)))
    );
    let stats = home.stats();
    assert_eq!(stats.commands.unknown_action, 1);
    assert_eq!(stats.commands.malformed, 7);
    assert_eq!(stats.commands.set_state, 1);
    assert_eq!(stats.commands.set_desired, 1);
    assert_eq!(stats.unknown_device, 1);
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_stage_is_counted_answered_and_the_pipeline_carries_on() {
    let system = System::new("pipeline").unwrap();
    let f = Key::new("temp-f").unwrap();
    let home = runtime(
        &system,
        DeviceConfig {
            pipeline: Pipeline::new().stage(FiniteValue).stage(Linear {
                key: f,
                factor: 5.0 / 9.0,
                offset: -32.0 * 5.0 / 9.0,
            }),
            ..DeviceConfig::default()
        },
    );
    let mut events = home.events();
    let d = home
        .register_device(Device::new(DeviceId(1), "x", "t"))
        .await
        .unwrap();
    let err = d
        .telemetry_acked(Reading::now(f, f64::NAN))
        .await
        .unwrap_err();
    let TelemetryError::Stage(failure) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (failure.stage, failure.kind),
        ("finite-value", "validation")
    );
    d.telemetry(Reading::now(f, f64::INFINITY)).await.unwrap();
    d.telemetry_acked(Reading::now(f, 212.0)).await.unwrap();
    let twin = d.twin().await.unwrap();
    assert_eq!(twin.reported.get(f), Some(&Value::Number(100.0)));
    let stats = home.stats();
    assert_eq!((stats.telemetry_rejected, stats.telemetry), (2, 1));
    assert_eq!(stats.pipeline.stages[0].failures, 2);
    assert!(matches!(
        events.try_recv(),
        Ok(DeviceEvent::PipelineFailed {
            device: DeviceId(1),
            ..
        })
    ));
    home.shutdown(T).await;
    system.shutdown(T).await;
}

/// Blocks device 2's handler on a reading of `gate` until released.
struct Gate {
    key: Key,
    entered: Arc<AtomicBool>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Stage for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }
    fn kind(&self) -> StageKind {
        StageKind::Enrichment
    }
    fn apply(&self, input: StageInput<'_>, r: &mut Reading) -> Result<Flow, StageError> {
        if r.key == self.key && input.device == DeviceId(2) {
            self.entered.store(true, Ordering::SeqCst);
            let _ = self.release.lock().unwrap().recv();
        }
        Ok(Flow::Continue)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_broadcast_reports_members_that_missed_the_deadline_as_partial() {
    let system = System::new("broadcast").unwrap();
    let gate = Key::new("gate").unwrap();
    let entered = Arc::new(AtomicBool::new(false));
    let (release, rx) = std::sync::mpsc::channel();
    let home = runtime(
        &system,
        DeviceConfig {
            pipeline: Pipeline::new().stage(Gate {
                key: gate,
                entered: entered.clone(),
                release: Mutex::new(rx),
            }),
            ..DeviceConfig::default()
        },
    );
    let mut room = Room::new(RoomId(1), "hall", RoomType::ManyToMany);
    for id in 1..=3 {
        home.register_device(Device::new(DeviceId(id), "x", "t"))
            .await
            .unwrap();
        room.add(DeviceId(id));
    }
    room.add(DeviceId(3)); // already a member: no-op
    let hall = home.create_room(room).await.unwrap();

    let all = hall
        .broadcast(Command::set_state(json!({ "on": true })), T)
        .await
        .unwrap();
    assert!(all.complete && all.timed_out.is_empty());
    assert_eq!(all.succeeded(), 3);
    let order: Vec<u64> = all.replies.iter().map(|r| r.device.0).collect();
    assert_eq!(order, [1, 2, 3]);

    // Device 2 is stuck in a handler: it cannot answer within the deadline.
    home.device(DeviceId(2))
        .unwrap()
        .telemetry(Reading::now(gate, 1.0))
        .await
        .unwrap();
    assert!(eventually(|| entered.load(Ordering::SeqCst)).await);
    let partial = hall
        .broadcast(Command::get_state(), Duration::from_millis(300))
        .await
        .unwrap();
    release.send(()).unwrap();
    assert!(!partial.complete);
    assert_eq!(partial.timed_out, [DeviceId(2)]);
    let answered: Vec<u64> = partial.replies.iter().map(|r| r.device.0).collect();
    assert_eq!(answered, [1, 3]);
    let stats = home.stats();
    assert_eq!(
        (stats.rooms.broadcasts, stats.rooms.partial_broadcasts),
        (2, 1)
    );
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_refuses_unknown_devices_and_rooms() {
    let system = System::new("rooms").unwrap();
    let home = runtime(&system, DeviceConfig::default());
    home.register_device(Device::new(DeviceId(1), "x", "t"))
        .await
        .unwrap();
    let nowhere = home.room(RoomId(77)).unwrap();
    assert!(matches!(
        nowhere.join(DeviceId(1)).await,
        Err(gauntlet_runtime::device::RoomError::UnknownRoom(RoomId(77)))
    ));
    let hall = home
        .create_room(Room::new(RoomId(1), "hall", RoomType::ManyToOne))
        .await
        .unwrap();
    assert!(matches!(
        hall.join(DeviceId(99)).await,
        Err(gauntlet_runtime::device::RoomError::UnknownDevice(
            DeviceId(99)
        ))
    ));
    assert!(hall.join(DeviceId(1)).await.unwrap());
    assert!(!hall.join(DeviceId(1)).await.unwrap());
    assert_eq!(home.stats().rooms.membership_changes, 1);
    let room = hall.get().await.unwrap();
    assert_eq!(room.room_type, RoomType::ManyToOne);
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_messages_are_routed_and_bad_ones_refused() {
    let system = System::new("edge").unwrap();
    let home = runtime(&system, DeviceConfig::default());
    home.register_device(Device::new(DeviceId(8), "x", "t"))
        .await
        .unwrap();
    let telemetry = Message::json(
        MessageId(1),
        "gateway",
        "8",
        MessageKind::Telemetry,
        &json!({ "humidity": 40.5 }),
    );
    assert_eq!(home.deliver(telemetry).await, Ok(None));
    let command = Message::json(
        MessageId(2),
        "app",
        "8",
        MessageKind::Command,
        &json!({ "action": "get_state" }),
    );
    let reply = home.deliver(command).await.unwrap().unwrap();
    assert_eq!(reply.kind, MessageKind::Response);
    assert_eq!((reply.source.as_str(), reply.target.as_str()), ("8", "app"));
    let body: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(body["reported"]["humidity"], json!(40.5));

    let mut bad = Message::json(MessageId(3), "a", "x", MessageKind::Command, &json!({}));
    assert!(home.deliver(bad.clone()).await.is_err(), "bad target");
    bad.target = "8".into();
    assert!(home.deliver(bad.clone()).await.is_err(), "no action");
    bad.payload = b"{not json".to_vec();
    assert!(home.deliver(bad.clone()).await.is_err(), "not json");
    bad.kind = MessageKind::Event;
    bad.payload = b"{}".to_vec();
    assert!(
        home.deliver(bad).await.is_err(),
        "events are not for devices"
    );
    home.shutdown(T).await;
    system.shutdown(T).await;
}
