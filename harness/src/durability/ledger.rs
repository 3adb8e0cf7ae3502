//! [`Ledger`]: the acknowledged writes of one run, and what each read-back found.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use gauntlet_reports::schema::{Durability, LostWrite};

use super::{Ack, LOST_ACKNOWLEDGED, Stored, WRITE_BEHIND_BOUNDED};
use crate::workload::InvariantCheck;

/// Lost writes kept by name in results.json; beyond, only counted.
const LOST_SHOWN: usize = 100;
/// Written-behind writes are remembered one by one for this long (by the key's newest
/// write); older ones only by count and newest time, so a run that is never restarted
/// does not grow without bound. Far beyond any write-behind bound worth stating.
const HORIZON_MS: u64 = 10_000;

/// A durable key: acknowledged versions not yet read back, and the newest one a
/// read-back confirmed.
#[derive(Debug, Default)]
struct DurableKey {
    pending: Vec<(u64, String)>,
    confirmed: Option<(u64, String)>,
}

/// A written-behind key: its writes since the last restart.
#[derive(Debug, Default)]
struct BehindKey {
    recent: VecDeque<u64>,
    forgotten: u64,
    forgotten_newest: u64,
}

/// One read-back's findings.
#[derive(Debug, Clone)]
struct Readback {
    t_s: f64,
    lost: u64,
    first_lost: Vec<String>,
    behind_lost: u64,
    oldest_behind_ms: Option<u64>,
    bound_ms: Option<u64>,
}

/// The acknowledged writes of one run and the read-backs' findings.
#[derive(Debug)]
pub struct Ledger {
    started: Instant,
    /// By key, in order: what is lost is reported in key order.
    durable: BTreeMap<String, DurableKey>,
    behind: BTreeMap<String, BehindKey>,
    acknowledged: u64,
    behind_acknowledged: u64,
    lost: Vec<LostWrite>,
    lost_count: u64,
    behind_lost: u64,
    oldest_behind_ms: Option<u64>,
    bound_ms: Option<u64>,
    /// When the target's process last went down, ms since the Unix epoch.
    down_at_ms: Option<u64>,
    readbacks: Vec<Readback>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Ledger {
    /// An empty ledger; read-back times count from now.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            durable: BTreeMap::new(),
            behind: BTreeMap::new(),
            acknowledged: 0,
            behind_acknowledged: 0,
            lost: Vec::new(),
            lost_count: 0,
            behind_lost: 0,
            oldest_behind_ms: None,
            bound_ms: None,
            down_at_ms: None,
            readbacks: Vec::new(),
        }
    }

    /// Records the acknowledgements of one op the harness counted as succeeded.
    pub fn record(&mut self, acks: Vec<Ack>) {
        for ack in acks {
            match ack {
                Ack::Durable {
                    key,
                    value,
                    version,
                } => {
                    self.acknowledged += 1;
                    self.durable
                        .entry(key)
                        .or_default()
                        .pending
                        .push((version, value));
                }
                Ack::WriteBehind { key, at_ms } => {
                    self.behind_acknowledged += 1;
                    let k = self.behind.entry(key).or_default();
                    k.recent.push_back(at_ms);
                    let newest = k.recent.back().copied().unwrap_or(at_ms).max(at_ms);
                    while k.recent.front().is_some_and(|&a| a + HORIZON_MS < newest) {
                        if let Some(a) = k.recent.pop_front() {
                            k.forgotten += 1;
                            k.forgotten_newest = k.forgotten_newest.max(a);
                        }
                    }
                }
            }
        }
    }

    /// The target's process went down now (killed, or stopped for a restart).
    pub fn went_down(&mut self) {
        self.down_at_ms = Some(now_ms());
    }

    /// Whether anything was acknowledged that a read-back would look at.
    pub fn is_empty(&self) -> bool {
        self.durable.is_empty() && self.behind.is_empty()
    }

    /// The keys to read back: every durable key, and after a restart every
    /// written-behind one.
    pub fn keys(&self, after_restart: bool) -> Vec<String> {
        let mut keys: Vec<String> = self.durable.keys().cloned().collect();
        if after_restart {
            keys.extend(
                self.behind
                    .keys()
                    .filter(|k| !self.durable.contains_key(*k))
                    .cloned(),
            );
        }
        keys.sort_unstable();
        keys
    }

    /// Holds the acknowledged writes against what a read-back of `keys` found (`None`:
    /// the key could not be read). `after_restart`: the state was just reopened, so
    /// written-behind writes are judged too (and forgotten afterwards: the new
    /// incarnation starts from what was found).
    pub fn absorb(&mut self, keys: &[String], found: Vec<Option<Stored>>, after_restart: bool) {
        let t_s = self.started.elapsed().as_secs_f64();
        let mut rb = Readback {
            t_s,
            lost: 0,
            first_lost: Vec::new(),
            behind_lost: 0,
            oldest_behind_ms: None,
            bound_ms: None,
        };
        let found: HashMap<&str, Option<Stored>> =
            keys.iter().map(String::as_str).zip(found).collect();
        for (key, k) in &mut self.durable {
            let stored = found.get(key.as_str()).cloned().flatten();
            let at = stored.as_ref().map(|s| s.version);
            let found_value = stored.as_ref().and_then(|s| s.value.as_deref());
            let mut check = |version: u64, value: &str| -> bool {
                // Older and different. The same value at a lower version is not a loss:
                // a write that changed nothing is acknowledged with the key's version
                // in memory, which may count written-behind changes a kill lost.
                let ok = at.is_some_and(|v| v >= version) || found_value == Some(value);
                if !ok {
                    rb.lost += 1;
                    if rb.first_lost.len() < 5 {
                        rb.first_lost.push(format!(
                            "{key} (acknowledged v{version} {value}, {})",
                            at.map_or("unreadable".to_owned(), |v| format!("found v{v}"))
                        ));
                    }
                    self.lost_count += 1;
                    if self.lost.len() < LOST_SHOWN {
                        self.lost.push(LostWrite {
                            key: key.clone(),
                            value: value.to_owned(),
                            version,
                            found_version: at,
                            found_value: stored.as_ref().and_then(|s| s.value.clone()),
                            found_at_s: t_s,
                        });
                    }
                }
                ok
            };
            if let Some((v, value)) = k.confirmed.take()
                && check(v, &value)
            {
                k.confirmed = Some((v, value));
            }
            for (v, value) in std::mem::take(&mut k.pending) {
                if check(v, &value) && k.confirmed.as_ref().is_none_or(|(c, _)| *c < v) {
                    k.confirmed = Some((v, value));
                }
            }
        }
        if after_restart {
            let down = self.down_at_ms;
            for (key, k) in std::mem::take(&mut self.behind) {
                let stored = found.get(key.as_str()).cloned().flatten();
                if let Some(b) = stored.as_ref().and_then(|s| s.bound_ms) {
                    rb.bound_ms = Some(b);
                }
                let since = stored.and_then(|s| s.changed_at_ms).unwrap_or(0);
                let mut lost = k.recent.iter().filter(|&&a| a > since).count() as u64;
                let mut oldest = k.recent.iter().copied().filter(|&a| a > since).min();
                if k.forgotten > 0 && k.forgotten_newest > since {
                    // Some forgotten ones were lost; counted all (an upper bound), and
                    // the oldest is at least HORIZON_MS old.
                    lost += k.forgotten;
                    oldest = Some(oldest.unwrap_or(u64::MAX).min(k.forgotten_newest));
                }
                rb.behind_lost += lost;
                if let (Some(o), Some(d)) = (oldest, down) {
                    let age = d.saturating_sub(o);
                    rb.oldest_behind_ms = Some(rb.oldest_behind_ms.map_or(age, |m| m.max(age)));
                }
            }
            self.behind_lost += rb.behind_lost;
            if let Some(a) = rb.oldest_behind_ms {
                self.oldest_behind_ms = Some(self.oldest_behind_ms.map_or(a, |m| m.max(a)));
            }
            if rb.bound_ms.is_some() {
                self.bound_ms = rb.bound_ms;
            }
        }
        self.readbacks.push(rb);
    }

    /// Records a read-back with nothing to read (nothing acknowledged yet).
    pub fn absorb_nothing(&mut self, after_restart: bool) {
        self.absorb(&[], Vec::new(), after_restart);
    }

    /// One check of each durability invariant per read-back.
    pub fn checks(&self) -> Vec<InvariantCheck> {
        let mut out = Vec::with_capacity(self.readbacks.len() * 2);
        for rb in &self.readbacks {
            out.push(InvariantCheck::check(
                LOST_ACKNOWLEDGED,
                rb.lost == 0,
                || {
                    format!(
                        "{} acknowledged writes lost at the read-back at {:.1}s: {}",
                        rb.lost,
                        rb.t_s,
                        rb.first_lost.join(", ")
                    )
                },
            ));
            let within = match (rb.oldest_behind_ms, rb.bound_ms) {
                (Some(age), Some(bound)) => age <= bound,
                _ => true,
            };
            out.push(InvariantCheck::check(WRITE_BEHIND_BOUNDED, within, || {
                format!(
                    "{} written-behind writes lost at the read-back at {:.1}s, the oldest {} ms old when the process went down (bound {} ms)",
                    rb.behind_lost,
                    rb.t_s,
                    rb.oldest_behind_ms.unwrap_or(0),
                    rb.bound_ms.unwrap_or(0)
                )
            }));
        }
        out
    }

    /// The findings for results.json.
    pub fn summary(&self) -> Durability {
        Durability {
            acknowledged: self.acknowledged,
            lost_acknowledged: self.lost_count,
            write_behind_acknowledged: self.behind_acknowledged,
            write_behind_lost: self.behind_lost,
            write_behind_oldest_lost_ms: self.oldest_behind_ms.map(|m| m as f64),
            write_behind_bound_ms: self.bound_ms.map(|m| m as f64),
            readbacks: self.readbacks.len() as u64,
            lost: self.lost.clone(),
        }
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn durable(key: &str, version: u64) -> Ack {
        Ack::Durable {
            key: key.into(),
            value: format!("v={version}"),
            version,
        }
    }

    fn stored(version: u64, changed_at_ms: u64) -> Option<Stored> {
        Some(Stored {
            version,
            value: None,
            changed_at_ms: Some(changed_at_ms),
            bound_ms: Some(100),
        })
    }

    #[test]
    fn a_durable_write_found_older_is_lost_once_and_named() {
        let mut l = Ledger::new();
        l.record(vec![durable("a", 3), durable("a", 5), durable("b", 2)]);
        let keys = l.keys(true);
        assert_eq!(keys, ["a", "b"]);
        // `a` came back at v4: its v5 is lost, its v3 is not; `b` is unreadable.
        l.absorb(&keys, vec![stored(4, 0), None], true);
        // (The same value at a lower version would not be a loss.)
        let mut same = Ledger::new();
        same.record(vec![durable("c", 9)]);
        let mut found = stored(7, 0);
        if let Some(f) = &mut found {
            f.value = Some("v=9".into());
        }
        same.absorb(&same.keys(false), vec![found], false);
        assert_eq!(same.summary().lost_acknowledged, 0);
        let s = l.summary();
        assert_eq!((s.acknowledged, s.lost_acknowledged), (3, 2));
        assert_eq!(s.lost[0].key, "a");
        assert_eq!((s.lost[0].version, s.lost[0].found_version), (5, Some(4)));
        assert_eq!(s.lost[1].found_version, None);
        // A later read-back that finds `a` at v4 again loses nothing more.
        l.absorb(&keys, vec![stored(4, 0), stored(2, 0)], false);
        assert_eq!(l.summary().lost_acknowledged, 2);
        let checks = l.checks();
        assert_eq!(checks.len(), 4);
        assert!(
            checks[0]
                .violation
                .as_deref()
                .unwrap()
                .contains("a (acknowledged v5")
        );
        assert!(checks[2].violation.is_none());
    }

    #[test]
    fn written_behind_writes_newer_than_the_stored_state_are_lost_and_aged() {
        let mut l = Ledger::new();
        let wb = |at_ms| Ack::WriteBehind {
            key: "d".into(),
            at_ms,
        };
        l.record(vec![wb(1_000), wb(1_050), wb(1_090)]);
        l.down_at_ms = Some(1_100);
        let keys = l.keys(true);
        l.absorb(&keys, vec![stored(1, 1_000)], true);
        let s = l.summary();
        assert_eq!((s.write_behind_acknowledged, s.write_behind_lost), (3, 2));
        assert_eq!(s.write_behind_oldest_lost_ms, Some(50.0));
        assert!(l.checks()[1].violation.is_none(), "50 ms is within 100 ms");
        // After the restart they are forgotten: the next read-back judges new ones.
        assert!(l.keys(true).is_empty());
        l.record(vec![wb(5_000)]);
        l.down_at_ms = Some(5_500);
        l.absorb(&l.keys(true), vec![stored(1, 1_000)], true);
        let checks = l.checks();
        assert!(
            checks[3]
                .violation
                .as_deref()
                .unwrap()
                .contains("500 ms old"),
            "{checks:?}"
        );
    }

    #[test]
    fn the_end_read_back_leaves_written_behind_writes_unjudged() {
        let mut l = Ledger::new();
        l.record(vec![Ack::WriteBehind {
            key: "d".into(),
            at_ms: 10,
        }]);
        assert!(l.keys(false).is_empty());
        l.absorb_nothing(false);
        assert_eq!(l.summary().write_behind_lost, 0);
        assert_eq!(l.summary().readbacks, 1);
    }
}
