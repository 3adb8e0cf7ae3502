//! The side-by-side table: raw tokio, gauntlet, kameo and ractor on the same cases, in
//! one process, as medians of interleaved rounds, with ratios to raw tokio measured in
//! the same round.
//!
//! `cargo bench -p gauntlet-peers --bench table [-- --workers N] [--rounds R] [--scale F] [--sizes]`
//!
//! `--sizes` also lists each contender's idle-actor allocations by size.
//!
//! To carry it to another machine, build once (`cargo bench -p gauntlet-peers --bench
//! table --no-run` prints the binary's path, `target/release/deps/table-<hash>`) and run
//! that binary with `--bench --workers 16`: it needs nothing else.
//!
//! Cases (each contender runs the identical generic driver from
//! `gauntlet_peers::workload`, as a task on the runtime, with bounded mailboxes of 1024
//! and timers enabled on every runtime):
//! - `ask round trip, current-thread`: one request/reply to an idle actor, `ct` runtime.
//! - `ask round trip, mtN`: the same on a multi-thread runtime with N workers.
//! - `tell to one actor`: bursts of 10 000 tells, each burst closed by an `ask(0)`
//!   barrier; reported as throughput relative to raw tokio's (higher is better).
//! - `tell round-robin to 100 actors`: bursts of 10 000 tells spread over 100 actors,
//!   then one concurrent barrier per actor; throughput relative to raw tokio's.
//! - `spawn + ask + stop + wait`: an actor's whole short life (time ratio).
//! - `next ask to each of 10 000 idle (or hibernated) actors`: one pass of asks over
//!   those actors, in spawn order, after the idle count (one pass: not a median of
//!   rounds); hibernated actors are each woken, a new tokio task, by their ask.
//! - `idle actor after one message`: heap bytes still allocated per actor once 10 000
//!   actors have each handled one message and gone idle, counted by this binary's
//!   global allocator (bytes requested, without the allocator's own overhead; the
//!   runtime's `idle_memory` example measures resident memory instead).
//!
//! Each round runs every case for every contender once, in turn, so that a noisy
//! neighbour slows all contenders of a round alike; a ratio is taken within each round
//! and the median of the rounds is printed.

use gauntlet_peers::contender::{Gauntlet, Kameo, Ractor, TokioMpsc};
use gauntlet_peers::{Contender, workload};
use std::alloc::{GlobalAlloc, Layout, System as SystemAlloc};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Runtime};

/// Counts live heap bytes, so idle memory per actor is exact and order-independent.
/// Counts only while [`COUNTING`] is set (during the idle cases): its shared counters
/// are three locked read-modify-writes per allocation and per free, contended between
/// the workers, and would otherwise be charged to the timed cases in proportion to each
/// contender's allocations.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCS: AtomicIsize = AtomicIsize::new(0);
/// Live allocations by requested size (the last bucket takes every larger size), for
/// the per-actor breakdown that `--sizes` prints.
const SIZE_BUCKETS: usize = 4097;
static BY_SIZE: [AtomicIsize; SIZE_BUCKETS] = [const { AtomicIsize::new(0) }; SIZE_BUCKETS];

fn bucket(size: usize) -> &'static AtomicIsize {
    &BY_SIZE[size.min(SIZE_BUCKETS - 1)]
}

fn by_size() -> Vec<isize> {
    BY_SIZE.iter().map(|b| b.load(Ordering::SeqCst)).collect()
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            bucket(layout.size()).fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { SystemAlloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
            ALLOCS.fetch_sub(1, Ordering::Relaxed);
            bucket(layout.size()).fetch_sub(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { SystemAlloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
            bucket(layout.size()).fetch_sub(1, Ordering::Relaxed);
            bucket(new_size).fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { SystemAlloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MAILBOX: usize = 1024;
const BURST: u64 = 10_000;
const ROUND_ROBIN_ACTORS: usize = 100;
const IDLE_ACTORS: usize = 10_000;

/// The measured cases, in table order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    AskCt,
    AskMt,
    TellOne,
    RoundRobin,
    Lifecycle,
}

impl Case {
    const ALL: [Case; 5] = [
        Case::AskCt,
        Case::AskMt,
        Case::TellOne,
        Case::RoundRobin,
        Case::Lifecycle,
    ];

    fn label(self, workers: usize) -> String {
        match self {
            Case::AskCt => "ask round trip, current-thread (time)".into(),
            Case::AskMt => format!("ask round trip, mt{workers} (time)"),
            Case::TellOne => format!("tell to one actor, mt{workers} (throughput)"),
            Case::RoundRobin => format!("tell round-robin to 100 actors, mt{workers} (throughput)"),
            Case::Lifecycle => format!("spawn + ask + stop + wait, mt{workers} (time)"),
        }
    }

    /// Whether higher ns/op is better for the contender (never): throughput cases are
    /// reported as raw time / contender time, time cases as contender time / raw time.
    fn is_throughput(self) -> bool {
        matches!(self, Case::TellOne | Case::RoundRobin)
    }

    /// Operations per measurement at scale 1 (about 20-100 ms for raw tokio here).
    fn ops(self) -> u64 {
        match self {
            Case::AskCt | Case::AskMt => 20_000,
            Case::TellOne | Case::RoundRobin => 10 * BURST,
            Case::Lifecycle => 5_000,
        }
    }
}

/// One contender, set up on both runtimes, type-erased for the round loop.
trait Entry {
    fn name(&self) -> &'static str;
    /// Nanoseconds per operation (per message for the tell cases).
    fn measure(&self, case: Case, ops: u64) -> f64;
    /// Heap bytes and allocations per idle actor after one message, and the sizes of
    /// the allocations that make it up (size, allocations per actor).
    fn idle(&self) -> Idle;
    fn teardown(self: Box<Self>);
}

struct Setup<C: Contender> {
    mt: Arc<Runtime>,
    ct: Arc<Runtime>,
    on_mt: Arc<C>,
    on_ct: Arc<C>,
    one_mt: Arc<C::Counter>,
    one_ct: Arc<C::Counter>,
    hundred: Arc<Vec<C::Counter>>,
}

impl<C: Contender> Setup<C> {
    fn new(mt: &Arc<Runtime>, ct: &Arc<Runtime>, make: impl Fn() -> C) -> Self {
        let on_mt = Arc::new(enter(mt, &make));
        let on_ct = Arc::new(enter(ct, &make));
        let one_mt = Arc::new(mt.block_on(on_mt.spawn(MAILBOX)));
        let one_ct = Arc::new(ct.block_on(on_ct.spawn(MAILBOX)));
        let hundred = Arc::new(mt.block_on(async {
            let mut v = Vec::with_capacity(ROUND_ROBIN_ACTORS);
            for _ in 0..ROUND_ROBIN_ACTORS {
                v.push(on_mt.spawn(MAILBOX).await);
            }
            v
        }));
        Self {
            mt: mt.clone(),
            ct: ct.clone(),
            on_mt,
            on_ct,
            one_mt,
            one_ct,
            hundred,
        }
    }
}

fn enter<C>(rt: &Runtime, make: impl FnOnce() -> C) -> C {
    let _guard = rt.enter();
    make()
}

/// Runs `driver` as a task (as an actor talking to another would) and returns its
/// output (the time it measured itself, for the timed cases).
fn timed<T: Send + 'static>(rt: &Runtime, driver: impl Future<Output = T> + Send + 'static) -> T {
    rt.block_on(rt.spawn(driver)).expect("driver panicked")
}

impl<C: Contender> Entry for Setup<C> {
    fn name(&self) -> &'static str {
        C::NAME
    }

    fn measure(&self, case: Case, ops: u64) -> f64 {
        let elapsed = match case {
            Case::AskCt | Case::AskMt => {
                let (rt, one) = if case == Case::AskCt {
                    (&self.ct, self.one_ct.clone())
                } else {
                    (&self.mt, self.one_mt.clone())
                };
                timed(rt, async move {
                    let start = Instant::now();
                    for _ in 0..ops {
                        black_box(workload::ask_round_trip::<C>(&one).await);
                    }
                    start.elapsed()
                })
            }
            Case::TellOne => {
                let one = self.one_mt.clone();
                timed(&self.mt, async move {
                    let start = Instant::now();
                    for _ in 0..ops.div_ceil(BURST) {
                        black_box(workload::tell_burst::<C>(&one, BURST).await);
                    }
                    start.elapsed()
                })
            }
            Case::RoundRobin => {
                let hundred = self.hundred.clone();
                timed(&self.mt, async move {
                    let start = Instant::now();
                    for _ in 0..ops.div_ceil(BURST) {
                        black_box(workload::tell_round_robin::<C>(&hundred, BURST).await);
                    }
                    start.elapsed()
                })
            }
            Case::Lifecycle => {
                let contender = self.on_mt.clone();
                timed(&self.mt, async move {
                    let start = Instant::now();
                    for _ in 0..ops {
                        black_box(workload::spawn_ask_stop(&*contender, MAILBOX).await);
                    }
                    start.elapsed()
                })
            }
        };
        let ops = match case {
            Case::TellOne | Case::RoundRobin => ops.div_ceil(BURST) * BURST,
            _ => ops,
        };
        elapsed.as_nanos() as f64 / ops as f64
    }

    fn idle(&self) -> Idle {
        let contender = self.on_mt.clone();
        // As a task on the runtime (like the timed drivers): `block_on` would ask from
        // outside its workers, and every ask would wait for a worker to be woken.
        timed(&self.mt, async move {
            count_idle(&*contender, |_| std::future::ready(())).await
        })
    }

    fn teardown(self: Box<Self>) {
        let Setup {
            mt,
            ct,
            on_mt,
            on_ct,
            one_mt,
            one_ct,
            hundred,
        } = *self;
        let finish = |rt: &Runtime, c: Arc<C>, counters: Vec<C::Counter>| {
            rt.block_on(async move {
                for counter in counters {
                    C::stop(counter).await;
                }
                if let Ok(c) = Arc::try_unwrap(c) {
                    c.shutdown().await;
                }
            })
        };
        let hundred = Arc::into_inner(hundred).expect("drivers finished");
        let mut on_mt_counters = hundred;
        on_mt_counters.push(Arc::into_inner(one_mt).expect("drivers finished"));
        finish(&mt, on_mt, on_mt_counters);
        finish(
            &ct,
            on_ct,
            vec![Arc::into_inner(one_ct).expect("drivers finished")],
        );
    }
}

/// Heap bytes per actor once `IDLE_ACTORS` actors of `contender` have each answered
/// one ask, and `settled` (given the actors) has returned: what they still hold, by
/// allocation size too. Measured from after the contender's own set-up.
async fn count_idle<C, F>(contender: &C, settled: impl FnOnce(&[C::Counter]) -> F) -> Idle
where
    C: Contender,
    F: Future<Output = ()>,
{
    // Let earlier work settle (gauntlet's ask reaper drops answered slots within a
    // millisecond; other runtimes free their own leftovers).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (bytes0, allocs0) = (LIVE.load(Ordering::SeqCst), ALLOCS.load(Ordering::SeqCst));
    let sizes0 = by_size();
    let mut actors = Vec::with_capacity(IDLE_ACTORS);
    for _ in 0..IDLE_ACTORS {
        actors.push(contender.spawn(MAILBOX).await);
    }
    for a in &actors {
        black_box(C::ask(a, 1).await);
    }
    settled(&actors).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let bytes = LIVE.load(Ordering::SeqCst) - bytes0;
    let allocs = ALLOCS.load(Ordering::SeqCst) - allocs0;
    let sizes: Vec<(usize, f64)> = by_size()
        .iter()
        .zip(&sizes0)
        .enumerate()
        .map(|(size, (now, before))| (size, (now - before) as f64 / IDLE_ACTORS as f64))
        .filter(|(_, per_actor)| per_actor.abs() >= 0.01)
        .collect();
    // The Vec of handles is the driver's, not the actors'.
    let handles = (IDLE_ACTORS * size_of::<C::Counter>()) as isize;
    // Then one more ask to each, in spawn order: to an idle actor whose memory has gone
    // cold, or, hibernated, one that must be woken (a new task) first. Not counted: the
    // counting allocator's shared counters would charge the allocations a wake-up makes.
    COUNTING.store(false, Ordering::SeqCst);
    let start = Instant::now();
    for a in &actors {
        black_box(C::ask(a, 1).await);
    }
    let ask_ns = start.elapsed().as_nanos() as f64 / IDLE_ACTORS as f64;
    COUNTING.store(true, Ordering::SeqCst);
    for a in actors {
        C::stop(a).await;
    }
    Idle {
        bytes: (bytes - handles) as f64 / IDLE_ACTORS as f64,
        allocs: (allocs - 1) as f64 / IDLE_ACTORS as f64,
        sizes,
        ask_ns,
    }
}

/// Gauntlet's idle actor once hibernated (`SystemConfig::hibernate_after`): the same
/// count as [`Entry::idle`], taken once every actor has given up its task.
fn hibernated_idle(rt: &Runtime) -> Idle {
    timed(rt, async move {
        let contender = Gauntlet::hibernating(Duration::from_millis(20));
        let idle = count_idle(&contender, |_| async {
            // Asleep now: hibernated and not woken since (actors that hibernated during
            // the spawn loop were woken by their ask, and hibernate again).
            while contender.system().stats().actors.hibernating() < IDLE_ACTORS as u64 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        contender.shutdown().await;
        idle
    })
}

/// What one idle actor holds on the heap, and what the next ask to it takes.
struct Idle {
    bytes: f64,
    allocs: f64,
    sizes: Vec<(usize, f64)>,
    /// Nanoseconds per ask, asking each of the idle actors once in turn.
    ask_ns: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Args {
    workers: usize,
    rounds: usize,
    scale: f64,
    sizes: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        workers: 2,
        rounds: 7,
        scale: 1.0,
        sizes: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--workers" => {
                a.workers = value("--workers")?
                    .parse()
                    .map_err(|e| format!("--workers: {e}"))?
            }
            "--rounds" => {
                a.rounds = value("--rounds")?
                    .parse()
                    .map_err(|e| format!("--rounds: {e}"))?
            }
            "--scale" => {
                a.scale = value("--scale")?
                    .parse()
                    .map_err(|e| format!("--scale: {e}"))?
            }
            // cargo bench passes `--bench`; criterion-style filters are not used here.
            "--sizes" => a.sizes = true,
            "--bench" => {}
            other => {
                return Err(format!(
                    "unknown argument {other:?} (expected --workers N, --rounds R, --scale F, --sizes)"
                ));
            }
        }
    }
    if a.workers == 0 || a.rounds == 0 || a.scale.is_nan() || a.scale <= 0.0 {
        return Err("--workers, --rounds and --scale must be positive".into());
    }
    Ok(a)
}

fn main() -> Result<(), String> {
    let args = args()?;
    let mt = Arc::new(
        Builder::new_multi_thread()
            .worker_threads(args.workers)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?,
    );
    let ct = Arc::new(
        Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?,
    );
    let entries: Vec<Box<dyn Entry>> = vec![
        Box::new(Setup::new(&mt, &ct, || TokioMpsc)),
        Box::new(Setup::new(&mt, &ct, Gauntlet::new)),
        Box::new(Setup::new(&mt, &ct, || Kameo)),
        Box::new(Setup::new(&mt, &ct, || Ractor)),
    ];
    // ns[case][entry][round]
    let mut ns = vec![vec![Vec::new(); entries.len()]; Case::ALL.len()];
    for e in &entries {
        for case in Case::ALL {
            e.measure(case, (case.ops() / 10).max(1)); // warm-up
        }
    }
    for round in 0..args.rounds {
        for (c, case) in Case::ALL.into_iter().enumerate() {
            let ops = ((case.ops() as f64 * args.scale) as u64).max(1);
            for (i, e) in entries.iter().enumerate() {
                ns[c][i].push(e.measure(case, ops));
            }
        }
        eprintln!("round {}/{} done", round + 1, args.rounds);
    }
    // Count allocations from here on: the timed cases are over.
    COUNTING.store(true, Ordering::SeqCst);
    let idle: Vec<Idle> = entries.iter().map(|e| e.idle()).collect();
    let hibernated = hibernated_idle(&mt);

    let names: Vec<&str> = entries.iter().map(|e| e.name()).collect();
    println!(
        "\nmedians of {} interleaved rounds, mt{} = multi-thread runtime with {} workers; ratios vs raw tokio in the same round (time: lower is better; throughput: higher is better)\n",
        args.rounds, args.workers, args.workers
    );
    print!("| case | raw tokio |");
    for n in &names[1..] {
        print!(" {n} |");
    }
    println!();
    println!("|---|---:|{}", "---:|".repeat(names.len() - 1));
    for (c, case) in Case::ALL.into_iter().enumerate() {
        print!(
            "| {} | {:.0} ns |",
            case.label(args.workers),
            median(ns[c][0].clone())
        );
        for i in 1..entries.len() {
            let ratios: Vec<f64> = (0..args.rounds)
                .map(|r| {
                    if case.is_throughput() {
                        ns[c][0][r] / ns[c][i][r]
                    } else {
                        ns[c][i][r] / ns[c][0][r]
                    }
                })
                .collect();
            print!(
                " {:.2}x ({:.0} ns) |",
                median(ratios),
                median(ns[c][i].clone())
            );
        }
        println!();
    }
    print!(
        "| idle actor after one message (heap bytes, allocations) | {:.0} B, {:.1} |",
        idle[0].bytes, idle[0].allocs
    );
    for i in &idle[1..] {
        print!(" {:.0} B, {:.1} |", i.bytes, i.allocs);
    }
    println!();
    println!(
        "| idle actor, hibernated (gauntlet, `hibernate_after` 20 ms; heap bytes, allocations) | | {:.0} B, {:.1} |",
        hibernated.bytes, hibernated.allocs
    );
    print!(
        "| next ask to each of 10 000 idle actors (time, one pass) | {:.0} ns |",
        idle[0].ask_ns
    );
    for i in &idle[1..] {
        print!(" {:.2}x ({:.0} ns) |", i.ask_ns / idle[0].ask_ns, i.ask_ns);
    }
    println!();
    println!(
        "| next ask to each of 10 000 hibernated actors (wakes each; time, one pass) | | {:.2}x ({:.0} ns) |",
        hibernated.ask_ns / idle[0].ask_ns,
        hibernated.ask_ns
    );
    if args.sizes {
        let hibernated = ("gauntlet, hibernated", &hibernated);
        for (name, i) in names.iter().copied().zip(&idle).chain([hibernated]) {
            let parts: Vec<String> = i
                .sizes
                .iter()
                .map(|(size, n)| format!("{size} B x{n:.2}"))
                .collect();
            println!(
                "\n{name} idle actor, allocations by requested size: {}",
                parts.join(", ")
            );
        }
    }
    for e in entries {
        e.teardown();
    }
    Ok(())
}
