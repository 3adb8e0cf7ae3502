//! The repository's circuit breaker and fault seam, seen from the device runtime:
//! outages refuse durable commands (typed `Unavailable`), readiness follows the
//! breaker, and nothing written behind is lost across an outage.

use std::time::Duration;

use gauntlet_runtime::actor::System;
use gauntlet_runtime::device::{
    BreakerConfig, BreakerState, Command, CommandError, Database, Device, DeviceConfig, DeviceId,
    DeviceRuntime, InjectedFault, Key, Reading, StoreConfig, StoreError, Value,
};
use serde_json::json;

const T: Duration = Duration::from_secs(10);

async fn eventually_async<F: std::future::Future<Output = bool>>(mut f: impl FnMut() -> F) -> bool {
    for _ in 0..10_000 {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    f().await
}

fn config(threshold: u32, reset: Duration, flush: Duration) -> DeviceConfig {
    DeviceConfig {
        flush_interval: flush,
        store: StoreConfig {
            breaker: BreakerConfig {
                failure_threshold: threshold,
                reset_timeout: reset,
                half_open_probes: 1,
            },
            ..StoreConfig::default()
        },
        ..DeviceConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_opens_the_circuit_refuses_durable_commands_and_recovers() {
    let system = System::new("outage").unwrap();
    let home = DeviceRuntime::open(
        &system,
        Database::InMemory,
        config(3, Duration::from_millis(20), Duration::from_secs(3600)),
    )
    .unwrap();
    let d = home
        .register_device(Device::new(DeviceId(1), "x", "t"))
        .await
        .unwrap();
    d.command(Command::set_desired(json!({ "level": 1 })))
        .await
        .unwrap();
    let h = home.health(T).await;
    assert!(h.live && h.ready && h.breaker == BreakerState::Closed);

    home.faults().set_outage(true);
    for _ in 0..3 {
        let e = d
            .command(Command::set_desired(json!({ "level": 2 })))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            CommandError::Store(StoreError::Injected(InjectedFault::Outage))
        );
    }
    let e = d
        .command(Command::set_desired(json!({ "level": 3 })))
        .await
        .unwrap_err();
    assert!(
        matches!(e, CommandError::Store(StoreError::Unavailable(_))),
        "{e:?}"
    );
    let h = home.health(T).await;
    assert!(h.live && !h.ready, "{h:?}");
    // Reads of in-memory state and readings still work while the circuit is open.
    let level = Key::new("level").unwrap();
    let twin = d.twin().await.unwrap();
    assert_eq!(
        twin.desired.get(level),
        Some(&Value::Number(1.0)),
        "no failed write applied"
    );
    d.telemetry_acked(Reading::now(level, 0.5)).await.unwrap();

    home.faults().set_outage(false);
    let recovered = eventually_async(|| {
        let d = d.clone();
        async move {
            d.command(Command::set_desired(json!({ "level": 4 })))
                .await
                .is_ok()
        }
    })
    .await;
    assert!(recovered);
    assert!(home.health(T).await.ready);
    let s = home.stats();
    assert_eq!(s.breaker.state, BreakerState::Closed);
    assert!(s.breaker.opened >= 1 && s.breaker.half_opened >= 1 && s.breaker.closed >= 1);
    assert!(s.breaker.rejections >= 1);
    assert_eq!(s.faults.outages, 3);
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn written_behind_state_waits_out_an_outage_and_is_written_after() {
    let system = System::new("wait-out").unwrap();
    let home = DeviceRuntime::open(
        &system,
        Database::InMemory,
        config(1, Duration::from_millis(10), Duration::from_millis(10)),
    )
    .unwrap();
    let d = home
        .register_device(Device::new(DeviceId(1), "x", "t"))
        .await
        .unwrap();
    let watts = Key::new("watts").unwrap();
    d.telemetry_acked(Reading::now(watts, 6.0)).await.unwrap(); // activated and loaded
    home.faults().set_outage(true);
    d.telemetry_acked(Reading::now(watts, 7.0)).await.unwrap();
    let failing = eventually_async(|| async { home.stats().write_behind.failures > 0 }).await;
    assert!(failing, "the flusher never tried");
    assert!(home.stats().write_behind.pending >= 1, "kept, not dropped");
    home.faults().set_outage(false);
    let written = eventually_async(|| async {
        let s = home.stats();
        s.write_behind.pending == 0 && s.write_behind.records >= 1
    })
    .await;
    assert!(written, "{:?}", home.stats());
    let stored = home
        .store()
        .call(|repo| repo.twin(DeviceId(1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.twin.reported.get(watts), Some(&Value::Number(7.0)));
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_activated_during_an_outage_runs_unloaded_then_merges_its_state() {
    let system = System::new("unloaded").unwrap();
    let home = DeviceRuntime::open(
        &system,
        Database::InMemory,
        config(1000, Duration::from_millis(10), Duration::from_secs(3600)),
    )
    .unwrap();
    let d = home
        .register_device(Device::new(DeviceId(1), "x", "t"))
        .await
        .unwrap();
    d.command(Command::set_desired(json!({ "mode": "eco" })))
        .await
        .unwrap();
    let stored_twin = d.twin().await.unwrap();
    assert_eq!(stored_twin.version, 1);
    let (mode, temp) = (Key::new("mode").unwrap(), Key::new("temp").unwrap());

    let other = home.device(DeviceId(2)).unwrap();
    home.register_device(Device::new(DeviceId(2), "y", "t"))
        .await
        .unwrap();
    home.faults().set_outage(true);
    // Device 2 activates now: its load fails, it runs unloaded.
    other
        .telemetry_acked(Reading::now(temp, 21.0))
        .await
        .unwrap();
    let e = other.command(Command::get_state()).await.unwrap_err();
    assert!(matches!(e, CommandError::Store(_)), "{e:?}");
    assert!(home.stats().actors.load_failures >= 1);
    home.faults().set_outage(false);
    let twin = other.twin().await.unwrap();
    assert_eq!(
        twin.reported.get(temp),
        Some(&Value::Number(21.0)),
        "merged"
    );
    assert_eq!(twin.version, 1);
    assert_eq!(
        d.twin().await.unwrap().desired.get(mode),
        Some(&Value::Text("eco".into()))
    );
    home.shutdown(T).await;
    system.shutdown(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flusher_loads_and_writes_an_unloaded_device_once_the_repository_is_back() {
    let system = System::new("late-load").unwrap();
    let home = DeviceRuntime::open(
        &system,
        Database::InMemory,
        config(1000, Duration::from_millis(10), Duration::from_millis(10)),
    )
    .unwrap();
    let d = home
        .register_device(Device::new(DeviceId(3), "z", "t"))
        .await
        .unwrap();
    let temp = Key::new("temp").unwrap();
    home.faults().set_outage(true);
    d.telemetry(Reading::now(temp, 30.0)).await.unwrap();
    let tried = eventually_async(|| async { home.stats().actors.load_failures >= 2 }).await;
    assert!(tried, "the flusher did not retry the load");
    home.faults().set_outage(false);
    // No further message to the device: the flusher's retries load and write it.
    let written = eventually_async(|| async {
        home.store()
            .call(|repo| repo.twin(DeviceId(3)))
            .await
            .ok()
            .flatten()
            .is_some_and(|r| r.twin.reported.get(temp) == Some(&Value::Number(30.0)))
    })
    .await;
    assert!(written, "{:?}", home.stats());
    home.shutdown(T).await;
    system.shutdown(T).await;
}
