//! The actors' snapshot rows that stall and deadlock records carry: one table per
//! record, after the deadlocks and stalls, so a reader sees which mailbox was growing,
//! which handler was stuck and who waited on whom when the harness noticed.
//!
//! Kept in its own file, with its own table writer, so that it does not depend on how
//! the other sections build their tables.

use std::fmt::Write as _;

use super::sections::esc;
use crate::schema::{ActorSnapshotRow, RunResult};

/// Writes the section; nothing when no record carries rows.
pub(super) fn actors_at_detection(page: &mut String, r: &RunResult) {
    let deadlocks = r
        .deadlocks
        .iter()
        .filter(|d| !d.actors.is_empty())
        .map(|d| (format!("Deadlock detected at {:.2} s", d.at_s), &d.actors));
    let stalls = r
        .stalls
        .iter()
        .filter(|s| !s.actors.is_empty())
        .map(|s| (format!("Stall from {:.2} s", s.start_s), &s.actors));
    let records: Vec<(String, &Vec<ActorSnapshotRow>)> = deadlocks.chain(stalls).collect();
    if records.is_empty() {
        return;
    }
    page.push_str("<h2 id=\"actors-at-detection\">Actors at detection</h2>\n");
    page.push_str(
        "<p class=\"muted\">Each actor's snapshot row when the harness recorded the \
         stall or deadlock (busy time on the runtime's coarse watchdog clock).</p>\n",
    );
    for (title, rows) in records {
        let _ = writeln!(page, "<h3>{}</h3>", esc(&title));
        rows_table(page, rows);
    }
}

const HEADERS: [&str; 10] = [
    "actor",
    "kind",
    "state",
    "mailbox",
    "peak",
    "handled",
    "busy",
    "handler running",
    "restarts",
    "waiting on / last failure",
];

fn rows_table(page: &mut String, rows: &[ActorSnapshotRow]) {
    page.push_str("<table class=\"actors\">\n<thead><tr>");
    for h in HEADERS {
        let _ = write!(page, "<th>{h}</th>");
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for a in rows {
        let running = a
            .handler_running_s
            .map_or_else(|| "–".to_owned(), |s| format!("{s:.2} s"));
        let mut note = a
            .waiting_on
            .as_ref()
            .map(|w| format!("waiting on {w}"))
            .unwrap_or_default();
        if let Some(f) = &a.last_failure {
            if !note.is_empty() {
                note.push_str("; ");
            }
            let _ = write!(note, "last failure: {f}");
        }
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2} s</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&a.address),
            esc(&a.kind),
            esc(&a.state),
            a.mailbox_depth,
            a.mailbox_peak,
            a.handled,
            a.busy_s,
            running,
            a.restarts,
            esc(&note),
        );
    }
    page.push_str("</tbody>\n</table>\n");
}
