//! The harness's own cost per op, and how much of a target's throughput it keeps.
//!
//! Each benchmark drives the *real* open-loop slot ([`open_loop`]): claim from the
//! schedule, clock reads, the op (wrapped in its timeout), two histogram records and
//! the counters. The schedule's ops are all due already, so no op waits for the pacer:
//! what is left is the harness's bookkeeping. Each is paired with the same loop
//! written by hand (`target.call(..).await` in a `for` loop, nothing recorded):
//!
//! - `trivial`: a target whose op does nothing; the difference is the per-op cost.
//! - `actor-ask`: a real ask round trip to one gauntlet-runtime actor living on its own
//!   runtime, as in a run; the ratio of the two is the throughput the harness keeps.
//!
//! Run: `cargo bench -p gauntlet-harness --bench harness_overhead`

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use gauntlet_harness::load::LoadState;
use gauntlet_harness::load::pacer::Pacer;
use gauntlet_harness::load::recorder::Recorder;
use gauntlet_harness::load::slot::open_loop;
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

fn pair<T: Target>(c: &mut Criterion, name: &str, target: &T, op: OpId) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let pacer = Pacer::start("bench-pacer".into()).expect("pacer");
    let mut g = c.benchmark_group(name);
    g.bench_function("harness", |b| {
        b.iter_custom(|iters| {
            let state = all_due(iters, op);
            let rec = RefCell::new(Recorder::new(1));
            let t = Instant::now();
            rt.block_on(open_loop(target, &state, 0, &rec, &pacer));
            let took = t.elapsed();
            assert_eq!(state.totals().completed, iters);
            took
        })
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
    pair(c, "trivial", &Noop, OpId(0));
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
    pair(c, "actor-ask", &target, OpId(1));
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
    let pacer = Pacer::start("ratio-pacer".into()).expect("pacer");
    let (rounds, ops) = (30, 20_000_u64);
    let (mut harness, mut hand) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let state = all_due(ops, OpId(1));
        let rec = RefCell::new(Recorder::new(1));
        let t = Instant::now();
        rt.block_on(open_loop(&target, &state, 0, &rec, &pacer));
        harness += t.elapsed();
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

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Skip when criterion was asked for a subset that excludes it.
    let filtered = std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"actor-ask".contains(&a));
    if !filtered {
        interleaved_ratio();
    }
}
