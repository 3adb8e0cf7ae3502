//! The `actors` workload: gauntlet-runtime actors in a chosen topology.
//!
//! | topology           | what an op does                                                        |
//! |--------------------|------------------------------------------------------------------------|
//! | `one`              | one actor receives every op                                            |
//! | `round-robin`      | op `i` goes to actor `i mod actors`                                    |
//! | `fan-out`          | a router forwards each op to `fan_out` children (an ask waits for all) |
//! | `ask-chain`        | the head forwards to the next actor, `chain_length` deep; an ask is a chain of asks, replied from the tail |
//! | `ask-ring`         | an `ask-chain` whose tail forwards back to the head: every ask closes a cycle, which the runtime refuses as a deadlock (the op fails); a tell goes once round |
//! | `supervision-tree` | `breadth` supervisors per level, `depth` levels; ops go round-robin to the leaves |
//!
//! With several entry actors (a pool or a tree's leaves), `routing = "random"` sends op
//! `i` to an entry drawn from the scenario's seed and `i` instead of `i mod n`.
//!
//! Ops: `tell` (obeys the mailbox policy; completes when the message is queued) and
//! `ask` (completes when the reply arrives). Every handler can spin for
//! `handler_work` (CPU), sleep for `handler_sleep` (an awaited timer, like I/O), and
//! fail every `fail_every`-th message, which makes its supervisor restart it (a failed
//! ask is never answered, so the op fails).
//!
//! Mailbox capacity and policy come from the scenario's `[runtime]` table. The
//! supervisors restart failed children one-for-one with no intensity limit to speak
//! of (1,000,000 restarts per second), so a `fail_every` scenario measures restarts,
//! not escalation.

mod roles;

use std::time::Duration;

use gauntlet_runtime::actor::{
    ActorRef, AskError, Props, SendError, SupervisorStrategy, System, SystemConfig,
};
use serde::Deserialize;

use self::roles::{Msg, Router, Supervisor, Worker, WorkerConfig};
use super::{
    BuildContext, Capabilities, CheckContext, Checkpoint, ConfigField, Invariant, InvariantCheck,
    Workload,
};
use crate::scenario::RuntimeSettings;
use crate::target::{BuildError, OpError, OpId, Target};
use crate::units::DurationSpec;

/// The `actors` workload (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Actors;

impl Workload for Actors {
    type Config = ActorsSpec;
    type Target = ActorsTarget;

    fn name(&self) -> &'static str {
        "actors"
    }

    fn help(&self) -> &'static str {
        "gauntlet-runtime actors: one, round-robin pool, fan-out, ask chain, ask ring (deadlocks) or supervision tree"
    }

    fn ops(&self) -> &'static [&'static str] {
        OPS
    }

    fn fields(&self) -> &'static [ConfigField] {
        FIELDS
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            flood: true,
            ..Capabilities::ACTOR_SYSTEM
        }
    }

    fn addresses(&self, spec: &ActorsSpec) -> Vec<String> {
        let a = |s: &str| format!("actor://gauntlet/{s}");
        match spec.topology {
            Topology::One => vec![a("worker")],
            Topology::RoundRobin => (0..spec.actors.unwrap_or(8).clamp(1, MAX_ACTORS))
                .map(|i| a(&format!("worker-{i}")))
                .collect(),
            Topology::FanOut => vec![a("router"), a("router/leaf-*")],
            Topology::AskChain | Topology::AskRing => {
                (0..spec.chain_length.unwrap_or(4).clamp(1, 10_000))
                    .map(|i| a(&format!("chain-{i}")))
                    .collect()
            }
            Topology::SupervisionTree => vec![a("tree"), a("tree/**/sup-*"), a("tree/**/leaf-*")],
        }
    }

    fn examples(&self) -> Vec<(&'static str, ActorsSpec)> {
        let with = |topology| ActorsSpec {
            topology,
            ..ActorsSpec::default()
        };
        vec![
            ("topology = \"one\"", with(Topology::One)),
            (
                "topology = \"round-robin\" (actors = 8)",
                with(Topology::RoundRobin),
            ),
            ("topology = \"fan-out\"", with(Topology::FanOut)),
            (
                "topology = \"ask-chain\" (chain_length = 4)",
                with(Topology::AskChain),
            ),
            (
                "topology = \"ask-ring\" (chain_length = 4)",
                with(Topology::AskRing),
            ),
            (
                "topology = \"supervision-tree\"",
                with(Topology::SupervisionTree),
            ),
        ]
    }

    fn invariants(&self) -> Vec<Invariant> {
        vec![Invariant::at_end(
            "actors.accounted",
            "every message sent was delivered, dropped by policy, rejected or dead-lettered (nothing lost, nothing still queued after the loads)",
        )]
    }

    fn check(&self, spec: &ActorsSpec, _ctx: &CheckContext) -> Vec<(String, String)> {
        spec.problems()
            .into_iter()
            .map(|(f, m)| (f.to_owned(), m))
            .collect()
    }

    async fn build(&self, spec: ActorsSpec, ctx: BuildContext) -> Result<ActorsTarget, BuildError> {
        ActorsTarget::build(spec, ctx.runtime, ctx.seed).await
    }
}

const FIELDS: &[ConfigField] = &[
    ConfigField {
        name: "topology",
        example: "\"round-robin\"",
        help: "one | round-robin | fan-out | ask-chain | ask-ring | supervision-tree (default one)",
    },
    ConfigField {
        name: "actors",
        example: "8",
        help: "pool size for round-robin (default 8)",
    },
    ConfigField {
        name: "fan_out",
        example: "4",
        help: "children of the router for fan-out (default 4)",
    },
    ConfigField {
        name: "chain_length",
        example: "4",
        help: "actors in an ask-chain or ask-ring (default 4)",
    },
    ConfigField {
        name: "depth",
        example: "2",
        help: "levels of a supervision-tree (default 2)",
    },
    ConfigField {
        name: "breadth",
        example: "3",
        help: "children per supervisor of a supervision-tree (default 3)",
    },
    ConfigField {
        name: "handler_work",
        example: "\"20us\"",
        help: "CPU spin per handled message (default none)",
    },
    ConfigField {
        name: "handler_sleep",
        example: "\"1ms\"",
        help: "awaited sleep per handled message (default none)",
    },
    ConfigField {
        name: "routing",
        example: "\"random\"",
        help: "round-robin | random over a pool or a tree's leaves (default round-robin)",
    },
    ConfigField {
        name: "fail_every",
        example: "100",
        help: "every N-th handled message fails and restarts its actor (default 0: never)",
    },
    ConfigField {
        name: "ask_timeout",
        example: "\"5s\"",
        help: "timeout of each ask, also inside chains and fan-outs (default 5s)",
    },
];

/// Ops of the actors workload.
pub const OPS: &[&str] = &["tell", "ask"];
const OP_TELL: usize = 0;

/// How the actors are arranged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// One actor.
    #[default]
    One,
    /// `actors` actors, ops spread round-robin.
    RoundRobin,
    /// A router with `fan_out` children.
    FanOut,
    /// A chain of `chain_length` actors.
    AskChain,
    /// A chain whose tail forwards back to its head: asks deadlock on purpose.
    AskRing,
    /// A supervision tree of `depth` levels of `breadth` children.
    SupervisionTree,
}

/// How ops are spread over several entry actors (a pool or a tree's leaves).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Routing {
    /// Op `i` goes to entry `i mod n`.
    #[default]
    RoundRobin,
    /// Op `i` goes to an entry drawn from the scenario's seed and `i`: uneven load,
    /// identical for the same seed (replayable), no shared state between threads.
    Random,
}

/// The `[target]` table for `workload = "actors"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorsSpec {
    /// The arrangement of actors.
    #[serde(default)]
    pub topology: Topology,
    /// Pool size for `round-robin` (default 8).
    pub actors: Option<i64>,
    /// Children of the router for `fan-out` (default 4).
    pub fan_out: Option<i64>,
    /// Actors in the chain for `ask-chain` (default 4).
    pub chain_length: Option<i64>,
    /// Levels of supervisors for `supervision-tree` (default 2).
    pub depth: Option<i64>,
    /// Children per supervisor for `supervision-tree` (default 3).
    pub breadth: Option<i64>,
    /// CPU spin per handled message.
    pub handler_work: Option<DurationSpec>,
    /// Awaited sleep per handled message.
    pub handler_sleep: Option<DurationSpec>,
    /// How ops are spread over a pool or a tree's leaves (default round-robin).
    pub routing: Option<Routing>,
    /// Every N-th message a worker handles fails (0: never).
    #[serde(default)]
    pub fail_every: u64,
    /// Timeout of each ask, including the asks inside a chain or fan-out (default 5s).
    pub ask_timeout: Option<DurationSpec>,
}

const MAX_ACTORS: i64 = 100_000;

impl ActorsSpec {
    /// Problems with the spec, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let mut range = |field: &'static str, v: Option<i64>, max: i64, used_by: &[Topology]| {
            if let Some(v) = v {
                if !used_by.contains(&self.topology) {
                    p.push((
                        field,
                        format!(
                            "`{field}` is only used by topology `{}`, not `{}`",
                            used_by
                                .iter()
                                .map(|t| topology_name(*t))
                                .collect::<Vec<_>>()
                                .join("` or `"),
                            topology_name(self.topology)
                        ),
                    ));
                } else if !(1..=max).contains(&v) {
                    p.push((field, format!("must be between 1 and {max} (got {v})")));
                }
            }
        };
        range("actors", self.actors, MAX_ACTORS, &[Topology::RoundRobin]);
        range("fan_out", self.fan_out, 10_000, &[Topology::FanOut]);
        range(
            "chain_length",
            self.chain_length,
            10_000,
            &[Topology::AskChain, Topology::AskRing],
        );
        range("depth", self.depth, 8, &[Topology::SupervisionTree]);
        range("breadth", self.breadth, 1_000, &[Topology::SupervisionTree]);
        if self.topology == Topology::AskRing && self.chain_length == Some(1) {
            p.push(("chain_length", "a ring needs at least 2 actors".to_owned()));
        }
        if p.is_empty() && self.topology == Topology::SupervisionTree {
            let leaves = (self.breadth.unwrap_or(3) as f64).powi(self.depth.unwrap_or(2) as i32);
            if leaves > MAX_ACTORS as f64 {
                p.push((
                    "breadth",
                    format!("breadth^depth = {leaves} leaves; at most {MAX_ACTORS}"),
                ));
            }
        }
        if self.routing.is_some()
            && !matches!(
                self.topology,
                Topology::RoundRobin | Topology::SupervisionTree
            )
        {
            p.push((
                "routing",
                format!(
                    "`routing` needs several entry actors (topology `round-robin` or \
                     `supervision-tree`), not `{}`",
                    topology_name(self.topology)
                ),
            ));
        }
        if self
            .handler_work
            .is_some_and(|w| w.0 > Duration::from_secs(1))
        {
            p.push((
                "handler_work",
                "must be at most 1s (it spins a CPU)".to_owned(),
            ));
        }
        if self
            .handler_sleep
            .is_some_and(|w| w.0 > Duration::from_secs(60))
        {
            p.push(("handler_sleep", "must be at most 60s".to_owned()));
        }
        if self.ask_timeout.is_some_and(|t| t.0.is_zero()) {
            p.push(("ask_timeout", "must be longer than 0s".to_owned()));
        }
        p
    }
}

fn topology_name(t: Topology) -> &'static str {
    match t {
        Topology::One => "one",
        Topology::RoundRobin => "round-robin",
        Topology::FanOut => "fan-out",
        Topology::AskChain => "ask-chain",
        Topology::AskRing => "ask-ring",
        Topology::SupervisionTree => "supervision-tree",
    }
}

/// The actors target: a [`System`] and the refs ops are sent to.
#[derive(Debug)]
pub struct ActorsTarget {
    system: System,
    entries: Vec<ActorRef<Msg>>,
    ask_timeout: Duration,
    /// `Some(seed)` for random routing.
    random_routing: Option<u64>,
    /// How often a tell is forwarded along a chain or ring.
    hops: u32,
}

/// SplitMix64: a stateless, well-mixed hash of `x`, so that any thread can draw the
/// same "random" entry for the same seed and op number without shared state.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The entry op `seq` goes to, out of `n`.
fn route(seq: u64, n: usize, random_seed: Option<u64>) -> usize {
    let x = match random_seed {
        Some(seed) => splitmix64(seed ^ splitmix64(seq)),
        None => seq,
    };
    (x % n as u64) as usize
}

fn restart_everything() -> SupervisorStrategy {
    SupervisorStrategy::one_for_one().intensity(1_000_000, Duration::from_secs(1))
}

impl ActorsTarget {
    /// Builds the system and its actors. Must run on the target's runtime.
    pub async fn build(
        spec: ActorsSpec,
        settings: RuntimeSettings,
        seed: u64,
    ) -> Result<Self, BuildError> {
        let config = SystemConfig {
            default_supervisor: restart_everything(),
            guardian: restart_everything(),
            ..settings.system_config()
        };
        let system =
            System::with_config("gauntlet", config).map_err(|e| BuildError(e.to_string()))?;
        let ask_timeout = spec.ask_timeout.map_or(Duration::from_secs(5), |d| d.0);
        let worker = WorkerConfig {
            work: spec.handler_work.map_or(Duration::ZERO, |d| d.0),
            sleep: spec.handler_sleep.map_or(Duration::ZERO, |d| d.0),
            fail_every: spec.fail_every,
            ask_timeout,
        };
        let spawn_err = |e: gauntlet_runtime::actor::SpawnError| BuildError(e.to_string());
        let worker_props = |next: Option<ActorRef<Msg>>| {
            let cfg = worker.clone();
            Props::new(move || Worker::new(cfg.clone(), next.clone()))
        };
        let entries = match spec.topology {
            Topology::One => vec![
                system
                    .spawn("worker", worker_props(None))
                    .map_err(spawn_err)?,
            ],
            Topology::RoundRobin => (0..spec.actors.unwrap_or(8))
                .map(|i| system.spawn(&format!("worker-{i}"), worker_props(None)))
                .collect::<Result<_, _>>()
                .map_err(spawn_err)?,
            Topology::FanOut => {
                let n = spec.fan_out.unwrap_or(4) as usize;
                let (cfg, timeout) = (worker.clone(), ask_timeout);
                vec![
                    system
                        .spawn(
                            "router",
                            Props::new(move || Router::new(n, cfg.clone(), timeout))
                                .supervisor(restart_everything()),
                        )
                        .map_err(spawn_err)?,
                ]
            }
            Topology::AskChain | Topology::AskRing => {
                let n = spec.chain_length.unwrap_or(4);
                let mut next = None;
                let mut tail = None;
                for i in (0..n).rev() {
                    let actor = system
                        .spawn(&format!("chain-{i}"), worker_props(next.take()))
                        .map_err(spawn_err)?;
                    tail.get_or_insert_with(|| actor.clone());
                    next = Some(actor);
                }
                if spec.topology == Topology::AskRing
                    && let (Some(head), Some(tail)) = (&next, &tail)
                {
                    tail.tell(Msg::SetNext(head.clone()))
                        .await
                        .map_err(|e| BuildError(format!("cannot close the ring: {e}")))?;
                }
                next.into_iter().collect()
            }
            Topology::SupervisionTree => {
                let (depth, breadth) = (
                    spec.depth.unwrap_or(2) as u32,
                    spec.breadth.unwrap_or(3) as usize,
                );
                let cfg = worker.clone();
                let root = system
                    .spawn(
                        "tree",
                        Props::new(move || Supervisor::new(depth, breadth, cfg.clone()))
                            .supervisor(restart_everything()),
                    )
                    .map_err(spawn_err)?;
                root.ask(Msg::Leaves, Duration::from_secs(30))
                    .await
                    .map_err(|e| {
                        BuildError(format!("supervision tree did not report its leaves: {e}"))
                    })?
            }
        };
        if entries.is_empty() {
            return Err(BuildError("the topology has no actors".to_owned()));
        }
        Ok(Self {
            system,
            entries,
            ask_timeout,
            random_routing: (spec.routing == Some(Routing::Random)).then_some(seed),
            // Once round a ring; to the end of anything else.
            hops: match spec.topology {
                Topology::AskRing => (spec.chain_length.unwrap_or(4) - 1) as u32,
                _ => u32::MAX,
            },
        })
    }
}

impl Target for ActorsTarget {
    async fn call(&self, op: OpId, seq: u64) -> Result<(), OpError> {
        let to = &self.entries[route(seq, self.entries.len(), self.random_routing)];
        if op.0 == OP_TELL {
            return to
                .tell(Msg::Work(seq, self.hops))
                .await
                .map_err(|e| match e {
                    SendError::Timeout(_) => OpError::Timeout,
                    _ => OpError::Rejected,
                });
        }
        match to.ask(|r| Msg::Ask(seq, r), self.ask_timeout).await {
            Ok(_) => Ok(()),
            Err(AskError::Timeout(_)) => Err(OpError::Timeout),
            Err(AskError::NoReply) => Err(OpError::Failed),
            Err(_) => Err(OpError::Rejected),
        }
    }

    fn system(&self) -> Option<&System> {
        Some(&self.system)
    }

    fn stall_detail(&self) -> String {
        let s = self.system.stats();
        // The actors ops are sent to, busiest first: where a stall usually shows.
        let mut busiest: Vec<(usize, &ActorRef<Msg>)> =
            self.entries.iter().map(|a| (a.queued(), a)).collect();
        busiest.sort_by_key(|b| std::cmp::Reverse(b.0));
        let top: Vec<String> = busiest
            .iter()
            .take(3)
            .filter(|(q, _)| *q > 0)
            .map(|(q, a)| format!("{} ({q} queued)", a.address()))
            .collect();
        format!(
            "actors alive {}, messages queued {} (deepest mailbox {}), asks in flight {}; busiest entry actors: {}",
            s.actors.alive,
            s.mailboxes.total,
            s.mailboxes.deepest,
            s.asks.in_flight,
            if top.is_empty() {
                "none with queued messages".to_owned()
            } else {
                top.join(", ")
            }
        )
    }

    async fn check_invariants(&self, at: Checkpoint) -> Vec<InvariantCheck> {
        if at != Checkpoint::End {
            return Vec::new();
        }
        vec![super::system_view::accounting_check(
            "actors.accounted",
            &self.system,
        )]
    }

    fn fault_surface(&self) -> crate::faults::FaultSurface {
        let system = self.system.clone();
        let flood: crate::faults::Flooder = std::sync::Arc::new(move |to, n| {
            let actor = system.lookup::<Msg>(to)?;
            Some(super::system_view::flood(n, |seq| {
                actor.try_tell(Msg::Work(seq, 0)).map_err(drop)
            }))
        });
        crate::faults::FaultSurface {
            system: Some(self.system.clone()),
            flood: Some(flood),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_routing_cycles() {
        let picks: Vec<usize> = (0..6).map(|i| route(i, 3, None)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn random_routing_is_replayable_and_reaches_every_entry() {
        let a: Vec<usize> = (0..1000).map(|i| route(i, 7, Some(42))).collect();
        let b: Vec<usize> = (0..1000).map(|i| route(i, 7, Some(42))).collect();
        let c: Vec<usize> = (0..1000).map(|i| route(i, 7, Some(43))).collect();
        assert_eq!(a, b, "same seed, same choices");
        assert_ne!(a, c, "another seed, other choices");
        for entry in 0..7 {
            let hits = a.iter().filter(|&&e| e == entry).count();
            assert!((70..=220).contains(&hits), "entry {entry}: {hits} of 1000");
        }
    }

    #[test]
    fn routing_needs_several_entries() {
        let spec = ActorsSpec {
            topology: Topology::One,
            routing: Some(Routing::Random),
            ..ActorsSpec::default()
        };
        assert_eq!(spec.problems()[0].0, "routing");
    }
}
