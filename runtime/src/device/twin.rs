//! The digital twin: what a device reports, what it is asked to be, and the gap.

use super::domain::{DeviceId, DeviceStatus, Timestamp};
use super::state::{Key, State, Value};

/// A device's digital twin.
///
/// `version` increases by one on every change to either side (a reading or command
/// that sets a value to what it already was is not a change). The *delta* is the set
/// of desired keys whose reported value differs (or is missing): what the device has
/// yet to do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DigitalTwin {
    /// What the device last reported.
    pub reported: State,
    /// What the device has been asked to be.
    pub desired: State,
    /// Changes so far.
    pub version: u64,
    /// When it last changed (`None`: never).
    pub updated_at: Option<Timestamp>,
}

impl DigitalTwin {
    /// An empty twin at version 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Desired keys whose reported value differs or is missing, with the desired value.
    pub fn delta(&self) -> Vec<(Key, Value)> {
        self.desired
            .iter()
            .filter(|(k, v)| self.reported.get(*k) != Some(v))
            .map(|(k, v)| (k, v.clone()))
            .collect()
    }

    /// Records a reported number; `true` (and a new version) if it changed.
    pub fn report_number(&mut self, key: Key, value: f64, at: Timestamp) -> bool {
        let changed = self.reported.set_number(key, value);
        self.touch(changed, at)
    }

    /// Merges `state` into the reported side; `true` (and a new version) if it changed.
    pub fn report(&mut self, state: &State, at: Timestamp) -> bool {
        let mut changed = false;
        for (k, v) in state.iter() {
            changed |= self.reported.set(k, v.clone());
        }
        self.touch(changed, at)
    }

    /// Merges `set` into the desired side and removes `unset`; `true` (and a new
    /// version) if it changed.
    pub fn desire(&mut self, set: &State, unset: &[Key], at: Timestamp) -> bool {
        let mut changed = false;
        for (k, v) in set.iter() {
            changed |= self.desired.set(k, v.clone());
        }
        for k in unset {
            changed |= self.desired.remove(*k);
        }
        self.touch(changed, at)
    }

    fn touch(&mut self, changed: bool, at: Timestamp) -> bool {
        if changed {
            self.version += 1;
            self.updated_at = Some(at);
        }
        changed
    }

    /// The twin as JSON: `{"reported": {..}, "desired": {..}, "delta": {..}, "version": n}`.
    pub fn to_json(&self) -> serde_json::Value {
        let delta: serde_json::Map<String, serde_json::Value> = self
            .delta()
            .into_iter()
            .map(|(k, v)| (k.name().to_string(), v.to_json()))
            .collect();
        serde_json::json!({
            "reported": self.reported.to_json(),
            "desired": self.desired.to_json(),
            "delta": delta,
            "version": self.version,
        })
    }
}

/// A twin as the repository stores it, with the device's live status: everything
/// about a device that changes per message, written in one row.
#[derive(Debug, Clone, PartialEq)]
pub struct TwinRecord {
    /// Whose twin.
    pub device: DeviceId,
    /// The twin.
    pub twin: DigitalTwin,
    /// The device's status.
    pub status: DeviceStatus,
    /// When telemetry last arrived.
    pub last_seen: Option<Timestamp>,
}

impl TwinRecord {
    /// The record of an offline device that was never seen.
    pub fn new(device: DeviceId, twin: DigitalTwin) -> Self {
        Self {
            device,
            twin,
            status: DeviceStatus::Offline,
            last_seen: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_counts_changes_and_delta_is_the_gap() {
        let (t, p) = (Key::new("target").unwrap(), Key::new("power").unwrap());
        let now = Timestamp(1);
        let mut twin = DigitalTwin::new();
        let mut want = State::new();
        want.set(t, Value::Number(21.0));
        want.set(p, Value::Bool(true));
        assert!(twin.desire(&want, &[], now));
        assert_eq!(twin.version, 1);
        assert_eq!(twin.delta().len(), 2);
        assert!(twin.report_number(t, 21.0, now));
        assert!(!twin.report_number(t, 21.0, now), "same value is no change");
        assert_eq!(twin.version, 2);
        assert_eq!(twin.delta(), vec![(p, Value::Bool(true))]);
        assert!(twin.desire(&State::new(), &[p], now));
        assert!(twin.delta().is_empty());
        assert_eq!(twin.version, 3);
    }
}
