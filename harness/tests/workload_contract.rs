//! The built-in workloads keep the promises `gauntlet list` and `validate` make about
//! them: the addresses each example configuration creates are exactly those its
//! declared globs describe, and every documented `[target]` field is accepted.

use std::time::Duration;

use gauntlet_harness::scenario::{MailboxPolicy, RuntimeSettings};
use gauntlet_harness::workload::actors::Actors;
use gauntlet_harness::workload::graph::FlowGraph;
use gauntlet_harness::workload::smart_home::SmartHome;
use gauntlet_harness::workload::{BuildContext, Registry, Target, Workload};
use globset::Glob;

fn ctx() -> BuildContext {
    BuildContext {
        seed: 1,
        runtime: RuntimeSettings {
            worker_threads: 2,
            load_threads: 1,
            mailbox_capacity: 64,
            mailbox_policy: MailboxPolicy::Block,
            hibernate_after: None,
        },
        state_dir: std::env::temp_dir(),
    }
}

/// Builds each example, lists its live actors and checks them against the globs.
async fn addresses_match<W: Workload>(w: W) {
    for (label, config) in w.examples() {
        let globs = w.addresses(&config);
        let target = w.build(config, ctx()).await.unwrap();
        // Entities (devices, rooms) appear when first used.
        for seq in 0..4 {
            let _ = target.call(gauntlet_harness::workload::OpId(0), seq).await;
        }
        let live: Vec<String> = target
            .system()
            .expect("built on the actor runtime")
            .addresses()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        let matchers: Vec<_> = globs
            .iter()
            .map(|g| Glob::new(g).unwrap().compile_matcher())
            .collect();
        for a in &live {
            assert!(
                matchers.iter().any(|m| m.is_match(a)),
                "{} {label}: live actor {a} matches none of {globs:?}",
                w.name()
            );
        }
        for (g, m) in globs.iter().zip(&matchers) {
            if g.contains('*') {
                // A pattern may describe actors made on demand (entities).
                continue;
            }
            assert!(
                live.iter().any(|a| m.is_match(a)),
                "{} {label}: declared {g} matches no live actor of {live:?}",
                w.name()
            );
        }
        target.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_addresses_are_as_declared() {
    addresses_match(Actors).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_addresses_are_as_declared() {
    addresses_match(FlowGraph).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_home_addresses_are_as_declared() {
    addresses_match(SmartHome).await;
}

/// Every field `gauntlet list` documents is accepted with its example value, and the
/// list is complete: serde's "expected one of" for an unknown field names exactly the
/// documented fields.
#[test]
fn documented_fields_are_the_real_ones() {
    for w in Registry::builtin().workloads() {
        for f in w.fields {
            let toml = format!(
                "name = \"f\"\nduration = \"1s\"\n[target]\nworkload = \"{}\"\n{} = {}\n[[load]]\nop = \"{}\"\nexecutor = \"constant-concurrency\"\nconcurrency = 1\n",
                w.name, f.name, f.example, w.ops[0]
            );
            if let Err(e) = gauntlet_harness::scenario::parse_str(&toml, "f.toml") {
                assert!(
                    !e.to_string().contains("unknown field"),
                    "{}: documented field {} refused: {e}",
                    w.name,
                    f.name
                );
            }
        }
        let toml = format!(
            "name = \"f\"\nduration = \"1s\"\n[target]\nworkload = \"{}\"\nno_such_field = 1\n[[load]]\nop = \"{}\"\nexecutor = \"constant-concurrency\"\nconcurrency = 1\n",
            w.name, w.ops[0]
        );
        let e = gauntlet_harness::scenario::parse_str(&toml, "f.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f.toml:5:1: target.no_such_field: unknown field"),
            "{e}"
        );
        for f in w.fields {
            assert!(e.contains(&format!("`{}`", f.name)), "{}: {e}", w.name);
        }
        // Backquoted: the unknown field, each expected field, and the workload.
        let expected = e.matches('`').count() / 2 - 2;
        assert_eq!(expected, w.fields.len(), "{}: {e}", w.name);
    }
}
