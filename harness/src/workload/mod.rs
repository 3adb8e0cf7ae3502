//! Workloads: the systems under test the harness can build from a scenario, built-in or
//! a user's own.
//!
//! A workload is one type implementing [`Workload`] plus one line in a [`Registry`].
//! The built-ins ([`actors`], [`graph`], [`smart_home`], [`synthetic`]) are written
//! exactly as a user's workload would be; `examples/bank` is a user-style crate.
//! Everything else (executors, faults by address glob, probes, deadlock and stall
//! detection, message accounting, invariants, Prometheus, reports, baselines,
//! capacity sweeps) works for every registered workload alike.
//!
//! A workload of your own, from actor to CLI (the README's "Test your own actors"):
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::time::Duration;
//!
//! use gauntlet_harness::workload::{
//!     BuildContext, BuildError, Capabilities, Checkpoint, Invariant, InvariantCheck, OpError,
//!     OpId, Registry, Target, Workload,
//! };
//! use gauntlet_runtime::actor::{Actor, ActorRef, Context, HandlerError, Props, ReplyTo, System};
//!
//! // 1. Your actor, written on gauntlet-runtime as usual.
//! enum Msg { Add(u64), Get(ReplyTo<u64>) }
//! struct Counter(u64);
//! impl Actor for Counter {
//!     type Msg = Msg;
//!     async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) -> Result<(), HandlerError> {
//!         match msg {
//!             Msg::Add(n) => self.0 += n,
//!             Msg::Get(reply) => reply.send(self.0),
//!         }
//!         Ok(())
//!     }
//! }
//!
//! // 2. Its `[target]` table, as a serde type.
//! #[derive(Debug, Clone, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Config {
//!     #[serde(default = "one")]
//!     step: u64,
//! }
//! fn one() -> u64 { 1 }
//!
//! // 3. The workload: what it is, and how to build it.
//! struct Counters;
//! impl Workload for Counters {
//!     type Config = Config;
//!     type Target = Built;
//!     fn name(&self) -> &'static str { "counter" }
//!     fn help(&self) -> &'static str { "one counter actor" }
//!     fn ops(&self) -> &'static [&'static str] { &["add", "get"] }
//!     fn capabilities(&self) -> Capabilities { Capabilities::ACTOR_SYSTEM }
//!     fn addresses(&self, _: &Config) -> Vec<String> { vec!["actor://counters/counter".into()] }
//!     fn invariants(&self) -> Vec<Invariant> {
//!         vec![Invariant::at_end("count.exact", "the counter holds every acknowledged add")]
//!     }
//!     async fn build(&self, config: Config, ctx: BuildContext) -> Result<Built, BuildError> {
//!         // `[runtime]`'s mailbox defaults and `hibernate_after` apply to this system.
//!         let system = System::with_config("counters", ctx.runtime.system_config())
//!             .map_err(|e| BuildError(e.to_string()))?;
//!         let counter = system
//!             .spawn("counter", Props::new(|| Counter(0)))
//!             .map_err(|e| BuildError(e.to_string()))?;
//!         Ok(Built { system, counter, step: config.step, added: AtomicU64::new(0) })
//!     }
//! }
//!
//! // 4. The built system: one op at a time, and its invariant.
//! struct Built { system: System, counter: ActorRef<Msg>, step: u64, added: AtomicU64 }
//! impl Target for Built {
//!     async fn call(&self, op: OpId, _seq: u64) -> Result<(), OpError> {
//!         if op.0 == 0 {
//!             self.counter.tell(Msg::Add(self.step)).await.map_err(|_| OpError::Rejected)?;
//!             self.added.fetch_add(self.step, Ordering::Relaxed);
//!             return Ok(());
//!         }
//!         self.counter.ask(Msg::Get, Duration::from_secs(1)).await.map(drop).map_err(|_| OpError::Timeout)
//!     }
//!     fn system(&self) -> Option<&System> { Some(&self.system) }
//!     async fn check_invariants(&self, at: Checkpoint) -> Vec<InvariantCheck> {
//!         if at != Checkpoint::End { return Vec::new(); }
//!         let held = self.counter.ask(Msg::Get, Duration::from_secs(1)).await.unwrap_or(0);
//!         let added = self.added.load(Ordering::Relaxed);
//!         vec![InvariantCheck::check("count.exact", held == added, || format!("holds {held}, {added} added"))]
//!     }
//! }
//!
//! // 5. Your binary: the whole `gauntlet` CLI with your workload beside the built-ins.
//! fn main_() -> std::process::ExitCode {
//!     gauntlet_harness::cli::main_with(Registry::builtin().with(Counters))
//! }
//!
//! # let _ = main_;
//! # let registry = Registry::builtin().with(Counters);
//! # let scenario = gauntlet_harness::scenario::parse_in(&registry, r#"
//! #     name = "counter"
//! #     duration = "300ms"
//! #     tick = "100ms"
//! #     [target]
//! #     workload = "counter"
//! #     [[load]]
//! #     op = "add"
//! #     executor = "constant-arrival-rate"
//! #     rate = 200
//! #     max_in_flight = 8
//! # "#, "counter.toml", &Default::default()).unwrap();
//! # let result = gauntlet_harness::run::run(&scenario, &Default::default()).unwrap();
//! # assert!(result.verdict.passed, "{:?}", result.verdict.reasons);
//! # assert!(result.invariants[0].held());
//! ```
//!
//! # The contract
//!
//! **Two halves.** [`Workload`] is the static half: its name, help, `[target]`
//! configuration type, ops, [`Capabilities`], address patterns and [`Invariant`]s,
//! all known without running anything, so `gauntlet validate` can check a scenario
//! against them. [`Workload::build`] makes the dynamic half, a [`Target`]: the built
//! system, which executes ops, hands over its actor [`System`](gauntlet_runtime::actor::System),
//! checks its invariants and shuts down.
//!
//! **What runs where.** [`Workload::build`] and [`Target::shutdown`] run on the
//! *target* runtime (a multi-thread tokio runtime with `[runtime] worker_threads`
//! workers, time and I/O enabled): spawn the system's actors there. [`Target::call`]
//! runs on a *load* thread (its own current-thread runtime): it must only send to the
//! target (tell, ask) and await, never block the thread, and must not spawn tasks that
//! outlive it. [`Target::check_invariants`] runs on the target runtime, once per tick
//! when an invariant asks for it, and once at the end, after the loads have stopped and
//! every op in flight has finished or timed out (the target is quiescent) and before
//! shutdown.
//!
//! **Cancel safety.** The harness drops an op's future when its `op_timeout` fires
//! or the run is aborted. `call` must leave the target consistent when dropped at any
//! await point: a message already sent is the target's to finish; do not hold a lock
//! or a half-done protocol step in the caller's future.
//!
//! **Errors.** `call` returns `Ok(())`, or an [`OpError`]: `Rejected` (the target
//! refused: full mailbox under `fail`, stopped actor), `Timeout` (the target's own
//! timeout, e.g. an ask), or `Failed` (the op ran and failed). Each is counted per op in
//! results.json: `errors` (all), `timeouts` (the target's and the harness's own
//! `op_timeout`), `error_kinds.rejected` and `error_kinds.failed`.
//!
//! **Shutdown.** [`Target::shutdown`] must stop everything the target spawned within
//! its budget: leaked tasks are counted (`tasks.leaked`) and fail chaos runs. A target
//! that hands over its `System` gets shutdown, message accounting, runtime sampling and
//! the runtime's deadlock and stall events for free (the defaults of [`Target`]).
//!
//! **Seeds.** Build every random choice from [`BuildContext::seed`], so that
//! `gauntlet run --seed N` replays the run.
//!
//! **State.** Files the target keeps go in [`BuildContext::state_dir`], one directory
//! per run. A target in a child process that is killed or restarted is built again on
//! the same directory: a workload that reopens what it finds there (smart-home's
//! `storage = "file"`) keeps its state across the restart, and the durability checker
//! ([`crate::durability`]) holds it to what it acknowledged.

pub mod actors;
pub mod graph;
mod invariant;
mod registry;
pub mod smart_home;
pub mod synthetic;
pub mod system_view;

use std::fmt::Debug;
use std::future::Future;

use serde::de::DeserializeOwned;

pub use self::invariant::{Checkpoint, Invariant, InvariantCheck};
pub use self::registry::{Registry, RegistryError, TargetSpec, WorkloadInfo, nearest_name};
use crate::scenario::RuntimeSettings;
pub use crate::target::{BuildError, OpError, OpId, ShutdownOutcome, Target};

/// A system under test that the harness can build from a scenario's `[target]` table.
///
/// See the [module docs](self) for what runs where and what a target must guarantee.
pub trait Workload: Send + Sync + 'static {
    /// The `[target]` table (without its `workload` key). Use
    /// `#[serde(deny_unknown_fields)]`: a misspelt field is then reported at its own
    /// `FILE:LINE:COL`, like every other field of a scenario.
    type Config: DeserializeOwned + Debug + Clone + Send + Sync + 'static;
    /// The built system.
    type Target: Target;

    /// The name scenarios use (`[target] workload = "NAME"`): lowercase letters,
    /// digits and `-`.
    fn name(&self) -> &'static str;

    /// One line for `gauntlet list`.
    fn help(&self) -> &'static str;

    /// The ops a `[[load]]` can issue; `call` receives an [`OpId`] indexing this list.
    fn ops(&self) -> &'static [&'static str];

    /// The `[target]` fields, for `gauntlet list` and the docs.
    fn fields(&self) -> &'static [ConfigField] {
        &[]
    }

    /// Which fault families apply (checked by `validate`).
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// The actor addresses `config` creates, as globs (`actor://bank/account-*`):
    /// a `[[fault]] target` that can match none of them is refused by `validate`.
    /// Empty: no actors (or not declared), and only faults without an actor target
    /// apply.
    fn addresses(&self, _config: &Self::Config) -> Vec<String> {
        Vec::new()
    }

    /// Configurations worth showing in `gauntlet list --addresses` (a label and a
    /// config each, e.g. one per topology).
    fn examples(&self) -> Vec<(&'static str, Self::Config)> {
        Vec::new()
    }

    /// The workload's invariants: the rules of its system that must hold.
    fn invariants(&self) -> Vec<Invariant> {
        Vec::new()
    }

    /// Problems with `config` beyond its types, as (field, message); the field is the
    /// key inside `[target]`. Checked by `validate` before anything runs.
    fn check(&self, _config: &Self::Config, _ctx: &CheckContext) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Builds the system on the target runtime.
    fn build(
        &self,
        config: Self::Config,
        ctx: BuildContext,
    ) -> impl Future<Output = Result<Self::Target, BuildError>> + Send;
}

/// Which of the harness's fault families apply to a workload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The target hands over its actor system ([`Target::system`]): crash, kill,
    /// latency, blocking-worker, partition and ask-cycle faults, deadlock and stall
    /// detection, per-actor statistics.
    pub actor_system: bool,
    /// The target can flood a mailbox with its own messages (`flood`).
    pub flood: bool,
    /// Dependency seams the target exposes by name (`device-repository`):
    /// `dependency-errors`, `-latency` and `-outage`.
    pub dependencies: &'static [&'static str],
}

impl Capabilities {
    /// The capabilities of a workload built on the actor runtime that hands over its
    /// system.
    pub const ACTOR_SYSTEM: Capabilities = Capabilities {
        actor_system: true,
        flood: false,
        dependencies: &[],
    };

    /// The names of the capabilities present, for `gauntlet list`.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.actor_system {
            out.push("actor-system".to_owned());
        }
        if self.flood {
            out.push("flood".to_owned());
        }
        for d in self.dependencies {
            out.push(format!("dependency:{d}"));
        }
        out
    }
}

/// One field of a workload's `[target]` table, for `gauntlet list` and the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigField {
    /// The key.
    pub name: &'static str,
    /// An example value as TOML (`"round-robin"`, `8`, `"2ms"`).
    pub example: &'static str,
    /// What it does, with its default.
    pub help: &'static str,
}

/// What [`Workload::check`] may look at besides the config.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// The scenario's `[runtime]` settings.
    pub runtime: RuntimeSettings,
}

/// What [`Workload::build`] gets besides the config.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The run's seed: derive every random choice from it.
    pub seed: u64,
    /// The scenario's `[runtime]` settings (mailbox capacity and policy to use as the
    /// default for the target's actors).
    pub runtime: RuntimeSettings,
    /// The run's state directory: empty at the start of the run, removed after it, and
    /// the same for every incarnation of a target child (`kill-process` and
    /// `restart-process` start a new child on it). Keep files that must survive a
    /// restart here, and reopen them when they exist.
    pub state_dir: std::path::PathBuf,
}
