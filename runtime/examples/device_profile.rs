//! A fixed amount of telemetry through warm device actors, for profilers (callgrind,
//! perf), which want a plain process rather than criterion's adaptive loop.
//!
//! `cargo run --release -p gauntlet-runtime --example device_profile -- [READINGS] [DEVICES]`
//!
//! On a current-thread runtime (deterministic instruction counts under callgrind):
//! registers DEVICES devices (default 10,000), warms each with one acknowledged
//! reading, then tells READINGS readings (default 200,000) round-robin in bursts of
//! 1,000 and waits until the devices handled them all. Instructions per reading =
//! (Ir with READINGS - Ir with 0) / READINGS:
//!
//! ```text
//! valgrind --tool=callgrind target/release/examples/device_profile 0
//! valgrind --tool=callgrind target/release/examples/device_profile 200000
//! ```

use std::time::Duration;

use gauntlet_runtime::actor::System;
use gauntlet_runtime::device::{
    Database, Device, DeviceConfig, DeviceHandle, DeviceId, DeviceRuntime, Key, Reading, Timestamp,
};

async fn run(readings: u64, devices: u64) -> Result<(), Box<dyn std::error::Error>> {
    let system = System::new("profile")?;
    let home = DeviceRuntime::open(
        &system,
        Database::InMemory,
        DeviceConfig {
            // No write-behind tick inside the measurement: this counts the reading path.
            flush_interval: Duration::from_secs(3600),
            // Nor passivation: callgrind runs ~50x slower than the wall clock assumes.
            idle_timeout: Duration::from_secs(3600),
            ..DeviceConfig::default()
        },
    )?;
    home.register_devices(
        (0..devices)
            .map(|i| Device::new(DeviceId(i), "sensor", "thermostat"))
            .collect(),
    )
    .await?;
    let key = Key::new("temperature")?;
    let handles: Vec<DeviceHandle> = (0..devices)
        .map(|i| home.device(DeviceId(i)))
        .collect::<Result<_, _>>()?;
    for h in &handles {
        h.telemetry_acked(Reading::at(key, 0.0, Timestamp(0)))
            .await?;
    }
    let before = home.stats().telemetry;
    let n = handles.len() as u64;
    for i in 0..readings {
        let h = &handles[(i % n) as usize];
        h.telemetry(Reading::at(key, (i % 30) as f64, Timestamp(i)))
            .await?;
        if i % 1000 == 999 {
            tokio::task::yield_now().await;
        }
    }
    while home.stats().telemetry < before + readings {
        tokio::task::yield_now().await;
    }
    println!("{readings} readings through {devices} devices");
    home.shutdown(Duration::from_secs(60)).await;
    system.shutdown(Duration::from_secs(60)).await;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let readings: u64 = args.get(1).map_or(Ok(200_000), |s| s.parse())?;
    let devices: u64 = args.get(2).map_or(Ok(10_000), |s| s.parse())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(readings, devices))
}
