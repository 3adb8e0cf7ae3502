//! `--start-at`: the instant every shard starts its loads.
//!
//! Each shard builds its target first and then waits for the shared instant, so the
//! shards' loads start together however long their pods took to be scheduled and to
//! build. Latency stays measured from each op's intended start, which is counted from
//! that instant. A start instant already past when the target is built starts the
//! loads at once; the shard records when it really started
//! (`shard.load_started_at_unix_ms`) and `gauntlet merge` refuses shards that started
//! too far apart.

use std::time::{Duration, Instant, SystemTime};

use super::ShardRun;

/// How far ahead a start instant may lie: further is almost surely a mistake (a
/// timestamp in seconds read as milliseconds, or the wrong day).
pub const MAX_AHEAD: Duration = Duration::from_secs(24 * 3600);

/// Why a start instant is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartAtError {
    /// Neither milliseconds since the epoch nor RFC 3339.
    #[error(
        "--start-at `{0}`: expected milliseconds since the Unix epoch (e.g. 1767225600000) or an RFC 3339 time (e.g. 2026-12-04T17:00:00Z)"
    )]
    Syntax(String),
    /// Too far in the future.
    #[error("--start-at `{text}` is {ahead_s} s ahead; at most {} s is accepted", MAX_AHEAD.as_secs())]
    TooFarAhead {
        /// As given.
        text: String,
        /// Seconds from now.
        ahead_s: u64,
    },
}

/// Parses `UNIX_MS` or RFC 3339, and refuses instants more than [`MAX_AHEAD`] after
/// `now`.
pub fn parse_start_at(text: &str, now: SystemTime) -> Result<SystemTime, StartAtError> {
    let t = text.trim();
    let at = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let ms = t
            .parse::<u64>()
            .map_err(|_| StartAtError::Syntax(text.to_owned()))?;
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(|| StartAtError::Syntax(text.to_owned()))?
    } else {
        let dt = chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|_| StartAtError::Syntax(text.to_owned()))?;
        let ms = u64::try_from(dt.timestamp_millis())
            .map_err(|_| StartAtError::Syntax(text.to_owned()))?;
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    };
    if let Ok(ahead) = at.duration_since(now)
        && ahead > MAX_AHEAD
    {
        return Err(StartAtError::TooFarAhead {
            text: text.to_owned(),
            ahead_s: ahead.as_secs(),
        });
    }
    Ok(at)
}

/// When the loads start, on the monotonic clock and the wall clock: the shard's start
/// instant if it is further ahead than `lead`, else `lead` from now (what an unsharded
/// run does).
pub fn load_start(shard: Option<&ShardRun>, lead: Duration) -> (Instant, SystemTime) {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let wait = shard
        .and_then(|s| s.start_at)
        .and_then(|at| at.duration_since(wall).ok())
        .filter(|ahead| *ahead > lead)
        .unwrap_or(lead);
    (now + wait, wall + wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_instants_parse_from_milliseconds_or_rfc3339() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let ms = parse_start_at("1790000005000", now).unwrap();
        assert_eq!(ms, now + Duration::from_secs(5));
        let rfc = parse_start_at("2026-09-21T14:13:25.5+00:00", now).unwrap();
        assert_eq!(
            rfc.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::from_millis(1_790_000_005_500)
        );
        assert!(matches!(
            parse_start_at("tomorrow", now),
            Err(StartAtError::Syntax(_))
        ));
        assert!(matches!(
            parse_start_at("", now),
            Err(StartAtError::Syntax(_))
        ));
        // Seconds where milliseconds were meant: 1970, long past, accepted (and the
        // merge's skew check catches a shard that started late); a year ahead is refused.
        assert!(parse_start_at("1790000005", now).is_ok());
        let e = parse_start_at("1821536000000", now).unwrap_err();
        assert!(matches!(e, StartAtError::TooFarAhead { .. }), "{e}");
    }

    #[test]
    fn a_future_start_is_waited_for_and_a_past_one_is_not() {
        let lead = Duration::from_millis(20);
        let shard = |start_at| ShardRun {
            shard: super::super::Shard { index: 0, count: 2 },
            start_at,
            scenario_seed: 1,
        };
        let ahead = SystemTime::now() + Duration::from_secs(30);
        let (at, wall) = load_start(Some(&shard(Some(ahead))), lead);
        let wait = at.duration_since(Instant::now());
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(30));
        let skew = wall.duration_since(ahead).unwrap_or_else(|e| e.duration());
        assert!(skew < Duration::from_secs(5), "{skew:?}");
        let past = SystemTime::now() - Duration::from_secs(30);
        let (at, _) = load_start(Some(&shard(Some(past))), lead);
        assert!(at.duration_since(Instant::now()) <= lead);
        let (at, _) = load_start(None, lead);
        assert!(at.duration_since(Instant::now()) <= lead);
    }
}
