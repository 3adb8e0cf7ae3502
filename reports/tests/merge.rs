//! `merge`: shards' results added exactly, aligned per tick, refused when they are not
//! one run.

mod common;

use gauntlet_reports::EncodedHistogram;
use gauntlet_reports::merge::{MergeError, MergeSettings, ShardInput, merge};
use gauntlet_reports::schema::{LatencySummary, OpResult, RunResult};
use gauntlet_reports::shard::ShardInfo;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const START_MS: u64 = 1_790_000_000_000;

fn histogram_of(values: &[u64]) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(3).unwrap();
    h.auto(true);
    for v in values {
        h.record(*v).unwrap();
    }
    h
}

fn op_of(name: &str, values: &[u64]) -> OpResult {
    let h = histogram_of(values);
    OpResult {
        op: name.to_owned(),
        count: values.len() as u64,
        errors: values.len() as u64 / 100,
        timeouts: 0,
        error_kinds: Default::default(),
        throughput_per_s: values.len() as f64 / 8.0, // 10 s minus 2 s warm-up
        latency: LatencySummary::from_histogram(&h),
        service_time: LatencySummary::from_histogram(&h),
        histogram: EncodedHistogram::encode(&h, "ns").unwrap(),
        service_histogram: Some(EncodedHistogram::encode(&h, "ns").unwrap()),
    }
}

/// Shard `index` of `count`, with latencies `values` for op `ask`, its load started
/// `offset_ms` after the first.
fn shard(index: u32, count: u32, values: &[u64], offset_ms: u64) -> ShardInput {
    let mut r = common::run();
    r.ops = vec![op_of("ask", values)];
    r.shard = Some(ShardInfo {
        index,
        count,
        seed: u64::from(index) * 1000 + 7,
        load_started_at_unix_ms: START_MS + offset_ms,
        start_at_unix_ms: Some(START_MS),
    });
    ShardInput {
        source: format!("shard-{index}/results.json"),
        result: r,
    }
}

/// Latencies of three shards: different bodies and tails, so that their percentiles
/// differ and averaging them would be wrong.
fn three_shards_values() -> Vec<Vec<u64>> {
    let mut rng = StdRng::seed_from_u64(19);
    (0..3_u64)
        .map(|s| {
            (0..20_000 + s * 7_000)
                .map(|i| {
                    let body = rng.random_range(50_000..150_000) * (s + 1);
                    if i % (50 + s * 30) == 0 {
                        body * 40
                    } else {
                        body
                    }
                })
                .collect()
        })
        .collect()
}

fn merged3() -> (Vec<Vec<u64>>, Vec<ShardInput>, RunResult) {
    let values = three_shards_values();
    let shards: Vec<ShardInput> = values
        .iter()
        .enumerate()
        .map(|(i, v)| shard(i as u32, 3, v, 0))
        .collect();
    let merged = merge(&shards, MergeSettings::default()).unwrap();
    (values, shards, merged)
}

#[test]
fn merged_histograms_equal_one_histogram_of_every_value() {
    let (values, shards, merged) = merged3();
    let all: Vec<u64> = values.concat();
    let one = histogram_of(&all);
    let m = &merged.ops[0];
    let decoded = m.histogram.decode().unwrap();
    assert_eq!(decoded.len(), all.len() as u64);
    for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_eq!(
            decoded.value_at_quantile(q),
            one.value_at_quantile(q),
            "quantile {q}"
        );
    }
    // Bucket by bucket, not only at a few quantiles.
    let buckets = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    };
    assert_eq!(buckets(&decoded), buckets(&one));
    assert_eq!(m.latency, LatencySummary::from_histogram(&one));
    assert_eq!(m.service_time.p99_ns, one.value_at_quantile(0.99));
    // Negative control: averaging or maximising the shards' p99 would not give it.
    let p99s: Vec<u64> = shards
        .iter()
        .map(|s| s.result.ops[0].latency.p99_ns)
        .collect();
    let averaged = p99s.iter().sum::<u64>() / 3;
    assert_ne!(averaged, m.latency.p99_ns);
    assert_ne!(*p99s.iter().max().unwrap(), m.latency.p99_ns);
}

#[test]
fn counts_loads_and_messages_are_summed() {
    let (values, shards, merged) = merged3();
    let m = &merged.ops[0];
    assert_eq!(m.count, values.iter().map(|v| v.len() as u64).sum::<u64>());
    assert_eq!(
        m.errors,
        shards.iter().map(|s| s.result.ops[0].errors).sum::<u64>()
    );
    // Rates over the shared 8 s measured window: the shards' rates added.
    let rates: f64 = shards
        .iter()
        .map(|s| s.result.ops[0].throughput_per_s)
        .sum();
    assert!(
        (m.throughput_per_s - rates).abs() < 1e-6,
        "{} vs {rates}",
        m.throughput_per_s
    );
    for (i, l) in merged.loads.iter().enumerate() {
        let one = &shards[0].result.loads[i];
        assert_eq!(l.started, one.started * 3);
        assert_eq!(l.max_in_flight, one.max_in_flight * 3);
        assert_eq!(l.scheduled, one.scheduled.map(|s| s * 3));
    }
    let sent = shards[0].result.messages.sent.unwrap();
    assert_eq!(merged.messages.sent, Some(sent * 3));
    assert_eq!(
        merged.messages.lost,
        Some(shards[0].result.messages.lost.unwrap() * 3)
    );
    assert_eq!(
        merged.environment.cpus,
        shards[0].result.environment.cpus * 3
    );
    let info = merged.merged.as_ref().unwrap();
    assert_eq!(info.count, 3);
    assert_eq!(info.shards.len(), 3);
    assert!((info.measured_s - 8.0).abs() < 1e-9, "{}", info.measured_s);
    assert!(merged.shard.is_none());
}

#[test]
fn timelines_align_by_wall_clock_tick_and_combine_per_column() {
    let v = [100_000_u64; 10];
    // Shard 1 started one tick (1 s) after shard 0.
    let shards = vec![shard(0, 2, &v, 0), shard(1, 2, &v, 1000)];
    let merged = merge(
        &shards,
        MergeSettings {
            max_start_skew_ms: 1000,
        },
    )
    .unwrap();
    let one = &shards[0].result.timeline;
    assert_eq!(merged.timeline.len(), one.len() + 1);
    let t = |s: f64| merged.timeline.iter().find(|t| t.t_s == s).unwrap();
    // Tick 1: shard 0 alone. Tick 2: shard 0's second and shard 1's first.
    assert_eq!(t(1.0).ops[0].completed, one[0].ops[0].completed);
    assert_eq!(
        t(2.0).ops[0].completed,
        one[1].ops[0].completed + one[0].ops[0].completed
    );
    assert_eq!(
        t(2.0).ops[0].rate_per_s,
        one[1].ops[0].rate_per_s + one[0].ops[0].rate_per_s
    );
    assert_eq!(t(2.0).in_flight, one[1].in_flight + one[0].in_flight);
    assert_eq!(
        t(2.0).offered_per_s,
        one[1].offered_per_s + one[0].offered_per_s
    );
    // Peaks: the larger shard's RSS and p99; CPU summed.
    assert_eq!(
        t(2.0).process.rss_bytes,
        one[1].process.rss_bytes.max(one[0].process.rss_bytes)
    );
    assert_eq!(
        t(5.0).ops[0].p99_ns,
        one[4].ops[0].p99_ns.max(one[3].ops[0].p99_ns)
    );
    assert_eq!(
        t(2.0).process.cpu_percent,
        Some(one[1].process.cpu_percent.unwrap() + one[0].process.cpu_percent.unwrap())
    );
    // Cumulative counters: at 11 s shard 0 has ended; its last value is carried.
    let last = one.last().unwrap().target.messages_sent.unwrap();
    assert_eq!(t(11.0).target.messages_sent, Some(last * 2));
    assert_eq!(t(11.0).ops[0].completed, one[9].ops[0].completed);
    // Warm-up until both shards are past it; active faults the union.
    assert!(t(3.0).warmup, "shard 1 is still warming up at 3 s");
    assert!(!t(4.0).warmup);
    assert_eq!(t(7.0).active_faults, vec!["crash".to_owned()]);
    // Events shifted onto the merged timeline, and kept unshifted per shard.
    let starts: Vec<f64> = merged.faults.iter().map(|f| f.start_s).collect();
    let own = shards[0].result.faults[0].start_s;
    assert_eq!(starts, vec![own, own + 1.0]);
    let info = merged.merged.unwrap();
    assert_eq!(info.shards[1].faults[0].start_s, own);
    assert_eq!(info.shards[1].offset_s, 1.0);
    assert_eq!(info.start_skew_ms, 1000);
}

#[test]
fn leaks_and_aborts_stay_visible_per_shard() {
    let v = [100_000_u64; 10];
    let mut shards = vec![shard(0, 2, &v, 0), shard(1, 2, &v, 0)];
    for (s, after) in shards.iter_mut().zip([13, 7]) {
        s.result.leaks.tasks_before = 10;
        s.result.leaks.tasks_after = after;
        s.result.leaks.tasks_leaked = after as i64 - 10;
    }
    shards[0].result.leaks.passed = false;
    shards[1].result.status = gauntlet_reports::schema::RunStatus::Aborted;
    shards[1].result.abort_reason = Some("hard deadline".to_owned());
    let merged = merge(&shards, MergeSettings::default()).unwrap();
    // A leak on one shard is not cancelled by fewer tasks on another.
    assert_eq!(merged.leaks.tasks_leaked, 3);
    assert_eq!(
        (merged.leaks.tasks_before, merged.leaks.tasks_after),
        (20, 20)
    );
    assert!(!merged.leaks.passed);
    assert_eq!(merged.status, gauntlet_reports::schema::RunStatus::Aborted);
    assert_eq!(
        merged.abort_reason.as_deref(),
        Some("shard 1: hard deadline")
    );
}

#[test]
fn invariants_add_up_and_hold_only_if_every_shard_checked_them() {
    let v = [100_000_u64; 10];
    let mut shards = vec![
        shard(0, 3, &v, 0),
        shard(1, 3, &v, 0),
        shard(2, 3, &v, 2000),
    ];
    let inv = |checks, violations, first: Option<f64>| gauntlet_reports::schema::InvariantRecord {
        name: "money.conserved".to_owned(),
        description: "no money made or lost".to_owned(),
        every_tick: true,
        checks,
        violations,
        first_violation_s: first,
        message: first.map(|t| format!("off by 3 at {t}")),
        unchecked_reason: None,
    };
    shards[0].result.invariants = vec![inv(10, 0, None)];
    shards[1].result.invariants = vec![inv(10, 2, Some(4.0))];
    shards[2].result.invariants = vec![inv(10, 1, Some(3.0))];
    let settings = MergeSettings {
        max_start_skew_ms: 2000,
    };
    let m = merge(&shards, settings).unwrap();
    let i = &m.invariants[0];
    assert_eq!((i.checks, i.violations), (30, 3));
    // Shard 2 started 2 s later: its violation at 3 s is at 5 s on the merged timeline.
    assert_eq!(i.first_violation_s, Some(4.0));
    assert_eq!(i.message.as_deref(), Some("shard 1: off by 3 at 4"));
    shards[2].result.invariants[0].checks = 0;
    shards[2].result.invariants[0].unchecked_reason = Some("timed out".to_owned());
    let m = merge(&shards, settings).unwrap();
    assert_eq!(
        m.invariants[0].checks, 0,
        "not checked everywhere: not measured"
    );
    assert_eq!(
        m.invariants[0].unchecked_reason.as_deref(),
        Some("shard 2: timed out")
    );
}

fn refused(shards: &[ShardInput]) -> MergeError {
    merge(shards, MergeSettings::default()).unwrap_err()
}

#[test]
fn shards_of_different_runs_are_refused_with_the_reason() {
    let v = [100_000_u64; 10];
    let ok = || vec![shard(0, 3, &v, 0), shard(1, 3, &v, 0), shard(2, 3, &v, 0)];
    assert!(merge(&ok(), MergeSettings::default()).is_ok());

    assert!(matches!(refused(&[]), MergeError::NoShards));
    let mut s = ok();
    s[1].result.shard = None;
    assert!(matches!(refused(&s), MergeError::NotAShard { .. }));
    for (field, change) in [
        (
            "scenario.seed",
            (|r: &mut RunResult| r.scenario.seed += 1) as fn(&mut RunResult),
        ),
        ("scenario.name", |r| r.scenario.name.push('x')),
        ("schema_version", |r| r.schema_version += 1),
        ("scenario.tick_s", |r| r.scenario.tick_s *= 2.0),
        ("thresholds", |r| r.thresholds[0].expression.push('0')),
        ("shard.count", |r| r.shard.as_mut().unwrap().count = 4),
    ] {
        let mut s = ok();
        change(&mut s[2].result);
        let e = refused(&s);
        assert!(
            matches!(&e, MergeError::DifferentRun { field: f, .. } if *f == field),
            "{field}: {e}"
        );
        assert!(e.to_string().contains("shard-2/results.json"), "{e}");
    }
    let mut s = ok();
    s[2].result.shard.as_mut().unwrap().index = 1;
    let e = refused(&s);
    assert!(
        matches!(e, MergeError::DuplicateIndex { index: 1, .. }),
        "{e}"
    );
    let e = refused(&ok()[..2]);
    assert!(
        matches!(&e, MergeError::MissingShards { missing, .. } if *missing == [2]),
        "{e}"
    );
    let mut s = ok();
    s[2].result.shard.as_mut().unwrap().index = 7;
    assert!(matches!(
        refused(&s),
        MergeError::IndexOutOfRange { index: 7, .. }
    ));
    let s = vec![
        shard(0, 3, &v, 0),
        shard(1, 3, &v, 0),
        shard(2, 3, &v, 1001),
    ];
    let e = refused(&s);
    assert!(
        matches!(
            e,
            MergeError::StartSkew {
                skew_ms: 1001,
                max_ms: 1000
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("--start-at"), "{e}");
    // Histograms of different precision cannot be added exactly.
    let mut s = ok();
    let mut coarse = Histogram::<u64>::new(2).unwrap();
    coarse.auto(true);
    coarse.record(100_000).unwrap();
    s[1].result.ops[0].histogram = EncodedHistogram::encode(&coarse, "ns").unwrap();
    let e = refused(&s);
    assert!(matches!(e, MergeError::HistogramSettings { .. }), "{e}");
    let mut s = ok();
    s[0].result.ops[0].histogram.data = "not base64".to_owned();
    assert!(matches!(refused(&s), MergeError::Histogram { .. }));
}

#[test]
fn mean_lateness_is_weighted_by_each_shards_completions() {
    use gauntlet_reports::schema::{GeneratorLoadTick, GeneratorTick};
    let v = [100_000_u64; 10];
    let mut shards = vec![shard(0, 2, &v, 0), shard(1, 2, &v, 0)];
    let tick = |completed: u64, mean: Option<f64>| GeneratorTick {
        lateness_mean_s: mean,
        loads: vec![GeneratorLoadTick {
            load: "l".into(),
            completed,
            lateness_mean_s: mean,
            ..GeneratorLoadTick::default()
        }],
        ..GeneratorTick::default()
    };
    for t in &mut shards[0].result.timeline {
        t.generator = Some(tick(300, Some(1e-6)));
    }
    for t in &mut shards[1].result.timeline {
        t.generator = Some(tick(100, Some(5e-6)));
    }
    // A shard without the figure (older results) is left out, not counted as zero.
    shards[1].result.timeline[2].generator = Some(tick(100, None));
    let merged = merge(
        &shards,
        MergeSettings {
            max_start_skew_ms: 1000,
        },
    )
    .unwrap();
    let g = |i: usize| merged.timeline[i].generator.clone().unwrap();
    // (300 x 1 µs + 100 x 5 µs) / 400 = 2 µs, for the tick and for the load.
    for m in [g(0).lateness_mean_s, g(0).loads[0].lateness_mean_s] {
        assert!((m.unwrap() - 2e-6).abs() < 1e-12, "{m:?}");
    }
    assert_eq!(g(0).loads[0].completed, 400);
    for m in [g(2).lateness_mean_s, g(2).loads[0].lateness_mean_s] {
        assert!((m.unwrap() - 1e-6).abs() < 1e-12, "{m:?}");
    }
}
