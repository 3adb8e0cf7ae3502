//! gauntlet-runtime actors beside the least an actor can cost on tokio (a task owning a
//! bounded `mpsc` receiver; asks carry a `oneshot`). Run with
//! `cargo bench -p gauntlet-runtime --bench actor`. The comparison with kameo and ractor
//! lives in the `gauntlet-peers` crate so the runtime's own build stays lean.
//!
//! Groups (throughput is messages or operations per second, so the ratio of two lines is
//! the speed ratio):
//! - `tell_one`: [`BURST`] tells to one actor, then an ask as a barrier: sustained
//!   mailbox throughput including time spent waiting on a full mailbox.
//! - `tell_round_robin_100`: [`BURST`] tells spread over 100 actors, then one barrier ask
//!   per actor, all in flight at once.
//! - `ask`: one request/reply round trip. `tokio` has no timeout; `tokio+timeout` wraps
//!   the same exchange in `tokio::time::timeout`, as gauntlet's `ask` always does, to
//!   show what the timer costs on its own.
//! - `spawn_stop`: spawn one actor, stop it, wait until its task has ended (`gauntlet`:
//!   named, `counter-<n>`; `gauntlet-unnamed`: `System::spawn_unnamed`, as fleets spawn).
//! - `mailbox_contention/<policy>`: [`SENDERS`] tasks tell [`PER_SENDER`] messages each
//!   to one actor with a small mailbox ([`SMALL_MAILBOX`]), so the mailbox is full much
//!   of the time and every policy's "full" path runs. Throughput counts messages
//!   *offered*; under `fail`/`drop-*` many are refused or dropped by design. The tokio
//!   lines are the nearest raw equivalents: `send().await` (block), `try_send` (fail /
//!   drop-newest) and `unbounded_channel` (unbounded); tokio has no drop-oldest.
//!
//! Fairness: both sides run the same driver on the same runtime, a multi-thread runtime
//! with 2 workers (the machine has 2 cores; it is how a service runs, and the numbers
//! include cross-thread wake-ups). The driver is a task on that runtime, timed from
//! inside, as an actor sending to another actor would be. `ask` also runs on a
//! current-thread runtime (`/ct`), which isolates per-message machinery from wake-up
//! costs (FACTS.md: raw tokio ask ~220 ns there).

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use gauntlet_runtime::actor::{
    Actor, ActorRef, AskError, Context, HandlerError, MailboxConfig, Policy, Props, ReplyTo, System,
};
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, oneshot};

/// Tells per iteration in the tell groups.
const BURST: u64 = 10_000;
/// Actors in `tell_round_robin_100`.
const ACTORS: usize = 100;
/// Mailbox capacity in the tell and ask groups.
const MAILBOX: usize = 1024;
/// Mailbox capacity in `mailbox_contention`: small, so it is often full.
const SMALL_MAILBOX: usize = 64;
/// Concurrent senders in `mailbox_contention`.
const SENDERS: u64 = 4;
/// Messages per sender per iteration in `mailbox_contention`.
const PER_SENDER: u64 = 2_500;
/// Never reached; gauntlet's `ask` requires a timeout.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn current_thread() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `driver` as a task on `rt` and returns the time it measured itself.
fn on_runtime(rt: &Runtime, driver: impl Future<Output = Duration> + Send + 'static) -> Duration {
    rt.block_on(rt.spawn(driver))
        .expect("bench driver panicked")
}

/// Times `iters` runs of `op` inside a task on `rt`.
fn timed<S, F, Fut>(rt: &Runtime, iters: u64, state: Arc<S>, op: F) -> Duration
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    on_runtime(rt, async move {
        let start = Instant::now();
        for _ in 0..iters {
            op(Arc::clone(&state)).await;
        }
        start.elapsed()
    })
}

// ---- the gauntlet counter --------------------------------------------------------------

enum Msg {
    Add(u64),
    AddAndGet(u64, ReplyTo<u64>),
}

#[derive(Default)]
struct Counter {
    total: u64,
}

impl Actor for Counter {
    type Msg = Msg;

    async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            Msg::Add(n) => self.total += n,
            Msg::AddAndGet(n, reply) => {
                self.total += n;
                reply.send(self.total);
            }
        }
        Ok(())
    }
}

/// A system plus a source of unique actor names.
struct Gauntlet {
    system: System,
    next: AtomicU64,
}

impl Gauntlet {
    fn start(rt: &Runtime) -> Arc<Self> {
        let _guard = rt.enter();
        Arc::new(Self {
            system: System::new("bench").expect("actor system"),
            next: AtomicU64::new(0),
        })
    }

    fn spawn(&self, mailbox: MailboxConfig) -> ActorRef<Msg> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.system
            .spawn(
                &format!("counter-{id}"),
                Props::new(Counter::default).mailbox(mailbox),
            )
            .expect("spawn")
    }

    /// An unnamed actor (`System::spawn_unnamed`), as fleets spawn.
    fn spawn_unnamed(&self, mailbox: MailboxConfig) -> ActorRef<Msg> {
        self.system
            .spawn_unnamed(Props::new(Counter::default).mailbox(mailbox))
            .expect("spawn")
    }

    fn shutdown(self: Arc<Self>, rt: &Runtime) {
        if let Ok(this) = Arc::try_unwrap(self) {
            rt.block_on(this.system.shutdown(Duration::from_secs(10)));
        }
    }
}

async fn g_tell(actor: &ActorRef<Msg>, n: u64) {
    actor.tell(Msg::Add(n)).await.expect("tell");
}

async fn g_ask(actor: &ActorRef<Msg>, n: u64) -> u64 {
    actor
        .ask(|r| Msg::AddAndGet(n, r), ASK_TIMEOUT)
        .await
        .expect("ask")
}

async fn g_stop(actor: ActorRef<Msg>) {
    actor.stop();
    actor.wait_terminated().await;
}

// ---- the raw tokio counter -------------------------------------------------------------

enum RawMsg {
    Add(u64),
    AddAndGet(u64, oneshot::Sender<u64>),
}

async fn raw_loop(mut next: impl AsyncRecv) {
    let mut total = 0_u64;
    while let Some(msg) = next.recv().await {
        match msg {
            RawMsg::Add(n) => total += n,
            RawMsg::AddAndGet(n, reply) => {
                total += n;
                let _ = reply.send(total);
            }
        }
    }
}

/// A bounded or unbounded tokio receiver, so one loop serves both.
trait AsyncRecv: Send + 'static {
    fn recv(&mut self) -> impl Future<Output = Option<RawMsg>> + Send;
}

impl AsyncRecv for mpsc::Receiver<RawMsg> {
    fn recv(&mut self) -> impl Future<Output = Option<RawMsg>> + Send {
        mpsc::Receiver::recv(self)
    }
}

impl AsyncRecv for mpsc::UnboundedReceiver<RawMsg> {
    fn recv(&mut self) -> impl Future<Output = Option<RawMsg>> + Send {
        mpsc::UnboundedReceiver::recv(self)
    }
}

fn raw_spawn(capacity: usize) -> (mpsc::Sender<RawMsg>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(capacity);
    (tx, tokio::spawn(raw_loop(rx)))
}

async fn raw_tell(tx: &mpsc::Sender<RawMsg>, n: u64) {
    if tx.send(RawMsg::Add(n)).await.is_err() {
        panic!("raw counter ended");
    }
}

async fn raw_ask(tx: &mpsc::Sender<RawMsg>, n: u64) -> u64 {
    let (reply, rx) = oneshot::channel();
    if tx.send(RawMsg::AddAndGet(n, reply)).await.is_err() {
        panic!("raw counter ended");
    }
    rx.await.expect("raw reply")
}

// ---- groups ----------------------------------------------------------------------------

fn tell_one(c: &mut Criterion) {
    let rt = multi_thread();
    let mut group = c.benchmark_group("tell_one");
    group.throughput(Throughput::Elements(BURST));

    let (tx, task) = rt.block_on(async { raw_spawn(MAILBOX) });
    let tx = Arc::new(tx);
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, Arc::clone(&tx), |tx| async move {
                for _ in 0..BURST {
                    raw_tell(&tx, 1).await;
                }
                black_box(raw_ask(&tx, 0).await);
            })
        })
    });
    drop(tx);
    rt.block_on(task).expect("raw counter");

    let g = Gauntlet::start(&rt);
    let actor =
        Arc::new(rt.block_on(async { g.spawn(MailboxConfig::new(MAILBOX, Policy::Block)) }));
    group.bench_function("gauntlet", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, Arc::clone(&actor), |actor| async move {
                for _ in 0..BURST {
                    g_tell(&actor, 1).await;
                }
                black_box(g_ask(&actor, 0).await);
            })
        })
    });
    group.finish();
    g.shutdown(&rt);
}

fn tell_round_robin_100(c: &mut Criterion) {
    let rt = multi_thread();
    let mut group = c.benchmark_group("tell_round_robin_100");
    group.throughput(Throughput::Elements(BURST));

    let (txs, tasks): (Vec<_>, Vec<_>) =
        rt.block_on(async { (0..ACTORS).map(|_| raw_spawn(MAILBOX)).unzip() });
    let txs = Arc::new(txs);
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, Arc::clone(&txs), |txs| async move {
                for tx in txs.iter().cycle().take(BURST as usize) {
                    raw_tell(tx, 1).await;
                }
                let barrier = futures_util::future::join_all(txs.iter().map(|tx| raw_ask(tx, 0)));
                black_box(barrier.await);
            })
        })
    });
    drop(txs);
    for task in tasks {
        rt.block_on(task).expect("raw counter");
    }

    let g = Gauntlet::start(&rt);
    let actors: Vec<_> = rt.block_on(async {
        (0..ACTORS)
            .map(|_| g.spawn(MailboxConfig::new(MAILBOX, Policy::Block)))
            .collect()
    });
    let actors = Arc::new(actors);
    group.bench_function("gauntlet", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, Arc::clone(&actors), |actors| async move {
                for actor in actors.iter().cycle().take(BURST as usize) {
                    g_tell(actor, 1).await;
                }
                let barrier = futures_util::future::join_all(actors.iter().map(|a| g_ask(a, 0)));
                black_box(barrier.await);
            })
        })
    });
    group.finish();
    drop(actors);
    g.shutdown(&rt);
}

fn ask_on(group: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime, flavor: &str) {
    let (tx, task) = rt.block_on(async { raw_spawn(MAILBOX) });
    let tx = Arc::new(tx);
    group.bench_function(BenchmarkId::new("tokio", flavor), |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, Arc::clone(&tx), |tx| async move {
                black_box(raw_ask(&tx, 1).await);
            })
        })
    });
    group.bench_function(BenchmarkId::new("tokio+timeout", flavor), |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, Arc::clone(&tx), |tx| async move {
                let reply = tokio::time::timeout(ASK_TIMEOUT, raw_ask(&tx, 1)).await;
                black_box(reply.expect("raw ask timed out"));
            })
        })
    });
    drop(tx);
    rt.block_on(task).expect("raw counter");

    let g = Gauntlet::start(rt);
    let actor =
        Arc::new(rt.block_on(async { g.spawn(MailboxConfig::new(MAILBOX, Policy::Block)) }));
    group.bench_function(BenchmarkId::new("gauntlet", flavor), |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, Arc::clone(&actor), |actor| async move {
                black_box(g_ask(&actor, 1).await);
            })
        })
    });
    drop(actor);
    g.shutdown(rt);
}

fn ask(c: &mut Criterion) {
    let mut group = c.benchmark_group("ask");
    group.throughput(Throughput::Elements(1));
    ask_on(&mut group, &multi_thread(), "mt2");
    ask_on(&mut group, &current_thread(), "ct");
    group.finish();
}

fn spawn_stop(c: &mut Criterion) {
    let rt = multi_thread();
    let mut group = c.benchmark_group("spawn_stop");
    group.throughput(Throughput::Elements(1));
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, Arc::new(()), |_| async move {
                let (tx, task) = raw_spawn(MAILBOX);
                drop(tx);
                task.await.expect("raw counter");
            })
        })
    });
    let g = Gauntlet::start(&rt);
    group.bench_function("gauntlet", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, Arc::clone(&g), |g| async move {
                g_stop(g.spawn(MailboxConfig::new(MAILBOX, Policy::Block))).await;
            })
        })
    });
    group.bench_function("gauntlet-unnamed", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, Arc::clone(&g), |g| async move {
                g_stop(g.spawn_unnamed(MailboxConfig::new(MAILBOX, Policy::Block))).await;
            })
        })
    });
    group.finish();
    g.shutdown(&rt);
}

/// Offers `SENDERS * PER_SENDER` messages from concurrent tasks; returns when every
/// sender is done and the actor has handled whatever it accepted.
async fn contend(actor: Arc<ActorRef<Msg>>) {
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let actor = Arc::clone(&actor);
            tokio::spawn(async move {
                for _ in 0..PER_SENDER {
                    // Refusals (`fail`) are the policy working, not an error here.
                    let _ = actor.tell(Msg::Add(1)).await;
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.expect("sender");
    }
    // The barrier ask is itself subject to the policy: a full `fail` mailbox refuses it
    // and `drop-newest` drops it (no reply). Retry until the actor has room.
    loop {
        match actor.ask(|r| Msg::AddAndGet(0, r), ASK_TIMEOUT).await {
            Ok(total) => {
                black_box(total);
                break;
            }
            Err(AskError::Full | AskError::Dropped | AskError::NoReply) => {
                tokio::task::yield_now().await
            }
            Err(other) => panic!("barrier ask failed: {other}"),
        }
    }
}

/// The raw tokio equivalents of the policies under the same load.
#[derive(Clone, Copy)]
enum RawMode {
    SendAwait,
    TrySend,
    Unbounded,
}

async fn raw_contend(mode: RawMode) {
    let (bounded, unbounded, task) = match mode {
        RawMode::Unbounded => {
            let (tx, rx) = mpsc::unbounded_channel();
            (None, Some(tx), tokio::spawn(raw_loop(rx)))
        }
        _ => {
            let (tx, task) = raw_spawn(SMALL_MAILBOX);
            (Some(tx), None, task)
        }
    };
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (bounded, unbounded) = (bounded.clone(), unbounded.clone());
            tokio::spawn(async move {
                for _ in 0..PER_SENDER {
                    match (mode, &bounded, &unbounded) {
                        (RawMode::SendAwait, Some(tx), _) => {
                            let _ = tx.send(RawMsg::Add(1)).await;
                        }
                        (RawMode::TrySend, Some(tx), _) => {
                            let _ = tx.try_send(RawMsg::Add(1));
                        }
                        (_, _, Some(tx)) => {
                            let _ = tx.send(RawMsg::Add(1));
                        }
                        _ => unreachable!("sender matches its mode"),
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.expect("sender");
    }
    drop((bounded, unbounded));
    task.await.expect("raw counter");
}

fn mailbox_contention(c: &mut Criterion) {
    let rt = multi_thread();
    let mut group = c.benchmark_group("mailbox_contention");
    group.throughput(Throughput::Elements(SENDERS * PER_SENDER));

    for (label, mode) in [
        ("tokio/send-await", RawMode::SendAwait),
        ("tokio/try-send", RawMode::TrySend),
        ("tokio/unbounded", RawMode::Unbounded),
    ] {
        group.bench_function(label, |b| {
            b.iter_custom(|iters| timed(&rt, iters, Arc::new(()), move |_| raw_contend(mode)))
        });
    }

    let g = Gauntlet::start(&rt);
    for policy in Policy::ALL {
        let config = match policy {
            Policy::Unbounded => MailboxConfig::unbounded(),
            bounded => MailboxConfig::new(SMALL_MAILBOX, bounded),
        };
        let actor = Arc::new(rt.block_on(async { g.spawn(config) }));
        group.bench_function(BenchmarkId::new("gauntlet", policy.as_str()), |b| {
            b.iter_custom(|iters| timed(&rt, iters, Arc::clone(&actor), contend))
        });
    }
    group.finish();
    g.shutdown(&rt);
}

criterion_group! {
    name = actor;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = tell_one, tell_round_robin_100, ask, spawn_stop, mailbox_contention
}
criterion_main!(actor);
