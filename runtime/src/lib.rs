//! # gauntlet-runtime
//!
//! The system Gauntlet puts under load, usable on its own: typed actors on tokio with
//! bounded mailboxes and backpressure policies, URI addresses, supervision trees and
//! ordered graceful shutdown ([`actor`]).
#![warn(missing_docs)]

pub mod actor;
