//! A cyclic counter that stops at a condition, and the step limit that stops one that
//! would not.
//!
//! `cargo run -p gauntlet-runtime --example graph_cycle`

use std::sync::Arc;
use std::time::Duration;

use gauntlet_runtime::actor::System;
use gauntlet_runtime::graph::{GraphBuilder, RunError, RunLimits};

#[derive(Debug, Clone, Default)]
struct Counter {
    value: u64,
    target: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system = System::new("home")?;
    // increment -> check -> (increment | done): a cycle with an exit.
    let graph = GraphBuilder::new("counter", |s: &mut Counter, add: u64| s.value += add)
        .entry("start")
        .task("increment", |_: Arc<Counter>| async { Ok(1) })
        .router("check", ["increment", "done"], |s: &Counter, _| {
            if s.value < s.target {
                "increment"
            } else {
                "done"
            }
        })
        .end("done")
        .edge("start", "increment")
        .edge("increment", "check")
        .build()?
        .spawn(&system)
        .await?;

    let out = graph
        .run(Counter {
            value: 0,
            target: 5,
        })
        .await?;
    println!(
        "counted to {} in {} steps (start + 5 x (increment, check) + done)",
        out.state.value, out.steps
    );

    // The same cycle with a target it cannot reach within its step limit.
    let limits = RunLimits {
        max_steps: 20,
        timeout: Duration::from_secs(5),
    };
    match graph
        .run_with(
            Counter {
                value: 0,
                target: 1_000,
            },
            limits,
        )
        .await
    {
        Err(e @ RunError::StepLimit { .. }) => println!("stopped, as it should be: {e}"),
        other => println!("unexpected: {other:?}"),
    }

    system.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
