//! Health: liveness (the actor system answers) and readiness (the repository's circuit
//! is closed), as one value the harness exports.

use super::breaker::BreakerState;

/// The device runtime's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// The runtime's probe actor answered an ask within the timeout: the actor system
    /// is scheduling messages.
    pub live: bool,
    /// Live, and the repository's circuit breaker is closed: durable commands can be
    /// acknowledged.
    pub ready: bool,
    /// The circuit breaker's state.
    pub breaker: BreakerState,
}

impl Health {
    /// `ok`, `degraded` (live but not ready) or `down`.
    pub fn as_str(&self) -> &'static str {
        match (self.live, self.ready) {
            (true, true) => "ok",
            (true, false) => "degraded",
            (false, _) => "down",
        }
    }
}
