//! Pipelines: ordered stages every reading passes through before it reaches the twin.
//!
//! A [`Pipeline`] runs its validation stages, then its transformation stages, then its
//! enrichment stages, each group in the order the stages were added. A stage may change
//! the reading, add one derived reading ([`Flow::Also`]), or fail. A failure stops *that*
//! reading (the twin is not updated with it), is counted per stage in
//! [`PipelineStats`], is published as a [`DeviceEvent::PipelineFailed`](super::DeviceEvent),
//! and is answered with [`TelemetryError::Stage`] when the reading was sent with an
//! acknowledgement; the device then carries on with its next message.
//!
//! Stages are shared by every device of a runtime (`Send + Sync`, `&self`): keep
//! per-device state in the twin, not in a stage.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use super::domain::{DeviceId, Timestamp};
use super::state::{Key, State};
use super::telemetry::Reading;

/// Where a stage runs in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageKind {
    /// Rejects readings that must not reach the twin. Runs first.
    Validation,
    /// Rewrites readings (units, scaling, renaming). Runs second.
    Transformation,
    /// Adds context or derived readings. Runs last.
    Enrichment,
}

impl StageKind {
    /// The kind's name: `validation`, `transformation`, `enrichment`.
    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Validation => "validation",
            StageKind::Transformation => "transformation",
            StageKind::Enrichment => "enrichment",
        }
    }
}

/// What to do after a stage succeeded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flow {
    /// Go on with the (possibly changed) reading.
    Continue,
    /// Go on, and also apply this derived reading to the twin (it skips the remaining
    /// stages).
    Also(Reading),
}

/// Why a stage refused a reading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StageError(pub Cow<'static, str>);

/// What a stage sees besides the reading.
#[derive(Debug, Clone, Copy)]
pub struct StageInput<'a> {
    /// The device the reading is for.
    pub device: DeviceId,
    /// Its reported state before this reading.
    pub reported: &'a State,
}

/// One step of a pipeline.
pub trait Stage: Send + Sync + 'static {
    /// The stage's name in stats and errors.
    fn name(&self) -> &'static str;
    /// Where it runs.
    fn kind(&self) -> StageKind;
    /// Processes one reading.
    fn apply(&self, input: StageInput<'_>, reading: &mut Reading) -> Result<Flow, StageError>;
}

/// A reading a stage refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} stage {stage} refused the reading: {error}")]
pub struct StageFailure {
    /// The stage's name.
    pub stage: &'static str,
    /// The stage's kind.
    pub kind: &'static str,
    /// Its reason.
    pub error: StageError,
}

/// Why a reading was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryError {
    /// A pipeline stage refused it.
    #[error(transparent)]
    Stage(#[from] StageFailure),
    /// The device is not registered.
    #[error("device {0} is not registered")]
    UnknownDevice(DeviceId),
    /// The device did not answer (only for readings sent with an acknowledgement).
    #[error("device did not answer: {0}")]
    NoAnswer(#[from] crate::actor::AskError),
}

struct Slot {
    stage: Box<dyn Stage>,
    failures: AtomicU64,
}

/// Ordered stages shared by every device of a runtime.
#[derive(Default)]
pub struct Pipeline {
    slots: Vec<Slot>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.slots.iter().map(|s| s.stage.name()))
            .finish()
    }
}

/// Failures of one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageStats {
    /// The stage's name.
    pub stage: &'static str,
    /// Its kind.
    pub kind: StageKind,
    /// Readings it refused.
    pub failures: u64,
}

/// Failures per stage, in pipeline order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PipelineStats {
    /// One entry per stage.
    pub stages: Vec<StageStats>,
}

impl PipelineStats {
    /// Failures over all stages.
    pub fn failures(&self) -> u64 {
        self.stages.iter().map(|s| s.failures).sum()
    }
}

impl Pipeline {
    /// A pipeline with no stages (readings go straight to the twin).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `stage` after the others of its kind.
    pub fn stage(mut self, stage: impl Stage) -> Self {
        let slot = Slot {
            stage: Box::new(stage),
            failures: AtomicU64::new(0),
        };
        let kind = slot.stage.kind();
        let at = self
            .slots
            .iter()
            .position(|s| s.stage.kind() > kind)
            .unwrap_or(self.slots.len());
        self.slots.insert(at, slot);
        self
    }

    /// The stages' names in the order they run.
    pub fn names(&self) -> Vec<&'static str> {
        self.slots.iter().map(|s| s.stage.name()).collect()
    }

    /// Runs `reading` through every stage. Derived readings go into `derived` (the
    /// first 4; any more are counted there as overflow).
    #[inline]
    pub fn run(
        &self,
        input: StageInput<'_>,
        reading: &mut Reading,
        derived: &mut Derived,
    ) -> Result<(), StageFailure> {
        for slot in &self.slots {
            match slot.stage.apply(input, reading) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Also(extra)) => derived.push(extra),
                Err(error) => {
                    slot.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(StageFailure {
                        stage: slot.stage.name(),
                        kind: slot.stage.kind().as_str(),
                        error,
                    });
                }
            }
        }
        Ok(())
    }

    /// Failures per stage so far.
    pub fn stats(&self) -> PipelineStats {
        PipelineStats {
            stages: self
                .slots
                .iter()
                .map(|s| StageStats {
                    stage: s.stage.name(),
                    kind: s.stage.kind(),
                    failures: s.failures.load(Ordering::Relaxed),
                })
                .collect(),
        }
    }
}

/// Derived readings from one pass through a pipeline; fixed capacity, no allocation.
#[derive(Debug, Default)]
pub struct Derived {
    items: [Option<Reading>; 4],
    len: usize,
    overflow: u64,
}

impl Derived {
    fn push(&mut self, r: Reading) {
        if self.len < self.items.len() {
            self.items[self.len] = Some(r);
            self.len += 1;
        } else {
            self.overflow += 1;
        }
    }

    /// Takes the derived readings out, leaving it empty.
    pub fn drain(&mut self) -> impl Iterator<Item = Reading> + '_ {
        let n = std::mem::take(&mut self.len);
        self.items[..n].iter_mut().filter_map(Option::take)
    }

    /// Derived readings beyond the capacity, which were not applied.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }
}

/// Validation: refuses NaN and infinite values.
#[derive(Debug, Clone, Copy, Default)]
pub struct FiniteValue;

impl Stage for FiniteValue {
    fn name(&self) -> &'static str {
        "finite-value"
    }
    fn kind(&self) -> StageKind {
        StageKind::Validation
    }
    fn apply(&self, _: StageInput<'_>, r: &mut Reading) -> Result<Flow, StageError> {
        if r.value.is_finite() {
            Ok(Flow::Continue)
        } else {
            Err(StageError(Cow::Borrowed("value is not a finite number")))
        }
    }
}

/// Validation: refuses values of `key` outside what the sensor can physically measure
/// (unlike a [`Threshold`](super::Threshold), which accepts the reading and alerts).
#[derive(Debug, Clone, Copy)]
pub struct PlausibleRange {
    /// The key checked.
    pub key: Key,
    /// Smallest plausible value.
    pub min: f64,
    /// Largest plausible value.
    pub max: f64,
}

impl Stage for PlausibleRange {
    fn name(&self) -> &'static str {
        "plausible-range"
    }
    fn kind(&self) -> StageKind {
        StageKind::Validation
    }
    fn apply(&self, _: StageInput<'_>, r: &mut Reading) -> Result<Flow, StageError> {
        if r.key == self.key && !(self.min..=self.max).contains(&r.value) {
            return Err(StageError(Cow::Borrowed(
                "value outside the plausible range",
            )));
        }
        Ok(Flow::Continue)
    }
}

/// Transformation: `value * factor + offset` for `key` (unit conversion).
#[derive(Debug, Clone, Copy)]
pub struct Linear {
    /// The key converted.
    pub key: Key,
    /// Multiplier.
    pub factor: f64,
    /// Added after multiplying.
    pub offset: f64,
}

impl Stage for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn kind(&self) -> StageKind {
        StageKind::Transformation
    }
    fn apply(&self, _: StageInput<'_>, r: &mut Reading) -> Result<Flow, StageError> {
        if r.key == self.key {
            r.value = r.value * self.factor + self.offset;
        }
        Ok(Flow::Continue)
    }
}

/// Enrichment: stamps readings that arrive without a time (`at == 0`) with the arrival
/// time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArrivalTime;

impl Stage for ArrivalTime {
    fn name(&self) -> &'static str {
        "arrival-time"
    }
    fn kind(&self) -> StageKind {
        StageKind::Enrichment
    }
    fn apply(&self, _: StageInput<'_>, r: &mut Reading) -> Result<Flow, StageError> {
        if r.at == Timestamp(0) {
            r.at = Timestamp::now();
        }
        Ok(Flow::Continue)
    }
}

/// Enrichment: for every reading of `from`, also reports `to` as the change since the
/// previous reported value of `from` (a rate, per reading).
#[derive(Debug, Clone, Copy)]
pub struct Change {
    /// The key watched.
    pub from: Key,
    /// The key the change is reported under.
    pub to: Key,
}

impl Stage for Change {
    fn name(&self) -> &'static str {
        "change"
    }
    fn kind(&self) -> StageKind {
        StageKind::Enrichment
    }
    fn apply(&self, input: StageInput<'_>, r: &mut Reading) -> Result<Flow, StageError> {
        if r.key != self.from {
            return Ok(Flow::Continue);
        }
        let before = match input.reported.get(self.from) {
            Some(super::state::Value::Number(n)) => *n,
            _ => r.value,
        };
        Ok(Flow::Also(Reading {
            key: self.to,
            value: r.value - before,
            at: r.at,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_run_by_kind_then_insertion_and_failures_are_counted() {
        let t = Key::new("temp-f").unwrap();
        let d = Key::new("temp-change").unwrap();
        let pipeline = Pipeline::new()
            .stage(Change { from: t, to: d })
            .stage(Linear {
                key: t,
                factor: 2.0,
                offset: 1.0,
            })
            .stage(FiniteValue)
            .stage(PlausibleRange {
                key: t,
                min: -50.0,
                max: 150.0,
            });
        assert_eq!(
            pipeline.names(),
            ["finite-value", "plausible-range", "linear", "change"]
        );
        let reported = State::new();
        let input = StageInput {
            device: DeviceId(1),
            reported: &reported,
        };
        let mut derived = Derived::default();
        let mut r = Reading {
            key: t,
            value: 10.0,
            at: Timestamp(5),
        };
        pipeline.run(input, &mut r, &mut derived).unwrap();
        assert_eq!(r.value, 21.0);
        assert_eq!(derived.drain().count(), 1);

        let mut bad = Reading {
            value: f64::NAN,
            ..r
        };
        let err = pipeline.run(input, &mut bad, &mut derived).unwrap_err();
        assert_eq!(err.stage, "finite-value");
        let mut implausible = Reading { value: 900.0, ..r };
        assert!(pipeline.run(input, &mut implausible, &mut derived).is_err());
        let stats = pipeline.stats();
        assert_eq!(stats.failures(), 2);
        assert_eq!(stats.stages[0].failures, 1);
        assert_eq!(stats.stages[1].failures, 1);
    }
}
