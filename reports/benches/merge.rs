//! Cost of `gauntlet merge`: 64 shards of a 10-minute run (600 one-second ticks, two
//! ops, full HDR histograms of 200 000 values per op per shard).
//!
//! `cargo bench -p gauntlet-reports --bench merge`
//!
//! `read_64` parses the 64 shards' results.json (what `gauntlet merge` does first)
//! and is the baseline the merge itself is compared with; `merge_64` adds the parsed
//! shards (histograms decoded, added, re-encoded; timelines aligned).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gauntlet_reports::EncodedHistogram;
use gauntlet_reports::merge::{MergeSettings, ShardInput, merge};
use gauntlet_reports::schema::*;
use gauntlet_reports::shard::ShardInfo;
use hdrhistogram::Histogram;

const SHARDS: u32 = 64;
const TICKS: usize = 600;
const VALUES: u64 = 200_000;

/// A latency histogram spread over five decades (10 µs .. 1 s), as a long run has.
fn histogram(seed: u64) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(3).unwrap();
    h.auto(true);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..VALUES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let exp = (x % 5_000) as f64 / 1_000.0; // 0..5 decades
        h.record((10_000.0 * 10f64.powf(exp)) as u64).unwrap();
    }
    h
}

fn op(name: &str, seed: u64) -> OpResult {
    let h = histogram(seed);
    let encoded = EncodedHistogram::encode(&h, "ns").unwrap();
    OpResult {
        op: name.to_owned(),
        count: h.len(),
        errors: 0,
        timeouts: 0,
        error_kinds: Default::default(),
        throughput_per_s: h.len() as f64 / 590.0,
        latency: LatencySummary::from_histogram(&h),
        service_time: LatencySummary::from_histogram(&h),
        histogram: encoded.clone(),
        service_histogram: Some(encoded),
    }
}

fn tick(i: usize) -> Tick {
    let tick_op = |op: &str| TickOp {
        op: op.to_owned(),
        completed: 340,
        errors: 0,
        rate_per_s: 340.0,
        p50_ns: Some(300_000),
        p90_ns: Some(900_000),
        p99_ns: Some(5_000_000),
        p999_ns: Some(40_000_000),
        max_ns: Some(90_000_000),
    };
    Tick {
        t_s: (i + 1) as f64,
        warmup: i < 10,
        ops: vec![tick_op("ask"), tick_op("tell")],
        offered_per_s: 680.0,
        dropped: 0,
        in_flight: 4,
        process: ProcessSample {
            rss_bytes: Some(40_000_000),
            cpu_percent: Some(80.0),
            threads: Some(8),
            ..Default::default()
        },
        runtime: RuntimeSample {
            alive_tasks: 30,
            global_queue_depth: 0,
            busy_ratio: Some(0.4),
            sched_lag_max_ns: Some(1_200_000),
            sched_lag_mean_ns: Some(1_050_000),
        },
        target: TargetSample {
            actors_alive: Some(16),
            mailbox_depth: Some(3),
            messages_sent: Some(680 * i as u64),
            messages_delivered: Some(680 * i as u64),
            messages_dropped: Some(0),
            messages_rejected: Some(0),
            messages_dead_lettered: Some(0),
            restarts: Some(0),
            ..TargetSample::default()
        },
        active_faults: Vec::new(),
        generator: None,
    }
}

fn shard(index: u32) -> RunResult {
    let seed = u64::from(index);
    RunResult {
        schema_version: SCHEMA_VERSION,
        gauntlet_version: "0.1.0".to_owned(),
        scenario: ScenarioInfo {
            name: "soak".to_owned(),
            description: String::new(),
            file: "soak.toml".to_owned(),
            seed: 7,
            duration_s: 600.0,
            warmup_s: 10.0,
            tick_s: 1.0,
            workload: "actors".to_owned(),
            baseline_tolerances: Default::default(),
        },
        started_at_unix_ms: 1_790_000_000_000,
        elapsed_s: 601.0,
        status: RunStatus::Completed,
        abort_reason: None,
        environment: Environment {
            os: "linux".to_owned(),
            arch: "x86_64".to_owned(),
            cpus: 2,
            target_worker_threads: 1,
            load_threads: 1,
        },
        ops: vec![op("ask", seed * 2 + 1), op("tell", seed * 2 + 2)],
        loads: Vec::new(),
        timeline: (0..TICKS).map(tick).collect(),
        faults: Vec::new(),
        messages: MessageAccounting::default(),
        deadlocks: Vec::new(),
        stalls: Vec::new(),
        leaks: LeakCheck {
            shutdown_clean: true,
            tasks_before: 3,
            tasks_after: 3,
            tasks_leaked: 0,
            rss_before_bytes: Some(10_000_000),
            rss_after_bytes: Some(12_000_000),
            rss_growth_bytes_per_min: Some(0.0),
            passed: true,
        },
        invariants: Vec::new(),
        thresholds: Vec::new(),
        verdict: Verdict {
            passed: true,
            reasons: Vec::new(),
        },
        shard: Some(ShardInfo {
            index,
            count: SHARDS,
            seed: seed + 100,
            load_started_at_unix_ms: 1_790_000_001_000 + seed % 5,
            start_at_unix_ms: Some(1_790_000_001_000),
        }),
        merged: None,
        durability: None,
    }
}

fn bench(c: &mut Criterion) {
    let files: Vec<String> = (0..SHARDS).map(|i| shard(i).to_json().unwrap()).collect();
    let bytes: usize = files.iter().map(String::len).sum();
    eprintln!("64 shards: {:.1} MB of results.json", bytes as f64 / 1e6);
    let read = |files: &[String]| -> Vec<ShardInput> {
        files
            .iter()
            .enumerate()
            .map(|(i, f)| ShardInput {
                source: format!("shard-{i}"),
                result: RunResult::from_json(f).unwrap(),
            })
            .collect()
    };
    let inputs = read(&files);
    let mut g = c.benchmark_group("merge_64_shards_10min");
    g.sample_size(10);
    g.bench_function("read_64", |b| b.iter(|| read(black_box(&files))));
    g.bench_function("merge_64", |b| {
        b.iter(|| merge(black_box(&inputs), MergeSettings::default()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
