//! Built-in workloads: systems under test the harness can build from a scenario.
//!
//! Each workload has a spec (the `[target]` table of a scenario), a list of ops and a
//! [`Target`](crate::target::Target) implementation. The device-runtime and graph
//! workloads plug in here the same way.

pub mod actors;
pub mod graph;
pub mod smart_home;
pub mod synthetic;
pub mod system_view;

/// Built-in workloads with one line of help each (for `gauntlet list`).
pub const WORKLOADS: &[(&str, &str)] = &[
    (
        "actors",
        "gauntlet-runtime actors: one, round-robin pool, fan-out, ask chain, ask ring (deadlocks) or supervision tree; ops tell, ask",
    ),
    (
        "graph",
        "gauntlet-runtime flow graph: chain, fork-join or cycle of task-node actors; op run (one run, entry to end)",
    ),
    (
        "smart-home",
        "gauntlet-runtime device runtime: homes x rooms x devices on SQLite, uniform or zipf keys; ops telemetry (tell), command (ask), broadcast",
    ),
    (
        "synthetic",
        "harness self-test target: ops complete after an optional delay, can fail or hang on purpose; op call",
    ),
];
