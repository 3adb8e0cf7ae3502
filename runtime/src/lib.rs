//! # gauntlet-runtime
//!
//! The system Gauntlet puts under load, usable on its own:
//!
//! - [`actor`]: typed actors on tokio with bounded mailboxes and backpressure policies,
//!   URI addresses, supervision trees, ordered graceful shutdown, entities (virtual
//!   actors) with passivation, ask-cycle (deadlock) detection and a stall watchdog.
//! - [`graph`]: flow graphs whose nodes run as actors.
//! - [`device`]: a smart-home device runtime (devices, rooms, digital twins, pipelines)
//!   on both, with an embedded SQLite repository behind a circuit breaker.
#![warn(missing_docs)]
// Unsafe code lives in a few files of `actor` (the mailbox queue, reply slots, the
// current-actor mark): every unsafe operation sits in its own block with a SAFETY note.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod actor;
// Under `--cfg gauntlet_loom` only the model-checked actor pieces are built.
#[cfg(not(gauntlet_loom))]
pub mod device;
#[cfg(not(gauntlet_loom))]
pub mod graph;
