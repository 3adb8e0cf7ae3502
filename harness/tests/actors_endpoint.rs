//! `/actors` and `/waits` against a real run on 127.0.0.1: an actor whose handler
//! sleeps far past the run builds a backlog; the endpoint must show it running with
//! its mailbox growing, honour `glob`, `sort` and `top`, refuse bad parameters, and
//! say when the run has ended.
//!
//! The test polls the endpoint until what it looks for is there, or until the run has
//! finished (then it fails): the outcome never depends on timing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;

use gauntlet_harness::metrics::actors::{ActorsPage, WaitsPage};
use gauntlet_harness::metrics::{Exporter, MetricsServer, RunInfo};
use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::parse_str;

const STUCK: &str = "name = \"actors-endpoint\"\nduration = \"1500ms\"\ntick = \"100ms\"\ngrace = \"5s\"\n\
     [runtime]\nworker_threads = 1\n\
     [watchdog]\nstall_after = \"300ms\"\nshutdown_timeout = \"500ms\"\n\
     [target]\nworkload = \"actors\"\ntopology = \"one\"\nhandler_sleep = \"10s\"\nask_timeout = \"20s\"\n\
     [[load]]\nop = \"ask\"\nexecutor = \"constant-arrival-rate\"\nrate = 20\nmax_in_flight = 4\nop_timeout = \"1s\"\n";

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

fn page(addr: SocketAddr, path: &str) -> ActorsPage {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

#[test]
fn a_running_target_is_served_on_actors_and_waits() {
    let scenario = parse_str(STUCK, "actors-endpoint.toml").unwrap();
    let ops: Vec<String> = scenario.ops().into_iter().map(str::to_owned).collect();
    let info = RunInfo {
        seed: scenario.seed,
        version: "test".into(),
        workload: "actors".into(),
    };
    let exporter = Arc::new(Exporter::new(&scenario.name, &ops, &info).unwrap());
    let server = MetricsServer::start(exporter.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    let run_thread = thread::spawn(move || {
        let options = RunOptions {
            metrics: Some(exporter),
            ..RunOptions::default()
        };
        run(&scenario, &options).unwrap()
    });

    // Before the target exists (or a target without actors): an answer, with no rows.
    let early = page(addr, "/actors");
    assert_eq!(early.scenario, "actors-endpoint");

    // Until the worker is seen stuck in its handler with asks queued behind it.
    let stuck = loop {
        assert!(
            !run_thread.is_finished(),
            "the run ended before the backlog showed"
        );
        let p = page(addr, "/actors?sort=running&top=1");
        if let Some(row) = p.actors.first()
            && row.state == "running"
            && row.mailbox_depth >= 2
            && p.run.is_some()
        {
            break p;
        }
        thread::yield_now();
    };
    let row = &stuck.actors[0];
    assert_eq!(stuck.system.as_deref(), Some("actor://gauntlet"));
    assert_eq!(row.address, "actor://gauntlet/worker");
    assert!(row.handler_running_s.is_some());
    assert_eq!(row.handled, 1, "only the first ask reached the handler");
    assert!(row.mailbox_peak >= row.mailbox_depth);
    assert_eq!((stuck.sort.as_str(), stuck.top), ("running", Some(1)));
    assert!(stuck.live >= 1 && stuck.matched == stuck.live);
    let totals = stuck.totals.as_ref().unwrap();
    assert!(totals.queued >= 2 && totals.actors_alive >= 1);
    assert!(!stuck.ended);

    // Every sort key answers, largest first; the glob filters; top=all lifts the cut.
    for key in ["depth", "busy", "running", "restarts", "handled"] {
        let p = page(addr, &format!("/actors?sort={key}&top=all"));
        assert_eq!(p.sort, key);
        assert_eq!(p.top, None);
        assert_eq!(p.actors.len() as u64, p.matched);
    }
    let p = page(addr, "/actors?sort=depth");
    let depths: Vec<u64> = p.actors.iter().map(|r| r.mailbox_depth).collect();
    assert!(depths.windows(2).all(|w| w[0] >= w[1]), "{depths:?}");
    let none = page(addr, "/actors?glob=actor%3A%2F%2Fgauntlet%2Fnobody-*");
    assert_eq!((none.matched, none.actors.len()), (0, 0));
    assert!(none.live >= 1);
    let one = page(addr, "/actors?glob=actor://gauntlet/work*");
    assert!(
        one.actors
            .iter()
            .all(|r| r.address.starts_with("actor://gauntlet/work"))
    );
    assert_eq!(one.glob.as_deref(), Some("actor://gauntlet/work*"));

    // The wait-for graph: asks from outside any actor are not edges, so it is empty
    // here, but it is the target's.
    let (status, body) = get(addr, "/waits");
    assert_eq!(status, 200);
    let waits: WaitsPage = serde_json::from_str(&body).unwrap();
    assert_eq!(waits.system.as_deref(), Some("actor://gauntlet"));

    // Bad parameters are refused with a message naming them.
    for (q, needle) in [
        ("sort=deepest", "deepest"),
        ("top=-1", "top=-1"),
        ("glob=%5B", "["),
        ("limit=1", "limit"),
    ] {
        let (status, body) = get(addr, &format!("/actors?{q}"));
        assert_eq!(status, 400, "{q}");
        assert!(body.contains(needle), "{q}: {body}");
    }

    let result = run_thread.join().unwrap();
    assert!(!result.stalls.is_empty());
    // After the run the endpoint says so (until the CLI drops it with the reports).
    let after = page(addr, "/actors");
    assert!(after.ended);
    assert_eq!(after.system, None);
    assert!(after.actors.is_empty());
    assert!(after.run.is_some());
    drop(server);
}
