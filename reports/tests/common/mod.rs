//! Hand-built results for report tests: a run of two ops with faults, or any of its
//! edge cases (no ops, one tick, unmeasured fields, an aborted run).

#![allow(dead_code)]

use gauntlet_reports::EncodedHistogram;
use gauntlet_reports::schema::*;
use hdrhistogram::Histogram;

fn histogram(scale: u64, n: u64) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    for i in 1..=n {
        // A body around `scale` with a long tail.
        let v =
            scale + (i * 7919 % 1000) * scale / 1000 + if i % 100 == 0 { scale * 20 } else { 0 };
        h.record(v).unwrap();
    }
    h
}

fn op(name: &str, scale: u64, n: u64) -> OpResult {
    let h = histogram(scale, n);
    OpResult {
        op: name.to_owned(),
        count: n,
        errors: n / 500,
        timeouts: 0,
        error_kinds: Default::default(),
        throughput_per_s: n as f64 / 10.0,
        latency: LatencySummary::from_histogram(&h),
        service_time: LatencySummary::from_histogram(&h),
        histogram: EncodedHistogram::encode(&h, "ns").unwrap(),
        service_histogram: None,
    }
}

fn tick(i: usize, ops: &[&str]) -> Tick {
    let t = (i + 1) as f64;
    let in_fault = (4.0..=6.0).contains(&t);
    Tick {
        t_s: t,
        warmup: t <= 2.0,
        ops: ops
            .iter()
            .enumerate()
            .map(|(k, o)| TickOp {
                op: (*o).to_owned(),
                completed: 1000,
                errors: if in_fault { 5 } else { 0 },
                rate_per_s: if in_fault { 400.0 } else { 1000.0 } + k as f64,
                p50_ns: Some(50_000),
                p90_ns: Some(80_000),
                p99_ns: Some(if in_fault { 5_000_000 } else { 200_000 }),
                p999_ns: Some(400_000),
                max_ns: Some(900_000),
            })
            .collect(),
        offered_per_s: 1000.0 * ops.len() as f64,
        dropped: 0,
        in_flight: 3,
        process: ProcessSample {
            rss_bytes: Some(20_000_000 + i as u64 * 10_000),
            cpu_percent: Some(50.0),
            threads: Some(6),
            ..Default::default()
        },
        runtime: RuntimeSample {
            alive_tasks: 12,
            global_queue_depth: 0,
            busy_ratio: Some(0.2),
            sched_lag_max_ns: Some(1_100_000),
            sched_lag_mean_ns: Some(1_050_000),
        },
        target: TargetSample {
            actors_alive: Some(4),
            mailbox_depth: Some(if in_fault { 300 } else { 2 }),
            messages_sent: Some(2000 * (i as u64 + 1)),
            messages_delivered: Some(2000 * (i as u64 + 1)),
            messages_dropped: Some(0),
            messages_rejected: Some(0),
            messages_dead_lettered: Some(if t >= 5.0 { 7 } else { 0 }),
            restarts: Some(if t >= 5.0 { 3 } else { 0 }),
            ..TargetSample::default()
        },
        active_faults: if in_fault {
            vec!["crash".to_owned()]
        } else {
            Vec::new()
        },
        generator: None,
    }
}

/// A completed, passing run: ops `ask` and `tell`, 10 ticks, one crash fault from 3.5 s
/// to 6 s.
pub fn run() -> RunResult {
    let ops = ["ask", "tell"];
    RunResult {
        schema_version: SCHEMA_VERSION,
        gauntlet_version: "0.1.0".to_owned(),
        scenario: ScenarioInfo {
            name: "hand-built".to_owned(),
            description: "a hand-built run".to_owned(),
            file: "scenarios/hand-built.toml".to_owned(),
            seed: 7,
            duration_s: 10.0,
            warmup_s: 2.0,
            tick_s: 1.0,
            workload: "actors".to_owned(),
            baseline_tolerances: Default::default(),
        },
        started_at_unix_ms: 1_795_000_000_000,
        elapsed_s: 10.4,
        status: RunStatus::Completed,
        abort_reason: None,
        environment: Environment {
            os: "linux".to_owned(),
            arch: "x86_64".to_owned(),
            cpus: 2,
            target_worker_threads: 1,
            load_threads: 1,
        },
        ops: vec![op("ask", 50_000, 8_000), op("tell", 2_000, 8_000)],
        loads: Vec::new(),
        timeline: (0..10).map(|i| tick(i, &ops)).collect(),
        faults: vec![FaultRecord {
            kind: "crash".to_owned(),
            target: "actor://smoke/worker-1".to_owned(),
            start_s: 3.5,
            end_s: 6.0,
            recovery_s: Some(1.2),
            recovered: true,
            toxicity: Some(0.5),
            events_affected: 3,
            windows: None,
            victims: vec!["actor://smoke/worker-1".to_owned()],
            detected: None,
            error: None,
            restart_s: None,
        }],
        messages: MessageAccounting {
            measured: true,
            sent: Some(20_000),
            delivered: Some(19_993),
            dropped: Some(0),
            rejected: Some(0),
            dead_lettered: Some(7),
            queued: Some(0),
            lost: Some(0),
            ..MessageAccounting::default()
        },
        deadlocks: Vec::new(),
        stalls: Vec::new(),
        leaks: LeakCheck {
            shutdown_clean: true,
            tasks_before: 2,
            tasks_after: 2,
            tasks_leaked: 0,
            rss_before_bytes: Some(19_000_000),
            rss_after_bytes: Some(21_000_000),
            rss_growth_bytes_per_min: Some(60_000.0),
            passed: true,
        },
        invariants: Vec::new(),
        thresholds: vec![ThresholdOutcome {
            metric: "latency{op=ask}".to_owned(),
            expression: "p(99) < 50ms".to_owned(),
            observed: Some(1_050_000.0),
            unit: "ns".to_owned(),
            limit: 50_000_000.0,
            passed: true,
        }],
        verdict: Verdict {
            passed: true,
            reasons: Vec::new(),
        },
        shard: None,
        merged: None,
        durability: None,
    }
}

/// The same run, aborted after one tick with every optional probe unmeasured and
/// no ops completed.
pub fn aborted_one_tick() -> RunResult {
    let mut r = run();
    r.status = RunStatus::Aborted;
    r.abort_reason = Some("hard deadline reached <12s>".to_owned());
    r.timeline.truncate(1);
    let t = &mut r.timeline[0];
    t.ops.clear();
    t.process = ProcessSample {
        rss_bytes: None,
        cpu_percent: None,
        threads: None,
        ..Default::default()
    };
    t.target = TargetSample::default();
    r.ops.clear();
    r.faults.clear();
    r.messages = MessageAccounting::default();
    r.leaks.rss_growth_bytes_per_min = None;
    r.verdict = Verdict {
        passed: false,
        reasons: vec!["the run was aborted".to_owned()],
    };
    r
}
