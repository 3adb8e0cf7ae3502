//! `gauntlet top` without a terminal: the view drawn into ratatui's `TestBackend` from
//! a fixed page (rendering, sorting, filtering, resize, the end of a run), and the
//! `--once` table.

use gauntlet_harness::metrics::actors::{ActorsPage, RunLive, Totals, WaitRow};
use gauntlet_harness::top::app::{Action, App, Link};
use gauntlet_harness::top::{TopError, once, view};
use gauntlet_reports::schema::ActorSnapshotRow;
use gauntlet_runtime::actor::snapshot::SortKey;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn row(address: &str, state: &str, depth: u64, busy_s: f64, handled: u64) -> ActorSnapshotRow {
    ActorSnapshotRow {
        address: address.to_owned(),
        kind: "worker".to_owned(),
        state: state.to_owned(),
        mailbox_depth: depth,
        mailbox_peak: depth + 3,
        handled,
        busy_s,
        handler_running_s: (state == "running").then_some(2.5),
        restarts: 0,
        last_failure: None,
        last_failure_at_s: None,
        waiting_on: None,
    }
}

fn fixed_page() -> ActorsPage {
    let mut asker = row("actor://home/asker", "running", 0, 0.5, 7);
    asker.waiting_on = Some("actor://home/stuck".to_owned());
    let mut flaky = row("actor://home/flaky", "idle", 1, 0.01, 40);
    flaky.restarts = 3;
    flaky.last_failure = Some("error: boom".to_owned());
    ActorsPage {
        scenario: "fixed".to_owned(),
        run: Some(RunLive {
            t_s: 12.0,
            warmup: false,
            ops_per_s: 1520.0,
            p99_ns: Some(4_560_000),
            errors: 2,
            errors_total: 9,
            in_flight: 5,
            active_faults: vec!["latency".to_owned()],
        }),
        ended: false,
        system: Some("actor://home".to_owned()),
        uptime_s: 13.0,
        live: 4,
        matched: 4,
        sort: "depth".to_owned(),
        glob: None,
        top: Some(100),
        actors: vec![
            row("actor://home/stuck", "running", 51, 2.5, 1),
            flaky,
            asker,
            row("actor://home/quiet", "idle", 0, 0.0, 900),
        ],
        waits: vec![WaitRow {
            waiter: "actor://home/asker".to_owned(),
            target: "actor://home/stuck".to_owned(),
        }],
        totals: Some(Totals {
            actors_alive: 4,
            queued: 52,
            deepest: 51,
            restarts: 3,
            asks_in_flight: 1,
            ..Totals::default()
        }),
    }
}

fn app_with(page: ActorsPage) -> App {
    let mut app = App::new("127.0.0.1:9464", SortKey::Depth, None, 100).unwrap();
    app.update(Ok(page));
    app
}

fn screen(t: &Terminal<TestBackend>) -> Vec<String> {
    let b = t.backend().buffer();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect()
}

fn draw(app: &App, width: u16, height: u16) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| view::render(f, app)).unwrap();
    screen(&t)
}

/// The actors' names in the order the table lists them (the wait-for graph below it
/// names actors too).
fn order(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .take_while(|l| !l.contains("waiting in an ask"))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("actor://home/"))
        .map(|w| w.trim_start_matches("actor://home/").to_owned())
        .collect()
}

fn press(app: &mut App, code: KeyCode) -> Action {
    app.key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn a_fixed_snapshot_renders_figures_table_waits_and_keys() {
    let lines = draw(&app_with(fixed_page()), 140, 16);
    let text = lines.join("\n");
    assert!(
        lines[0].starts_with("gauntlet top: fixed @ 127.0.0.1:9464"),
        "{text}"
    );
    assert!(
        lines[1].contains("ops/s 1.5k") && lines[1].contains("p99 4.56ms"),
        "{text}"
    );
    assert!(lines[1].contains("errors 2 (total 9)") && lines[1].contains("faults: latency"));
    assert!(
        lines[2].contains("actors 4 (showing 4 of 4 matched)") && lines[2].contains("queued 52")
    );
    assert!(text.contains("DEPTH▼"), "{text}");
    assert_eq!(order(&lines), ["stuck", "flaky", "asker", "quiet"]);
    let stuck = lines
        .iter()
        .find(|l| l.starts_with("actor://home/stuck"))
        .unwrap();
    for cell in ["running", "51", "54", "2.50s"] {
        assert!(stuck.contains(cell), "{stuck}");
    }
    assert!(
        text.contains("→ actor://home/stuck"),
        "the asker's row says whom it waits on"
    );
    assert!(text.contains("failed: error: boom"));
    assert!(text.contains("waiting in an ask (1)"));
    assert!(text.contains("actor://home/asker → actor://home/stuck"));
    let keys = lines.last().unwrap();
    for k in ["q quit", "s sort: depth", "/ glob: all", "scroll"] {
        assert!(keys.contains(k), "{keys}");
    }
}

#[test]
fn s_cycles_the_sort_key_and_reorders_at_once() {
    let mut app = app_with(fixed_page());
    assert_eq!(press(&mut app, KeyCode::Char('s')), Action::Refetch);
    assert_eq!(app.sort, SortKey::Busy);
    assert!(app.query().contains("sort=busy"));
    let lines = draw(&app, 140, 16);
    assert!(lines.join("\n").contains("BUSY▼"));
    assert_eq!(order(&lines), ["stuck", "asker", "flaky", "quiet"]);
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortKey::Running);
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortKey::Restarts);
    assert_eq!(order(&draw(&app, 140, 16))[0], "flaky");
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortKey::Handled);
    assert_eq!(
        order(&draw(&app, 140, 16)),
        ["quiet", "flaky", "asker", "stuck"]
    );
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortKey::Depth, "the cycle wraps");
}

#[test]
fn slash_edits_the_glob_which_filters_and_goes_into_the_query() {
    let mut app = app_with(fixed_page());
    assert_eq!(press(&mut app, KeyCode::Char('/')), Action::Redraw);
    for c in "actor://home/*k*".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let editing = draw(&app, 140, 16);
    assert!(
        editing
            .last()
            .unwrap()
            .starts_with("glob: actor://home/*k*█")
    );
    assert_eq!(press(&mut app, KeyCode::Enter), Action::Refetch);
    assert_eq!(app.glob(), Some("actor://home/*k*"));
    assert!(
        app.query().contains("glob=actor%3A%2F%2Fhome%2F*k*"),
        "{}",
        app.query()
    );
    let lines = draw(&app, 140, 16);
    assert_eq!(order(&lines), ["stuck", "flaky", "asker"]);
    assert!(lines.join("\n").contains("matching actor://home/*k*"));

    // A bad glob is refused with a message; the old one stays.
    press(&mut app, KeyCode::Char('/'));
    for _ in 0..20 {
        press(&mut app, KeyCode::Backspace);
    }
    press(&mut app, KeyCode::Char('['));
    assert_eq!(press(&mut app, KeyCode::Enter), Action::Redraw);
    assert_eq!(app.glob(), Some("actor://home/*k*"));
    assert!(
        draw(&app, 140, 16)
            .last()
            .unwrap()
            .contains("not a valid glob")
    );

    // Empty clears it; Esc cancels an edit; q quits.
    press(&mut app, KeyCode::Char('/'));
    for _ in 0..20 {
        press(&mut app, KeyCode::Backspace);
    }
    assert_eq!(press(&mut app, KeyCode::Enter), Action::Refetch);
    assert_eq!(app.glob(), None);
    assert_eq!(order(&draw(&app, 140, 16)).len(), 4);
    press(&mut app, KeyCode::Char('/'));
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(press(&mut app, KeyCode::Esc), Action::Redraw);
    assert_eq!((app.glob(), app.editing.as_deref()), (None, None));
    assert_eq!(press(&mut app, KeyCode::Char('q')), Action::Quit);
}

#[test]
fn the_view_follows_a_resize() {
    let app = app_with(fixed_page());
    let mut t = Terminal::new(TestBackend::new(140, 16)).unwrap();
    t.draw(|f| view::render(f, &app)).unwrap();
    assert_eq!(order(&screen(&t)).len(), 4);
    // Smaller: fewer rows fit, the keys stay on the last line, nothing panics.
    t.backend_mut().resize(60, 9);
    t.draw(|f| view::render(f, &app)).unwrap();
    let small = screen(&t);
    assert_eq!(small.len(), 9);
    assert!(small.iter().all(|l| l.chars().count() <= 60));
    assert!(small.last().unwrap().starts_with("q quit"), "{small:?}");
    assert!(
        !order(&small).is_empty() && order(&small).len() < 4,
        "{small:?}"
    );
    // Tiny and back: still draws.
    t.backend_mut().resize(10, 2);
    t.draw(|f| view::render(f, &app)).unwrap();
    t.backend_mut().resize(140, 16);
    t.draw(|f| view::render(f, &app)).unwrap();
    assert_eq!(order(&screen(&t)).len(), 4);
}

#[test]
fn the_view_knows_when_the_run_has_ended() {
    let fetch_error = || TopError::Fetch {
        url: "http://127.0.0.1:9464/actors".to_owned(),
        reason: "connection refused".to_owned(),
    };
    let mut app = App::new("127.0.0.1:9464", SortKey::Depth, None, 100).unwrap();
    app.update(Err(fetch_error()));
    assert!(
        matches!(app.link, Link::Waiting(Some(_))),
        "not started yet: keep waiting"
    );
    assert!(draw(&app, 120, 6)[1].contains("waiting for the run"));
    app.update(Ok(fixed_page()));
    assert_eq!(app.link, Link::Live);
    app.update(Err(fetch_error()));
    assert!(app.ended().is_some(), "live, then gone: the run ended");

    let mut page = fixed_page();
    page.ended = true;
    page.system = None;
    page.totals = None;
    page.actors.clear();
    page.waits.clear();
    let app = app_with(page);
    assert_eq!(app.ended(), Some("the run has ended"));
    let lines = draw(&app, 120, 8);
    assert!(lines[2].contains("the run has ended"));
    assert!(lines.last().unwrap().contains("(the run has ended)"));
}

#[test]
fn once_prints_one_plain_table() {
    let mut out = Vec::new();
    once::write(&fixed_page(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let expected = "\
gauntlet top: fixed (sort depth)
t 12.0s  ops/s 1.5k  p99 4.56ms  errors 2 (total 9)  in flight 5  faults: latency
actor://home  actors 4 (showing 4 of 4 matched)  queued 52  deepest 51  restarts 3  asks waiting 1  stalls 0  deadlocks 0

ACTOR               KIND    STATE    DEPTH  PEAK  HANDLED      BUSY  RUNNING  RESTARTS  WAITING ON / LAST FAILURE
actor://home/stuck  worker  running     51    54        1     2.50s    2.50s         0
actor://home/flaky  worker  idle         1     4       40   10.00ms        -         3  failed: error: boom
actor://home/asker  worker  running      0     3        7  500.00ms    2.50s         0  → actor://home/stuck
actor://home/quiet  worker  idle         0     3      900       0ns        -         0

waiting (ask):
  actor://home/asker → actor://home/stuck
";
    assert_eq!(text, expected, "\n{text}");
}
