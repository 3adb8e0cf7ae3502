//! Message accounting across the incarnations of a target child process.
//!
//! Each incarnation's figures are kept as they were last known: exact from the
//! accounting its graceful shutdown reported, otherwise from the last sample it pushed
//! (every quarter tick). The run's accounting is their sum. A killed incarnation took
//! what its last sample showed sent but not yet delivered, dropped, rejected or
//! dead-lettered with it: that is `lost_in_kill`, not `lost`. An incarnation that was
//! asked to stop gracefully but did not report its shutdown counts the same remainder
//! as `lost`: a graceful stop must account for everything.

use gauntlet_reports::schema::{
    IncarnationEnd, IncarnationMessages, MessageAccounting, TargetSample,
};

/// What is known of every incarnation so far.
#[derive(Debug, Default)]
pub struct Accounts {
    /// The incarnations that ended, with their numbers, in order.
    ended: Vec<(u64, IncarnationMessages)>,
    /// The running incarnation's number and its last sample, if any came.
    current: Option<(u64, Option<TargetSample>)>,
}

impl Accounts {
    /// Incarnation `n` is ready (before it pushes any sample).
    pub fn started(&mut self, n: u64) {
        self.current = Some((n, None));
    }

    /// Incarnation `n` pushed a sample. One that arrives after its incarnation was
    /// killed (still in the pipe) is newer than what the kill recorded: it replaces it.
    pub fn sampled(&mut self, n: u64, sample: &TargetSample) {
        if let Some((m, last)) = &mut self.current
            && *m == n
        {
            *last = Some(*sample);
            return;
        }
        if let Some((m, record)) = self.ended.last_mut()
            && *m == n
            && record.ended == IncarnationEnd::Killed
        {
            record.messages = from_sample(Some(sample), true);
        }
    }

    /// The running incarnation ended: `exact` is the accounting its shutdown reported
    /// (`None` when killed or when it never reported).
    pub fn ended(&mut self, how: IncarnationEnd, exact: Option<MessageAccounting>) {
        let Some((n, last)) = self.current.take() else {
            return;
        };
        let messages = match exact {
            Some(m) => m,
            None => from_sample(last.as_ref(), how == IncarnationEnd::Killed),
        };
        self.ended.push((
            n,
            IncarnationMessages {
                ended: how,
                messages,
            },
        ));
    }

    /// The run's accounting: the sum over the incarnations (the running one, if any,
    /// from its last sample, as if the run ended now) that measured anything, with the
    /// per-incarnation records when there was more than one.
    pub fn total(&self) -> MessageAccounting {
        let mut all: Vec<IncarnationMessages> = self.ended.iter().map(|(_, r)| r.clone()).collect();
        if let Some((_, last)) = &self.current {
            all.push(IncarnationMessages {
                ended: IncarnationEnd::End,
                messages: from_sample(last.as_ref(), false),
            });
        }
        let mut total =
            MessageAccounting::sum(all.iter().map(|r| &r.messages).filter(|m| m.measured));
        if all.len() > 1 && total.measured {
            total.incarnations = all;
        }
        total
    }
}

/// An incarnation's accounting from its last sample: nothing is queued in a process
/// that is gone; what was neither delivered, dropped, rejected nor dead-lettered is
/// `lost_in_kill` when it was killed, `lost` otherwise. Unmeasured without a sample
/// or where the target counts no messages.
fn from_sample(s: Option<&TargetSample>, killed: bool) -> MessageAccounting {
    let Some(s) = s else {
        return MessageAccounting::default();
    };
    let (Some(sent), Some(delivered), Some(dropped), Some(rejected), Some(dead_lettered)) = (
        s.messages_sent,
        s.messages_delivered,
        s.messages_dropped,
        s.messages_rejected,
        s.messages_dead_lettered,
    ) else {
        return MessageAccounting::default();
    };
    let mut m = MessageAccounting {
        measured: true,
        sent: Some(sent),
        delivered: Some(delivered),
        dropped: Some(dropped),
        rejected: Some(rejected),
        dead_lettered: Some(dead_lettered),
        queued: Some(0),
        ..MessageAccounting::default()
    };
    let rest = m.computed_lost().unwrap_or(0);
    if killed {
        // Negative (counted twice) stays visible as `lost`.
        m.lost_in_kill = Some(rest.max(0) as u64);
        m.lost = Some(rest.min(0));
    } else {
        m.lost = Some(rest);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sent: u64, delivered: u64, dead_lettered: u64) -> TargetSample {
        TargetSample {
            messages_sent: Some(sent),
            messages_delivered: Some(delivered),
            messages_dropped: Some(0),
            messages_rejected: Some(0),
            messages_dead_lettered: Some(dead_lettered),
            ..TargetSample::default()
        }
    }

    fn exact(sent: u64, delivered: u64, dead_lettered: u64) -> MessageAccounting {
        let mut m = from_sample(Some(&sample(sent, delivered, dead_lettered)), false);
        m.lost = m.computed_lost();
        m
    }

    /// The accounting the run reports must be the sum over its incarnations: sent
    /// across them equals the sum of each one's sent, and so on.
    fn assert_sums(total: &MessageAccounting) {
        assert!(total.incarnations.len() > 1, "{total:?}");
        let parts = &total.incarnations;
        let sum = |f: fn(&MessageAccounting) -> Option<u64>| -> u64 {
            parts.iter().filter_map(|p| f(&p.messages)).sum()
        };
        assert_eq!(total.sent, Some(sum(|m| m.sent)), "sent: {total:?}");
        assert_eq!(
            total.delivered,
            Some(sum(|m| m.delivered)),
            "delivered: {total:?}"
        );
        assert_eq!(
            total.dead_lettered,
            Some(sum(|m| m.dead_lettered)),
            "dead-lettered: {total:?}"
        );
        assert_eq!(total.computed_lost(), total.lost, "{total:?}");
    }

    #[test]
    fn a_graceful_restart_sums_both_incarnations_exactly() {
        let mut a = Accounts::default();
        a.started(0);
        a.sampled(0, &sample(90, 80, 0));
        // The shutdown's report is exact and replaces the last sample.
        a.ended(IncarnationEnd::Restarted, Some(exact(100, 98, 2)));
        a.started(1);
        a.sampled(1, &sample(40, 30, 0));
        a.ended(IncarnationEnd::End, Some(exact(50, 50, 0)));
        let t = a.total();
        assert_sums(&t);
        assert_eq!(t.sent, Some(150));
        assert_eq!(t.delivered, Some(148));
        assert_eq!(t.lost, Some(0));
        assert_eq!(t.lost_in_kill, None);
        let ends: Vec<_> = t.incarnations.iter().map(|i| i.ended).collect();
        assert_eq!(ends, [IncarnationEnd::Restarted, IncarnationEnd::End]);
    }

    #[test]
    fn a_killed_incarnation_keeps_its_figures_and_what_it_held_is_lost_in_kill() {
        let mut a = Accounts::default();
        a.started(0);
        a.sampled(0, &sample(70, 60, 0));
        a.sampled(0, &sample(100, 93, 1));
        a.ended(IncarnationEnd::Killed, None);
        // A sample of the killed one still in the pipe, then one of the next, which
        // must not touch the killed one's record.
        a.sampled(0, &sample(104, 95, 1));
        a.started(1);
        a.sampled(1, &sample(10, 10, 0));
        a.ended(IncarnationEnd::End, Some(exact(30, 30, 0)));
        let t = a.total();
        assert_sums(&t);
        let killed = &t.incarnations[0];
        assert_eq!(killed.ended, IncarnationEnd::Killed);
        assert_eq!(killed.messages.sent, Some(104));
        assert_eq!(killed.messages.lost_in_kill, Some(8));
        assert_eq!(killed.messages.lost, Some(0));
        assert_eq!(t.sent, Some(134));
        assert_eq!(t.lost_in_kill, Some(8));
        // Not `messages.lost`: the kill's messages are accounted for as lost in it.
        assert_eq!(t.lost, Some(0));
    }

    #[test]
    fn a_graceful_stop_that_never_reported_counts_its_remainder_as_lost() {
        let mut a = Accounts::default();
        a.started(0);
        a.sampled(0, &sample(100, 95, 0));
        a.ended(IncarnationEnd::Restarted, None);
        a.started(1);
        a.ended(IncarnationEnd::End, Some(exact(10, 10, 0)));
        let t = a.total();
        assert_eq!(t.lost, Some(5), "{t:?}");
        assert_eq!(t.lost_in_kill, None);
    }

    #[test]
    #[should_panic(expected = "sent")]
    fn negative_control_only_the_last_incarnation_is_not_the_sum() {
        let mut a = Accounts::default();
        a.started(0);
        a.ended(IncarnationEnd::Restarted, Some(exact(100, 100, 0)));
        a.started(1);
        a.ended(IncarnationEnd::End, Some(exact(50, 50, 0)));
        let mut t = a.total();
        // What the run reported before: the last child's figures only.
        let records = std::mem::take(&mut t.incarnations);
        let mut last_only = records.last().unwrap().messages.clone();
        last_only.incarnations = records;
        assert_sums(&last_only);
    }
}
