//! Twin state: interned keys, scalar values, and the small map that holds them.
//!
//! A [`Key`] is an attribute name (`temperature`, `power`) interned once into a
//! process-wide table, so that telemetry carries a 4-byte id instead of a string and
//! the per-message path neither hashes nor allocates. The table only grows: there are
//! at most [`Key::LIMIT`] distinct keys per process, and names from untrusted input are
//! refused past that with [`KeyError::TooMany`] instead of growing memory without bound.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

/// An interned attribute name. Cheap to copy and compare.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(u32);

/// Why a name could not become a [`Key`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Empty, longer than 64 bytes, or containing something other than ASCII letters,
    /// digits, `_`, `-` and `.`.
    #[error("invalid state key {0:?}: use 1-64 ASCII letters, digits, '_', '-' or '.'")]
    Invalid(String),
    /// The process already holds [`Key::LIMIT`] distinct keys.
    #[error("too many distinct state keys (limit {})", Key::LIMIT)]
    TooMany,
}

#[derive(Default)]
struct Interner {
    ids: HashMap<&'static str, u32>,
    names: Vec<&'static str>,
}

fn interner() -> &'static RwLock<Interner> {
    static TABLE: OnceLock<RwLock<Interner>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

impl Key {
    /// Most distinct keys a process can hold.
    pub const LIMIT: usize = 65_536;

    /// The key named `name`, interning it on first use.
    pub fn new(name: &str) -> Result<Key, KeyError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid {
            return Err(KeyError::Invalid(name.to_string()));
        }
        if let Some(&id) = read(interner()).ids.get(name) {
            return Ok(Key(id));
        }
        let mut table = interner().write().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = table.ids.get(name) {
            return Ok(Key(id));
        }
        if table.names.len() >= Self::LIMIT {
            return Err(KeyError::TooMany);
        }
        // Interned names live for the process: bounded by LIMIT.
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        let id = table.names.len() as u32;
        table.names.push(name);
        table.ids.insert(name, id);
        Ok(Key(id))
    }

    /// The key's name.
    pub fn name(self) -> &'static str {
        // Every Key was made by `new`, so its id is in the table.
        read(interner())
            .names
            .get(self.0 as usize)
            .copied()
            .unwrap_or("?")
    }
}

fn read(lock: &RwLock<Interner>) -> std::sync::RwLockReadGuard<'_, Interner> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.name())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A state value: a scalar.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `true` / `false`.
    Bool(bool),
    /// A finite number.
    Number(f64),
    /// Text.
    Text(Arc<str>),
}

impl Value {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Text(s) => serde_json::Value::String(s.to_string()),
        }
    }

    /// A JSON scalar as a value; `None` for null, arrays, objects and non-finite numbers.
    pub fn from_json(v: &serde_json::Value) -> Option<Value> {
        match v {
            serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
            serde_json::Value::Number(n) => n.as_f64().filter(|n| n.is_finite()).map(Value::Number),
            serde_json::Value::String(s) => Some(Value::Text(s.as_str().into())),
            _ => None,
        }
    }
}

/// A small map from [`Key`] to [`Value`] in insertion order. Devices have a handful of
/// attributes, for which a linear scan of a vector beats hashing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State(Vec<(Key, Value)>);

impl State {
    /// An empty state.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// The value of `key`.
    pub fn get(&self, key: Key) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Sets `key`; `true` if that changed anything.
    pub fn set(&mut self, key: Key, value: Value) -> bool {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) if *v == value => false,
            Some((_, v)) => {
                *v = value;
                true
            }
            None => {
                self.0.push((key, value));
                true
            }
        }
    }

    /// Sets `key` to a number; `true` if that changed anything. Allocation-free when
    /// the key is already present.
    pub fn set_number(&mut self, key: Key, value: f64) -> bool {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, Value::Number(v))) if *v == value => false,
            Some((_, v)) => {
                *v = Value::Number(value);
                true
            }
            None => {
                self.0.push((key, Value::Number(value)));
                true
            }
        }
    }

    /// Removes `key`; `true` if it was there.
    pub fn remove(&mut self, key: Key) -> bool {
        let before = self.0.len();
        self.0.retain(|(k, _)| *k != key);
        self.0.len() != before
    }

    /// The entries, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &Value)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The state as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.name().to_string(), v.to_json()))
                .collect(),
        )
    }

    /// A state from a JSON object of scalars.
    pub fn from_json(v: &serde_json::Value) -> Result<State, StateError> {
        let serde_json::Value::Object(map) = v else {
            return Err(StateError::NotAnObject);
        };
        let mut state = State::new();
        for (name, value) in map {
            let key = Key::new(name)?;
            let value =
                Value::from_json(value).ok_or_else(|| StateError::NotAScalar(name.clone()))?;
            state.set(key, value);
        }
        Ok(state)
    }
}

/// Why JSON could not become a [`State`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// State is a JSON object of key -> scalar.
    #[error("expected a JSON object of key -> scalar")]
    NotAnObject,
    /// A value was null, an array, an object or not a finite number.
    #[error("value of {0:?} must be a boolean, a finite number or a string")]
    NotAScalar(String),
    /// A key was not a valid name.
    #[error(transparent)]
    Key(#[from] KeyError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_intern_to_one_id() {
        let a = Key::new("temperature").unwrap();
        let b = Key::new("temperature").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.name(), "temperature");
        assert!(matches!(Key::new(""), Err(KeyError::Invalid(_))));
        assert!(matches!(Key::new("a b"), Err(KeyError::Invalid(_))));
    }

    #[test]
    fn set_reports_changes_only() {
        let k = Key::new("power").unwrap();
        let mut s = State::new();
        assert!(s.set(k, Value::Bool(true)));
        assert!(!s.set(k, Value::Bool(true)));
        assert!(s.set_number(k, 2.0));
        assert!(!s.set_number(k, 2.0));
        assert_eq!(s.get(k), Some(&Value::Number(2.0)));
        assert!(s.remove(k));
        assert!(s.is_empty());
    }

    #[test]
    fn json_round_trip_and_rejects() {
        let v = serde_json::json!({"on": true, "level": 0.5, "mode": "eco"});
        let s = State::from_json(&v).unwrap();
        assert_eq!(s.to_json(), v);
        assert_eq!(
            State::from_json(&serde_json::json!([1])),
            Err(StateError::NotAnObject)
        );
        assert!(matches!(
            State::from_json(&serde_json::json!({"x": {"y": 1}})),
            Err(StateError::NotAScalar(_))
        ));
    }
}
