//! The registry of workloads, and a scenario's `[target]` bound to one of them.
//!
//! [`Registry`] maps a name to a [`Workload`]; parsing a scenario looks its
//! `[target] workload` up there and deserializes the rest of the table into that
//! workload's own config type. The result, a [`TargetSpec`], erases the workload's
//! types for the scenario model; running it goes back to the concrete types, so the
//! per-op path ([`Target::call`](crate::target::Target::call)) is monomorphic: no
//! dynamic dispatch, no boxing per op.

use std::fmt;
use std::sync::Arc;

use gauntlet_reports::schema::RunResult;

use super::invariant::valid_name;
use super::{BuildContext, Capabilities, CheckContext, ConfigField, Invariant, Workload};
use crate::run::{RunError, RunOptions};
use crate::scenario::Scenario;

/// What `gauntlet list` and `validate` know of a workload without building it.
#[derive(Debug, Clone)]
pub struct WorkloadInfo {
    /// Its name in scenarios.
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Its ops.
    pub ops: &'static [&'static str],
    /// Its `[target]` fields.
    pub fields: &'static [ConfigField],
    /// Which fault families apply.
    pub capabilities: Capabilities,
    /// Its invariants.
    pub invariants: Vec<Invariant>,
}

impl WorkloadInfo {
    fn of<W: Workload>(w: &W) -> Self {
        Self {
            name: w.name(),
            help: w.help(),
            ops: w.ops(),
            fields: w.fields(),
            capabilities: w.capabilities(),
            invariants: w.invariants(),
        }
    }
}

/// One example configuration of a workload (its label) and the address globs it
/// creates.
pub type AddressExample = (&'static str, Vec<String>);

/// Why a workload could not be registered (a mistake in the program, reported by the
/// CLI before it does anything, with exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two workloads share a name.
    #[error("two workloads are named `{0}`")]
    Duplicate(String),
    /// A name breaks the naming rule.
    #[error("workload `{workload}`: `{name}` is not a valid {what} name ({rule})")]
    BadName {
        /// The workload.
        workload: String,
        /// What kind of name (workload, op, invariant).
        what: &'static str,
        /// The name.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },
}

/// The workloads a `gauntlet` binary knows.
#[derive(Clone, Default)]
pub struct Registry {
    entries: Vec<Arc<dyn Entry>>,
    errors: Vec<RegistryError>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("workloads", &self.names())
            .field("errors", &self.errors)
            .finish()
    }
}

impl Registry {
    /// A registry without any workload.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in workloads: `actors`, `graph`, `smart-home` and `synthetic`.
    pub fn builtin() -> Self {
        let mut r = Self::empty();
        r.register(super::actors::Actors);
        r.register(super::graph::FlowGraph);
        r.register(super::smart_home::SmartHome);
        r.register(super::synthetic::Synthetic);
        r
    }

    /// Adds a workload. A duplicate or badly named one is recorded as an error
    /// ([`Registry::errors`]) and left out; the CLI refuses to start with it.
    pub fn register<W: Workload>(&mut self, workload: W) -> &mut Self {
        let info = WorkloadInfo::of(&workload);
        match check_names(&info) {
            Err(e) => self.errors.push(e),
            Ok(()) if self.get(info.name).is_some() => self
                .errors
                .push(RegistryError::Duplicate(info.name.to_owned())),
            Ok(()) => self.entries.push(Arc::new(Registered {
                workload: Arc::new(workload),
                info: Arc::new(info),
            })),
        }
        self
    }

    /// Adds a workload (builder style).
    pub fn with<W: Workload>(mut self, workload: W) -> Self {
        self.register(workload);
        self
    }

    /// Mistakes found while registering.
    pub fn errors(&self) -> &[RegistryError] {
        &self.errors
    }

    /// Every registered workload, in registration order.
    pub fn workloads(&self) -> impl Iterator<Item = &WorkloadInfo> {
        self.entries.iter().map(|e| e.info())
    }

    /// The registered names.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.info().name).collect()
    }

    /// For each workload, its example configurations and the addresses each creates
    /// (`gauntlet list --addresses`).
    pub fn address_table(&self) -> Vec<(&'static str, Vec<AddressExample>)> {
        self.entries
            .iter()
            .map(|e| (e.info().name, e.address_examples()))
            .collect()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<dyn Entry>> {
        self.entries.iter().find(|e| e.info().name == name)
    }
}

fn check_names(info: &WorkloadInfo) -> Result<(), RegistryError> {
    let bad = |what, name: &str, rule| RegistryError::BadName {
        workload: info.name.to_owned(),
        what,
        name: name.to_owned(),
        rule,
    };
    let workload_rule = "lowercase letters, digits and `-`";
    if info.name.is_empty()
        || !info
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(bad("workload", info.name, workload_rule));
    }
    let rule = "letters, digits, `-`, `_` and `.`, at most 100 characters";
    if info.ops.is_empty() {
        return Err(bad("op", "", "a workload needs at least one op"));
    }
    for op in info.ops {
        if !valid_name(op) {
            return Err(bad("op", op, rule));
        }
    }
    for inv in &info.invariants {
        if !valid_name(inv.name) {
            return Err(bad("invariant", inv.name, rule));
        }
    }
    Ok(())
}

/// A registered workload with its types erased.
pub(crate) trait Entry: Send + Sync {
    fn info(&self) -> &WorkloadInfo;
    /// Deserializes the `[target]` table (without `workload`) into the config.
    fn parse(
        &self,
        de: toml::de::Deserializer<'_>,
    ) -> Result<TargetSpec, serde_path_to_error::Error<toml::de::Error>>;
    fn address_examples(&self) -> Vec<AddressExample>;
}

struct Registered<W: Workload> {
    workload: Arc<W>,
    info: Arc<WorkloadInfo>,
}

impl<W: Workload> Entry for Registered<W> {
    fn info(&self) -> &WorkloadInfo {
        &self.info
    }

    fn parse(
        &self,
        de: toml::de::Deserializer<'_>,
    ) -> Result<TargetSpec, serde_path_to_error::Error<toml::de::Error>> {
        let config: W::Config = serde_path_to_error::deserialize(de)?;
        Ok(TargetSpec {
            bound: Arc::new(Bound {
                workload: self.workload.clone(),
                info: self.info.clone(),
                config,
            }),
            child: None,
        })
    }

    fn address_examples(&self) -> Vec<AddressExample> {
        self.workload
            .examples()
            .into_iter()
            .map(|(label, c)| (label, self.workload.addresses(&c)))
            .collect()
    }
}

/// A scenario's `[target]`: a registered workload and its parsed configuration.
#[derive(Clone)]
pub struct TargetSpec {
    bound: Arc<dyn BoundTarget>,
    /// `Some` with `[target] process = "child"`: the scenario the child parses.
    child: Option<Arc<crate::child::ChildSource>>,
}

impl fmt::Debug for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.bound.fmt_config(f)
    }
}

impl TargetSpec {
    /// Binds `config` to `workload` directly (for tests and programs that build
    /// scenarios in code rather than from a file).
    pub fn new<W: Workload>(workload: W, config: W::Config) -> Self {
        let info = WorkloadInfo::of(&workload);
        Self {
            bound: Arc::new(Bound {
                workload: Arc::new(workload),
                info: Arc::new(info),
                config,
            }),
            child: None,
        }
    }

    /// Runs the target in a child process that parses `source` (the scenario's own
    /// text) to build it (`[target] process = "child"`, see [`crate::child`]).
    pub fn in_child(mut self, source: crate::child::ChildSource) -> Self {
        self.child = Some(Arc::new(source));
        self
    }

    /// Where the target runs.
    pub fn process(&self) -> crate::child::Process {
        match self.child {
            Some(_) => crate::child::Process::Child,
            None => crate::child::Process::InProcess,
        }
    }

    /// Builds the target in this process and serves it to the harness that started
    /// it (the child's side of [`crate::child`]).
    pub(crate) fn serve(
        &self,
        scenario: &Scenario,
        state_dir: &std::path::Path,
    ) -> std::process::ExitCode {
        self.bound.serve(scenario, state_dir)
    }

    /// The workload's name as written in scenarios.
    pub fn workload(&self) -> &'static str {
        self.bound.info().name
    }

    /// The operations the workload offers.
    pub fn ops(&self) -> &'static [&'static str] {
        self.bound.info().ops
    }

    /// What the harness knows of the workload.
    pub fn info(&self) -> &WorkloadInfo {
        self.bound.info()
    }

    /// The address globs this configuration creates.
    pub fn addresses(&self) -> Vec<String> {
        self.bound.addresses()
    }

    /// The workload's own checks of the configuration, as (field, message).
    pub fn check(&self, ctx: &CheckContext) -> Vec<(String, String)> {
        self.bound.check(ctx)
    }

    /// The configuration, if it is of type `C` (for tests and tools that know the
    /// workload).
    pub fn config<C: 'static>(&self) -> Option<&C> {
        self.bound.config_any().downcast_ref::<C>()
    }

    /// Builds the target and runs the scenario against it.
    pub(crate) fn run(
        &self,
        scenario: &Scenario,
        options: &RunOptions,
    ) -> Result<RunResult, RunError> {
        match &self.child {
            Some(source) => {
                let state = state_dir()?;
                let (text, file, seed) = (source.text.clone(), source.file.clone(), scenario.seed);
                let dir = state.path().to_owned();
                let durability = crate::durability::checked(scenario);
                crate::run::execute(scenario, options, move || async move {
                    crate::child::ChildTarget::start(text, file, seed, dir)
                        .await
                        .map(|t| t.check_durability(durability))
                })
            }
            None => {
                let state = state_dir()?;
                self.bound.run(scenario, options, state.path())
            }
        }
    }
}

/// A fresh state directory for one run ([`BuildContext::state_dir`]), removed when
/// dropped (after the run).
fn state_dir() -> Result<tempfile::TempDir, RunError> {
    Ok(tempfile::Builder::new()
        .prefix("gauntlet-state-")
        .tempdir()?)
}

trait BoundTarget: Send + Sync {
    fn info(&self) -> &WorkloadInfo;
    fn addresses(&self) -> Vec<String>;
    fn check(&self, ctx: &CheckContext) -> Vec<(String, String)>;
    fn config_any(&self) -> &dyn std::any::Any;
    fn fmt_config(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    fn run(
        &self,
        scenario: &Scenario,
        options: &RunOptions,
        state_dir: &std::path::Path,
    ) -> Result<RunResult, RunError>;
    fn serve(&self, scenario: &Scenario, state_dir: &std::path::Path) -> std::process::ExitCode;
}

struct Bound<W: Workload> {
    workload: Arc<W>,
    info: Arc<WorkloadInfo>,
    config: W::Config,
}

impl<W: Workload> BoundTarget for Bound<W> {
    fn info(&self) -> &WorkloadInfo {
        &self.info
    }

    fn addresses(&self) -> Vec<String> {
        self.workload.addresses(&self.config)
    }

    fn check(&self, ctx: &CheckContext) -> Vec<(String, String)> {
        self.workload.check(&self.config, ctx)
    }

    fn config_any(&self) -> &dyn std::any::Any {
        &self.config
    }

    fn fmt_config(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.info.name, self.config)
    }

    fn run(
        &self,
        scenario: &Scenario,
        options: &RunOptions,
        state_dir: &std::path::Path,
    ) -> Result<RunResult, RunError> {
        let workload = self.workload.clone();
        let config = self.config.clone();
        let ctx = BuildContext {
            seed: scenario.seed,
            runtime: scenario.runtime.clone(),
            state_dir: state_dir.to_owned(),
        };
        crate::run::execute(scenario, options, move || async move {
            workload.build(config, ctx).await
        })
    }

    fn serve(&self, scenario: &Scenario, state_dir: &std::path::Path) -> std::process::ExitCode {
        let workload = self.workload.clone();
        let config = self.config.clone();
        let ctx = BuildContext {
            seed: scenario.seed,
            runtime: scenario.runtime.clone(),
            state_dir: state_dir.to_owned(),
        };
        crate::child::serve::serve(scenario, move || async move {
            workload.build(config, ctx).await
        })
    }
}

/// The registered name nearest to `name`, if it is near enough to be a likely typo.
pub fn nearest_name<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_register_without_errors() {
        let r = Registry::builtin();
        assert!(r.errors().is_empty(), "{:?}", r.errors());
        assert_eq!(r.names(), ["actors", "graph", "smart-home", "synthetic"]);
    }

    #[test]
    fn duplicates_and_bad_names_are_refused() {
        let mut r = Registry::builtin();
        r.register(super::super::synthetic::Synthetic);
        assert_eq!(
            r.errors(),
            [RegistryError::Duplicate("synthetic".to_owned())]
        );
        assert_eq!(r.names().len(), 4);
    }

    #[test]
    fn near_misses_are_suggested() {
        let names = ["actors", "graph", "smart-home", "synthetic"];
        assert_eq!(nearest_name("smarthome", &names), Some("smart-home"));
        assert_eq!(nearest_name("actor", &names), Some("actors"));
        assert_eq!(nearest_name("bank", &names), None);
    }
}
