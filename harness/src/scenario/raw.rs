//! The scenario file as written: every field optional where the model has a default,
//! unknown fields refused. [`super::parse`] turns it into the model.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::model::MailboxPolicy;
use crate::units::DurationSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub seed: Option<u64>,
    pub duration: DurationSpec,
    pub warmup: Option<DurationSpec>,
    pub tick: Option<DurationSpec>,
    pub grace: Option<DurationSpec>,
    #[serde(default)]
    pub runtime: RawRuntime,
    #[serde(default)]
    pub watchdog: RawWatchdog,
    /// Checked for presence here; parsed against the registry by `super::target`.
    #[allow(
        dead_code,
        reason = "presence only; the table is read from the document"
    )]
    pub target: serde::de::IgnoredAny,
    #[serde(rename = "load")]
    pub loads: Vec<RawLoad>,
    #[serde(default)]
    pub thresholds: BTreeMap<String, Vec<String>>,
    pub capacity: Option<crate::capacity::CapacitySpec>,
    #[serde(default)]
    pub baseline: BTreeMap<String, String>,
    #[serde(default, rename = "fault")]
    pub faults: Vec<super::fault::RawFault>,
    #[serde(default)]
    pub recovery: super::fault::RawRecovery,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRuntime {
    pub worker_threads: Option<i64>,
    pub load_threads: Option<i64>,
    pub mailbox_capacity: Option<i64>,
    pub mailbox_policy: Option<MailboxPolicy>,
    pub hibernate_after: Option<DurationSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWatchdog {
    pub stall_after: Option<DurationSpec>,
    pub fail_on_stall: Option<bool>,
    pub shutdown_timeout: Option<DurationSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum ExecutorKind {
    ConstantArrivalRate,
    RampingArrivalRate,
    ConstantConcurrency,
    RampingConcurrency,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoad {
    pub name: Option<String>,
    pub op: String,
    pub executor: ExecutorKind,
    pub rate: Option<f64>,
    pub time_unit: Option<DurationSpec>,
    pub start_rate: Option<f64>,
    pub concurrency: Option<i64>,
    pub start_concurrency: Option<i64>,
    pub stages: Option<Vec<RawStage>>,
    pub duration: Option<DurationSpec>,
    pub start: Option<DurationSpec>,
    pub max_in_flight: Option<i64>,
    pub drop_after: Option<DurationSpec>,
    pub op_timeout: Option<DurationSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStage {
    pub target: f64,
    pub duration: DurationSpec,
}
