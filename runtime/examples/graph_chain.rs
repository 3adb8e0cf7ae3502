//! A simple chain: entry -> fetch -> parse -> score -> end.
//!
//! `cargo run -p gauntlet-runtime --example graph_chain`
//!
//! Each task gets a snapshot of the state and returns an update; the graph's reducer
//! merges it. A debug observer prints every step event of the run.

use std::sync::Arc;
use std::time::Duration;

use gauntlet_runtime::actor::System;
use gauntlet_runtime::graph::{GraphBuilder, Level};

/// The run's state.
#[derive(Debug, Clone, Default)]
struct Reading {
    raw: String,
    celsius: Option<f64>,
    comfort: Option<&'static str>,
}

/// What a node returns.
#[derive(Debug, Clone)]
enum Update {
    Raw(String),
    Celsius(f64),
    Comfort(&'static str),
}

fn reduce(state: &mut Reading, update: Update) {
    match update {
        Update::Raw(raw) => state.raw = raw,
        Update::Celsius(c) => state.celsius = Some(c),
        Update::Comfort(c) => state.comfort = Some(c),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system = System::new("home")?;
    let graph = GraphBuilder::new("thermostat", reduce)
        .entry("start")
        .task("fetch", |_: Arc<Reading>| async {
            Ok(Update::Raw("temp=21.5C".to_owned()))
        })
        .task("parse", |s: Arc<Reading>| async move {
            let value = s
                .raw
                .trim_start_matches("temp=")
                .trim_end_matches('C')
                .parse::<f64>()?;
            Ok(Update::Celsius(value))
        })
        .task("score", |s: Arc<Reading>| async move {
            let comfort = match s.celsius {
                Some(c) if (19.0..=24.0).contains(&c) => "comfortable",
                Some(_) => "uncomfortable",
                None => "unknown",
            };
            Ok(Update::Comfort(comfort))
        })
        .end("done")
        .edge("start", "fetch")
        .edge("fetch", "parse")
        .edge("parse", "score")
        .edge("score", "done")
        .build()?
        .spawn(&system)
        .await?;

    let mut observer = graph.observe(Level::Debug);
    let out = graph.run(Reading::default()).await?;
    while let Some(Ok(event)) = observer.try_recv() {
        println!("  {} step {:>2}: {:?}", event.run, event.step, event.kind);
    }
    println!("final state after {} steps: {:?}", out.steps, out.state);
    println!("node actor of `parse`: {:?}", graph.node_address("parse"));

    system.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
