//! Flow graphs: runs per second and the memory of an idle graph.
//!
//! `cargo bench -p gauntlet-runtime --bench graph`
//!
//! The graph is `start -> split -> {left, right} -> merge -> done`: an entry, one fork,
//! two task nodes (each an actor), the fork's join and an end. Its state is a `u64` and
//! each task adds to it, so the numbers measure the graph machinery, not user work.
//!
//! Groups (throughput in runs per second):
//! - `graph_fork_join/sequential`: one run at a time, each awaited before the next
//!   (latency-bound: every run crosses to both node actors and back).
//! - `graph_fork_join/concurrent_64`: 64 runs started at once with `Graph::start`, each
//!   in its own task, then all awaited.
//!
//! Before the groups, with `--bench`, the bench prints the memory of an idle graph:
//! [`GRAPHS`] graphs are spawned and each does one run (so their node actors' mailboxes
//! have held a message), then the growth of the process's resident set
//! (`/proc/self/statm`) is divided by [`GRAPHS`]. The target is under 80 KB per graph.
//!
//! Runtime: multi-thread, 2 workers (the machine has 2 cores), the driver a task on it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use gauntlet_runtime::actor::System;
use gauntlet_runtime::graph::{Blueprint, Graph, GraphBuilder};
use tokio::runtime::{Builder, Runtime};

/// Graphs spawned for the idle-memory figure.
const GRAPHS: usize = 1000;
/// Runs in flight at once in `concurrent_64`.
const IN_FLIGHT: u64 = 64;
/// Linux x86-64 and aarch64 default; statm counts pages.
const PAGE_SIZE: usize = 4096;

fn blueprint() -> Blueprint<u64, u64> {
    GraphBuilder::new("bench", |s: &mut u64, u: u64| *s += u)
        .entry("start")
        .fork("split", ["left", "right"])
        .task("left", |s: Arc<u64>| async move { Ok(*s + 1) })
        .task("right", |_: Arc<u64>| async move { Ok(2) })
        .join("merge", "split")
        .end("done")
        .edge("start", "split")
        .edge("left", "merge")
        .edge("right", "merge")
        .edge("merge", "done")
        .build()
        .expect("valid graph")
}

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `driver` as a task on `rt` and returns the time it measured itself.
fn on_runtime(rt: &Runtime, driver: impl Future<Output = Duration> + Send + 'static) -> Duration {
    rt.block_on(rt.spawn(driver))
        .expect("bench driver panicked")
}

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * PAGE_SIZE)
}

/// Resident bytes per idle graph, averaged over [`GRAPHS`].
fn idle_graph_bytes(rt: &Runtime) -> (usize, usize) {
    rt.block_on(async {
        let system = System::new("idle").expect("actor system");
        let blueprint = blueprint();
        // Warm up the allocator and the system's registry with one graph.
        let warm = blueprint
            .clone()
            .named("warm")
            .spawn(&system)
            .await
            .expect("spawn");
        warm.run(0).await.expect("run");
        let before = rss_bytes();
        let mut graphs = Vec::with_capacity(GRAPHS);
        for i in 0..GRAPHS {
            let graph = blueprint
                .clone()
                .named(&format!("g{i}"))
                .spawn(&system)
                .await
                .expect("spawn");
            graph.run(1).await.expect("run");
            graphs.push(graph);
        }
        let after = rss_bytes();
        let actors = system.stats().actors.alive;
        drop(graphs);
        system.shutdown(Duration::from_secs(10)).await;
        (after.saturating_sub(before) / GRAPHS, actors as usize)
    })
}

fn runs(c: &mut Criterion, rt: &Runtime, graph: &Graph<u64, u64>) {
    let mut group = c.benchmark_group("graph_fork_join");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential", |b| {
        b.iter_custom(|iters| {
            let graph = graph.clone();
            on_runtime(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    let out = graph.run(i).await.expect("run");
                    assert_eq!(out.state, 2 * i + 3);
                }
                start.elapsed()
            })
        })
    });
    group.throughput(Throughput::Elements(IN_FLIGHT));
    group.bench_function("concurrent_64", |b| {
        b.iter_custom(|iters| {
            let graph = graph.clone();
            on_runtime(rt, async move {
                let mut handles = Vec::with_capacity(IN_FLIGHT as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    handles.extend((0..IN_FLIGHT).map(|i| graph.start(i)));
                    for run in handles.drain(..) {
                        run.wait().await.expect("run");
                    }
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

fn main() {
    let rt = multi_thread();
    if std::env::args().any(|a| a == "--bench") {
        let (bytes, actors) = idle_graph_bytes(&rt);
        println!(
            "idle graph: {bytes} bytes resident per graph ({GRAPHS} graphs, {} actors each incl. the graph actor; target < 81920)",
            actors / (GRAPHS + 1)
        );
    }
    let graph = rt.block_on(async {
        let system = System::new("bench").expect("actor system");
        blueprint().spawn(&system).await.expect("spawn")
    });
    let mut c = Criterion::default().configure_from_args();
    runs(&mut c, &rt, &graph);
    c.final_summary();
}
