//! The device runtime under load. Run with
//! `cargo bench -p gauntlet-runtime --bench device`.
//!
//! Groups (throughput in elements per second):
//! - `telemetry/<registered>-registered/<active>-active`: [`BURST`] readings per
//!   iteration, told from [`SENDERS`] tasks round-robin over the active devices (all
//!   warmed up, so no activation is timed), then a barrier that waits until every
//!   reading was applied to a twin (the runtime's own counter). Registered devices are
//!   in the SQLite repository (in memory) and known to the entity region; write-behind
//!   runs at its default 1 s interval during the measurement.
//! - `telemetry-baseline/entities-10k`: the same senders and barrier, but to 10k plain
//!   entities whose handler only adds the value: what the actor runtime itself costs
//!   per message, so the difference is what the device layer adds.
//! - `command/<action>`: one command round trip (ask and response) to a warm device.
//!   `set_desired/file` commits to a SQLite file (WAL, `synchronous = FULL`) before
//!   answering; `set_desired/memory` to an in-memory database.
//! - `activation`: readings to [`ACTIVATE`] devices never active before: each loads
//!   its record and twin from SQLite first.
//!
//! All on a multi-thread tokio runtime with 2 workers (the machine has 2 cores).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_utils::CachePadded;
use gauntlet_runtime::actor::{Actor, Context, EntityProps, EntityRef, HandlerError, System};
use gauntlet_runtime::device::{
    Command, Database, Device, DeviceConfig, DeviceHandle, DeviceId, DeviceRuntime, Key, Reading,
    Timestamp,
};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::runtime::{Builder, Runtime};

/// Readings per iteration in the telemetry groups.
const BURST: u64 = 200_000;
/// Sender tasks in the telemetry groups.
const SENDERS: usize = 2;
/// Devices activated per iteration in `activation`.
const ACTIVATE: u64 = 10_000;

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

struct Home {
    system: System,
    runtime: DeviceRuntime,
    handles: Arc<Vec<DeviceHandle>>,
}

fn home(rt: &Runtime, database: Database, registered: u64, active: u64) -> Home {
    rt.block_on(async {
        let system = System::new("bench").expect("system");
        let runtime =
            DeviceRuntime::open(&system, database, DeviceConfig::default()).expect("runtime");
        let mut next = 0;
        while next < registered {
            let end = (next + 100_000).min(registered);
            let devices = (next..end)
                .map(|i| Device::new(DeviceId(i), "sensor", "thermostat"))
                .collect();
            runtime.register_devices(devices).await.expect("register");
            next = end;
        }
        // Active devices spread over the registered id range.
        let stride = (registered / active.max(1)).max(1);
        let handles: Vec<DeviceHandle> = (0..active)
            .map(|i| runtime.device(DeviceId(i * stride)).expect("handle"))
            .collect();
        let key = Key::new("temperature").expect("key");
        let before = runtime.stats().telemetry;
        for h in &handles {
            h.telemetry(Reading::at(key, 20.0, Timestamp(1)))
                .await
                .expect("warm up");
        }
        wait_applied(&runtime, before + active).await;
        Home {
            system,
            runtime,
            handles: Arc::new(handles),
        }
    })
}

async fn wait_applied(runtime: &DeviceRuntime, target: u64) {
    while runtime.stats().telemetry < target {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn shutdown(rt: &Runtime, home: Home) {
    rt.block_on(async {
        home.runtime.shutdown(Duration::from_secs(120)).await;
        home.system.shutdown(Duration::from_secs(120)).await;
    });
}

/// Sends `BURST` readings from `SENDERS` tasks and waits until all are applied.
async fn burst(runtime: DeviceRuntime, handles: Arc<Vec<DeviceHandle>>, round: u64) -> Duration {
    let key = Key::new("temperature").expect("key");
    let target = runtime.stats().telemetry + BURST;
    let start = Instant::now();
    let per = BURST / SENDERS as u64;
    let tasks: Vec<_> = (0..SENDERS)
        .map(|s| {
            let handles = handles.clone();
            tokio::spawn(async move {
                let n = handles.len() as u64;
                let offset = (s as u64 * n) / SENDERS as u64 + round;
                for i in 0..per {
                    let h = &handles[((offset + i) % n) as usize];
                    let r = Reading::at(key, (i % 40) as f64, Timestamp(i + 2));
                    h.telemetry(r).await.expect("telemetry");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("sender");
    }
    wait_applied(&runtime, target).await;
    start.elapsed()
}

fn telemetry(c: &mut Criterion) {
    let mut group = c.benchmark_group("telemetry");
    group.throughput(Throughput::Elements(BURST));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    for (registered, active) in [(10_000, 10_000), (1_000_000, 10_000), (1_000_000, 100_000)] {
        let rt = multi_thread();
        let h = home(&rt, Database::InMemory, registered, active);
        let id = BenchmarkId::new(
            format!("{}-registered", label(registered)),
            format!("{}-active", label(active)),
        );
        let mut round = 0;
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let (r, hs) = (h.runtime.clone(), h.handles.clone());
                    total += rt.block_on(rt.spawn(burst(r, hs, round))).expect("burst");
                }
                total
            })
        });
        shutdown(&rt, h);
    }
    group.finish();
}

/// The baseline: an entity that only adds up what it gets.
struct Sink {
    key: u64,
    sum: f64,
    counts: Arc<[CachePadded<AtomicU64>]>,
}

impl Actor for Sink {
    type Msg = Reading;
    async fn handle(&mut self, r: Reading, _: &mut Context<Self>) -> Result<(), HandlerError> {
        self.sum += r.value;
        self.counts[(self.key & 63) as usize].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn baseline(c: &mut Criterion) {
    let mut group = c.benchmark_group("telemetry-baseline");
    group.throughput(Throughput::Elements(BURST));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    let rt = multi_thread();
    let counts: Arc<[CachePadded<AtomicU64>]> = (0..64)
        .map(|_| CachePadded::new(AtomicU64::new(0)))
        .collect();
    let total = {
        let counts = counts.clone();
        move || {
            counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .sum::<u64>()
        }
    };
    let (system, refs) = rt.block_on(async {
        let system = System::new("baseline").expect("system");
        let counts = counts.clone();
        let sinks = system
            .entities(
                "sinks",
                EntityProps::new(move |k: &u64| Sink {
                    key: *k,
                    sum: 0.0,
                    counts: counts.clone(),
                })
                .idle_timeout(Duration::from_secs(3600)),
            )
            .expect("region");
        let refs: Vec<EntityRef<Sink, u64>> =
            (0..10_000).map(|k| sinks.get(k).expect("ref")).collect();
        (system, Arc::new(refs))
    });
    let key = Key::new("temperature").expect("key");
    group.bench_function("entities-10k", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for round in 0..iters {
                let refs = refs.clone();
                let total = total.clone();
                elapsed += rt
                    .block_on(rt.spawn(async move {
                        let target = total() + BURST;
                        let start = Instant::now();
                        let per = BURST / SENDERS as u64;
                        let tasks: Vec<_> = (0..SENDERS)
                            .map(|s| {
                                let refs = refs.clone();
                                tokio::spawn(async move {
                                    let n = refs.len() as u64;
                                    let offset = (s as u64 * n) / SENDERS as u64 + round;
                                    for i in 0..per {
                                        let r = Reading::at(key, 1.0, Timestamp(i));
                                        refs[((offset + i) % n) as usize]
                                            .tell(r)
                                            .await
                                            .expect("tell");
                                    }
                                })
                            })
                            .collect();
                        for t in tasks {
                            t.await.expect("sender");
                        }
                        while total() < target {
                            tokio::time::sleep(Duration::from_micros(200)).await;
                        }
                        start.elapsed()
                    }))
                    .expect("driver");
            }
            elapsed
        })
    });
    rt.block_on(system.shutdown(Duration::from_secs(60)));
    group.finish();
}

fn label(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}k", n / 1_000)
    }
}

fn command(c: &mut Criterion) {
    let mut group = c.benchmark_group("command");
    group.throughput(Throughput::Elements(1));
    let rt = multi_thread();
    let dir = std::env::temp_dir().join(format!("gauntlet-device-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let cases = [
        ("get_state", Database::InMemory),
        ("set_state", Database::InMemory),
        ("set_desired/memory", Database::InMemory),
        ("set_desired/file", Database::File(dir.join("bench.db"))),
    ];
    for (name, database) in cases {
        let h = home(&rt, database, 1, 1);
        let device = h.handles[0].clone();
        group.bench_function(name, |b| {
            let mut n = 0u64;
            b.iter_custom(|iters| {
                let device = device.clone();
                let name = name.to_string();
                let start = n;
                n += iters;
                rt.block_on(rt.spawn(async move {
                    let t = Instant::now();
                    for i in start..start + iters {
                        let cmd = match name.as_str() {
                            "get_state" => Command::get_state(),
                            "set_state" => Command::set_state(serde_json::json!({ "level": i })),
                            _ => Command::set_desired(serde_json::json!({ "level": i })),
                        };
                        black_box(device.command(cmd).await.expect("command"));
                    }
                    t.elapsed()
                }))
                .expect("driver")
            })
        });
        shutdown(&rt, h);
    }
    let _ = std::fs::remove_dir_all(&dir);
    group.finish();
}

fn activation(c: &mut Criterion) {
    let mut group = c.benchmark_group("activation");
    group.throughput(Throughput::Elements(ACTIVATE));
    group.sample_size(10);
    let rt = multi_thread();
    let h = home(&rt, Database::InMemory, 1_000_000, 1);
    let key = Key::new("temperature").expect("key");
    let mut next = 1u64;
    group.bench_function("first-reading", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let handles: Vec<DeviceHandle> = (next..next + ACTIVATE)
                    .map(|i| h.runtime.device(DeviceId(i % 1_000_000)).expect("handle"))
                    .collect();
                next += ACTIVATE;
                let runtime = h.runtime.clone();
                total += rt
                    .block_on(rt.spawn(async move {
                        let target = runtime.stats().telemetry + ACTIVATE;
                        let t = Instant::now();
                        for d in &handles {
                            d.telemetry(Reading::at(key, 1.0, Timestamp(1)))
                                .await
                                .expect("telemetry");
                        }
                        wait_applied(&runtime, target).await;
                        t.elapsed()
                    }))
                    .expect("driver");
            }
            total
        })
    });
    shutdown(&rt, h);
    group.finish();
}

criterion_group!(benches, telemetry, baseline, command, activation);
criterion_main!(benches);
