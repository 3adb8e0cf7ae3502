//! Telemetry: readings, per-key thresholds and the alerts they raise.

use super::domain::{DeviceId, Timestamp};
use super::state::Key;

/// One measurement from a device: 24 bytes, no allocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// What was measured.
    pub key: Key,
    /// The measured value.
    pub value: f64,
    /// When it was measured.
    pub at: Timestamp,
}

impl Reading {
    /// A reading of `key` taken at `at`.
    pub fn at(key: Key, value: f64, at: Timestamp) -> Self {
        Self { key, value, at }
    }

    /// A reading taken now.
    pub fn now(key: Key, value: f64) -> Self {
        Self {
            key,
            value,
            at: Timestamp::now(),
        }
    }
}

/// Bounds for one key. A reading outside `[min, max]` is a violation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// Lowest acceptable value (`None`: no lower bound).
    pub min: Option<f64>,
    /// Highest acceptable value (`None`: no upper bound).
    pub max: Option<f64>,
    /// Raise an [`Alert`] when a violation begins (otherwise violations are only counted).
    pub alert: bool,
}

impl Threshold {
    /// Bounds `[min, max]` that raise alerts.
    pub fn range(min: f64, max: f64) -> Self {
        Self {
            min: Some(min),
            max: Some(max),
            alert: true,
        }
    }

    /// Whether `value` is outside the bounds.
    pub fn violated_by(&self, value: f64) -> bool {
        self.min.is_some_and(|m| value < m) || self.max.is_some_and(|m| value > m)
    }
}

/// The thresholds of one device type: at most 64 keys (a device tracks which are in
/// violation in one word).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds(Vec<(Key, Threshold)>);

impl Thresholds {
    /// Most keys one set may bound.
    pub const LIMIT: usize = 64;

    /// No thresholds.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds (or replaces) the bounds of `key`. Past [`LIMIT`](Self::LIMIT) keys the
    /// extra ones are ignored, and `false` is returned.
    pub fn with(mut self, key: Key, threshold: Threshold) -> Self {
        self.insert(key, threshold);
        self
    }

    /// Adds (or replaces) the bounds of `key`; `false` if the set is full.
    pub fn insert(&mut self, key: Key, threshold: Threshold) -> bool {
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = threshold;
            return true;
        }
        if self.0.len() >= Self::LIMIT {
            return false;
        }
        self.0.push((key, threshold));
        true
    }

    /// The bounds of `key` and its index (for violation tracking).
    #[inline]
    pub fn find(&self, key: Key) -> Option<(usize, &Threshold)> {
        self.0
            .iter()
            .enumerate()
            .find(|(_, (k, _))| *k == key)
            .map(|(i, (_, t))| (i, t))
    }

    /// Whether no key is bounded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A threshold violation began: raised once when a key goes out of bounds, and not
/// again until it has come back in bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Which device.
    pub device: DeviceId,
    /// Which key.
    pub key: Key,
    /// The offending value.
    pub value: f64,
    /// The bounds it broke.
    pub threshold: Threshold,
    /// When the reading was taken.
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive() {
        let t = Threshold::range(0.0, 10.0);
        assert!(!t.violated_by(0.0) && !t.violated_by(10.0));
        assert!(t.violated_by(-0.1) && t.violated_by(10.1));
        let open = Threshold {
            min: None,
            max: Some(1.0),
            alert: false,
        };
        assert!(!open.violated_by(-1e9));
    }

    #[test]
    fn at_most_64_keys() {
        let mut set = Thresholds::new();
        for i in 0..Thresholds::LIMIT {
            assert!(set.insert(
                Key::new(&format!("k{i}")).unwrap(),
                Threshold::range(0.0, 1.0)
            ));
        }
        assert!(!set.insert(
            Key::new("one-too-many").unwrap(),
            Threshold::range(0.0, 1.0)
        ));
        let k0 = Key::new("k0").unwrap();
        assert!(
            set.insert(k0, Threshold::range(1.0, 2.0)),
            "replacing is fine"
        );
        assert_eq!(set.find(k0).map(|(i, _)| i), Some(0));
    }
}
