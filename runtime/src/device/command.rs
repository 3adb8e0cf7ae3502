//! Commands to a device and their responses.
//!
//! | action        | payload                                  | response                    | durable before ack |
//! |---------------|------------------------------------------|-----------------------------|--------------------|
//! | `set_state`   | object of key -> scalar                  | [`Response::Ack`]           | no (write-behind)  |
//! | `get_state`   | `null` or `{}`                           | [`Response::State`]         | -                  |
//! | `set_desired` | object of key -> scalar, `null` unsets   | [`Response::Ack`]           | yes                |
//!
//! Anything else is [`CommandError::UnknownAction`]; a payload of the wrong shape is
//! [`CommandError::MalformedPayload`]. Neither changes the twin.

use std::borrow::Cow;

use super::domain::DeviceId;
use super::store::StoreError;
use super::twin::DigitalTwin;

/// A request to a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// What to do (`set_state`, `get_state`, `set_desired`).
    pub action: Cow<'static, str>,
    /// Its argument.
    pub payload: serde_json::Value,
}

impl Command {
    /// A command with any action name (unknown ones get [`CommandError::UnknownAction`]).
    pub fn new(action: impl Into<Cow<'static, str>>, payload: serde_json::Value) -> Self {
        Self {
            action: action.into(),
            payload,
        }
    }

    /// `get_state`.
    pub fn get_state() -> Self {
        Self::new("get_state", serde_json::Value::Null)
    }

    /// `set_state` with an object of key -> scalar.
    pub fn set_state(state: serde_json::Value) -> Self {
        Self::new("set_state", state)
    }

    /// `set_desired` with an object of key -> scalar (`null` unsets a key).
    pub fn set_desired(state: serde_json::Value) -> Self {
        Self::new("set_desired", state)
    }

    /// The action, if it is one a device knows.
    pub fn action(&self) -> Option<Action> {
        Action::parse(&self.action)
    }
}

/// The actions a device knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Merge into the reported state.
    SetState,
    /// Read the twin.
    GetState,
    /// Merge into the desired state (durably).
    SetDesired,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 3] = [Action::SetState, Action::GetState, Action::SetDesired];

    /// The action's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SetState => "set_state",
            Action::GetState => "get_state",
            Action::SetDesired => "set_desired",
        }
    }

    /// The action named `s`.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A device's answer to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// The change was applied; the twin is now at this version.
    Ack {
        /// The twin's version after the command.
        version: u64,
    },
    /// The twin (for `get_state`).
    State(Box<DigitalTwin>),
}

impl Response {
    /// The response as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Response::Ack { version } => serde_json::json!({ "ok": true, "version": version }),
            Response::State(twin) => twin.to_json(),
        }
    }
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// No device action has this name.
    #[error("unknown action {0:?} (expected set_state, get_state or set_desired)")]
    UnknownAction(String),
    /// The payload has the wrong shape for the action.
    #[error("malformed payload for {action}: {reason}")]
    MalformedPayload {
        /// The action.
        action: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The device is not registered.
    #[error("device {0} is not registered")]
    UnknownDevice(DeviceId),
    /// The repository could not make the change durable (nothing was acknowledged;
    /// the device's state is unchanged).
    #[error("repository: {0}")]
    Store(#[from] StoreError),
    /// The device did not answer (its mailbox refused the request, it stopped, or the
    /// deadline passed).
    #[error("device did not answer: {0}")]
    NoAnswer(#[from] crate::actor::AskError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_by_name() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(
            Command::new("reboot", serde_json::Value::Null).action(),
            None
        );
    }
}
