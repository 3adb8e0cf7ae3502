//! "Did you mean ...": hints for misspelt names in scenario files.
//!
//! Two kinds of slip are common. People who know k6 write its names (`vus`,
//! `constant-vus`, `timeUnit`, `maxVUs`); [`K6_NAMES`] maps each to Gauntlet's own,
//! with a word on what differs. Everyone else makes typos (`rte`, `max_inflight`);
//! [`did_you_mean`] finds the nearest known name, comparing case-, `-`- and
//! `_`-insensitively and then by edit distance. [`annotate`] adds either hint to a
//! serde message such as ``unknown field `vus`, expected one of `name`, `op`, ...``.

/// k6 names and what Gauntlet calls them: the hint reads "k6's `NAME` TEXT".
pub const K6_NAMES: &[(&str, &str)] = &[
    ("constant-vus", "is `constant-concurrency` here"),
    ("ramping-vus", "is `ramping-concurrency` here"),
    ("vus", "is `concurrency` here"),
    ("startVUs", "is `start_concurrency` here"),
    (
        "maxVUs",
        "is `max_in_flight` here, the bound on ops in flight",
    ),
    (
        "preAllocatedVUs",
        "is `max_in_flight` here, the bound on ops in flight",
    ),
    ("timeUnit", "is `time_unit` here"),
    ("startRate", "is `start_rate` here"),
    ("gracefulStop", "is the top-level `grace` here"),
    ("gracefulRampDown", "is the top-level `grace` here"),
    ("startTime", "is `start` here"),
    (
        "abortOnFail",
        "has no equivalent: thresholds are judged over the whole run, which its hard deadline bounds",
    ),
    (
        "delayAbortEval",
        "has no equivalent: thresholds are judged over the whole run",
    ),
];

/// ` (k6's `vus` is `concurrency` here)` for a k6 name, ` (did you mean `NAME`?)`
/// for the candidate nearest to `word`, or an empty string when none is near enough
/// to be a likely slip.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    if let Some((k6, text)) = K6_NAMES.iter().find(|(k6, _)| *k6 == word) {
        return format!(" (k6's `{k6}` {text})");
    }
    nearest(word, candidates).map_or_else(String::new, |c| format!(" (did you mean `{c}`?)"))
}

/// The candidate nearest to `word`, when it is near enough: the same name up to case,
/// `-` and `_`, or within an edit distance of about a third of its length.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Long input is not a slip of the fingers; comparing it would only cost time.
    if word.is_empty() || word.len() > 64 {
        return None;
    }
    let key = normalize(word);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = if normalize(c) == key {
            0
        } else {
            strsim::damerau_levenshtein(&key, &normalize(c))
        };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (key.chars().count() / 3).max(1);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Rust type names in serde's messages, and what a person reads instead.
const TYPE_WORDS: &[(&str, &str)] = &[
    (" as i128", ""),
    // A TOML date/time reaches serde as a map: name both, the user wrote one of them.
    (
        "invalid type: map,",
        "invalid type: a table or a date/time,",
    ),
    (" as u128", ""),
    (
        "expected u64",
        "expected a whole number from 0 to 18446744073709551615",
    ),
    (
        "expected u32",
        "expected a whole number from 0 to 4294967295",
    ),
    ("expected usize", "expected a whole number of 0 or more"),
    ("expected i64", "expected a whole number"),
    ("expected f64", "expected a number"),
];

/// Makes a serde message read for people: Rust type names replaced by words, and a
/// hint added to an "unknown field" or "unknown variant" message.
pub fn annotate(message: &str) -> String {
    let mut message = message.to_owned();
    for (rust, words) in TYPE_WORDS {
        if message.contains(rust) {
            message = message.replace(rust, words);
        }
    }
    let Some((word, expected)) = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
    else {
        return message;
    };
    // The expected names are the back-quoted words after the unknown one.
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let hint = did_you_mean(word, candidates);
    format!("{message}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k6_names_map_to_ours() {
        for (k6, ours) in [
            ("constant-vus", "is `constant-concurrency` here"),
            ("vus", "is `concurrency` here"),
            ("maxVUs", "is `max_in_flight` here"),
            ("timeUnit", "is `time_unit` here"),
            ("startRate", "is `start_rate` here"),
            ("abortOnFail", "has no equivalent"),
        ] {
            let hint = did_you_mean(k6, ["x"]);
            assert!(hint.contains(ours), "{k6}: {hint}");
        }
    }

    #[test]
    fn near_misses_are_suggested_and_far_ones_are_not() {
        let fields = [
            "rate",
            "time_unit",
            "max_in_flight",
            "drop_after",
            "duration",
        ];
        assert_eq!(nearest("rte", fields), Some("rate"));
        assert_eq!(nearest("max_inflight", fields), Some("max_in_flight"));
        assert_eq!(nearest("MaxInFlight", fields), Some("max_in_flight"));
        assert_eq!(nearest("duraton", fields), Some("duration"));
        assert_eq!(nearest("banana", fields), None);
        assert_eq!(nearest("", fields), None);
        assert_eq!(nearest(&"x".repeat(10_000), fields), None);
    }

    #[test]
    fn serde_messages_get_the_hint() {
        assert_eq!(
            annotate("unknown field `rte`, expected one of `rate`, `op`"),
            "unknown field `rte`, expected one of `rate`, `op` (did you mean `rate`?)"
        );
        assert!(
            annotate("unknown variant `constant-vus`, expected one of `constant-arrival-rate`, `constant-concurrency`")
                .ends_with("(k6's `constant-vus` is `constant-concurrency` here)")
        );
        assert_eq!(annotate("invalid type: string"), "invalid type: string");
        assert_eq!(
            annotate("invalid type: integer `99999999999999999999` as i128, expected u64"),
            "invalid type: integer `99999999999999999999`, expected a whole number from 0 to 18446744073709551615"
        );
        assert_eq!(
            annotate("unknown field `zzzzzz`, expected `rate` or `op`"),
            "unknown field `zzzzzz`, expected `rate` or `op`"
        );
    }
}
