//! The `graph` workload: a gauntlet-runtime flow graph; each op is one run of it.
//!
//! | shape       | the graph                                                                 |
//! |-------------|---------------------------------------------------------------------------|
//! | `chain`     | `start -> t0 -> t1 -> ... -> done`, `tasks` task nodes (default 3)         |
//! | `fork-join` | `start -> split -> {b0 ... b(n-1)} -> merge -> done`, `tasks` branches (default 2) |
//! | `cycle`     | `start -> work -> again? -> work ... -> done`, `iterations` times round (default 3) |
//!
//! Op: `run` starts a run from its entry and completes when it reaches the end; its
//! latency is the run's latency. The run is driven on the load-generator thread; task
//! nodes are actors on the target's runtime. Every task adds 1 to the run's `u64`
//! state, so a run that ends with the wrong total fails the op (a merge went wrong).
//!
//! Each task node can spin for `node_work` (CPU) and sleep for `node_sleep` (an awaited
//! timer, like I/O), and every `fail_every`-th task execution fails, which fails its
//! run (the op) and no other. `workers` actors serve each task node (default 1). Runs
//! have a step limit (`max_steps`, default 1000) and a timeout (`run_timeout`, default
//! 5s); the state channel holds `state_channel` updates (default 1024). Task node
//! mailboxes take capacity and policy from the scenario's `[runtime]` table; the
//! dropping policies are refused, since dropped node work would be lost.

mod shape;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gauntlet_runtime::actor::System;
use gauntlet_runtime::graph::{Graph, GraphConfig, RunError, RunLimits, TaskError};
use serde::Deserialize;

pub use self::shape::Shape;
use super::{
    BuildContext, Capabilities, CheckContext, Checkpoint, ConfigField, Invariant, InvariantCheck,
    Workload,
};
use crate::scenario::{MailboxPolicy, RuntimeSettings};
use crate::target::{BuildError, OpError, OpId, Target};
use crate::units::DurationSpec;

/// The `graph` workload (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct FlowGraph;

impl Workload for FlowGraph {
    type Config = GraphSpec;
    type Target = GraphTarget;

    fn name(&self) -> &'static str {
        "graph"
    }

    fn help(&self) -> &'static str {
        "gauntlet-runtime flow graph: chain, fork-join or cycle of task-node actors; op run (one run, entry to end)"
    }

    fn ops(&self) -> &'static [&'static str] {
        OPS
    }

    fn fields(&self) -> &'static [ConfigField] {
        FIELDS
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ACTOR_SYSTEM
    }

    fn addresses(&self, _spec: &GraphSpec) -> Vec<String> {
        vec![
            "actor://gauntlet/graph".to_owned(),
            "actor://gauntlet/graph/*".to_owned(),
        ]
    }

    fn examples(&self) -> Vec<(&'static str, GraphSpec)> {
        let with = |shape| GraphSpec {
            shape,
            ..GraphSpec::default()
        };
        vec![
            ("shape = \"chain\"", with(Shape::Chain)),
            ("shape = \"fork-join\"", with(Shape::ForkJoin)),
            ("shape = \"cycle\"", with(Shape::Cycle)),
        ]
    }

    fn invariants(&self) -> Vec<Invariant> {
        vec![Invariant::at_end(
            "graph.accounted",
            "every message between the graph's node actors was delivered, dropped by policy, rejected or dead-lettered",
        )]
    }

    fn check(&self, spec: &GraphSpec, ctx: &CheckContext) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = spec
            .problems()
            .into_iter()
            .map(|(f, m)| (f.to_owned(), m))
            .collect();
        if matches!(
            ctx.runtime.mailbox_policy,
            MailboxPolicy::DropNewest | MailboxPolicy::DropOldest
        ) {
            p.push((
                "workload".to_owned(),
                "the graph workload needs `[runtime] mailbox_policy` block, fail or unbounded: dropped node work would be lost".to_owned(),
            ));
        }
        let executions = match spec.shape {
            Shape::Chain => spec.tasks.unwrap_or(3),
            Shape::ForkJoin => spec.tasks.unwrap_or(2),
            Shape::Cycle => spec.iterations.unwrap_or(3),
        };
        if let Some(max) = spec.max_steps
            && max < executions
        {
            p.push((
                "max_steps".to_owned(),
                format!("a run of this graph takes at least {executions} steps, more than max_steps = {max}: every run would fail"),
            ));
        }
        p
    }

    async fn build(&self, spec: GraphSpec, ctx: BuildContext) -> Result<GraphTarget, BuildError> {
        GraphTarget::build(spec, ctx.runtime, ctx.seed).await
    }
}

const FIELDS: &[ConfigField] = &[
    ConfigField {
        name: "shape",
        example: "\"fork-join\"",
        help: "chain | fork-join | cycle (default chain)",
    },
    ConfigField {
        name: "tasks",
        example: "3",
        help: "task nodes of a chain (default 3), branches of a fork-join (default 2)",
    },
    ConfigField {
        name: "iterations",
        example: "3",
        help: "times round a cycle (default 3)",
    },
    ConfigField {
        name: "workers",
        example: "2",
        help: "actors serving each task node (default 1)",
    },
    ConfigField {
        name: "node_work",
        example: "\"20us\"",
        help: "CPU spin per task execution (default none)",
    },
    ConfigField {
        name: "node_sleep",
        example: "\"1ms\"",
        help: "awaited sleep per task execution (default none)",
    },
    ConfigField {
        name: "fail_every",
        example: "100",
        help: "every N-th task execution fails its run (default 0: never)",
    },
    ConfigField {
        name: "max_steps",
        example: "1000",
        help: "step limit of each run (default 1000)",
    },
    ConfigField {
        name: "run_timeout",
        example: "\"5s\"",
        help: "timeout of each run (default 5s)",
    },
    ConfigField {
        name: "state_channel",
        example: "1024",
        help: "capacity of each run's state channel (default 1024)",
    },
];

/// Ops of the graph workload.
pub const OPS: &[&str] = &["run"];

/// The `[target]` table for `workload = "graph"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSpec {
    /// The graph's shape.
    #[serde(default)]
    pub shape: Shape,
    /// Task nodes in a `chain`, branches in a `fork-join` (default 3 and 2).
    pub tasks: Option<i64>,
    /// Times round the loop in a `cycle` (default 3).
    pub iterations: Option<i64>,
    /// Actors serving each task node (default 1).
    pub workers: Option<i64>,
    /// CPU spin per task execution.
    pub node_work: Option<DurationSpec>,
    /// Awaited sleep per task execution.
    pub node_sleep: Option<DurationSpec>,
    /// Every N-th task execution fails (0: never).
    #[serde(default)]
    pub fail_every: u64,
    /// Step limit of each run (default 1000).
    pub max_steps: Option<i64>,
    /// Timeout of each run (default 5s).
    pub run_timeout: Option<DurationSpec>,
    /// Capacity of each run's state channel (default 1024).
    pub state_channel: Option<i64>,
}

impl GraphSpec {
    /// Problems with the spec, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let mut range = |field: &'static str, v: Option<i64>, max: i64| {
            if let Some(v) = v
                && !(1..=max).contains(&v)
            {
                p.push((field, format!("must be between 1 and {max} (got {v})")));
            }
        };
        range("tasks", self.tasks, 1_000);
        range("iterations", self.iterations, 100_000);
        range("workers", self.workers, 1_000);
        range("max_steps", self.max_steps, 100_000_000);
        range("state_channel", self.state_channel, 1_000_000);
        if self.tasks.is_some() && self.shape == Shape::Cycle {
            p.push((
                "tasks",
                "`tasks` is not used by shape `cycle` (use `iterations`)".to_owned(),
            ));
        }
        if self.iterations.is_some() && self.shape != Shape::Cycle {
            p.push((
                "iterations",
                format!(
                    "`iterations` is only used by shape `cycle`, not `{}`",
                    self.shape
                ),
            ));
        }
        if self.node_work.is_some_and(|w| w.0 > Duration::from_secs(1)) {
            p.push((
                "node_work",
                "must be at most 1s (it spins a CPU)".to_owned(),
            ));
        }
        if self.run_timeout.is_some_and(|t| t.0.is_zero()) {
            p.push(("run_timeout", "must be longer than 0s".to_owned()));
        }
        p
    }
}

/// What every task node does per execution.
#[derive(Debug)]
pub(crate) struct NodeWork {
    work: Duration,
    sleep: Duration,
    fail_every: u64,
    executions: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
#[error("injected failure (fail_every = {0})")]
struct Injected(u64);

impl NodeWork {
    /// Does the configured work; the update is always 1.
    pub(crate) async fn perform(&self) -> Result<u64, TaskError> {
        if !self.work.is_zero() {
            let until = Instant::now() + self.work;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        if !self.sleep.is_zero() {
            tokio::time::sleep(self.sleep).await;
        }
        if self.fail_every > 0 {
            let n = self.executions.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(self.fail_every) {
                return Err(Injected(self.fail_every).into());
            }
        }
        Ok(1)
    }
}

/// The graph target: a [`System`] and the graph every op runs.
#[derive(Debug)]
pub struct GraphTarget {
    system: System,
    graph: Graph<u64, u64>,
    /// The state every successful run ends with.
    expected: u64,
}

impl GraphTarget {
    /// Builds the system and spawns the graph. Must run on the target's runtime.
    pub async fn build(
        spec: GraphSpec,
        settings: RuntimeSettings,
        _seed: u64,
    ) -> Result<Self, BuildError> {
        if matches!(
            settings.mailbox_policy,
            MailboxPolicy::DropNewest | MailboxPolicy::DropOldest
        ) {
            return Err(BuildError(
                "the graph workload needs mailbox_policy block, fail or unbounded: dropped node work would be lost".to_owned(),
            ));
        }
        let node_mailbox = settings.mailbox();
        let config = GraphConfig {
            limits: RunLimits {
                max_steps: spec.max_steps.map_or(1000, |n| n as u64),
                timeout: spec.run_timeout.map_or(Duration::from_secs(5), |d| d.0),
            },
            state_channel: spec.state_channel.map_or(1024, |n| n as usize),
            node_mailbox,
            ..GraphConfig::default()
        };
        let work = Arc::new(NodeWork {
            work: spec.node_work.map_or(Duration::ZERO, |d| d.0),
            sleep: spec.node_sleep.map_or(Duration::ZERO, |d| d.0),
            fail_every: spec.fail_every,
            executions: AtomicU64::new(0),
        });
        let (blueprint, expected) = shape::blueprint(&spec, config, work)
            .map_err(|e| BuildError(format!("invalid graph: {e}")))?;
        let system = System::with_config("gauntlet", settings.system_config())
            .map_err(|e| BuildError(e.to_string()))?;
        let graph = blueprint
            .spawn(&system)
            .await
            .map_err(|e| BuildError(e.to_string()))?;
        Ok(Self {
            system,
            graph,
            expected,
        })
    }
}

impl Target for GraphTarget {
    async fn call(&self, _op: OpId, _seq: u64) -> Result<(), OpError> {
        match self.graph.run(0).await {
            Ok(out) if out.state == self.expected => Ok(()),
            Ok(_) => Err(OpError::Failed),
            Err(RunError::Timeout { .. }) => Err(OpError::Timeout),
            Err(RunError::NodeBusy { .. } | RunError::NodeUnavailable { .. }) => {
                Err(OpError::Rejected)
            }
            Err(_) => Err(OpError::Failed),
        }
    }

    fn system(&self) -> Option<&System> {
        Some(&self.system)
    }

    fn stall_detail(&self) -> String {
        let s = self.system.stats();
        format!(
            "graph {}: node actors alive {}, work queued {} (deepest node mailbox {})",
            self.graph.address(),
            s.actors.alive,
            s.mailboxes.total,
            s.mailboxes.deepest
        )
    }

    async fn check_invariants(&self, at: Checkpoint) -> Vec<InvariantCheck> {
        if at != Checkpoint::End {
            return Vec::new();
        }
        vec![super::system_view::accounting_check(
            "graph.accounted",
            &self.system,
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(policy: MailboxPolicy) -> RuntimeSettings {
        RuntimeSettings {
            worker_threads: 1,
            load_threads: 1,
            mailbox_capacity: 64,
            mailbox_policy: policy,
            hibernate_after: None,
        }
    }

    #[test]
    fn spec_problems_name_their_field() {
        let spec = GraphSpec {
            shape: Shape::Cycle,
            tasks: Some(3),
            workers: Some(0),
            ..GraphSpec::default()
        };
        let fields: Vec<_> = spec.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["workers", "tasks"]);
        let spec = GraphSpec {
            iterations: Some(2),
            ..GraphSpec::default()
        };
        assert_eq!(spec.problems()[0].0, "iterations");
        assert!(GraphSpec::default().problems().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_shape_runs_to_its_expected_total() {
        for (shape, tasks, iterations, expected) in [
            (Shape::Chain, Some(4), None, 4),
            (Shape::ForkJoin, Some(3), None, 3),
            (Shape::Cycle, None, Some(5), 5),
        ] {
            let spec = GraphSpec {
                shape,
                tasks,
                iterations,
                workers: Some(2),
                ..GraphSpec::default()
            };
            let target = GraphTarget::build(spec, settings(MailboxPolicy::Block), 0)
                .await
                .unwrap();
            assert_eq!(target.expected, expected, "{shape}");
            for seq in 0..10 {
                assert_eq!(target.call(OpId(0), seq).await, Ok(()), "{shape}");
            }
            assert!(target.shutdown(Duration::from_secs(5)).await.clean);
            assert_eq!(target.messages().lost, Some(0));
        }
    }

    #[tokio::test]
    async fn injected_failures_fail_only_their_runs() {
        let spec = GraphSpec {
            shape: Shape::Chain,
            tasks: Some(1),
            fail_every: 3,
            ..GraphSpec::default()
        };
        let target = GraphTarget::build(spec, settings(MailboxPolicy::Block), 0)
            .await
            .unwrap();
        let mut outcomes = Vec::new();
        for seq in 0..6 {
            outcomes.push(target.call(OpId(0), seq).await);
        }
        let failed = outcomes.iter().filter(|o| o.is_err()).count();
        assert_eq!(failed, 2, "{outcomes:?}");
        assert!(target.shutdown(Duration::from_secs(5)).await.clean);
    }

    #[tokio::test]
    async fn dropping_mailbox_policies_are_refused() {
        let err = GraphTarget::build(GraphSpec::default(), settings(MailboxPolicy::DropOldest), 0)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("block, fail or unbounded"),
            "{err}"
        );
    }
}
