//! Fork-join: three analyses of one text run concurrently, each on its own copy of the
//! state; the join merges their updates in branch order, then a summary runs.
//!
//! `cargo run -p gauntlet-runtime --example graph_fork_join`

use std::sync::Arc;
use std::time::Duration;

use gauntlet_runtime::actor::System;
use gauntlet_runtime::graph::GraphBuilder;

#[derive(Debug, Clone, Default)]
struct Analysis {
    text: String,
    words: usize,
    letters: usize,
    shouting: bool,
    summary: String,
    merged: Vec<&'static str>,
}

#[derive(Debug, Clone)]
enum Update {
    Words(usize),
    Letters(usize),
    Shouting(bool),
    Summary(String),
}

fn reduce(state: &mut Analysis, update: Update) {
    match update {
        Update::Words(n) => {
            state.words = n;
            state.merged.push("words");
        }
        Update::Letters(n) => {
            state.letters = n;
            state.merged.push("letters");
        }
        Update::Shouting(s) => {
            state.shouting = s;
            state.merged.push("shouting");
        }
        Update::Summary(s) => state.summary = s,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system = System::new("home")?;
    let graph = GraphBuilder::new("analysis", reduce)
        .entry("start")
        .fork("split", ["words", "letters", "shouting"])
        .task("words", |s: Arc<Analysis>| async move {
            // The slowest branch; its update is still merged first (branch order).
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Update::Words(s.text.split_whitespace().count()))
        })
        .task("letters", |s: Arc<Analysis>| async move {
            Ok(Update::Letters(
                s.text.chars().filter(|c| c.is_alphabetic()).count(),
            ))
        })
        .task("shouting", |s: Arc<Analysis>| async move {
            let mut letters = s.text.chars().filter(|c| c.is_alphabetic());
            Ok(Update::Shouting(
                letters.clone().count() > 0 && letters.all(char::is_uppercase),
            ))
        })
        .join("merge", "split")
        .task("summarize", |s: Arc<Analysis>| async move {
            Ok(Update::Summary(format!(
                "{} words, {} letters{}",
                s.words,
                s.letters,
                if s.shouting { ", SHOUTING" } else { "" }
            )))
        })
        .end("done")
        .edge("start", "split")
        .edge("words", "merge")
        .edge("letters", "merge")
        .edge("shouting", "merge")
        .edge("merge", "summarize")
        .edge("summarize", "done")
        .build()?
        .spawn(&system)
        .await?;

    for text in ["the lights are on", "TURN THEM OFF NOW"] {
        let start = Analysis {
            text: text.to_owned(),
            ..Analysis::default()
        };
        let out = graph.run(start).await?;
        println!(
            "{text:?}: {} (merged in order {:?}, {} steps)",
            out.state.summary, out.state.merged, out.steps
        );
    }

    system.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
