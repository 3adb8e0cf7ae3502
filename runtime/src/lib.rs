//! Gauntlet runtime (work in progress).
pub mod actor;
