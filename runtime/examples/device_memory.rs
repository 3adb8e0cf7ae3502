//! Memory of registered (passivated) and active devices in the device runtime.
//!
//! `cargo run --release -p gauntlet-runtime --example device_memory [REGISTERED] [ACTIVE]`
//!
//! Each case runs in a fresh child process (so one case's freed memory cannot flatter
//! the next) and reports its RSS growth from just before the runtime started:
//! - `registered`: REGISTERED devices registered (durably, in a SQLite file) and known
//!   to the device region, none active;
//! - `active`: the same, plus ACTIVE of them activated by one reading each (each loads
//!   its twin from SQLite and holds it in memory).
//!
//! Defaults: 1,000,000 registered, 100,000 active (the capacity target: < 2 GB).

use std::time::Duration;

use gauntlet_runtime::actor::System;
use gauntlet_runtime::device::{
    Database, Device, DeviceConfig, DeviceId, DeviceRuntime, Key, Reading, Timestamp,
};

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn case(registered: u64, active: u64) -> Result<usize, Box<dyn std::error::Error>> {
    let path =
        std::env::temp_dir().join(format!("gauntlet-device-memory-{}.db", std::process::id()));
    let system = System::new("home")?;
    let before = rss_bytes();
    let home = DeviceRuntime::open(
        &system,
        Database::File(path.clone()),
        DeviceConfig {
            idle_timeout: Duration::from_secs(3600),
            ..DeviceConfig::default()
        },
    )?;
    let mut next = 0;
    while next < registered {
        let end = (next + 100_000).min(registered);
        home.register_devices(
            (next..end)
                .map(|i| Device::new(DeviceId(i), "sensor", "thermostat"))
                .collect(),
        )
        .await?;
        next = end;
    }
    let key = Key::new("temperature")?;
    let stride = (registered / active.max(1)).max(1);
    for i in 0..active {
        home.device(DeviceId(i * stride))?
            .telemetry(Reading::at(key, 20.5, Timestamp(1)))
            .await?;
    }
    while home.stats().telemetry < active {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Let one write-behind round run, as it would in steady state.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let grown = rss_bytes().saturating_sub(before);
    let stats = home.stats();
    assert_eq!(stats.actors.active, active);
    assert_eq!(stats.actors.registered, registered);
    home.shutdown(Duration::from_secs(300)).await;
    system.shutdown(Duration::from_secs(300)).await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    Ok(grown)
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--case") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let registered: u64 = args[2].parse()?;
        let active: u64 = args[3].parse()?;
        println!("{}", rt.block_on(case(registered, active))?);
        return Ok(());
    }
    let registered: u64 = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let active: u64 = args.get(2).map_or(Ok(100_000), |s| s.parse())?;
    let measure = |active: u64| -> Result<usize, Box<dyn std::error::Error>> {
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["--case", &registered.to_string(), &active.to_string()])
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
    };
    let idle = measure(0)?;
    let busy = measure(active)?;
    println!(
        "{registered} registered, 0 active:       RSS + {:8.1} MiB ({:6.0} bytes per registered device)",
        mib(idle),
        idle as f64 / registered.max(1) as f64
    );
    println!(
        "{registered} registered, {active} active: RSS + {:8.1} MiB ({:6.0} bytes per active device beyond registered)",
        mib(busy),
        busy.saturating_sub(idle) as f64 / active.max(1) as f64
    );
    println!(
        "target: < 2048 MiB with {registered} registered and {active} active: {}",
        if busy < 2048 * 1024 * 1024 {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
