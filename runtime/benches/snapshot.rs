//! `System::snapshot` over 100 000 live actors. Run with
//! `cargo bench -p gauntlet-runtime --bench snapshot`.
//!
//! Lines (all in one run, so their ratios hold on a noisy machine):
//! - `stats`: `System::stats()`, the walk the harness already does every tick: the
//!   baseline a snapshot is compared with.
//! - `top20/<key>`: the 20 largest by a sort key, from every actor.
//! - `glob_1pct/top20`: a glob that matches 1 % of the actors, top 20 by depth.
//! - `all`: every actor as a row (what `/actors` without `?top=` returns).
//!
//! 1 % of the actors have a queued message behind a held handler and 1 % have failed
//! once, so the rows are not all alike.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gauntlet_runtime::actor::snapshot::{SnapshotQuery, SortKey};
use gauntlet_runtime::actor::{Actor, ActorRef, Context, HandlerError, Props, System};
use tokio::runtime::{Builder, Runtime};

/// Live actors.
const ACTORS: usize = 100_000;

enum Msg {
    Work,
    Fail,
    /// Hold the handler until the sender side is dropped.
    Hold(tokio::sync::oneshot::Receiver<()>),
}

struct Worker;

impl Actor for Worker {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            Msg::Work => Ok(()),
            Msg::Fail => Err("bench failure".into()),
            Msg::Hold(rx) => {
                let _ = rx.await;
                Ok(())
            }
        }
    }
}

struct Fixture {
    rt: Runtime,
    system: System,
    _release: Vec<tokio::sync::oneshot::Sender<()>>,
}

fn fixture() -> Fixture {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (system, release) = rt.block_on(async {
        let system = System::new("bench").expect("system");
        let mut refs: Vec<ActorRef<Msg>> = Vec::with_capacity(ACTORS);
        for i in 0..ACTORS {
            let name = format!("group-{}-worker-{i}", i % 100);
            refs.push(system.spawn(&name, Props::new(|| Worker)).expect("spawn"));
        }
        let mut release = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            if i % 100 == 1 {
                let (tx, rx) = tokio::sync::oneshot::channel();
                r.tell(Msg::Hold(rx)).await.expect("tell");
                r.tell(Msg::Work).await.expect("tell");
                release.push(tx);
            } else if i % 100 == 2 {
                r.tell(Msg::Fail).await.expect("tell");
            } else {
                r.tell(Msg::Work).await.expect("tell");
            }
        }
        (system, release)
    });
    Fixture {
        rt,
        system,
        _release: release,
    }
}

fn snapshot(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("snapshot_100k");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    let sys = &f.system;
    group.bench_function("stats", |b| b.iter(|| black_box(sys.stats())));
    for key in [SortKey::Depth, SortKey::Busy, SortKey::Handled] {
        let q = SnapshotQuery::new(key).top(20);
        group.bench_function(format!("top20/{key}"), |b| {
            b.iter(|| black_box(sys.snapshot(&q)))
        });
    }
    let q = SnapshotQuery::new(SortKey::Depth)
        .glob("actor://bench/group-7-*")
        .expect("glob")
        .top(20);
    assert_eq!(sys.snapshot(&q).matched, (ACTORS / 100) as u64);
    group.bench_function("glob_1pct/top20", |b| {
        b.iter(|| black_box(sys.snapshot(&q)))
    });
    let q = SnapshotQuery::new(SortKey::Depth);
    group.bench_function("all", |b| b.iter(|| black_box(sys.snapshot(&q))));
    group.finish();
    drop(f._release);
    f.rt.block_on(f.system.shutdown(Duration::from_secs(30)));
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
