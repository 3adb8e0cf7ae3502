//! Live metrics: a run exported over HTTP on 127.0.0.1, scraped in-process and checked
//! against Prometheus's naming rules and against the run's own results; a busy port;
//! the push to a Pushgateway (a tiny local listener stands in for it).

mod common;

use common::gauntlet;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use gauntlet_harness::metrics::{Exporter, MetricsError, MetricsServer, RunInfo};
use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::parse_str;

const ACTORS: &str = r#"
name = "metrics-test"
seed = 3
duration = "1s"
tick = "100ms"
[target]
workload = "actors"
topology = "round-robin"
actors = 3
[[load]]
op = "ask"
executor = "constant-arrival-rate"
rate = 500
max_in_flight = 16
[[load]]
op = "tell"
executor = "constant-concurrency"
concurrency = 2
"#;

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut r = ureq::get(format!("http://{addr}{path}"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("the endpoint answers");
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().expect("a text body"))
}

/// One parsed sample line: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

fn parse(
    text: &str,
) -> (
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    Vec<Sample>,
) {
    let (mut types, mut helps, mut samples) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').unwrap();
            types.insert(name.to_owned(), ty.to_owned());
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            helps.insert(name.to_owned(), help.to_owned());
        } else if !line.is_empty() {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n, l.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once("=\"").unwrap();
                    (k.to_owned(), v.trim_end_matches('"').to_owned())
                })
                .collect();
            samples.push((name.to_owned(), labels, value.parse().unwrap()));
        }
    }
    (types, helps, samples)
}

fn family_of<'a>(name: &'a str, types: &BTreeMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|s| name.strip_suffix(s))
        .find(|f| types.get(*f).is_some_and(|t| t == "histogram"))
}

#[test]
fn a_run_is_served_over_http_under_prometheus_names() {
    let scenario = parse_str(ACTORS, "metrics-test.toml").unwrap();
    let ops: Vec<String> = scenario.ops().into_iter().map(str::to_owned).collect();
    let info = RunInfo {
        seed: scenario.seed,
        version: "test".into(),
        workload: "actors".into(),
    };
    let exporter = Arc::new(Exporter::new(&scenario.name, &ops, &info).unwrap());
    let server = MetricsServer::start(exporter.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    let options = RunOptions {
        metrics: Some(exporter),
        ..RunOptions::default()
    };
    let result = run(&scenario, &options).unwrap();
    let (status, text) = get(addr, "/metrics");
    assert_eq!(status, 200);
    let (types, helps, samples) = parse(&text);

    // Naming rules: prefix, `_total` on counters only, help on every family.
    for (name, ty) in &types {
        assert!(name.starts_with("gauntlet_"), "{name}");
        assert_eq!(
            ty == "counter",
            name.ends_with("_total"),
            "{name} is a {ty}"
        );
        assert!(
            helps.get(name).is_some_and(|h| !h.is_empty()),
            "{name} has no help"
        );
    }
    for (name, labels, _) in &samples {
        assert!(family_of(name, &types).is_some(), "{name} has no TYPE");
        assert_eq!(
            labels.get("scenario").map(String::as_str),
            Some("metrics-test"),
            "{name}"
        );
    }
    for expected in [
        "gauntlet_run_info",
        "gauntlet_ops_total",
        "gauntlet_op_latency_seconds",
        "gauntlet_op_service_time_seconds",
        "gauntlet_achieved_ops_per_second",
        "gauntlet_offered_ops_per_second",
        "gauntlet_dropped_iterations_total",
        "gauntlet_process_resident_memory_bytes",
        "gauntlet_process_cpu_seconds_total",
        "gauntlet_process_threads",
        "gauntlet_tasks_alive",
        "gauntlet_runtime_global_queue_depth",
        "gauntlet_scheduling_lag_max_seconds",
        "gauntlet_actors_alive",
        "gauntlet_mailbox_depth_messages",
        "gauntlet_messages_sent_total",
        "gauntlet_messages_total",
        "gauntlet_actor_restarts_total",
        "gauntlet_actor_activations_total",
        "gauntlet_actor_passivations_total",
        "gauntlet_deadlocks_total",
        "gauntlet_runtime_stalls_total",
        "gauntlet_watchdog_stalls_total",
        "gauntlet_faults_active",
    ] {
        assert!(types.contains_key(expected), "{expected} missing:\n{text}");
    }

    // The figures are the run's: every completed op counted, and in the histogram.
    let find = |name: &str, pairs: &[(&str, &str)]| -> Vec<f64> {
        samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && pairs
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.2)
            .collect()
    };
    for op in ["ask", "tell"] {
        let completed: u64 = result
            .timeline
            .iter()
            .flat_map(|t| &t.ops)
            .filter(|o| o.op == op)
            .map(|o| o.completed)
            .sum();
        assert!(completed > 0, "{op} completed nothing");
        let ok = find("gauntlet_ops_total", &[("op", op), ("outcome", "ok")]);
        let err = find("gauntlet_ops_total", &[("op", op), ("outcome", "error")]);
        assert_eq!(ok[0] + err[0], completed as f64, "{op}");
        let count = find("gauntlet_op_latency_seconds_count", &[("op", op)]);
        let inf = find(
            "gauntlet_op_latency_seconds_bucket",
            &[("op", op), ("le", "+Inf")],
        );
        assert_eq!(count, inf, "{op}");
        // Histograms are fed per tick from the interval histograms: every op recorded
        // up to the last tick is in them.
        assert!(
            count[0] > 0.0 && count[0] <= completed as f64,
            "{op}: {count:?}"
        );
        let buckets: Vec<f64> = find("gauntlet_op_latency_seconds_bucket", &[("op", op)]);
        assert!(
            buckets.len() >= 20,
            "microseconds to seconds: {}",
            buckets.len()
        );
        assert!(
            buckets.windows(2).all(|w| w[0] <= w[1]),
            "cumulative: {buckets:?}"
        );
    }
    assert_eq!(find("gauntlet_actors_alive", &[("kind", "all")]).len(), 1);
    assert_eq!(
        find(
            "gauntlet_run_info",
            &[("seed", "3"), ("workload", "actors")]
        ),
        [1.0]
    );

    let (status, _) = get(addr, "/nothing");
    assert_eq!(status, 404);
    drop(server);
}

#[test]
fn a_busy_port_is_a_bind_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let info = RunInfo {
        seed: 0,
        version: "test".into(),
        workload: "synthetic".into(),
    };
    let exporter = Arc::new(Exporter::new("busy", &[], &info).unwrap());
    match MetricsServer::start(exporter, addr) {
        Err(MetricsError::Bind { error, .. }) => {
            assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
        }
        other => panic!("expected a bind error, got {other:?}"),
    }
}

const SYNTHETIC: &str = r#"name = "cli-metrics"
duration = "300ms"
tick = "100ms"
[target]
workload = "synthetic"
[[load]]
op = "call"
executor = "constant-arrival-rate"
rate = 100
max_in_flight = 4
"#;

#[test]
fn the_cli_refuses_a_busy_port_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, SYNTHETIC).unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "run",
        file.to_str().unwrap(),
        "--no-progress",
        "--metrics-addr",
        &addr,
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&addr) && stderr.contains("in use"),
        "{stderr}"
    );
    assert!(!out.join("results.json").exists(), "the run must not start");

    let o = gauntlet(&[
        "run",
        file.to_str().unwrap(),
        "--no-progress",
        "--metrics-addr",
        "nowhere",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--metrics-addr \"nowhere\""));
}

/// A one-shot stand-in for a Pushgateway: answers one request with `status` and
/// returns its request line and body.
fn gateway(status: u16) -> (String, std::thread::JoinHandle<(String, String)>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let t = std::thread::spawn(move || {
        let (stream, _) = l.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut length = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut s = stream;
        write!(
            s,
            "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        (
            request_line.trim().to_owned(),
            String::from_utf8(body).unwrap(),
        )
    });
    (url, t)
}

#[test]
fn the_final_figures_are_pushed_to_a_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, SYNTHETIC).unwrap();
    let (url, gw) = gateway(200);
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "run",
        file.to_str().unwrap(),
        "--no-progress",
        "--push-gateway",
        &url,
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let (line, body) = gw.join().unwrap();
    assert_eq!(
        line,
        "PUT /metrics/job/gauntlet/scenario/cli-metrics HTTP/1.1"
    );
    assert!(
        body.contains("gauntlet_ops_total{op=\"call\",outcome=\"ok\",scenario=\"cli-metrics\"}"),
        "{body}"
    );
    assert!(stderr.contains("pushed metrics to"), "{stderr}");
}

#[test]
fn a_gateway_error_is_reported() {
    let (url, gw) = gateway(500);
    let info = RunInfo {
        seed: 0,
        version: "test".into(),
        workload: "synthetic".into(),
    };
    let e = Exporter::new("x", &[], &info).unwrap();
    let err = e.push(&url).unwrap_err().to_string();
    gw.join().unwrap();
    assert!(err.contains("500"), "{err}");
    assert!(e.push("ftp://127.0.0.1:1").is_err());
}
