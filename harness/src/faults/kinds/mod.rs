//! Every fault kind: one module each, listed once in the `kinds!` invocation below,
//! which makes the [`Fault`] enum (a fault with its own kind's settings), the
//! [`Kind`] enum (the name alone, as written in scenario files), the [`Active`] enum
//! (what a running window holds) and the dispatch between them.
//!
//! A new kind is a module here implementing [`FaultKind`] and one line in the list
//! (a new field name also needs its place in the scenario's `[[fault]]` table and in
//! [`Fields`]).

use super::Injection;
use super::error::InjectError;
use super::vocabulary::{Facts, FaultKind, Fields, Scope};

macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident($module:ident::$ty:ident),)+) => {
        $(pub mod $module;)+

        /// A fault: its kind, with that kind's own settings.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Fault {
            $($(#[$doc])* $variant($module::$ty),)+
        }

        /// A fault kind, as named in scenario files (`kind = "crash"`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Kind {
            $($(#[$doc])* $variant,)+
        }

        /// What a running window holds until it ends, with the fault it belongs to.
        #[derive(Debug)]
        pub enum Active<'a> {
            $(
                #[allow(missing_docs)]
                $variant(&'a $module::$ty, <$module::$ty as FaultKind>::Active),
            )+
        }

        impl Kind {
            /// Every kind, in the order scenario errors and `gauntlet list` show them.
            pub const ALL: &[Kind] = &[$(Kind::$variant),+];

            /// What the kind is.
            pub fn facts(self) -> &'static Facts {
                match self {
                    $(Kind::$variant => &<$module::$ty as FaultKind>::FACTS,)+
                }
            }

            /// Reads the kind's settings from its fields; `None` when `fields` holds a
            /// problem.
            pub fn read(self, fields: &mut Fields) -> Option<Fault> {
                match self {
                    $(Kind::$variant => <$module::$ty as FaultKind>::read(fields).map(Fault::$variant),)+
                }
            }
        }

        impl Fault {
            /// The fault's kind.
            pub fn kind(&self) -> Kind {
                match self {
                    $(Fault::$variant(_) => Kind::$variant,)+
                }
            }

            /// Starts one window (see [`FaultKind::start`]).
            pub async fn start(
                &self,
                scope: Scope<'_>,
                record: &mut Injection,
            ) -> Result<Active<'_>, InjectError> {
                Ok(match self {
                    $(Fault::$variant(f) => Active::$variant(f, f.start(scope, record).await?),)+
                })
            }
        }

        impl Active<'_> {
            /// Ends the window (see [`FaultKind::end`]).
            pub async fn end(self, scope: Scope<'_>, record: &mut Injection) {
                match self {
                    $(Active::$variant(f, a) => f.end(a, scope, record).await,)+
                }
            }
        }
    };
}

kinds! {
    /// Handlers of matching actors panic; supervision restarts them.
    Crash(crash::Crash),
    /// Matching actors are killed (no hooks; queued messages become dead letters).
    Kill(kill::Kill),
    /// Handlers of matching actors are delayed (awaited sleep, with jitter).
    Latency(latency::Latency),
    /// A burst of messages at each matching actor's mailbox.
    Flood(flood::Flood),
    /// Repository calls fail with probability `toxicity`.
    DependencyErrors(dependency_errors::DependencyErrors),
    /// Repository calls are delayed by `latency`.
    DependencyLatency(dependency_latency::DependencyLatency),
    /// Every repository call fails.
    DependencyOutage(dependency_outage::DependencyOutage),
    /// Messages between the `target` group and the `peer` group are dead-lettered.
    Partition(partition::Partition),
    /// Handlers of matching actors block their worker thread for `block_for`.
    BlockingWorker(blocking_worker::BlockingWorker),
    /// Memory is allocated, touched and held for the window.
    MemoryPressure(memory_pressure::MemoryPressure),
    /// Rings of actors ask each other round until the runtime refuses the ask that
    /// closes the cycle.
    AskCycle(ask_cycle::AskCycle),
    /// The target's child process is killed (SIGKILL), and started again at the end.
    KillProcess(kill_process::KillProcess),
    /// The target's child process is stopped (SIGSTOP) for the window, then continued.
    PauseProcess(pause_process::PauseProcess),
    /// The target's child process is shut down gracefully, and started again at the end.
    RestartProcess(restart_process::RestartProcess),
}

impl Kind {
    /// The kind's name as written in scenario files and results.
    pub fn name(self) -> &'static str {
        self.facts().name
    }

    /// The kind named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error, StrDeserializer};

    use super::*;
    use crate::faults::vocabulary::Targets;

    #[test]
    fn every_name_reads_back_as_its_kind() {
        for &k in Kind::ALL {
            let d: StrDeserializer<'_, Error> = k.name().into_deserializer();
            assert_eq!(Kind::deserialize(d), Ok(k), "{k}");
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::from_name("meltdown"), None);
    }

    #[test]
    fn facts_name_only_fields_that_exist() {
        for &k in Kind::ALL {
            let f = k.facts();
            for field in f.fields {
                assert!(Fields::NAMES.contains(field), "{k}: {field}");
            }
            if f.target != Targets::Actors {
                assert!(!f.fields.contains(&"victims"), "{k}");
            }
        }
    }

    #[test]
    fn a_kind_that_reads_nothing_says_why() {
        // `read` returns `None` only with a problem recorded: a block never vanishes
        // silently.
        for &k in Kind::ALL {
            let mut fields = Fields::new(k.name());
            let read = k.read(&mut fields);
            assert_eq!(read.is_none(), !fields.into_problems().is_empty(), "{k}");
        }
    }

    #[test]
    fn the_scenario_readme_has_one_row_per_kind_naming_its_fields() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let rows: Vec<Vec<&str>> = readme
            .lines()
            .skip_while(|l| !l.starts_with("| kind | target | extra fields |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| l.split(" | ").collect())
            .collect();
        assert_eq!(
            rows.len(),
            Kind::ALL.len(),
            "scenarios/README.md: the kinds table"
        );
        for &k in Kind::ALL {
            let name = format!("| `{k}`");
            let row = rows.iter().find(|r| r[0] == name);
            let row = row.unwrap_or_else(|| panic!("scenarios/README.md: no row for `{k}`"));
            let facts = k.facts();
            for field in facts.fields {
                assert!(row[2].contains(&format!("`{field}`")), "{k}: {field}");
            }
            let said = match facts.target {
                Targets::Actors => row[1].starts_with("actors"),
                Targets::Dependency => row[1].contains("device-repository"),
                Targets::Nothing(_) => row[1].starts_with("none"),
            };
            assert!(said, "{k}: target column `{}`", row[1]);
        }
    }
}
