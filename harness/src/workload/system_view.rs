//! How the harness reads a gauntlet-runtime [`System`]: its runtime events, its message
//! accounting and its shutdown report, in the harness's own types. Shared by every
//! workload built on the actor runtime.

use std::sync::Mutex;
use std::time::Duration;

use gauntlet_reports::schema::{MessageAccounting, TargetSample};
use gauntlet_runtime::actor::{RuntimeEvent, System};
use tokio::sync::broadcast;

use crate::target::{SampleDetail, ShutdownOutcome, TargetEvent};

/// Drains the stall and deadlock events received since the last call.
pub fn drain_events(events: &Mutex<broadcast::Receiver<RuntimeEvent>>) -> Vec<TargetEvent> {
    let mut out = Vec::new();
    let Ok(mut rx) = events.lock() else {
        return out;
    };
    loop {
        match rx.try_recv() {
            Ok(RuntimeEvent::Deadlock(d)) => out.push(TargetEvent::Deadlock {
                cycle: d.cycle.iter().map(ToString::to_string).collect(),
            }),
            Ok(RuntimeEvent::Stall(st)) => out.push(TargetEvent::Stall {
                actor: st.address.to_string(),
                busy_for: st.busy_for,
                waiting_on: st.waiting_on.map(|a| a.to_string()),
            }),
            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                out.push(TargetEvent::Missed { count: n });
            }
            Err(_) => break,
        }
    }
    out
}

/// The system's statistics as the timeline keeps them.
pub fn sample(system: &System) -> TargetSample {
    let s = system.stats();
    TargetSample {
        actors_alive: Some(s.actors.alive),
        mailbox_depth: Some(s.mailboxes.total),
        messages_sent: Some(s.messages.sent),
        messages_delivered: Some(s.messages.delivered),
        messages_dropped: Some(s.messages.dropped()),
        messages_rejected: Some(s.messages.rejected),
        messages_dead_lettered: Some(s.messages.dead_lettered),
        restarts: Some(s.actors.restarted),
        passivations: Some(s.actors.passivations),
        deadlocks: Some(s.deadlocks),
        stalls: Some(s.stalls),
        activations: Some(s.actors.activations),
        hibernations: Some(s.actors.hibernations),
        actors_hibernating: Some(s.actors.hibernating()),
        ..TargetSample::default()
    }
}

/// What is busy in the system, for a stall record.
pub fn stall_detail(system: &System) -> String {
    let s = system.stats();
    format!(
        "actors alive {}, messages queued {} (deepest mailbox {}), asks in flight {}",
        s.actors.alive, s.mailboxes.total, s.mailboxes.deepest, s.asks.in_flight
    )
}

/// The accounting equation as an invariant check: every message sent is delivered,
/// dropped by a named policy, rejected, dead-lettered or still queued.
pub fn accounting_check(name: &str, system: &System) -> crate::workload::InvariantCheck {
    let m = system.stats().messages;
    crate::workload::InvariantCheck::check(name, m.lost() == 0, || {
        format!(
            "{} messages unaccounted for: sent {}, delivered {}, dropped {}, rejected {}, dead-lettered {}, queued {}",
            m.lost(),
            m.sent,
            m.delivered,
            m.dropped(),
            m.rejected,
            m.dead_lettered,
            m.queued
        )
    })
}

/// Actors alive per kind and drops per mailbox policy, for live metrics.
pub fn sample_detail(system: &System) -> SampleDetail {
    let s = system.stats();
    SampleDetail {
        actors_by_kind: s
            .by_kind
            .iter()
            .map(|(kind, counts)| (kind.clone(), counts.alive))
            .collect(),
        dropped_by_policy: vec![
            ("drop-newest", s.messages.dropped_newest),
            ("drop-oldest", s.messages.dropped_oldest),
        ],
    }
}

/// Shuts the system down and describes how it went.
pub async fn shutdown(system: &System, timeout: Duration) -> ShutdownOutcome {
    let r = system.shutdown(timeout).await;
    ShutdownOutcome {
        clean: r.graceful && r.aborted.is_empty(),
        detail: format!(
            "{} actors stopped, {} messages drained, {} discarded, {} killed, in {:.0?}",
            r.actors_stopped,
            r.messages_drained,
            r.messages_discarded,
            r.aborted.len(),
            r.elapsed
        ),
    }
}

/// The system's message accounting.
pub fn messages(system: &System) -> MessageAccounting {
    let m = system.stats().messages;
    MessageAccounting {
        measured: true,
        sent: Some(m.sent),
        delivered: Some(m.delivered),
        dropped: Some(m.dropped()),
        rejected: Some(m.rejected),
        dead_lettered: Some(m.dead_lettered),
        queued: Some(m.queued),
        lost: Some(m.lost()),
        ..MessageAccounting::default()
    }
}

/// Offers `n` messages with `send` (a `try_tell`, numbered from 0) and counts what the
/// mailbox did with them: the flood fault's outcome.
pub fn flood(n: u64, mut send: impl FnMut(u64) -> Result<(), ()>) -> crate::faults::FloodOutcome {
    let mut out = crate::faults::FloodOutcome {
        sent: n,
        ..Default::default()
    };
    for seq in 0..n {
        match send(seq) {
            Ok(()) => out.accepted += 1,
            Err(()) => out.refused += 1,
        }
    }
    out
}
