//! An advanced graph: conditional routing, a fork-join inside one route, a retry cycle,
//! many tickets in flight at once, a node failure that fails only its own run, and a
//! cancelled run.
//!
//! `cargo run -p gauntlet-runtime --example graph_routing`
//!
//! ```text
//! start -> classify -> route?
//!   billing: refund -> done
//!   other:   answer -> done
//!   outage:  diagnose (fork: logs | status) -> merged (join) -> verify -> retry?
//!              not resolved: back to diagnose (a cycle)
//!              resolved:     report -> done
//! ```

use std::sync::Arc;
use std::time::Duration;

use gauntlet_runtime::actor::System;
use gauntlet_runtime::graph::{GraphBuilder, Level, RunError};

#[derive(Debug, Clone, Default)]
struct Ticket {
    text: String,
    category: Option<Category>,
    findings: Vec<String>,
    attempts: u32,
    resolved: bool,
    reply: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Billing,
    Outage,
    Other,
}

#[derive(Debug, Clone)]
enum Update {
    Category(Category),
    Finding(String),
    Attempt { resolved: bool },
    Reply(String),
}

fn reduce(t: &mut Ticket, u: Update) {
    match u {
        Update::Category(c) => t.category = Some(c),
        Update::Finding(f) => t.findings.push(f),
        Update::Attempt { resolved } => {
            t.attempts += 1;
            t.resolved = resolved;
        }
        Update::Reply(r) => t.reply = r,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system = System::new("support")?;
    let graph = GraphBuilder::new("triage", reduce)
        .entry("start")
        .task("classify", |t: Arc<Ticket>| async move {
            if t.text.is_empty() {
                return Err("empty ticket".into());
            }
            let c = if t.text.contains("charge") {
                Category::Billing
            } else if t.text.contains("down") {
                Category::Outage
            } else {
                Category::Other
            };
            Ok(Update::Category(c))
        })
        // Routes on the update that led here (the classification).
        .router(
            "route",
            ["refund", "diagnose", "answer"],
            |_, msg| match msg {
                Some(Update::Category(Category::Billing)) => "refund",
                Some(Update::Category(Category::Outage)) => "diagnose",
                _ => "answer",
            },
        )
        .task("refund", |_| async {
            Ok(Update::Reply("refund issued".into()))
        })
        .task("answer", |_| async {
            Ok(Update::Reply("see the FAQ".into()))
        })
        .fork("diagnose", ["logs", "status"])
        .task("logs", |t: Arc<Ticket>| async move {
            Ok(Update::Finding(format!(
                "logs checked (attempt {})",
                t.attempts + 1
            )))
        })
        .task("status", |_| async {
            Ok(Update::Finding("status page green".into()))
        })
        .join("merged", "diagnose")
        // Resolves on the third attempt: a cycle that ends on a condition.
        .task("verify", |t: Arc<Ticket>| async move {
            Ok(Update::Attempt {
                resolved: t.attempts + 1 >= 3,
            })
        })
        // Routes on the state.
        .router("retry", ["diagnose", "report"], |t: &Ticket, _| {
            if t.resolved { "report" } else { "diagnose" }
        })
        .task("report", |t: Arc<Ticket>| async move {
            Ok(Update::Reply(format!(
                "fixed after {} attempts",
                t.attempts
            )))
        })
        .end("done")
        .edge("start", "classify")
        .edge("classify", "route")
        .edge("refund", "done")
        .edge("answer", "done")
        .edge("logs", "merged")
        .edge("status", "merged")
        .edge("merged", "verify")
        .edge("verify", "retry")
        .edge("report", "done")
        .build()?
        .spawn(&system)
        .await?;

    let mut status = graph.observe(Level::Status);
    let tickets = [
        "double charge on my bill",
        "the hub is down",
        "how do I pair a lamp?",
        "",
    ];
    let runs: Vec<_> = tickets
        .iter()
        .map(|text| {
            let ticket = Ticket {
                text: (*text).to_owned(),
                ..Ticket::default()
            };
            (text, graph.start(ticket))
        })
        .collect();
    for (text, run) in runs {
        match run.wait().await {
            Ok(out) => println!(
                "{text:?}: {:?} -> {:?} after {} attempts, findings {:?} ({} steps)",
                out.state.category,
                out.state.reply,
                out.state.attempts,
                out.state.findings,
                out.steps
            ),
            Err(RunError::NodeFailed {
                node,
                address,
                cause,
            }) => {
                println!("{text:?}: failed at `{node}` ({address}): {cause}")
            }
            Err(e) => println!("{text:?}: {e}"),
        }
    }

    // A cancelled run ends at once with `Cancelled`.
    let run = graph.start(Ticket {
        text: "the hub is down again".into(),
        ..Ticket::default()
    });
    run.cancel();
    match run.wait().await {
        Err(e @ RunError::Cancelled { .. }) => println!("cancelled: {e}"),
        other => println!(
            "finished before the cancel arrived: {:?}",
            other.map(|o| o.steps)
        ),
    }

    let mut finished = 0;
    while let Some(Ok(event)) = status.try_recv() {
        if let gauntlet_runtime::graph::EventKind::RunFinished { .. } = event.kind {
            finished += 1;
        }
    }
    println!("status observer saw {finished} runs finish");

    system.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
