//! The files in `dashboards/` fit together and fit the exporter: docker-compose mounts
//! files that exist where the provisioning and Prometheus configs expect them, and
//! every metric the dashboard and the alert rules query is one the exporter exports.
//! (`dashboards/check.sh` evaluates the same queries in a real Prometheus.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gauntlet_harness::load::OpHistograms;
use gauntlet_harness::metrics::{Exporter, Observation, RunInfo};
use gauntlet_harness::target::SampleDetail;
use gauntlet_reports::schema::{
    BreakerState, ProcessSample, RuntimeSample, TargetSample, Tick, TickOp,
};
use yaml_rust2::{Yaml, YamlLoader};

fn dashboards() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards")
}

fn yaml(relative: &str) -> Yaml {
    let path = dashboards().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
        .remove(0)
}

fn dashboard() -> serde_json::Value {
    let text = std::fs::read_to_string(dashboards().join("grafana/gauntlet.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every family name (and histogram series name) a run with every figure reported exports.
fn exported_names() -> BTreeSet<String> {
    let info = RunInfo {
        seed: 1,
        version: "test".into(),
        workload: "actors".into(),
    };
    let e = Exporter::new("names", &["op".to_owned()], &info).unwrap();
    let full = TargetSample {
        actors_alive: Some(1),
        mailbox_depth: Some(1),
        messages_sent: Some(1),
        messages_delivered: Some(1),
        messages_dropped: Some(1),
        messages_rejected: Some(1),
        messages_dead_lettered: Some(1),
        restarts: Some(1),
        passivations: Some(1),
        deadlocks: Some(1),
        stalls: Some(1),
        activations: Some(1),
        breaker_state: Some(BreakerState::Open),
        breaker_transitions: Some(1),
        breaker_rejections: Some(1),
        ..Default::default()
    };
    let tick = Tick {
        t_s: 1.0,
        warmup: false,
        ops: vec![TickOp {
            op: "op".into(),
            completed: 1,
            errors: 0,
            rate_per_s: 1.0,
            p50_ns: None,
            p90_ns: None,
            p99_ns: None,
            p999_ns: None,
            max_ns: None,
        }],
        offered_per_s: 1.0,
        dropped: 0,
        in_flight: 0,
        process: ProcessSample {
            rss_bytes: Some(1),
            cpu_percent: Some(1.0),
            threads: Some(1),
            ..Default::default()
        },
        runtime: RuntimeSample {
            alive_tasks: 1,
            global_queue_depth: 0,
            busy_ratio: Some(0.1),
            sched_lag_max_ns: Some(1),
            sched_lag_mean_ns: Some(1),
        },
        target: full,
        active_faults: vec!["crash".into()],
        generator: None,
    };
    e.observe(&Observation {
        tick: &tick,
        interval: &[OpHistograms::new()],
        detail: &SampleDetail::default(),
        watchdog_stalls: 0,
        stalled: false,
    });
    e.render()
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("gauntlet_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn every_queried_metric_is_exported() {
    let exported = exported_names();
    let mut exprs: Vec<String> = Vec::new();
    let d = dashboard();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            exprs.push(t["expr"].as_str().unwrap().to_owned());
        }
    }
    for a in d["annotations"]["list"].as_array().unwrap() {
        if let Some(e) = a["expr"].as_str() {
            exprs.push(e.to_owned());
        }
    }
    for v in d["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["query"]["query"].as_str() {
            exprs.push(q.to_owned());
        }
    }
    let alerts = yaml("prometheus/alerts.yml");
    let rules = alerts["groups"][0]["rules"].as_vec().unwrap();
    assert!(rules.len() >= 8, "alert rules: {}", rules.len());
    for r in rules {
        exprs.push(r["expr"].as_str().unwrap().to_owned());
    }
    assert!(exprs.len() > 30, "{} queries", exprs.len());
    for e in &exprs {
        let names = metric_names(e);
        assert!(!names.is_empty(), "no gauntlet metric in {e}");
        for n in names {
            assert!(
                exported.contains(&n),
                "{n} (in {e}) is not exported; exported: {exported:?}"
            );
        }
    }
}

#[test]
fn the_dashboard_has_the_variables_and_panels_it_promises() {
    let d = dashboard();
    assert_eq!(d["uid"], "gauntlet-run");
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["datasource", "scenario", "op"]);
    let all: String = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .map(|t| t["expr"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    for needed in [
        "histogram_quantile(0.99",
        "gauntlet_process_resident_memory_bytes",
        "gauntlet_tasks_alive",
        "gauntlet_actors_alive",
        "gauntlet_mailbox_depth_messages",
        "gauntlet_actor_restarts_total",
        "gauntlet_actor_passivations_total",
        "gauntlet_circuit_breaker_state",
        "gauntlet_deadlocks_total",
        "gauntlet_watchdog_stalled",
        "outcome=\"error\"",
        "gauntlet_dropped_iterations_total",
        "op=~\"$op\"",
    ] {
        assert!(all.contains(needed), "no panel queries {needed}");
    }
    let annotations = d["annotations"]["list"].to_string();
    assert!(
        annotations.contains("gauntlet_fault_active"),
        "fault windows"
    );
    // Every panel but rows names the templated datasource.
    for p in d["panels"].as_array().unwrap() {
        if p["type"] != "row" {
            assert_eq!(p["datasource"]["uid"], "${datasource}", "{}", p["title"]);
        }
    }
}

/// `host:container[:mode]` of each volume of a compose service.
fn volumes(service: &Yaml) -> Vec<(String, String)> {
    service["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| {
            let mut parts = v.as_str().unwrap().split(':');
            let host = parts.next().unwrap().to_owned();
            let container = parts.next().unwrap().to_owned();
            (host, container)
        })
        .collect()
}

#[test]
fn docker_compose_mounts_what_the_configs_expect() {
    let compose = yaml("docker-compose.yml");
    let services = &compose["services"];
    for name in ["prometheus", "grafana"] {
        let s = &services[name];
        assert!(s["image"].as_str().is_some(), "{name}: no image");
        for (host, _) in volumes(s) {
            assert!(
                dashboards().join(&host).exists(),
                "{name}: {host} does not exist"
            );
        }
    }

    // Prometheus: its config file and the rules it names are mounted side by side.
    let prom = &services["prometheus"];
    let mounts = volumes(prom);
    let args: Vec<&str> = prom["command"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let config = args
        .iter()
        .find_map(|a| a.strip_prefix("--config.file="))
        .unwrap();
    let mounted_config = mounts.iter().find(|(_, c)| c == config).unwrap();
    assert_eq!(mounted_config.0, "./prometheus/prometheus.yml");
    let listen = args
        .iter()
        .find_map(|a| a.strip_prefix("--web.listen-address="))
        .unwrap();
    let scrape = yaml("prometheus/prometheus.yml");
    let config_dir = Path::new(config).parent().unwrap();
    for rule_file in scrape["rule_files"].as_vec().unwrap() {
        let in_container = config_dir.join(rule_file.as_str().unwrap());
        assert!(
            mounts.iter().any(|(_, c)| Path::new(c) == in_container),
            "{} is not mounted",
            in_container.display()
        );
    }
    let target = scrape["scrape_configs"][0]["static_configs"][0]["targets"][0]
        .as_str()
        .unwrap();
    assert_eq!(target, "127.0.0.1:9464", "the README's --metrics-addr");

    // Grafana: provisioning dirs mounted, the dashboard where the provider looks, the
    // datasource where Prometheus listens.
    let grafana = &services["grafana"];
    let mounts = volumes(grafana);
    for dir in [
        "/etc/grafana/provisioning/datasources",
        "/etc/grafana/provisioning/dashboards",
    ] {
        assert!(mounts.iter().any(|(_, c)| c == dir), "{dir} not mounted");
    }
    let provider = yaml("grafana/provisioning/dashboards/gauntlet.yml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    let dashboard = mounts
        .iter()
        .find(|(h, _)| h == "./grafana/gauntlet.json")
        .unwrap();
    assert_eq!(Path::new(&dashboard.1).parent().unwrap(), Path::new(path));
    let ds = yaml("grafana/provisioning/datasources/prometheus.yml");
    let url = ds["datasources"][0]["url"].as_str().unwrap();
    assert_eq!(url, format!("http://{listen}"));
    assert_eq!(prom["network_mode"].as_str(), Some("host"));
    assert_eq!(grafana["network_mode"].as_str(), Some("host"));
}
