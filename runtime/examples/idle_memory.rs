//! Resident memory per idle actor.
//!
//! `cargo run --release -p gauntlet-runtime --example idle_memory [-- COUNT]`
//!
//! Spawns COUNT (default 100 000) idle actors, waits until every one has started (its
//! task has run and is parked on its empty mailbox), and prints the growth of the
//! process's resident set (`/proc/self/statm`) divided by COUNT. Then shuts the system
//! down. The same is done for raw tokio tasks parked on a bounded `mpsc` receiver, the
//! least an actor can cost on tokio.
//!
//! Each measurement runs in a fresh child process (this program re-runs itself with
//! `--case NAME`): memory freed by one case would otherwise be reused by the next and
//! hide its cost. Two states are measured per implementation:
//! - `fresh`: spawned and started, never sent a message;
//! - `after-1-msg`: each actor has handled one message, so whatever a mailbox keeps
//!   allocated after its first message (queue segments) is counted.

use gauntlet_runtime::actor::{Actor, ActorRef, Context, HandlerError, Props, System};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

const DEFAULT_COUNT: usize = 100_000;
/// Linux x86-64 and aarch64 default; statm counts pages.
const PAGE_SIZE: usize = 4096;

/// Every case, in the order they are reported.
const CASES: [&str; 4] = [
    "gauntlet/fresh",
    "gauntlet/after-1-msg",
    "tokio-task/fresh",
    "tokio-task/after-1-msg",
];

/// Resident set size of this process in bytes, from `/proc/self/statm`.
fn rss_bytes() -> std::io::Result<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let resident = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse::<usize>().ok())
        .ok_or_else(|| std::io::Error::other(format!("unexpected statm: {statm:?}")))?;
    Ok(resident * PAGE_SIZE)
}

/// An actor that does nothing but count its own start.
struct Idle {
    started: Arc<(AtomicUsize, Notify)>,
    target: usize,
}

impl Actor for Idle {
    type Msg = u64;

    async fn started(&mut self, _: &mut Context<Self>) -> Result<(), HandlerError> {
        let (count, all_started) = &*self.started;
        if count.fetch_add(1, Ordering::AcqRel) + 1 == self.target {
            all_started.notify_one();
        }
        Ok(())
    }

    async fn handle(&mut self, _: u64, _: &mut Context<Self>) -> Result<(), HandlerError> {
        Ok(())
    }
}

async fn gauntlet_case(
    count: usize,
    one_message: bool,
) -> Result<usize, Box<dyn std::error::Error>> {
    let system = System::new("idle")?;
    let started = Arc::new((AtomicUsize::new(0), Notify::new()));
    let before = rss_bytes()?;
    let case_label = if one_message {
        "gauntlet/after-1-msg"
    } else {
        "gauntlet/fresh"
    };
    let mut actors: Vec<ActorRef<u64>> = Vec::with_capacity(count);
    for i in 0..count {
        let started = Arc::clone(&started);
        let props = Props::new(move || Idle {
            started: Arc::clone(&started),
            target: count,
        });
        actors.push(system.spawn(&format!("idle-{i}"), props)?);
    }
    tokio::time::timeout(Duration::from_secs(60), started.1.notified()).await?;
    if one_message {
        for actor in &actors {
            actor.tell(1).await?;
        }
        // Let every actor take its message off the mailbox.
        while actors.iter().any(|a| a.queued() > 0) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let after = rss_bytes()?;
    let report = system.shutdown(Duration::from_secs(30)).await;
    eprintln!(
        "  {case_label}: shutdown took {:.2?}, graceful: {}, stopped {}, aborted {}",
        report.elapsed,
        report.graceful,
        report.actors_stopped,
        report.aborted.len()
    );
    Ok(after.saturating_sub(before))
}

async fn tokio_case(count: usize, one_message: bool) -> Result<usize, Box<dyn std::error::Error>> {
    let started = Arc::new((AtomicUsize::new(0), Notify::new()));
    let handled = Arc::new(AtomicUsize::new(0));
    let before = rss_bytes()?;
    let mut senders = Vec::with_capacity(count);
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (tx, mut rx) = mpsc::channel::<u64>(1024);
        let (started, handled) = (Arc::clone(&started), Arc::clone(&handled));
        tasks.push(tokio::spawn(async move {
            if started.0.fetch_add(1, Ordering::AcqRel) + 1 == count {
                started.1.notify_one();
            }
            while let Some(msg) = rx.recv().await {
                std::hint::black_box(msg);
                handled.fetch_add(1, Ordering::Relaxed);
            }
        }));
        senders.push(tx);
    }
    tokio::time::timeout(Duration::from_secs(60), started.1.notified()).await?;
    if one_message {
        for tx in &senders {
            tx.send(1).await?;
        }
        while handled.load(Ordering::Relaxed) < count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let after = rss_bytes()?;
    drop(senders);
    for task in tasks {
        task.await?;
    }
    Ok(after.saturating_sub(before))
}

fn run_case(case: &str, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let bytes = rt.block_on(async {
        match case {
            "gauntlet/fresh" => gauntlet_case(count, false).await,
            "gauntlet/after-1-msg" => gauntlet_case(count, true).await,
            "tokio-task/fresh" => tokio_case(count, false).await,
            "tokio-task/after-1-msg" => tokio_case(count, true).await,
            other => Err(format!("unknown case {other:?}").into()),
        }
    })?;
    println!(
        "{case:<24} {count:>7} actors  RSS +{:>8.1} MiB  {:>6} bytes/actor",
        bytes as f64 / (1024.0 * 1024.0),
        bytes / count
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, case, count] = args.as_slice()
        && flag == "--case"
    {
        return run_case(case, count.parse()?);
    }
    let count = match args.first() {
        Some(n) => n.parse()?,
        None => DEFAULT_COUNT,
    };
    println!("resident memory per idle actor (RSS delta / count, page size {PAGE_SIZE})");
    let exe = std::env::current_exe()?;
    for case in CASES {
        let status = Command::new(&exe)
            .args(["--case", case, &count.to_string()])
            .status()?;
        if !status.success() {
            return Err(format!("case {case} failed: {status}").into());
        }
    }
    Ok(())
}
