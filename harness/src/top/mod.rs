//! `gauntlet top`: a live terminal view of a running run's actors, from its metrics
//! endpoint (`gauntlet run --metrics-addr ADDR`).
//!
//! The view polls `/actors` (see [`crate::metrics::actors`]) once per refresh and
//! shows the run's ops/s, p99, errors and active faults, the runtime totals, a table of
//! actors (state, mailbox depth and peak, handled, busy time, current handler,
//! restarts, what it waits on or its last failure) and the wait-for graph. Keys are
//! shown on screen: `s` cycles the sort key (depth, busy, running, restarts, handled),
//! `/` edits the address glob, `↑`/`↓` scroll, `q` quits. It exits by itself when the
//! run ends (the endpoint says so, or goes away).
//!
//! [`once`] prints one plain table instead, for scripts and CI logs:
//! `gauntlet top --once ADDR`.
//!
//! The pieces are separate so each is tested on its own: [`client`] fetches a page,
//! [`app`] holds what the user chose and reacts to keys, [`view`] draws (tested with
//! ratatui's `TestBackend`), [`once`] writes the text table, [`terminal`] runs the loop
//! on a real terminal.

pub mod app;
pub mod client;
pub mod columns;
pub mod command;
pub mod once;
pub mod terminal;
pub mod view;

pub use command::{TopArgs, command};

/// Where `gauntlet top` looks when no address is given: the port to pass to
/// `gauntlet run --metrics-addr`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";

/// Why `gauntlet top` could not show a run.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    /// The address is not usable.
    #[error(transparent)]
    Addr(#[from] crate::metrics::MetricsError),
    /// Nothing answered, or the answer was not a page.
    #[error(
        "cannot read {url}: {reason} (is a run serving metrics there? start one with `gauntlet run SCENARIO --metrics-addr ADDR`)"
    )]
    Fetch {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The terminal could not be driven.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}
