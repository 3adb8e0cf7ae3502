//! Capacity you can trust: repeats with intervals, the fit's uncertainty, the
//! utilization bound, who saturated, machine noise, and the honest statement; and
//! schema-1 files still read.

mod common;

use gauntlet_reports::capacity::analysis::conclude;
use gauntlet_reports::capacity::level::{combine, from_run};
use gauntlet_reports::capacity::model::UslModel;
use gauntlet_reports::capacity::saturation::{classify, run_warning};
use gauntlet_reports::capacity_schema::{
    CAPACITY_SCHEMA_VERSION, CapacityResult, ConcurrencySource, Level, LoadVariable, Saturated,
    Slo, Source, Stop, StopReason, TighterBound,
};
use gauntlet_reports::schema::{LoadResult, RunResult};

/// What one measured run looked like.
#[derive(Clone, Copy)]
struct Shape {
    throughput: f64,
    p99_ns: u64,
    /// Target workers' busy ratio.
    busy: f64,
    /// Load threads' busy ratio.
    generator: f64,
    /// Other processes' CPU, percent of one core.
    other_cpu: f64,
    dropped: u64,
}

fn quiet(throughput: f64) -> Shape {
    Shape {
        throughput,
        p99_ns: 2_000_000,
        busy: 0.5,
        generator: 0.3,
        other_cpu: 2.0,
        dropped: 0,
    }
}

/// A run of one op `ask` with the figures of `s` (2 CPUs, 1 target worker).
fn run(s: Shape) -> RunResult {
    let mut r = common::run();
    r.ops.truncate(1);
    r.ops[0].throughput_per_s = s.throughput;
    r.ops[0].latency.p99_ns = s.p99_ns;
    r.ops[0].service_time.mean_ns = 1e6;
    r.ops[0].latency.mean_ns = 1e6;
    r.thresholds.clear();
    r.verdict.passed = true;
    r.verdict.reasons.clear();
    r.loads = vec![LoadResult {
        name: "askers".into(),
        op: "ask".into(),
        executor: "constant-arrival-rate".into(),
        scheduled: Some(1000),
        started: 1000,
        completed: 1000,
        errors: 0,
        dropped_iterations: s.dropped,
        dropped_iterations_measured: s.dropped,
        unfinished: 0,
        max_in_flight: 64,
        starved_ticks: 0,
    }];
    for t in &mut r.timeline {
        t.runtime.busy_ratio = Some(s.busy);
        t.runtime.global_queue_depth = 0;
        t.in_flight = 3;
        t.process.load_threads_busy_ratio = Some(s.generator);
        t.process.steal_percent = Some(0.0);
        t.process.other_cpu_percent = Some(s.other_cpu);
    }
    r
}

fn level(index: usize, clients: f64, shapes: &[Shape]) -> Level {
    combine(
        shapes
            .iter()
            .map(|s| from_run(&run(*s), index, clients, LoadVariable::Concurrency, None))
            .collect(),
    )
    .unwrap()
}

fn sweep(levels: Vec<Level>) -> CapacityResult {
    let mut r = CapacityResult {
        schema_version: CAPACITY_SCHEMA_VERSION,
        gauntlet_version: "test".into(),
        scenario: common::run().scenario,
        started_at_unix_ms: 0,
        elapsed_s: 0.0,
        source: Source::Sweep,
        load: "askers".into(),
        op: "ask".into(),
        variable: LoadVariable::Concurrency,
        concurrency_source: ConcurrencySource::Configured,
        sweep: None,
        slo: Slo {
            thresholds: vec![],
            summary: String::new(),
            latency_limits: vec![],
        },
        levels,
        stop: Stop {
            reason: StopReason::AllLevels,
            level: None,
            detail: "all".into(),
        },
        fit: None,
        fit_error: None,
        max_within_slo: None,
        statement: String::new(),
        bounds: None,
    };
    conclude(&mut r);
    r
}

const CLIENTS: [f64; 6] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];

fn truth() -> UslModel {
    UslModel {
        lambda: 1000.0,
        sigma: 0.05,
        kappa: 0.001,
    }
}

/// Three repeats per level around the truth: −3%, 0, +3%.
fn repeated_sweep(shape: impl Fn(usize, f64) -> Shape) -> CapacityResult {
    let levels = CLIENTS
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let x = truth().throughput(n);
            let s = shape(i, x);
            level(
                i,
                n,
                &[
                    Shape {
                        throughput: x * 0.97,
                        ..s
                    },
                    s,
                    Shape {
                        throughput: x * 1.03,
                        ..s
                    },
                ],
            )
        })
        .collect();
    sweep(levels)
}

#[test]
fn repeats_give_each_level_a_mean_an_interval_and_a_stability_flag() {
    // 1000 ± 3%: mean 1000, s = 30, t(0.975, 2) = 4.303: 1000 ± 74.5.
    let l = level(0, 1.0, &[quiet(970.0), quiet(1000.0), quiet(1030.0)]);
    assert_eq!(l.repeats.len(), 3);
    assert!((l.throughput_per_s - 1000.0).abs() < 1e-9);
    let [lo, hi] = l.throughput_ci_95.unwrap();
    assert!(
        (lo - 925.47).abs() < 0.01 && (hi - 1074.53).abs() < 0.01,
        "{lo} {hi}"
    );
    assert!(!l.unstable);
    assert_eq!(l.p99_ci_95, Some([2e6, 2e6]));
    assert_eq!(
        l.repeats.iter().map(|r| r.repeat).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    // ±20% is more than a tenth: unstable.
    let wobbly = level(0, 1.0, &[quiet(800.0), quiet(1000.0), quiet(1200.0)]);
    assert!(wobbly.unstable);
    // 1000 ± 4.303 · 200 / √3 = 1000 ± 497: still above 0. Wilder repeats reach
    // below 0, and the interval stops there.
    let wild = level(0, 1.0, &[quiet(100.0), quiet(1000.0), quiet(1900.0)]);
    assert_eq!(wild.throughput_ci_95.unwrap()[0], 0.0);
    let r = sweep(vec![wobbly]);
    assert!(r.statement.contains("Unstable level(s)"), "{}", r.statement);
    // One repeat has no interval and is not flagged.
    let one = level(0, 1.0, &[quiet(1000.0)]);
    assert_eq!((one.throughput_ci_95, one.unstable), (None, false));
}

#[test]
fn the_fit_uses_every_repeat_and_its_intervals_cover_the_truth() {
    let r = repeated_sweep(|_, x| quiet(x));
    let f = r.fit.as_ref().unwrap();
    assert_eq!(f.points, 3 * CLIENTS.len());
    assert_eq!(f.curve.len(), 3 * CLIENTS.len());
    let u = f.uncertainty.as_ref().unwrap();
    assert!(u.method.contains("by case"), "{}", u.method);
    let within = |[lo, hi]: [f64; 2], v: f64| lo <= v && v <= hi;
    assert!(within(u.lambda_ci_95, 1000.0), "{:?}", u.lambda_ci_95);
    assert!(within(u.sigma_ci_95, 0.05), "{:?}", u.sigma_ci_95);
    assert!(within(u.kappa_ci_95, 0.001), "{:?}", u.kappa_ci_95);
    let peak = truth().peak_throughput().unwrap();
    assert!(within(f.peak_throughput_ci_95.unwrap(), peak));
    // Seeded: the same levels give the same intervals.
    let again = repeated_sweep(|_, x| quiet(x));
    assert_eq!(again.fit, r.fit);
    // N* = 30 lies within the measured 32 clients: not extrapolated.
    assert_eq!(f.peak_concurrency, Some(30));
    assert!(!f.extrapolated && !f.weak_fit);
    assert!(r.statement.contains("(95% CI "), "{}", r.statement);
}

#[test]
fn a_peak_beyond_the_measured_levels_is_called_extrapolated() {
    let levels: Vec<Level> = CLIENTS[..5]
        .iter()
        .enumerate()
        .map(|(i, &n)| level(i, n, &[quiet(truth().throughput(n))]))
        .collect();
    let r = sweep(levels);
    let f = r.fit.as_ref().unwrap();
    assert_eq!(f.peak_concurrency, Some(30));
    assert!(f.extrapolated);
    assert!(
        r.statement
            .contains("Extrapolated: N* = 30 lies beyond the largest measured level (N = 16)"),
        "{}",
        r.statement
    );
    assert!(f.uncertainty.as_ref().unwrap().method.contains("residuals"));
}

#[test]
fn a_poor_fit_is_called_weak() {
    let wild = [1000.0, 2500.0, 1500.0, 4000.0, 2000.0, 5000.0];
    let levels: Vec<Level> = CLIENTS
        .iter()
        .zip(wild)
        .enumerate()
        .map(|(i, (&n, x))| level(i, n, &[quiet(x)]))
        .collect();
    let r = sweep(levels);
    let f = r.fit.as_ref().unwrap();
    assert!(f.r_squared < 0.9, "{}", f.r_squared);
    assert!(f.weak_fit);
    assert!(r.statement.contains("Weak fit: R² = "), "{}", r.statement);
}

#[test]
fn a_generator_limited_sweep_is_labelled_so_and_its_peak_is_a_lower_bound() {
    // The top two levels: load threads 97% busy while the target idles at 40%.
    let r = repeated_sweep(|i, x| Shape {
        generator: if i >= 4 { 0.97 } else { 0.3 },
        busy: 0.4,
        ..quiet(x)
    });
    let labels: Vec<Saturated> = r.levels.iter().map(|l| l.saturated).collect();
    assert_eq!(
        labels,
        [
            Saturated::None,
            Saturated::None,
            Saturated::None,
            Saturated::None,
            Saturated::Generator,
            Saturated::Generator
        ]
    );
    let evidence = r.levels[5].saturation.as_ref().unwrap();
    assert!((evidence.generator_busy_ratio.unwrap() - 0.97).abs() < 1e-9);
    assert!(
        r.statement.contains(
            "was limited by the load generator, not the target: its 9.0 k ops/s is a lower bound"
        ),
        "{}",
        r.statement
    );
    let json = r.to_json().unwrap();
    assert!(json.contains("\"saturated\": \"generator\""));
}

#[test]
fn saturation_rules_tell_target_from_generator() {
    let label = |s: Shape| classify(&run(s)).0;
    // Target workers busy: the system under test is the limit.
    assert_eq!(
        label(Shape {
            busy: 0.95,
            ..quiet(1000.0)
        }),
        Saturated::Target
    );
    // Drops while the target has room: the generator could not issue.
    assert_eq!(
        label(Shape {
            busy: 0.3,
            dropped: 50,
            ..quiet(1000.0)
        }),
        Saturated::Generator
    );
    // Drops while the target is busy (but under 90%): its slow ops held the slots.
    assert_eq!(
        label(Shape {
            busy: 0.85,
            dropped: 50,
            ..quiet(1000.0)
        }),
        Saturated::Target
    );
    // Load threads busy wins over a busy target: the figures are the harness's.
    let both = run(Shape {
        busy: 0.95,
        generator: 0.95,
        ..quiet(1000.0)
    });
    assert_eq!(classify(&both).0, Saturated::Generator);
    assert!(run_warning(&both).unwrap().contains("lower bound"));
    let md = gauntlet_reports::markdown::render(&gauntlet_reports::outcome::Outcome::new(&both), 2);
    assert!(md.contains("> ⚠️ the load generator saturated"), "{md}");
    assert_eq!(label(quiet(1000.0)), Saturated::None);
    assert!(run_warning(&run(quiet(1000.0))).is_none());
    // A queue of at least one task per worker is the target's.
    let mut queued = run(quiet(1000.0));
    for t in &mut queued.timeline {
        t.runtime.global_queue_depth = 4;
    }
    assert_eq!(classify(&queued).0, Saturated::Target);
}

#[test]
fn the_utilization_bound_is_compared_with_the_usl() {
    // Measured up to 16 clients (8.04 k ops/s), the USL extrapolates a peak of
    // 9.04 k at 30; the workers' busy time (X / U = 8.5 k at every level) says 8.5 k
    // is all they can give.
    let levels: Vec<Level> = CLIENTS[..5]
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let x = truth().throughput(n);
            level(
                i,
                n,
                &[Shape {
                    busy: x / 8_500.0,
                    ..quiet(x)
                }],
            )
        })
        .collect();
    let r = sweep(levels);
    let b = r.bounds.as_ref().unwrap();
    assert!((b.utilization_bound_per_s - 8_500.0).abs() < 1.0, "{b:?}");
    assert_eq!(b.level, 4, "the busiest level");
    assert_eq!(b.resource, "target workers");
    assert_eq!(b.tighter, TighterBound::Utilization);
    assert!(b.usl_exceeds_bound);
    assert!(
        r.statement.contains("The target workers' busy time bounds throughput at 8.5 k ops/s (utilization law, level 4): the USL's 9.0 k ops/s exceeds it, so the utilization bound is the tighter"),
        "{}",
        r.statement
    );
    let u = r.levels[2].utilization.unwrap();
    // D = U·workers/X = 1 / 8.5 k = 117.6 µs.
    assert!((u.service_demand_s - 1.0 / 8_500.0).abs() < 1e-9);
    // A bound above the USL's peak leaves the USL the tighter.
    let loose = repeated_sweep(|_, x| Shape {
        busy: x / 9_500.0,
        ..quiet(x)
    });
    let b = loose.bounds.unwrap();
    assert!((b.utilization_bound_per_s - 9_500.0).abs() < 1.0);
    assert_eq!(b.tighter, TighterBound::Usl);
    assert!(!b.usl_exceeds_bound);
    assert!(loose.statement.contains("so the USL is the tighter bound"));
}

#[test]
fn noisy_levels_are_flagged() {
    let r = repeated_sweep(|i, x| Shape {
        other_cpu: if i == 2 { 80.0 } else { 1.0 },
        ..quiet(x)
    });
    let noisy: Vec<usize> = r
        .levels
        .iter()
        .filter(|l| l.noise.unwrap().noisy)
        .map(|l| l.index)
        .collect();
    assert_eq!(noisy, [2]);
    assert!((r.levels[2].noise.unwrap().other_cpu_percent.unwrap() - 80.0).abs() < 1e-9);
    assert!(
        r.statement
            .contains("Measured under machine noise (steal or other processes' CPU): level(s) 2."),
        "{}",
        r.statement
    );
}

#[test]
fn a_schema_1_file_still_reads() {
    let r = repeated_sweep(|_, x| quiet(x));
    let mut v: serde_json::Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
    // Strip everything schema 2 added: what a version-1 writer wrote.
    v["schema_version"] = 1.into();
    v.as_object_mut().unwrap().remove("bounds");
    for l in v["levels"].as_array_mut().unwrap() {
        let l = l.as_object_mut().unwrap();
        for k in [
            "repeats",
            "throughput_ci_95",
            "throughput_cv",
            "p99_mean_ns",
            "p99_ci_95",
            "unstable",
            "saturated",
            "saturation",
            "utilization_bound_per_s",
            "utilization",
            "noise",
        ] {
            assert!(l.remove(k).is_some(), "{k}");
        }
    }
    let fit = v["fit"].as_object_mut().unwrap();
    for k in [
        "peak_throughput_ci_95",
        "extrapolated",
        "weak_fit",
        "uncertainty",
    ] {
        assert!(fit.remove(k).is_some(), "{k}");
    }
    let old = CapacityResult::from_json(&v.to_string()).unwrap();
    assert_eq!(old.schema_version, 1);
    assert_eq!(old.levels[0].saturated, Saturated::None);
    assert!(old.levels[0].repeats.is_empty());
    assert!(old.fit.as_ref().unwrap().uncertainty.is_none());
    // And it can be concluded again: one point per level, residual bootstrap.
    let mut again = old.clone();
    conclude(&mut again);
    assert_eq!(again.fit.unwrap().points, CLIENTS.len());
}

#[test]
fn charts_and_page_show_intervals_the_bound_and_the_labels() {
    let r = repeated_sweep(|i, x| Shape {
        generator: if i >= 4 { 0.97 } else { 0.3 },
        busy: (x / 9_500.0).min(1.0),
        ..quiet(x)
    });
    let plots = gauntlet_reports::chart::capacity::charts(&r);
    let throughput = &plots[0];
    let series = |label: &str| {
        throughput
            .series
            .iter()
            .find(|s| s.label.starts_with(label))
            .unwrap_or_else(|| panic!("no series {label}"))
    };
    assert_eq!(series("95% CI over repeats").segments.len(), CLIENTS.len());
    let bar = &series("95% CI over repeats").segments[0];
    assert_eq!(bar.len(), 2, "a vertical bar from low to high");
    assert_eq!(bar[0].0, bar[1].0);
    let bound = series("workers/D bound: 9.5 k ops/s");
    assert!((bound.segments[0][0].1 - 9_500.0).abs() < 1.0);
    assert_eq!(
        series("measured (generator saturated").segments.len(),
        2,
        "the two top levels"
    );
    assert_eq!(series("measured (neither saturated)").segments.len(), 4);
    assert!(
        plots[1]
            .series
            .iter()
            .any(|s| s.label == "p99 95% CI over repeats"),
        "p99 bars on the latency chart"
    );
    let charts = gauntlet_reports::html::capacity::render_charts(&r).unwrap();
    let page = gauntlet_reports::html::capacity::render(&r, &charts);
    assert!(page.contains("generator: the load threads were busy 97% of the time"));
    assert!(page.contains("<th>U bound (ops/s)</th>"));
    assert!(
        page.contains("<dt>repeats</dt><dd>3</dd>"),
        "repeats in the facts"
    );
    assert!(page.contains(
        "Utilization law: the target workers&#x27; busy time bounds throughput at 9.5 k ops/s"
    ));
}

#[test]
fn a_model_peak_below_a_measured_level_is_called_an_underestimate() {
    let mut r = repeated_sweep(|_, x| quiet(x));
    let s = gauntlet_reports::capacity::statement::statement(&r);
    assert!(!s.contains("underestimates"), "{s}");
    r.fit.as_mut().unwrap().peak_throughput_per_s = Some(5_000.0);
    let s = gauntlet_reports::capacity::statement::statement(&r);
    assert!(
        s.contains("The model's peak (5.0 k ops/s) is below the best measured level (9.0 k ops/s): it underestimates what was measured."),
        "{s}"
    );
}

/// The repeats of a real sweep on a 2-core machine shared with other builds
/// (`capacity-actors.toml`, 1 to 16 clients, 3 repeats each).
const NOISY_SWEEP: [(f64, [f64; 3]); 5] = [
    (1.0, [27277.0, 17254.0, 29650.0]),
    (2.0, [33976.0, 18812.0, 13608.0]),
    (4.0, [39229.0, 42910.0, 42528.0]),
    (8.0, [20772.0, 32380.0, 26806.0]),
    (16.0, [27641.0, 21854.0, 43318.0]),
];

#[test]
fn a_noisy_real_sweep_is_called_weak_unstable_and_of_unknown_peak() {
    let levels = NOISY_SWEEP
        .iter()
        .enumerate()
        .map(|(i, (n, xs))| level(i, *n, &xs.map(quiet)))
        .collect();
    let r = sweep(levels);
    let f = r.fit.as_ref().unwrap();
    assert!(f.weak_fit, "R² {}", f.r_squared);
    let u = f.uncertainty.as_ref().unwrap();
    assert!(u.wide);
    assert_eq!(u.peak_concurrency_ci_95, None, "{u:?}");
    let unstable: Vec<usize> = r
        .levels
        .iter()
        .filter(|l| l.unstable)
        .map(|l| l.index)
        .collect();
    assert_eq!(unstable, [0, 1, 3, 4]);
    for caveat in [
        "Weak fit: R² = 0.14",
        "N*'s interval is unbounded",
        "Unstable level(s) (repeats vary by more than 10%): 0, 1, 3, 4.",
        "The model's peak (33 k ops/s) is below the best measured level (42 k ops/s)",
    ] {
        assert!(r.statement.contains(caveat), "{caveat}: {}", r.statement);
    }
}

#[test]
fn pacing_lateness_is_the_mean_over_the_measured_ticks() {
    use gauntlet_reports::schema::GeneratorTick;
    let mut r = run(quiet(1000.0));
    assert_eq!(classify(&r).1.pacing_lateness_mean_ns, None, "not recorded");
    let measured: Vec<usize> = (0..r.timeline.len())
        .filter(|i| !r.timeline[*i].warmup)
        .collect();
    assert!(measured.len() >= 2);
    for (k, i) in measured.iter().enumerate() {
        r.timeline[*i].generator = Some(GeneratorTick {
            // 1 µs, 3 µs, 5 µs, ...
            lateness_mean_s: Some((2 * k + 1) as f64 * 1e-6),
            ..GeneratorTick::default()
        });
    }
    // A warm-up tick's lateness does not count.
    if let Some(w) = r.timeline.iter_mut().find(|t| t.warmup) {
        w.generator = Some(GeneratorTick {
            lateness_mean_s: Some(1.0),
            ..GeneratorTick::default()
        });
    }
    let n = measured.len() as f64;
    let expected = (0..measured.len())
        .map(|k| (2 * k + 1) as f64 * 1e3)
        .sum::<f64>()
        / n;
    let got = classify(&r).1.pacing_lateness_mean_ns.unwrap();
    assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
}

#[test]
fn a_sweeps_junit_has_a_case_per_level_failed_when_it_missed_the_slo() {
    let mut r = repeated_sweep(|_, x| quiet(x));
    assert!(r.fit.is_some());
    r.levels[3].passed = false;
    r.levels[3].failures = vec!["p99 12 ms > 5 ms".into()];
    let xml = gauntlet_reports::junit::capacity(&r).unwrap();
    assert_eq!(
        xml.matches("<testcase ").count(),
        CLIENTS.len() + 1,
        "a case per level and one for the model: {xml}"
    );
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(
        xml.contains("<failure message=\"p99 12 ms &gt; 5 ms\""),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"level 3 offered (clients) 8\""),
        "cases are named by level and offered load: {xml}"
    );
    assert!(xml.contains("name=\"USL model\""), "{xml}");
    // No model: its case fails with the reason.
    r.fit = None;
    r.fit_error = Some("too few levels".into());
    let xml = gauntlet_reports::junit::capacity(&r).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert!(xml.contains("too few levels"), "{xml}");
}
