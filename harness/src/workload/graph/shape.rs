//! The graph shapes of the workload, built as gauntlet-runtime blueprints.

use std::fmt;
use std::sync::Arc;

use gauntlet_runtime::graph::{Blueprint, BuildError, GraphBuilder, GraphConfig};
use serde::Deserialize;

use super::{GraphSpec, NodeWork};

/// The shape of the workload's graph.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// Task nodes one after the other.
    Chain,
    /// One fork, its branches (one task each) and its join.
    #[default]
    ForkJoin,
    /// One task and a router that loops back to it.
    Cycle,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::Chain => "chain",
            Shape::ForkJoin => "fork-join",
            Shape::Cycle => "cycle",
        })
    }
}

/// The blueprint for `spec`, and the state every successful run ends with.
pub(crate) fn blueprint(
    spec: &GraphSpec,
    config: GraphConfig,
    work: Arc<NodeWork>,
) -> Result<(Blueprint<u64, u64>, u64), BuildError> {
    let workers = spec.workers.map_or(1, |n| n as usize);
    let task = |work: &Arc<NodeWork>| {
        let work = work.clone();
        move |_: Arc<u64>| {
            let work = work.clone();
            async move { work.perform().await }
        }
    };
    let builder = GraphBuilder::new("graph", |s: &mut u64, u: u64| *s += u)
        .config(config)
        .entry("start")
        .end("done");
    match spec.shape {
        Shape::Chain => {
            let n = spec.tasks.map_or(3, |n| n as usize);
            let mut b = builder;
            let mut prev = "start".to_owned();
            for i in 0..n {
                let name = format!("t{i}");
                b = b.task_pool(&name, workers, task(&work)).edge(&prev, &name);
                prev = name;
            }
            Ok((b.edge(&prev, "done").build()?, n as u64))
        }
        Shape::ForkJoin => {
            let n = spec.tasks.map_or(2, |n| n as usize);
            let names: Vec<String> = (0..n).map(|i| format!("b{i}")).collect();
            let mut b = builder
                .fork("split", &names)
                .join("merge", "split")
                .edge("start", "split")
                .edge("merge", "done");
            for name in &names {
                b = b.task_pool(name, workers, task(&work)).edge(name, "merge");
            }
            Ok((b.build()?, n as u64))
        }
        Shape::Cycle => {
            let rounds = spec.iterations.map_or(3, |n| n as u64);
            let b = builder
                .task_pool("work", workers, task(&work))
                .router("again", ["work", "done"], move |s: &u64, _| {
                    if *s < rounds { "work" } else { "done" }
                })
                .edge("start", "work")
                .edge("work", "again");
            Ok((b.build()?, rounds))
        }
    }
}
