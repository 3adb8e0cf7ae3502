//! The harness's own cost per op, and how much of a target's throughput it keeps.
//!
//! Each benchmark drives the *real* open-loop slot ([`open_loop`]) as a load thread
//! runs it (a task of a `LocalSet`): claim from the schedule, clock reads, the op
//! (wrapped in its timeout), two histogram records (latency, service time), the start
//! lateness, the counters and a self-wake every 64 ops. The schedule's ops are all due
//! already, so no op waits for the pacer: what is left is the harness's bookkeeping. Each is paired with the same loop
//! written by hand (`target.call(..).await` in a `for` loop, nothing recorded):
//!
//! - `trivial`: a target whose op does nothing; the difference is the per-op cost.
//! - `actor-ask`: a real ask round trip to one gauntlet-runtime actor living on its own
//!   runtime, as in a run; the ratio of the two is the throughput the harness keeps.
//!
//! - `generator-ceiling`: the whole generator (threads, lanes, gates, flushes) against
//!   the trivial target, offered far more than it can issue, with 1, 2 (and 4, 8 where
//!   the cores exist) load threads: its ceiling and how it scales.
//!
//! Run: `cargo bench -p gauntlet-harness --bench harness_overhead`
//! (`-- generator-ceiling` for the ceiling alone, `-- trivial` for the per-op cost).

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use std::rc::Rc;
use std::sync::Arc;

use gauntlet_harness::load::pacer::Pacer;
use gauntlet_harness::load::recorder::Recorder;
use gauntlet_harness::load::share::Gate;
use gauntlet_harness::load::slot::{SlotThread, open_loop};
use gauntlet_harness::load::{Generator, LoadState};
use gauntlet_harness::scenario::{Executor, Load, MailboxPolicy, RuntimeSettings};
use gauntlet_harness::target::{OpError, OpId, ShutdownOutcome, Target};
use gauntlet_harness::workload::actors::{ActorsSpec, ActorsTarget};
use gauntlet_reports::schema::{MessageAccounting, TargetSample};

/// A load of `ops` ops that are all due now and are never dropped.
fn all_due(ops: u64, op: OpId) -> LoadState {
    let load = Load {
        name: "bench".into(),
        op: "op".into(),
        executor: Executor::ConstantArrivalRate {
            rate: ops.max(1) as f64,
            duration: Duration::from_secs(1),
        },
        start: Duration::ZERO,
        max_in_flight: 1,
        drop_after: Duration::from_secs(3600),
        op_timeout: Duration::from_secs(60),
    };
    let started = Instant::now()
        .checked_sub(Duration::from_secs(2))
        .expect("the clock is past 2 s");
    LoadState::new(load, op, 0, 1, started, Duration::from_secs(1))
}

/// Runs one slot's [`open_loop`] over `ops` ops that are all due, as a load thread
/// runs it: a task of a `LocalSet` on a current-thread runtime (so its self-wakes stay
/// in the `LocalSet`'s queue, as in a run). Returns the time taken.
fn run_slot<T: Target + 'static>(
    rt: &tokio::runtime::Runtime,
    target: &Arc<T>,
    op: OpId,
    ops: u64,
    pacer: &Rc<Pacer>,
) -> Duration {
    let state = Rc::new(all_due(ops, op));
    let (target, pacer, s) = (target.clone(), pacer.clone(), state.clone());
    let local = tokio::task::LocalSet::new();
    let t = Instant::now();
    local.block_on(rt, async move {
        tokio::task::spawn_local(async move {
            let rec = RefCell::new(Recorder::new(1, 1));
            let thread = SlotThread {
                worker: 0,
                recorder: &rec,
                pacer: &pacer,
            };
            open_loop(&*target, &s, 0, &thread, &Gate::new(1)).await;
        })
        .await
        .expect("the slot ran");
    });
    let took = t.elapsed();
    assert_eq!(state.totals().completed, ops);
    took
}

fn pair<T: Target + 'static>(c: &mut Criterion, name: &str, target: Arc<T>, op: OpId) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let pacer = Rc::new(Pacer::start("bench-pacer".into()).expect("pacer"));
    let mut g = c.benchmark_group(name);
    g.bench_function("harness", |b| {
        b.iter_custom(|iters| run_slot(&rt, &target, op, iters, &pacer))
    });
    g.bench_function("hand-written", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            rt.block_on(async {
                for i in 0..iters {
                    let _ = black_box(target.call(op, i).await);
                }
            });
            t.elapsed()
        })
    });
    g.finish();
}

/// The trivial target: an op that completes at once and does nothing.
struct Noop;

impl Target for Noop {
    async fn call(&self, _op: OpId, seq: u64) -> Result<(), OpError> {
        black_box(seq);
        Ok(())
    }

    fn sample(&self) -> TargetSample {
        TargetSample::default()
    }

    async fn shutdown(&self, _timeout: Duration) -> ShutdownOutcome {
        ShutdownOutcome::default()
    }

    fn messages(&self) -> MessageAccounting {
        MessageAccounting::default()
    }
}

fn trivial(c: &mut Criterion) {
    pair(c, "trivial", Arc::new(Noop), OpId(0));
}

fn actor_ask(c: &mut Criterion) {
    let target_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("target runtime");
    let settings = RuntimeSettings {
        worker_threads: 1,
        load_threads: 1,
        mailbox_capacity: 1024,
        mailbox_policy: MailboxPolicy::Block,
        hibernate_after: None,
    };
    let target = target_rt
        .block_on(async {
            target_rt
                .spawn(ActorsTarget::build(ActorsSpec::default(), settings, 0))
                .await
        })
        .expect("build task")
        .expect("actors target");
    // OPS of the actors workload: 0 = tell, 1 = ask.
    pair(c, "actor-ask", Arc::new(target), OpId(1));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = trivial, actor_ask
}

/// The throughput ratio measured the way it is least disturbed by other load on the
/// machine: harness and hand-written rounds interleaved, times summed per side.
fn interleaved_ratio() {
    let target_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("target runtime");
    let settings = RuntimeSettings {
        worker_threads: 1,
        load_threads: 1,
        mailbox_capacity: 1024,
        mailbox_policy: MailboxPolicy::Block,
        hibernate_after: None,
    };
    let target = target_rt
        .block_on(async {
            target_rt
                .spawn(ActorsTarget::build(ActorsSpec::default(), settings, 0))
                .await
        })
        .expect("build task")
        .expect("actors target");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let pacer = Rc::new(Pacer::start("ratio-pacer".into()).expect("pacer"));
    let target = Arc::new(target);
    let (rounds, ops) = (30, 20_000_u64);
    let (mut harness, mut hand) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        harness += run_slot(&rt, &target, OpId(1), ops, &pacer);
        let t = Instant::now();
        rt.block_on(async {
            for i in 0..ops {
                let _ = black_box(target.call(OpId(1), i).await);
            }
        });
        hand += t.elapsed();
    }
    let n = (rounds as u64 * ops) as f64;
    println!(
        "actor-ask interleaved: harness {:.0} ns/op, hand-written {:.0} ns/op, throughput ratio {:.3}",
        harness.as_nanos() as f64 / n,
        hand.as_nanos() as f64 / n,
        hand.as_secs_f64() / harness.as_secs_f64()
    );
}

/// The generator's ceiling against the no-op target: ops per second the whole
/// generator (its real threads, schedule lanes, gates and a flush every 100 ms, as in
/// a run) completes when one load offers far more than it can issue, with 1, 2 and,
/// where the machine has the cores, 4 and 8 load threads. Rounds of the thread
/// counts are interleaved and the median is kept, so machine noise hits all alike.
fn generator_ceiling() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let counts: Vec<usize> = [1, 2, 4, 8]
        .into_iter()
        .filter(|&n| n <= cores.max(2))
        .collect();
    let control = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("control runtime");
    let (rounds, length) = (5, Duration::from_secs(1));
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    for _ in 0..rounds {
        for (i, &n) in counts.iter().enumerate() {
            rates[i].push(ceiling(&control, n, length));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let one = median(&mut rates[0].clone());
    println!(
        "generator ceiling (no-op target, {cores} cores, median of {rounds} rounds of {length:?}):"
    );
    for (i, &n) in counts.iter().enumerate() {
        let r = median(&mut rates[i]);
        println!(
            "  {n} load thread(s): {:.2} M ops/s, {:.2}x one thread, {:.2} of linear",
            r / 1e6,
            r / one,
            r / (one * n as f64)
        );
    }
}

/// One round of [`generator_ceiling`]: ops per second completed by `threads` threads.
fn ceiling(control: &tokio::runtime::Runtime, threads: usize, length: Duration) -> f64 {
    let load = Load {
        name: "ceiling".into(),
        op: "op".into(),
        executor: Executor::ConstantArrivalRate {
            rate: 1e9,
            duration: length,
        },
        start: Duration::ZERO,
        max_in_flight: 64 * threads as u64,
        drop_after: Duration::from_millis(10),
        op_timeout: Duration::from_secs(60),
    };
    let start = Instant::now() + Duration::from_millis(20);
    let state = LoadState::new(load, OpId(0), 0, threads, start, length);
    let mut generator =
        Generator::start(Arc::new(Noop), vec![state], 1, threads).expect("load threads");
    control.block_on(async {
        while !generator.finished() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            generator.collect(Duration::from_millis(50)).await;
        }
    });
    let completed = generator.loads()[0].totals().completed;
    control.block_on(generator.join(Duration::from_secs(2)));
    completed as f64 / length.as_secs_f64()
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Criterion's name filter, if any, also selects these two reports.
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted =
        |report: &str| names.is_empty() || names.iter().any(|n| report.contains(n.as_str()));
    if wanted("actor-ask") {
        interleaved_ratio();
    }
    if wanted("generator-ceiling") {
        generator_ceiling();
    }
}
