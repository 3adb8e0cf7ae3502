//! What live metrics cost a run: the same scenario with and without the exporter, in
//! one process, alternating, and the exporter's own cost per tick and per scrape.
//!
//! - **Throughput ratio.** A closed-loop `ask` load (concurrency 32) on 4 actors runs
//!   for 3 s with a 100 ms tick (ten times the default rate of exporter updates), once
//!   without metrics and once with the exporter fed every tick *and* scraped over HTTP
//!   every 100 ms by a client thread; `PAIRS` pairs, the order alternating within
//!   pairs. Reported: each pair's throughputs and ratio (with / without), and the
//!   median ratio; the same for ops per CPU-second of the process. A closed loop runs
//!   as fast as the target allows, so any CPU the exporter takes shows as lost
//!   throughput; on a shared machine, though, the CPU the run is *given* moves far
//!   more than that, which the per-CPU-second figure factors out.
//! - **Per tick / per scrape.** `Exporter::observe` with a 3-op tick whose interval
//!   histograms hold 10,000 values each, and `Exporter::render` of the result, timed
//!   over many iterations.
//!
//! Run: `cargo bench -p gauntlet-harness --bench metrics_overhead`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gauntlet_harness::load::OpHistograms;
use gauntlet_harness::metrics::{Exporter, MetricsServer, Observation, RunInfo};
use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::{Scenario, parse_str};
use gauntlet_harness::target::SampleDetail;

const PAIRS: usize = 7;

const SCENARIO: &str = r#"
name = "metrics-overhead"
duration = "3s"
tick = "100ms"
[runtime]
worker_threads = 1
[target]
workload = "actors"
topology = "round-robin"
actors = 4
[[load]]
op = "ask"
executor = "constant-concurrency"
concurrency = 32
"#;

/// One run's figures: completed ops per second of wall-clock time and per second of
/// this process's CPU time (the second is less at the mercy of other processes on a
/// shared machine: it asks how much work an op costs, not how much CPU we were given).
#[derive(Debug, Clone, Copy)]
struct Figures {
    per_s: f64,
    per_cpu_s: f64,
}

/// User + system CPU time of this process so far (Linux: `/proc/self/stat`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the parenthesized command name; utime and stime are the 14th and
    // 15th fields, in clock ticks (100 per second on Linux).
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

fn throughput(scenario: &Scenario, options: &RunOptions) -> Figures {
    let cpu = cpu_seconds();
    let r = run(scenario, options).expect("the run");
    let cpu = cpu_seconds() - cpu;
    let count: u64 = r.ops.iter().map(|o| o.count).sum();
    Figures {
        per_s: r.ops.iter().map(|o| o.throughput_per_s).sum(),
        per_cpu_s: count as f64 / cpu,
    }
}

fn exporter(scenario: &Scenario) -> Arc<Exporter> {
    let ops: Vec<String> = scenario.ops().into_iter().map(str::to_owned).collect();
    let info = RunInfo {
        seed: 0,
        version: "bench".into(),
        workload: "actors".into(),
    };
    Arc::new(Exporter::new(&scenario.name, &ops, &info).expect("exporter"))
}

fn with_metrics(scenario: &Scenario) -> Figures {
    let e = exporter(scenario);
    let server = MetricsServer::start(e.clone(), "127.0.0.1:0".parse().unwrap()).expect("bind");
    let url = format!("http://{}/metrics", server.local_addr());
    let stop = Arc::new(AtomicBool::new(false));
    let scraper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut scrapes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let body = ureq::get(&url)
                    .call()
                    .and_then(|mut r| r.body_mut().read_to_string());
                assert!(body.is_ok_and(|b| b.contains("gauntlet_ops_total")));
                scrapes += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            scrapes
        })
    };
    let options = RunOptions {
        metrics: Some(e),
        ..RunOptions::default()
    };
    let t = throughput(scenario, &options);
    stop.store(true, Ordering::Relaxed);
    let scrapes = scraper.join().expect("scraper");
    assert!(scrapes >= 10, "scraped {scrapes} times");
    t
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn per_tick_cost() {
    let scenario = parse_str(SCENARIO, "bench.toml").expect("scenario");
    let ops = [
        "telemetry".to_owned(),
        "command".to_owned(),
        "broadcast".to_owned(),
    ];
    let info = RunInfo {
        seed: 0,
        version: "bench".into(),
        workload: "smart-home".into(),
    };
    let e = Exporter::new(&scenario.name, &ops, &info).expect("exporter");
    let mut interval = Vec::new();
    for _ in &ops {
        let mut h = OpHistograms::new();
        for i in 0..10_000u64 {
            // 1 µs .. ~100 ms, spread over the buckets.
            let v = 1_000 + (i * i * 997) % 100_000_000;
            h.latency.record(v).expect("auto-resizing");
            h.service.record(v / 2 + 1).expect("auto-resizing");
        }
        interval.push(h);
    }
    let tick = gauntlet_reports::schema::Tick {
        t_s: 1.0,
        warmup: false,
        ops: ops
            .iter()
            .map(|op| gauntlet_reports::schema::TickOp {
                op: op.clone(),
                completed: 10_000,
                errors: 0,
                rate_per_s: 10_000.0,
                p50_ns: None,
                p90_ns: None,
                p99_ns: None,
                p999_ns: None,
                max_ns: None,
            })
            .collect(),
        offered_per_s: 30_000.0,
        dropped: 0,
        in_flight: 10,
        process: gauntlet_reports::schema::ProcessSample {
            rss_bytes: Some(1 << 30),
            cpu_percent: Some(100.0),
            threads: Some(10),
            ..Default::default()
        },
        runtime: gauntlet_reports::schema::RuntimeSample {
            alive_tasks: 10,
            global_queue_depth: 0,
            busy_ratio: Some(0.5),
            sched_lag_max_ns: Some(1_000_000),
            sched_lag_mean_ns: Some(100_000),
        },
        target: gauntlet_reports::schema::TargetSample {
            actors_alive: Some(1000),
            messages_sent: Some(1),
            breaker_state: Some(gauntlet_reports::schema::BreakerState::Closed),
            ..Default::default()
        },
        active_faults: vec!["crash".into()],
        generator: None,
    };
    let detail = SampleDetail {
        actors_by_kind: vec![("Device".into(), 990), ("Room".into(), 10)],
        dropped_by_policy: vec![("drop-newest", 0), ("drop-oldest", 0)],
    };
    let n = 2_000;
    let t = Instant::now();
    for _ in 0..n {
        e.observe(&Observation {
            tick: &tick,
            interval: &interval,
            detail: &detail,
            watchdog_stalls: 0,
            stalled: false,
        });
    }
    let observe = t.elapsed() / n;
    let t = Instant::now();
    let mut bytes = 0;
    for _ in 0..n {
        bytes = std::hint::black_box(e.render().expect("render")).len();
    }
    let render = t.elapsed() / n;
    println!(
        "per tick: observe {observe:?} (3 ops, 10,000 values per interval histogram); per scrape: render {render:?} ({bytes} bytes)"
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that short.
    let quick = !std::env::args().any(|a| a == "--bench");
    per_tick_cost();
    if quick {
        return;
    }
    let scenario = parse_str(SCENARIO, "bench.toml").expect("scenario");
    let (mut ratios, mut cpu_ratios) = (Vec::new(), Vec::new());
    for pair in 0..PAIRS {
        let (without, with) = if pair % 2 == 0 {
            let a = throughput(&scenario, &RunOptions::default());
            (a, with_metrics(&scenario))
        } else {
            let b = with_metrics(&scenario);
            (throughput(&scenario, &RunOptions::default()), b)
        };
        let ratio = with.per_s / without.per_s;
        let cpu_ratio = with.per_cpu_s / without.per_cpu_s;
        println!(
            "pair {pair}: without metrics {:.0} ops/s ({:.0} per CPU-s), with metrics (fed and scraped every 100 ms) {:.0} ops/s ({:.0} per CPU-s); ratio {ratio:.4} (per CPU-s {cpu_ratio:.4})",
            without.per_s, without.per_cpu_s, with.per_s, with.per_cpu_s
        );
        ratios.push(ratio);
        cpu_ratios.push(cpu_ratio);
    }
    println!(
        "median ratio with/without metrics over {PAIRS} pairs: throughput {:.4}, ops per CPU-second {:.4}",
        median(ratios),
        median(cpu_ratios)
    );
}
