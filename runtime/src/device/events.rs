//! Events the device runtime publishes: alerts and refused readings.
//!
//! Published on a broadcast channel only while someone subscribes
//! ([`DeviceRuntime::events`](super::DeviceRuntime::events)); a subscriber that falls
//! more than the buffer behind misses the oldest (its receiver says how many). The
//! counts in [`DeviceStats`](super::DeviceStats) are always complete.

use super::domain::DeviceId;
use super::pipeline::StageFailure;
use super::telemetry::Alert;

/// Something that happened in the device runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceEvent {
    /// A threshold violation began.
    Alert(Alert),
    /// A pipeline stage refused a reading.
    PipelineFailed {
        /// Whose reading.
        device: DeviceId,
        /// Which stage and why.
        failure: StageFailure,
    },
}
