//! The fault vocabulary: what every fault kind is, said once.
//!
//! A kind is one module under [`super::kinds`] holding a type that implements
//! [`FaultKind`]: its [`Facts`] (name, fields, what it targets, what it requires of the
//! workload, how the target must detect it), how it reads its own fields from a
//! `[[fault]]` block ([`Fields`]), and how it starts and ends one window ([`Scope`]).
//! Validation, the injector, recovery, the invariants and `gauntlet list` read the
//! facts; nothing else names a kind.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gauntlet_runtime::actor::{Address, System};
use gauntlet_runtime::device::Faults as RepositoryFaults;

use super::error::InjectError;
use super::schedule::Window;
use super::selector::{Selector, choose};
use super::spec::FaultSpec;
use super::{FaultSurface, Flooder, Injection};
use crate::child::{Process, ProcessControl};
use crate::workload::Capabilities;

/// What a fault kind is: everything validation, the injector, recovery and the docs
/// need to know about it without naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The kind's name in scenario files, results and metrics (`crash`).
    pub name: &'static str,
    /// What the kind's `target` field names.
    pub target: Targets,
    /// The kind-specific fields it takes (each one of [`Fields::NAMES`]).
    pub fields: &'static [&'static str],
    /// What `toxicity` means for it.
    pub toxicity: Toxicity,
    /// What it needs of the workload and of where the target runs.
    pub requires: Requires,
    /// How the target must show that it noticed the fault, if it must.
    pub detected: Detection,
    /// Whether a new target process starts on the same state when the window ends:
    /// such a scenario runs the durability checker (`crate::durability`).
    pub restarts_process: bool,
}

/// What a kind's `target` field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// An address glob of actors (`actor://gauntlet/worker-*`); `victims` picks among
    /// the live actors it matches.
    Actors,
    /// A dependency seam the workload exposes by name (`device-repository`).
    Dependency,
    /// No target: the kind acts on what the text says (it ends the message "`kind`
    /// takes no target: ...").
    Nothing(&'static str),
}

/// What `toxicity` means for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toxicity {
    /// Each eligible event (a handled message, a chosen actor, a repository call) is
    /// affected with probability `toxicity`.
    Thins,
    /// The kind has no events to thin out: a `toxicity` is refused (it would be
    /// silently ignored otherwise).
    Refused,
    /// Refused with this message instead of the general one (a kind whose nearest
    /// relative takes a toxicity).
    RefusedBecause(&'static str),
}

/// What a kind needs of the workload and of where the target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requires {
    /// The workload capability the kind acts through.
    pub capability: Capability,
    /// Where the target must run: faults that act inside the target's process cannot
    /// reach a child, and the process faults need one.
    pub process: Process,
}

impl Requires {
    /// A kind that acts inside the target's process, through `capability`.
    pub const fn in_process(capability: Capability) -> Self {
        Self {
            capability,
            process: Process::InProcess,
        }
    }

    /// A kind that acts on the target's child process (`[target] process = "child"`).
    pub const CHILD: Requires = Requires {
        capability: Capability::Nothing,
        process: Process::Child,
    };
}

/// A workload capability a kind acts through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Nothing of the workload (the harness's own process, or the child process).
    Nothing,
    /// The target's actor system (`actor-system`).
    ActorSystem,
    /// Sending the workload's own messages (`flood`).
    Flood,
    /// A named dependency seam (`device-repository`).
    Dependency,
}

impl Capability {
    /// What a workload with `caps` lacks for this, said as the end of "a workload
    /// that ..."; `None` when it has it.
    pub fn missing(self, caps: &Capabilities) -> Option<&'static str> {
        match self {
            Capability::Nothing => None,
            Capability::ActorSystem if !caps.actor_system => {
                Some("hands over its actor system (capability `actor-system`)")
            }
            Capability::Flood if !caps.flood => {
                Some("can flood a mailbox with its own messages (capability `flood`)")
            }
            Capability::Dependency if caps.dependencies.is_empty() => {
                Some("exposes a dependency seam (e.g. `device-repository`)")
            }
            _ => None,
        }
    }
}

/// How the target must show it noticed a fault (`faults.undetected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    /// Nothing to notice.
    Nothing,
    /// The runtime must refuse every injected event (`ask-cycle`: each closed cycle
    /// refused as a deadlock); the injector counts the refusals in `detected`.
    EveryEvent,
    /// The runtime's stall watchdog must report every window that blocked a handler
    /// (`blocking-worker`); recovery counts its reports from the timeline.
    StallReports,
}

impl Detection {
    /// What the target missed in one window that affected `affected` events and of
    /// which `detected` were noticed.
    pub fn undetected(self, affected: u64, detected: Option<u64>) -> u64 {
        match self {
            Detection::Nothing => 0,
            Detection::EveryEvent => affected.saturating_sub(detected.unwrap_or(0)),
            Detection::StallReports => u64::from(affected > 0 && detected.unwrap_or(0) == 0),
        }
    }
}

/// The kind-specific fields of one `[[fault]]` block as written (each `None` when
/// absent), and the problems a kind found reading them.
///
/// A kind reads the fields its [`Facts::fields`] names; validation has already
/// refused the others, and checked what holds for a field whatever the kind
/// (`latency` and `jitter` at most the longest fault delay).
#[derive(Debug, Default)]
pub struct Fields {
    kind: &'static str,
    /// `latency`: added delay.
    pub latency: Option<Duration>,
    /// `jitter`: most added on top of `latency`.
    pub jitter: Option<Duration>,
    /// `messages`: a flood's burst per actor.
    pub messages: Option<i64>,
    /// `peer`: the other side of a partition (an address glob).
    pub peer: Option<String>,
    /// `block_for`: how long a blocked handler holds its thread.
    pub block_for: Option<Duration>,
    /// `size`: bytes of memory pressure (`"256MB"`).
    pub size: Option<String>,
    /// `length`: actors in an ask-cycle ring.
    pub length: Option<i64>,
    /// `cycles`: cycles closed per window.
    pub cycles: Option<i64>,
    problems: Vec<(Option<&'static str>, String)>,
}

impl Fields {
    /// Every kind-specific field, in the order problems with them are reported.
    pub const NAMES: &[&'static str] = &[
        "latency",
        "jitter",
        "messages",
        "peer",
        "block_for",
        "size",
        "length",
        "cycles",
    ];

    /// No field given yet, for a block of the kind named `kind`.
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            ..Self::default()
        }
    }

    /// The fields given, in [`Fields::NAMES`] order.
    pub fn given(&self) -> Vec<&'static str> {
        let given = [
            self.latency.is_some(),
            self.jitter.is_some(),
            self.messages.is_some(),
            self.peer.is_some(),
            self.block_for.is_some(),
            self.size.is_some(),
            self.length.is_some(),
            self.cycles.is_some(),
        ];
        Self::NAMES
            .iter()
            .zip(given)
            .filter_map(|(n, g)| g.then_some(*n))
            .collect()
    }

    /// `value`, or a problem on the block saying the kind needs `field`.
    pub fn required<T>(&mut self, field: &'static str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            let message = format!("`{}` needs `{field}`", self.kind);
            self.problems.push((None, message));
        }
        value
    }

    /// A problem with `field`.
    pub fn problem(&mut self, field: &'static str, message: impl Into<String>) {
        self.problems.push((Some(field), message.into()));
    }

    /// `value` when it lies in `lo..=hi`, else a problem with `field`.
    pub fn int_in(&mut self, field: &'static str, value: i64, lo: i64, hi: i64) -> Option<i64> {
        if (lo..=hi).contains(&value) {
            return Some(value);
        }
        self.problem(
            field,
            format!("must be between {lo} and {hi} (got {value})"),
        );
        None
    }

    /// The problems found, in order: the field (`None` for the block itself) and the
    /// message.
    pub fn into_problems(self) -> Vec<(Option<&'static str>, String)> {
        self.problems
    }
}

/// What one window of a kind acts in: the target's fault surface, the fault as
/// validated and the window (its times and seed).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// What of the target faults can act on.
    pub surface: &'a FaultSurface,
    /// The fault (its target, toxicity, victims and index).
    pub spec: &'a FaultSpec,
    /// The window, with the seed its random choices are drawn from.
    pub window: &'a Window,
}

impl Scope<'_> {
    /// The target's actor system.
    pub fn system(&self) -> Result<System, InjectError> {
        self.surface
            .system
            .clone()
            .ok_or(InjectError::NoActorSystem)
    }

    /// The device repository's fault seam.
    pub fn repository(&self) -> Result<&Arc<RepositoryFaults>, InjectError> {
        self.surface
            .repository
            .as_ref()
            .ok_or(InjectError::NoRepository)
    }

    /// What floods the workload's mailboxes.
    pub fn flooder(&self) -> Result<Flooder, InjectError> {
        self.surface.flood.clone().ok_or(InjectError::NotFloodable)
    }

    /// The target's child process.
    pub fn process(&self) -> Result<&ProcessControl, InjectError> {
        self.surface.process.as_ref().ok_or(InjectError::NotInChild)
    }

    /// The live actors' addresses now.
    pub fn live(&self) -> Vec<String> {
        self.surface.live()
    }

    /// `count` of the actors among `live` that `glob` matches (all when `None`),
    /// drawn from the window's seed; sorted.
    pub fn victims(
        &self,
        glob: &str,
        count: Option<usize>,
        live: &[String],
    ) -> Result<Vec<String>, InjectError> {
        let hits = Selector::new(glob)?.resolve(live)?;
        Ok(choose(hits, count, self.window.seed))
    }

    /// The fault's own victims: its `target` glob and `victims` count.
    pub fn own_victims(&self) -> Result<Vec<String>, InjectError> {
        self.victims(&self.spec.target, self.spec.victims, &self.live())
    }
}

/// Parses victims' addresses (those that do not parse are skipped: the runtime gave
/// them, so none should fail).
pub fn addresses(victims: &[String]) -> Vec<Address> {
    victims
        .iter()
        .filter_map(|v| Address::parse(v).ok())
        .collect()
}

/// One fault kind: its facts, its fields, and one window's start and end.
///
/// Implemented by one type per module under [`super::kinds`]; the type's value is the
/// kind's own settings (read from its fields), so a fault with settings of another
/// kind cannot be written down.
pub trait FaultKind: fmt::Debug + Clone + PartialEq + Send + Sync + Sized {
    /// What the kind is.
    const FACTS: Facts;

    /// What a running window holds until it ends (a handle to undo the fault, a
    /// task to wait for, counts to compare).
    type Active: Send;

    /// Reads the kind's settings from its fields; `None` only after recording a
    /// problem in `fields`.
    fn read(fields: &mut Fields) -> Option<Self>;

    /// Starts one window: acts on the target and records victims (and what else is
    /// known at once) in `record`.
    fn start(
        &self,
        scope: Scope<'_>,
        record: &mut Injection,
    ) -> impl Future<Output = Result<Self::Active, InjectError>> + Send;

    /// Ends the window: undoes the fault and records what it affected. The default
    /// drops what `start` held.
    fn end(
        &self,
        active: Self::Active,
        scope: Scope<'_>,
        record: &mut Injection,
    ) -> impl Future<Output = ()> + Send {
        let _ = (scope, record);
        async move { drop(active) }
    }
}
