//! Memory of entities (virtual actors) against live actors.
//!
//! `cargo run --release -p gauntlet-runtime --example entity_memory [KEYS] [ACTIVE]`
//!
//! Measures, each case in a fresh child process so that one case's freed memory cannot
//! flatter the next: the RSS growth of KEYS registered entity keys of which ACTIVE are
//! running (each got one message), against KEYS live actors (each got one message).
//! Defaults: 1,000,000 keys, 10,000 active.

use std::time::Duration;

use gauntlet_runtime::actor::{Actor, Context, EntityProps, HandlerError, Props, System};

struct Device(u64);

impl Actor for Device {
    type Msg = u64;
    async fn handle(&mut self, msg: u64, _: &mut Context<Self>) -> Result<(), HandlerError> {
        self.0 += msg;
        Ok(())
    }
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn entities(keys: u64, active: u64) -> Result<usize, Box<dyn std::error::Error>> {
    let system = System::new("home")?;
    let before = rss_bytes();
    let devices = system.entities(
        "device",
        EntityProps::new(|_: &u64| Device(0)).idle_timeout(Duration::from_secs(3600)),
    )?;
    for k in 0..keys {
        devices.register(k)?;
    }
    for k in 0..active {
        devices.get(k * (keys / active.max(1)))?.tell(1).await?;
    }
    while system.stats().messages.delivered < active {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let grown = rss_bytes().saturating_sub(before);
    assert_eq!(devices.active(), active);
    assert_eq!(devices.registered() as u64, keys);
    system.shutdown(Duration::from_secs(60)).await;
    Ok(grown)
}

async fn actors(count: u64) -> Result<usize, Box<dyn std::error::Error>> {
    let system = System::new("home")?;
    let before = rss_bytes();
    let props = Props::new(|| Device(0));
    let mut refs = Vec::with_capacity(count as usize);
    for k in 0..count {
        let r = system.spawn(&k.to_string(), props.clone())?;
        r.tell(1).await?;
        refs.push(r);
    }
    while system.stats().messages.delivered < count {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let grown = rss_bytes().saturating_sub(before);
    system.shutdown(Duration::from_secs(120)).await;
    Ok(grown)
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // Child mode: measure one case and print the byte count.
    if args.get(1).map(String::as_str) == Some("--case") {
        let keys: u64 = args[3].parse()?;
        let active: u64 = args[4].parse()?;
        let grown = match args[2].as_str() {
            "entities" => rt.block_on(entities(keys, active))?,
            _ => rt.block_on(actors(keys))?,
        };
        println!("{grown}");
        return Ok(());
    }
    let keys: u64 = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let active: u64 = args.get(2).map_or(Ok(10_000), |s| s.parse())?;
    let measure = |case: &str| -> Result<usize, Box<dyn std::error::Error>> {
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["--case", case, &keys.to_string(), &active.to_string()])
            .output()?;
        if !out.status.success() {
            return Err(format!("{case}: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
    };
    let e = measure("entities")?;
    let a = measure("actors")?;
    println!(
        "{keys} registered entity keys, {active} active: RSS + {:8.1} MiB ({:6.0} bytes/key)",
        mib(e),
        e as f64 / keys as f64
    );
    println!(
        "{keys} live actors:                         RSS + {:8.1} MiB ({:6.0} bytes/actor)",
        mib(a),
        a as f64 / keys as f64
    );
    println!("entities cost {:.1}x less", a as f64 / e.max(1) as f64);
    Ok(())
}
