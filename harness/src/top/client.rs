//! Fetching `/actors` pages from a run's metrics endpoint.

use std::net::SocketAddr;
use std::time::Duration;

use super::TopError;
use crate::metrics::actors::ActorsPage;
use crate::metrics::parse_addr;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// A client of one endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    agent: ureq::Agent,
}

impl Client {
    /// A client of `addr`: `HOST:PORT`, `:PORT`, `PORT`, or a URL `http://HOST:PORT/...`
    /// as `gauntlet run` prints it.
    pub fn new(addr: &str) -> Result<Self, TopError> {
        let bare = addr.trim();
        let bare = bare.strip_prefix("http://").unwrap_or(bare);
        let bare = bare.split('/').next().unwrap_or(bare);
        let addr = parse_addr(bare)?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Ok(Self { addr, agent })
    }

    /// The endpoint's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Fetches `/actors?QUERY` (`query` already URL-encoded, without `?`).
    pub fn actors(&self, query: &str) -> Result<ActorsPage, TopError> {
        let url = format!("http://{}/actors?{query}", self.addr);
        let fail = |reason: String| TopError::Fetch {
            url: url.clone(),
            reason,
        };
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| fail(e.to_string()))?;
        if status != 200 {
            return Err(fail(format!("HTTP {status}: {}", body.trim())));
        }
        serde_json::from_str(&body).map_err(|e| fail(format!("not an /actors page: {e}")))
    }
}
