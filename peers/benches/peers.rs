//! Side-by-side actor benchmarks: raw tokio, gauntlet, kameo and ractor doing the same
//! work in the same criterion groups. Run with `cargo bench -p gauntlet-peers`.
//!
//! Groups (each reports throughput in messages or operations per second, so the ratio
//! between two lines of a group is the speed ratio):
//! - `tell_one`: a burst of [`TELL_BURST`] tells to one actor, then an `ask(0)` barrier
//!   that returns once all of them were processed. Measures sustained mailbox throughput,
//!   including the time the sender spends waiting on a full bounded mailbox.
//! - `tell_round_robin_100`: [`ROUND_ROBIN_BURST`] tells spread round-robin over 100
//!   actors, then one concurrent `ask(0)` barrier per actor.
//! - `ask`: one request/reply round trip to an idle actor. Also `tokio+timeout`: the raw
//!   baseline with its ask wrapped in `tokio::time::timeout`, because gauntlet's `ask`
//!   always carries a timeout and kameo/ractor asks here carry none.
//! - `spawn_stop`: spawn one actor, stop it gracefully and wait until it has terminated.
//! - `spawn_stop_100`: spawn [`BATCH`] actors, stop them all at once, wait until all have
//!   terminated; reported per actor. The amortized lifecycle cost when many actors come
//!   and go together, where `spawn_stop` is the latency of one in isolation.
//!
//! Why this is fair:
//! - Every contender runs the identical generic driver (`gauntlet_peers::workload`), the
//!   identical counter logic, on the same runtime, and each uses its library's documented
//!   API with default features. Mailboxes are bounded with the same capacity wherever the
//!   library has bounded mailboxes (tokio, gauntlet with `Policy::Block`, kameo); ractor's
//!   ports are unbounded, which favours ractor on tells (its sender never waits).
//! - The driver is itself a tokio task (spawned on the runtime, timed from inside), as an
//!   actor talking to another actor would be, rather than the bench thread calling
//!   `block_on`, which would add a third thread competing for the 2 cores.
//! - Runtime flavour: every case runs twice. `mt2` is a multi-thread runtime with 2
//!   workers, which is how a production service runs; there a message can wake the
//!   receiver on the other worker, so the numbers include cross-thread wake-ups and are
//!   noisier. `ct` is a current-thread runtime: no cross-thread traffic, so it isolates the
//!   per-message cost of each library's own machinery (FACTS.md measured a raw tokio ask
//!   at ~220 ns and kameo's bounded ask at ~600 ns there). Targets are judged on `mt2`;
//!   `ct` explains the differences.

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use gauntlet_peers::contender::{Gauntlet, Kameo, Ractor, TokioMpsc, TokioMpscTimeout};
use gauntlet_peers::{Contender, workload};
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Runtime};

/// Tells per `tell_one` iteration.
const TELL_BURST: u64 = 10_000;
/// Tells per `tell_round_robin_100` iteration (100 per actor).
const ROUND_ROBIN_BURST: u64 = 10_000;
/// Actors in `tell_round_robin_100`.
const ROUND_ROBIN_ACTORS: usize = 100;
/// Mailbox capacity for the message benches: large enough that a burst is not a
/// ping-pong, small enough that the bound is exercised.
const MAILBOX: usize = 1024;
/// Actors per iteration in `spawn_stop_100`.
const BATCH: usize = 100;
/// Mailbox capacity for `spawn_stop` (kameo's default).
const SPAWN_MAILBOX: usize = 64;

/// The two runtime flavours every case runs on.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    MultiThread2,
    CurrentThread,
}

impl Flavor {
    const ALL: [Flavor; 2] = [Flavor::MultiThread2, Flavor::CurrentThread];

    fn label(self) -> &'static str {
        match self {
            Flavor::MultiThread2 => "mt2",
            Flavor::CurrentThread => "ct",
        }
    }

    fn runtime(self) -> Runtime {
        let mut builder = match self {
            Flavor::MultiThread2 => {
                let mut b = Builder::new_multi_thread();
                b.worker_threads(2);
                b
            }
            Flavor::CurrentThread => Builder::new_current_thread(),
        };
        builder.enable_all().build().expect("tokio runtime")
    }
}

/// Runs `driver` as a task on `rt` and returns the time it measured itself.
fn on_runtime(rt: &Runtime, driver: impl Future<Output = Duration> + Send + 'static) -> Duration {
    rt.block_on(rt.spawn(driver))
        .expect("bench driver panicked")
}

/// Creates a contender inside `rt` (gauntlet's `System` needs a runtime context).
fn contender<C: Contender>(rt: &Runtime, make: impl FnOnce() -> C) -> Arc<C> {
    let _guard = rt.enter();
    Arc::new(make())
}

/// Stops the actors and shuts the contender down.
fn teardown<C: Contender>(rt: &Runtime, contender: Arc<C>, counters: Vec<C::Counter>) {
    rt.block_on(async move {
        for counter in counters {
            C::stop(counter).await;
        }
        if let Ok(contender) = Arc::try_unwrap(contender) {
            contender.shutdown().await;
        }
    });
}

fn tell_one_case<C: Contender>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    flavor: Flavor,
    make: impl FnOnce() -> C,
) {
    let contender = contender(rt, make);
    let counter = Arc::new(rt.block_on(contender.spawn(MAILBOX)));
    group.bench_function(BenchmarkId::new(C::NAME, flavor.label()), |b| {
        b.iter_custom(|iters| {
            let counter = Arc::clone(&counter);
            on_runtime(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(workload::tell_burst::<C>(&counter, TELL_BURST).await);
                }
                start.elapsed()
            })
        })
    });
    let counter = Arc::into_inner(counter).expect("driver tasks finished");
    teardown(rt, contender, vec![counter]);
}

fn round_robin_case<C: Contender>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    flavor: Flavor,
    make: impl FnOnce() -> C,
) {
    let contender = contender(rt, make);
    let counters = rt.block_on(async {
        let mut counters = Vec::with_capacity(ROUND_ROBIN_ACTORS);
        for _ in 0..ROUND_ROBIN_ACTORS {
            counters.push(contender.spawn(MAILBOX).await);
        }
        counters
    });
    let counters = Arc::new(counters);
    group.bench_function(BenchmarkId::new(C::NAME, flavor.label()), |b| {
        b.iter_custom(|iters| {
            let counters = Arc::clone(&counters);
            on_runtime(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(workload::tell_round_robin::<C>(&counters, ROUND_ROBIN_BURST).await);
                }
                start.elapsed()
            })
        })
    });
    let counters = Arc::into_inner(counters).expect("driver tasks finished");
    teardown(rt, contender, counters);
}

fn ask_case<C: Contender>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    flavor: Flavor,
    make: impl FnOnce() -> C,
) {
    let contender = contender(rt, make);
    let counter = Arc::new(rt.block_on(contender.spawn(MAILBOX)));
    group.bench_function(BenchmarkId::new(C::NAME, flavor.label()), |b| {
        b.iter_custom(|iters| {
            let counter = Arc::clone(&counter);
            on_runtime(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(workload::ask_round_trip::<C>(&counter).await);
                }
                start.elapsed()
            })
        })
    });
    let counter = Arc::into_inner(counter).expect("driver tasks finished");
    teardown(rt, contender, vec![counter]);
}

fn spawn_stop_case<C: Contender>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    flavor: Flavor,
    make: impl FnOnce() -> C,
) {
    let contender = contender(rt, make);
    group.bench_function(BenchmarkId::new(C::NAME, flavor.label()), |b| {
        b.iter_custom(|iters| {
            let contender = Arc::clone(&contender);
            on_runtime(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    workload::spawn_stop(&*contender, SPAWN_MAILBOX).await;
                }
                start.elapsed()
            })
        })
    });
    teardown(rt, contender, Vec::new());
}

fn spawn_stop_batch_case<C: Contender>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    flavor: Flavor,
    make: impl FnOnce() -> C,
) {
    let contender = contender(rt, make);
    group.bench_function(BenchmarkId::new(C::NAME, flavor.label()), |b| {
        b.iter_custom(|iters| {
            let contender = Arc::clone(&contender);
            on_runtime(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    workload::spawn_stop_batch(&*contender, BATCH, SPAWN_MAILBOX).await;
                }
                start.elapsed()
            })
        })
    });
    teardown(rt, contender, Vec::new());
}

/// Runs one case for every contender on every flavour, inside one criterion group.
/// Extra lines may be given before the contenders (`ask` adds `tokio+timeout`).
macro_rules! every_contender {
    ($c:expr, $group_name:expr, $throughput:expr, $case:ident $(, $extra:expr)*) => {{
        let mut group = $c.benchmark_group($group_name);
        group.throughput($throughput);
        for flavor in Flavor::ALL {
            let rt = flavor.runtime();
            $case(&mut group, &rt, flavor, || TokioMpsc);
            $($case(&mut group, &rt, flavor, $extra);)*
            $case(&mut group, &rt, flavor, Gauntlet::new);
            $case(&mut group, &rt, flavor, || Kameo);
            $case(&mut group, &rt, flavor, || Ractor);
        }
        group.finish();
    }};
}

fn tell_one(c: &mut Criterion) {
    every_contender!(
        c,
        "tell_one",
        Throughput::Elements(TELL_BURST),
        tell_one_case
    );
}

fn tell_round_robin_100(c: &mut Criterion) {
    every_contender!(
        c,
        "tell_round_robin_100",
        Throughput::Elements(ROUND_ROBIN_BURST),
        round_robin_case
    );
}

fn ask(c: &mut Criterion) {
    every_contender!(c, "ask", Throughput::Elements(1), ask_case, || {
        TokioMpscTimeout
    });
}

fn spawn_stop(c: &mut Criterion) {
    every_contender!(c, "spawn_stop", Throughput::Elements(1), spawn_stop_case);
}

fn spawn_stop_100(c: &mut Criterion) {
    every_contender!(
        c,
        "spawn_stop_100",
        Throughput::Elements(BATCH as u64),
        spawn_stop_batch_case
    );
}

criterion_group! {
    name = peers;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = tell_one, tell_round_robin_100, ask, spawn_stop, spawn_stop_100
}
criterion_main!(peers);
