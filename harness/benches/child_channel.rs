//! The cost of `[target] process = "child"`: an op through the child-process channel
//! versus the same op in-process, measured in one run, rounds interleaved so that
//! other load on the machine hits both sides alike.
//!
//! The op is the `actors` workload's ask (a real round trip to one actor on its own
//! runtime). In-process, the load thread asks the actor directly; through the child,
//! the op is framed (JSON), written to the child's stdin pipe, read by the child,
//! issued there, and its outcome framed back over the stdout pipe.
//!
//! - `sequential`: one op at a time (latency per op: what a closed loop of one sees).
//! - `64 in flight`: batches of 64 concurrent ops (the channel batches frames into
//!   one write per wake-up; throughput per op).
//!
//! Run: `cargo bench -p gauntlet-harness --bench child_channel`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gauntlet_harness::child::ChildTarget;
use gauntlet_harness::scenario::{MailboxPolicy, RuntimeSettings};
use gauntlet_harness::target::{OpId, Target};
use gauntlet_harness::workload::actors::{ActorsSpec, ActorsTarget};

const SCENARIO: &str = r#"
name = "bench"
duration = "1s"
[runtime]
worker_threads = 1
load_threads = 1
[target]
workload = "actors"
process = "child"
[[load]]
op = "ask"
executor = "constant-arrival-rate"
rate = 1
max_in_flight = 1
"#;

/// OPS of the actors workload: 0 = tell, 1 = ask.
const ASK: OpId = OpId(1);

async fn sequential<T: Target>(t: &T, ops: u64) -> Duration {
    let began = Instant::now();
    for i in 0..ops {
        let _ = black_box(t.call(ASK, i).await);
    }
    began.elapsed()
}

async fn in_flight<T: Target>(t: &T, ops: u64, width: u64) -> Duration {
    let began = Instant::now();
    for batch in 0..ops / width {
        let calls = (0..width).map(|i| t.call(ASK, batch * width + i));
        let _ = black_box(futures_util::future::join_all(calls).await);
    }
    began.elapsed()
}

fn main() {
    let program = env!("CARGO_BIN_EXE_gauntlet");
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
    let local = target_rt
        .block_on(async {
            target_rt
                .spawn(ActorsTarget::build(ActorsSpec::default(), settings, 0))
                .await
        })
        .expect("build task")
        .expect("actors target");
    let child = target_rt
        .block_on(async {
            target_rt
                .spawn(ChildTarget::start_program(
                    program.into(),
                    Arc::from(SCENARIO),
                    "bench.toml".into(),
                    0,
                    std::env::temp_dir(),
                ))
                .await
        })
        .expect("start task")
        .expect("child target");
    let load = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("load runtime");

    let (rounds, ops) = (20, 5_000_u64);
    for (name, width) in [("sequential", 1_u64), ("64 in flight", 64)] {
        let (mut here, mut there) = (Duration::ZERO, Duration::ZERO);
        // One warm-up round each.
        for r in 0..=rounds {
            let (a, b) = load.block_on(async {
                if width == 1 {
                    (sequential(&local, ops).await, sequential(&child, ops).await)
                } else {
                    (
                        in_flight(&local, ops, width).await,
                        in_flight(&child, ops, width).await,
                    )
                }
            });
            if r > 0 {
                here += a;
                there += b;
            }
        }
        let n = (rounds as u64 * ops) as f64;
        println!(
            "actor-ask {name}: in-process {:.0} ns/op, child process {:.0} ns/op, ratio {:.2}, channel cost {:.0} ns/op",
            here.as_nanos() as f64 / n,
            there.as_nanos() as f64 / n,
            there.as_secs_f64() / here.as_secs_f64(),
            (there.as_nanos() as f64 - here.as_nanos() as f64) / n,
        );
    }
    let _ = target_rt.block_on(async { child.shutdown(Duration::from_secs(5)).await });
}
