//! The `/metrics` endpoint: a small HTTP server on its own OS thread. It also serves
//! the live actor view, `/actors` and `/waits` (JSON, see [`super::actors`]).
//!
//! [`tiny_http`] serves it: synchronous, a handful of small dependencies, no async
//! runtime of its own. Its own thread keeps scrapes off the control runtime (whose
//! ticks time the run) and off the target's runtime (whose tasks are being
//! measured); a scrape costs one registry gather and one text encoding, under the
//! exporter's lock, never anything on the message path; an `/actors` request costs
//! one walk of the target's actor registry (a snapshot), also off the message path.
//!
//! The listener is bound before the run starts, so a busy port is an error the CLI
//! reports (exit 2) instead of a run without metrics.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Response, Server};

use super::actors::ActorsRequest;
use super::{Exporter, MetricsError};

/// Parses `--metrics-addr`: `HOST:PORT`, `IP:PORT`, `:PORT` or `PORT`. Without a host
/// the address is loopback (`127.0.0.1`): exposing a run to the network is a choice
/// the user makes by naming an address such as `0.0.0.0:9464`.
pub fn parse_addr(text: &str) -> Result<SocketAddr, MetricsError> {
    let bad = |reason: &str| MetricsError::BadAddr {
        addr: text.to_owned(),
        reason: reason.to_owned(),
    };
    let t = text.trim();
    let port_only = t.strip_prefix(':').unwrap_or(t);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(addr) = t.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if !t.contains(':') {
        return Err(bad(
            "expected HOST:PORT, :PORT or PORT (e.g. 127.0.0.1:9464)",
        ));
    }
    let mut addrs = t
        .to_socket_addrs()
        .map_err(|e| bad(&format!("cannot resolve: {e}")))?;
    addrs.next().ok_or_else(|| bad("resolves to no address"))
}

/// A running `/metrics` endpoint; stops (and joins its thread) when dropped.
pub struct MetricsServer {
    server: Arc<Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MetricsServer {
    /// Binds `addr` and serves `exporter`'s metrics on `/metrics` until dropped.
    pub fn start(exporter: Arc<Exporter>, addr: SocketAddr) -> Result<Self, MetricsError> {
        let listener =
            TcpListener::bind(addr).map_err(|error| MetricsError::Bind { addr, error })?;
        let bound = listener
            .local_addr()
            .map_err(|error| MetricsError::Bind { addr, error })?;
        let server = Server::from_listener(listener, None).map_err(|e| MetricsError::Bind {
            addr,
            error: std::io::Error::other(e.to_string()),
        })?;
        let server = Arc::new(server);
        let s = server.clone();
        let thread = std::thread::Builder::new()
            .name("gauntlet-metrics".into())
            .spawn(move || serve(&s, &exporter))
            .map_err(|error| MetricsError::Bind { addr, error })?;
        Ok(Self {
            server,
            addr: bound,
            thread: Some(thread),
        })
    }

    /// The address actually bound (the port is resolved when `0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// A JSON response.
fn json<T: serde::Serialize>(body: &T) -> Response<std::io::Cursor<Vec<u8>>> {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut r = Response::from_data(bytes);
            if let Some(h) = header("Content-Type", "application/json") {
                r.add_header(h);
            }
            r
        }
        Err(e) => Response::from_string(format!("cannot encode: {e}\n")).with_status_code(500),
    }
}

fn serve(server: &Server, exporter: &Exporter) {
    // `recv` fails only once `unblock` was called (or the listener broke): stop then.
    while let Ok(request) = server.recv() {
        let (path, query) = request.url().split_once('?').unwrap_or((request.url(), ""));
        let response = match (request.method(), path) {
            (Method::Get | Method::Head, "/actors") => match ActorsRequest::parse(query) {
                Ok(r) => json(&exporter.live().actors(exporter.scenario(), &r)),
                Err(e) => {
                    Response::from_string(format!("bad request: {e}\n")).with_status_code(400)
                }
            },
            (Method::Get | Method::Head, "/waits") => json(&exporter.live().waits()),
            (Method::Get | Method::Head, "/metrics") => match exporter.render() {
                Ok(text) => {
                    let mut r = Response::from_string(text);
                    if let Some(h) = header("Content-Type", prometheus::TEXT_FORMAT) {
                        r.add_header(h);
                    }
                    r
                }
                Err(e) => Response::from_string(format!("cannot render metrics: {e}\n"))
                    .with_status_code(500),
            },
            (Method::Get | Method::Head, "/") => Response::from_string(
                "gauntlet: metrics of the running scenario are at /metrics; \
                     its actors at /actors (?glob=&sort=depth|busy|running|restarts|handled&top=N) \
                     and its wait-for graph at /waits\n",
            ),
            (Method::Get | Method::Head, _) => {
                Response::from_string("not found: try /metrics, /actors or /waits\n")
                    .with_status_code(404)
            }
            _ => Response::from_string("method not allowed\n").with_status_code(405),
        };
        // The scraper may have gone away; nothing to do about it.
        let _ = request.respond(response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_without_a_host_are_loopback() {
        let lo = |p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p);
        assert_eq!(parse_addr("9464").unwrap(), lo(9464));
        assert_eq!(parse_addr(":9464").unwrap(), lo(9464));
        assert_eq!(parse_addr("127.0.0.1:0").unwrap(), lo(0));
        assert_eq!(
            parse_addr("0.0.0.0:9464").unwrap(),
            "0.0.0.0:9464".parse().unwrap()
        );
        assert!(parse_addr("localhost:9464").unwrap().ip().is_loopback());
    }

    #[test]
    fn bad_addresses_say_what_was_expected() {
        for bad in ["", "nine", "127.0.0.1:99999", "[::1"] {
            let e = parse_addr(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
