//! A fixed amount of one workload for one contender, for profilers (callgrind, perf),
//! which want a plain process rather than criterion's adaptive loop.
//!
//! `cargo run --release -p gauntlet-peers --example profile -- WORKLOAD CONTENDER COUNT [FLAVOR]`
//!
//! WORKLOAD: `ask`, `tell` (COUNT tells to one actor, then a barrier ask),
//! `round-robin` (COUNT tells spread over 100 actors, in bursts of 10 000, each closed
//! by one ask per actor), `spawn-stop` or `spawn-ask-stop`.
//! CONTENDER: `tokio`, `tokio+timeout`, `gauntlet`, `kameo` or `ractor`.
//! FLAVOR: `ct` (current-thread, the default: deterministic instruction counts under
//! callgrind) or `mt2`.

use gauntlet_peers::contender::{Gauntlet, Kameo, Ractor, TokioMpsc, TokioMpscTimeout};
use gauntlet_peers::{Contender, workload};
use std::hint::black_box;
use std::time::Instant;

async fn run<C: Contender>(contender: C, what: &str, count: u64) -> Result<(), String> {
    let counter = contender.spawn(1024).await;
    // Warm up: first-use allocations (queue segments, timer wheel levels) are not per-op.
    for _ in 0..1000 {
        black_box(workload::ask_round_trip::<C>(&counter).await);
    }
    let start = Instant::now();
    match what {
        "ask" => {
            for _ in 0..count {
                black_box(workload::ask_round_trip::<C>(&counter).await);
            }
        }
        "tell" => {
            black_box(workload::tell_burst::<C>(&counter, count).await);
        }
        "round-robin" => {
            let mut hundred = Vec::with_capacity(100);
            for _ in 0..100 {
                hundred.push(contender.spawn(1024).await);
            }
            let start = Instant::now();
            let mut left = count;
            while left > 0 {
                let burst = left.min(10_000);
                black_box(workload::tell_round_robin::<C>(&hundred, burst).await);
                left -= burst;
            }
            let elapsed = start.elapsed();
            for counter in hundred {
                C::stop(counter).await;
            }
            println!(
                "{what} {} x{count}: {:.1} ns/op",
                C::NAME,
                elapsed.as_nanos() as f64 / count.max(1) as f64
            );
            C::stop(counter).await;
            contender.shutdown().await;
            return Ok(());
        }
        "spawn-stop" => {
            for _ in 0..count {
                workload::spawn_stop(&contender, 64).await;
            }
        }
        "spawn-ask-stop" => {
            for _ in 0..count {
                black_box(workload::spawn_ask_stop(&contender, 1024).await);
            }
        }
        other => return Err(format!("unknown workload {other:?}")),
    }
    let elapsed = start.elapsed();
    println!(
        "{what} {} x{count}: {:.1} ns/op",
        C::NAME,
        elapsed.as_nanos() as f64 / count as f64
    );
    C::stop(counter).await;
    contender.shutdown().await;
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [what, who, count, rest @ ..] = args.as_slice() else {
        return Err("usage: profile WORKLOAD CONTENDER COUNT [ct|mt2]".into());
    };
    let count: u64 = count.parse().map_err(|e| format!("COUNT: {e}"))?;
    let rt = match rest.first().map(String::as_str) {
        None | Some("ct") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some("mt2") => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        Some(other) => return Err(format!("unknown flavor {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    let (what, who) = (what.clone(), who.clone());
    rt.block_on(async move {
        let driver = async move {
            match who.as_str() {
                "tokio" => run(TokioMpsc, &what, count).await,
                "tokio+timeout" => run(TokioMpscTimeout, &what, count).await,
                "gauntlet" => run(Gauntlet::new(), &what, count).await,
                "kameo" => run(Kameo, &what, count).await,
                "ractor" => run(Ractor, &what, count).await,
                other => Err(format!("unknown contender {other:?}")),
            }
        };
        // Run as a task, like the benches do.
        tokio::spawn(driver).await.map_err(|e| e.to_string())?
    })
}
