//! Telemetry latency through device actors at a fixed offered rate (open loop).
//!
//! `cargo run --release -p gauntlet-runtime --example device_latency [RATE] [SECONDS] [DEVICES] [FLUSH_MS] [PACING_US]`
//!
//! Two sender tasks offer RATE readings per second in total (default 1,000,000) for
//! SECONDS (default 10) round-robin over DEVICES warm devices (default 10,000), on a
//! 2-worker tokio runtime. Each reading carries its *intended* send time (not the time
//! it was actually sent, so a sender that falls behind does not hide the delay:
//! coordinated omission corrected); a pipeline stage installed for the measurement
//! records, inside the device actor, how long after its intended time each reading
//! arrived. Reported: achieved throughput and latency percentiles (1 us buckets).
//! FLUSH_MS is the write-behind interval (default 1000). PACING_US (default 500) is how
//! long a sender sleeps between bursts (tokio's timer rounds it up to its 1 ms
//! resolution, so each sender sends about 1 ms of readings per burst, and up to ~1 ms
//! of that batching is part of the latency); 0 makes senders `yield_now` instead
//! (busy, for comparison only). With `LATENCY_TIMELINE=1` it also prints the 15 worst
//! 10 ms stretches of the run (worst latency, and when), to find periodic spikes.
//!
//! The rig stores nanoseconds since the run's start in `Reading::at` instead of a wall
//! clock time; nothing else reads it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gauntlet_runtime::actor::System;
use gauntlet_runtime::device::{
    Database, Device, DeviceConfig, DeviceHandle, DeviceId, DeviceRuntime, Flow, Key, Pipeline,
    Reading, Stage, StageError, StageInput, StageKind, Timestamp,
};

/// 1 us buckets up to 1 s; the last bucket holds everything slower.
const BUCKETS: usize = 1_000_001;

struct Latency {
    start: Instant,
    buckets: Arc<Vec<AtomicU64>>,
    /// Worst latency (us) per 10 ms of the run, by arrival time.
    worst: Arc<Vec<AtomicU64>>,
}

impl Stage for Latency {
    fn name(&self) -> &'static str {
        "latency-probe"
    }
    fn kind(&self) -> StageKind {
        StageKind::Validation
    }
    fn apply(&self, _: StageInput<'_>, r: &mut Reading) -> Result<Flow, StageError> {
        let now = self.start.elapsed().as_nanos() as u64;
        let us = (now.saturating_sub(r.at.0) / 1_000) as usize;
        self.buckets[us.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        let slot = ((now / 10_000_000) as usize).min(self.worst.len() - 1);
        self.worst[slot].fetch_max(us as u64, Ordering::Relaxed);
        Ok(Flow::Continue)
    }
}

fn percentile(buckets: &[u64], total: u64, p: f64) -> u64 {
    let want = ((total as f64) * p).ceil() as u64;
    let mut seen = 0;
    for (us, n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= want.max(1) {
            return us as u64;
        }
    }
    BUCKETS as u64
}

async fn run(
    rate: u64,
    seconds: u64,
    devices: u64,
    flush: Duration,
    pacing: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let buckets: Arc<Vec<AtomicU64>> = Arc::new((0..BUCKETS).map(|_| AtomicU64::new(0)).collect());
    let worst: Arc<Vec<AtomicU64>> = Arc::new((0..100_000).map(|_| AtomicU64::new(0)).collect());
    let system = System::new("latency")?;
    let home = DeviceRuntime::open(
        &system,
        Database::InMemory,
        DeviceConfig {
            pipeline: Pipeline::new().stage(Latency {
                start,
                buckets: buckets.clone(),
                worst: worst.clone(),
            }),
            flush_interval: flush,
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
    let handles: Arc<Vec<DeviceHandle>> = Arc::new(
        (0..devices)
            .map(|i| home.device(DeviceId(i)))
            .collect::<Result<_, _>>()?,
    );
    for h in handles.iter() {
        h.telemetry_acked(Reading::at(
            key,
            0.0,
            Timestamp(start.elapsed().as_nanos() as u64),
        ))
        .await?;
    }
    for b in buckets.iter() {
        b.store(0, Ordering::Relaxed);
    }
    let before = home.stats().telemetry;
    let senders = 2u64;
    let per_sender = rate * seconds / senders;
    let interval_ns = 1e9 / (rate as f64 / senders as f64);
    let t0 = start.elapsed().as_nanos() as u64 + 1_000_000;
    let tasks: Vec<_> = (0..senders)
        .map(|s| {
            let handles = handles.clone();
            tokio::spawn(async move {
                let n = handles.len() as u64;
                // Wake every millisecond and send whatever is due: no spinning, so
                // the senders leave the workers to the devices. A reading's latency
                // still counts from its own intended time.
                let mut i = 0;
                while i < per_sender {
                    let now = start.elapsed().as_nanos() as u64;
                    while i < per_sender {
                        let intended = t0 + (i as f64 * interval_ns) as u64;
                        if intended > now {
                            break;
                        }
                        let h = &handles[((i * senders + s) % n) as usize];
                        let _ = h
                            .telemetry(Reading::at(key, (i % 30) as f64, Timestamp(intended)))
                            .await;
                        i += 1;
                    }
                    if pacing.is_zero() {
                        tokio::task::yield_now().await;
                    } else {
                        tokio::time::sleep(pacing).await;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    let sent = per_sender * senders;
    while home.stats().telemetry < before + sent {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = Duration::from_nanos(start.elapsed().as_nanos() as u64 - t0);
    let counts: Vec<u64> = buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
    let total: u64 = counts.iter().sum();
    println!(
        "offered {rate}/s for {seconds}s over {devices} devices: {sent} readings in {:.2}s = {:.0} readings/s",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency from intended send to the device actor (us): p50 {} p90 {} p99 {} p99.9 {} max {}",
        percentile(&counts, total, 0.50),
        percentile(&counts, total, 0.90),
        percentile(&counts, total, 0.99),
        percentile(&counts, total, 0.999),
        percentile(&counts, total, 1.0),
    );
    if std::env::var_os("LATENCY_TIMELINE").is_some() {
        let from = (t0 / 10_000_000) as usize;
        let to = (start.elapsed().as_nanos() as u64 / 10_000_000) as usize;
        let mut spikes: Vec<(u64, usize)> = (from..to)
            .map(|i| (worst[i].load(Ordering::Relaxed), i))
            .collect();
        spikes.sort_unstable_by(|a, b| b.cmp(a));
        for (us, i) in spikes.iter().take(15) {
            let at_ms = (*i as u64 * 10).saturating_sub(t0 / 1_000_000);
            println!("worst {us} us in the 10 ms from {at_ms} ms");
        }
    }
    home.shutdown(Duration::from_secs(60)).await;
    system.shutdown(Duration::from_secs(60)).await;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rate: u64 = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let seconds: u64 = args.get(2).map_or(Ok(10), |s| s.parse())?;
    let devices: u64 = args.get(3).map_or(Ok(10_000), |s| s.parse())?;
    let flush_ms: u64 = args.get(4).map_or(Ok(1000), |s| s.parse())?;
    let pacing_us: u64 = args.get(5).map_or(Ok(500), |s| s.parse())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(
        rate,
        seconds,
        devices,
        Duration::from_millis(flush_ms),
        Duration::from_micros(pacing_us),
    ))
}
