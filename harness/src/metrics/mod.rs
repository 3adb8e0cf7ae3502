//! Live Prometheus metrics of a run (`gauntlet run --metrics-addr ADDR`).
//!
//! The [`Exporter`] owns a registry of every family a run exports (`families`); the
//! run loop hands it each tick's timeline entry and interval histograms
//! ([`Observation`]), the same figures the timeline gets, so what Prometheus shows
//! and what `results.json` says agree. Nothing is read on the message path: the
//! target's counters are read once per tick by the collector, and a scrape only
//! encodes what the last tick stored.
//!
//! [`MetricsServer`] serves the text exposition (the classic format that
//! `promtool check metrics` accepts) on `/metrics` from its own thread for the whole
//! run; [`Exporter::push`] sends the final figures to a Pushgateway once at the end.
//! Every series carries a `scenario` label, so one Prometheus can watch several runs.
//! The same server answers `/actors` and `/waits` with live per-actor snapshots of the
//! target's actor system ([`actors`]).
//!
//! ```
//! use std::sync::Arc;
//! use gauntlet_harness::metrics::{Exporter, MetricsServer, RunInfo};
//!
//! let info = RunInfo { seed: 1, version: "0.1.0".into(), workload: "synthetic".into() };
//! let exporter = Arc::new(Exporter::new("doc", &["call".to_owned()], &info).unwrap());
//! let server = MetricsServer::start(exporter.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
//! assert!(server.local_addr().port() > 0);
//! assert!(exporter.render().unwrap().contains("gauntlet_run_info{"));
//! ```

pub mod actors;
mod families;
pub mod latency;
pub mod push;
pub mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use prometheus::{Registry, TextEncoder};

pub use families::{Families, Observation, RunInfo};
pub use server::{MetricsServer, parse_addr};

/// What went wrong exporting metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// `--metrics-addr` is not an address.
    #[error("--metrics-addr {addr:?}: {reason}")]
    BadAddr {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The address could not be bound (typically: the port is in use).
    #[error("cannot serve metrics on {addr}: {error}{hint}", hint = bind_hint(error))]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error (part of the message rather than a separate cause, so that
        /// the CLI prints it once).
        error: std::io::Error,
    },
    /// A family could not be registered or encoded (a bug, not a user error).
    #[error("prometheus: {0}")]
    Prometheus(#[from] prometheus::Error),
    /// Pushing to the Pushgateway failed.
    #[error("cannot push metrics to {url}: {reason}")]
    Push {
        /// The URL pushed to.
        url: String,
        /// Why it failed.
        reason: String,
    },
}

fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (the port is in use: pick another with --metrics-addr 127.0.0.1:PORT)"
        }
        std::io::ErrorKind::AddrNotAvailable => " (no interface of this machine has that address)",
        _ => "",
    }
}

/// The registry of one run's metrics, updated once per tick.
#[derive(Debug)]
pub struct Exporter {
    registry: Registry,
    scenario: String,
    /// Held while a tick updates the families and while a scrape gathers them, so a
    /// scrape never sees half a tick.
    families: Mutex<Families>,
    /// The target's actor system and the latest tick, for `/actors` and `/waits`.
    live: actors::LiveView,
}

impl Exporter {
    /// A registry for the run of scenario `scenario` issuing `ops` (in the collector's
    /// slot order).
    pub fn new(scenario: &str, ops: &[String], info: &RunInfo) -> Result<Self, MetricsError> {
        let labels = HashMap::from([("scenario".to_owned(), scenario.to_owned())]);
        let registry = Registry::new_custom(None, Some(labels))?;
        let families = Families::register(&registry, ops, info)?;
        Ok(Self {
            registry,
            scenario: scenario.to_owned(),
            families: Mutex::new(families),
            live: actors::LiveView::default(),
        })
    }

    /// The live actor view (`/actors`, `/waits`): the run attaches its target's actor
    /// system here.
    pub fn live(&self) -> &actors::LiveView {
        &self.live
    }

    /// The scenario's name.
    pub fn scenario(&self) -> &str {
        &self.scenario
    }

    /// Updates every family from one tick.
    pub fn observe(&self, observation: &Observation<'_>) {
        let mut f = self.families.lock().unwrap_or_else(|e| e.into_inner());
        f.observe(observation);
        self.live.observe(observation.tick);
    }

    /// The text exposition of the current figures.
    pub fn render(&self) -> Result<String, MetricsError> {
        let gathered = {
            let _f = self.families.lock().unwrap_or_else(|e| e.into_inner());
            self.registry.gather()
        };
        Ok(TextEncoder::new().encode_to_string(&gathered)?)
    }

    /// Pushes the current figures to the Pushgateway at `gateway` (its base URL, e.g.
    /// `http://127.0.0.1:9091`); returns the URL pushed to.
    pub fn push(&self, gateway: &str) -> Result<String, MetricsError> {
        let url = push::push_url(gateway, &self.scenario)?;
        push::push(&url, &self.render()?)?;
        Ok(url)
    }
}
