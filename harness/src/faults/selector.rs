//! Target selectors: which live actors an address glob matches, and which of them a
//! fault hits, drawn from the scenario's seed.
//!
//! A glob is matched against whole addresses (`actor://gauntlet/router/child-3`):
//! `*` matches within one path segment, `**` across segments, `?` one character,
//! `[...]` a class. Matches are sorted before the draw, so the same live actors and the
//! same seed give the same victims.

use globset::{Glob, GlobMatcher};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::index;

/// A compiled address glob.
#[derive(Debug, Clone)]
pub struct Selector {
    text: String,
    matcher: GlobMatcher,
}

/// Why a selector could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// Not a valid glob (validation normally catches this first).
    #[error("`{0}` is not a valid glob: {1}")]
    Invalid(String, String),
    /// It matched no live actor.
    #[error("selector `{glob}` matched none of the {live} live actors (e.g. {examples})")]
    NoMatch {
        /// The glob.
        glob: String,
        /// How many actors were alive.
        live: usize,
        /// A few live addresses, to help fix the glob.
        examples: String,
    },
}

impl Selector {
    /// Compiles `glob`; `/` is a separator, so `*` stays within one path segment.
    pub fn new(glob: &str) -> Result<Self, SelectorError> {
        let matcher = globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .map(|g: Glob| g.compile_matcher())
            .map_err(|e| SelectorError::Invalid(glob.to_owned(), e.kind().to_string()))?;
        Ok(Self {
            text: glob.to_owned(),
            matcher,
        })
    }

    /// Whether `address` matches.
    pub fn matches(&self, address: &str) -> bool {
        self.matcher.is_match(address)
    }

    /// The matching addresses among `live`, sorted; an error when there are none.
    pub fn resolve(&self, live: &[String]) -> Result<Vec<String>, SelectorError> {
        let mut hits: Vec<String> = live.iter().filter(|a| self.matches(a)).cloned().collect();
        if hits.is_empty() {
            let mut sample: Vec<&str> = live.iter().map(String::as_str).collect();
            sample.sort_unstable();
            sample.truncate(4);
            return Err(SelectorError::NoMatch {
                glob: self.text.clone(),
                live: live.len(),
                examples: if sample.is_empty() {
                    "none".to_owned()
                } else {
                    sample.join(", ")
                },
            });
        }
        hits.sort_unstable();
        Ok(hits)
    }
}

/// Checks an actor address glob as written in a scenario: `actor://<system>/...` with
/// `*` (one path segment), `**` (any depth), `?` and `[...]`.
pub fn check_glob(glob: &str) -> Result<(), String> {
    if !glob.starts_with("actor://") {
        return Err(format!(
            "`{glob}` is not an actor address glob: it must start with `actor://` (e.g. `actor://gauntlet/worker-*`)"
        ));
    }
    Glob::new(glob)
        .map(drop)
        .map_err(|e| format!("`{glob}` is not a valid glob: {}", e.kind()))
}

/// Picks `count` of `candidates` (all of them when `None` or more than there are),
/// drawn from `seed`; keeps the candidates' order.
pub fn choose(candidates: Vec<String>, count: Option<usize>, seed: u64) -> Vec<String> {
    let n = candidates.len();
    let Some(k) = count.filter(|&k| k < n) else {
        return candidates;
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut picked = index::sample(&mut rng, n, k).into_vec();
    picked.sort_unstable();
    picked.into_iter().map(|i| candidates[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> Vec<String> {
        [
            "actor://gauntlet/router",
            "actor://gauntlet/router/child-0",
            "actor://gauntlet/router/child-1",
            "actor://gauntlet/worker-0",
            "actor://gauntlet/worker-1",
            "actor://gauntlet/worker-2",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn star_stays_in_one_segment_and_double_star_crosses() {
        let s = Selector::new("actor://gauntlet/*").unwrap();
        assert_eq!(s.resolve(&live()).unwrap().len(), 4);
        let s = Selector::new("actor://gauntlet/**/child-*").unwrap();
        assert_eq!(s.resolve(&live()).unwrap().len(), 2);
        let s = Selector::new("actor://gauntlet/worker-[01]").unwrap();
        assert_eq!(
            s.resolve(&live()).unwrap(),
            ["actor://gauntlet/worker-0", "actor://gauntlet/worker-1"]
        );
    }

    #[test]
    fn no_match_is_an_error_naming_live_actors() {
        let e = Selector::new("actor://gauntlet/device-*")
            .unwrap()
            .resolve(&live())
            .unwrap_err();
        assert!(
            e.to_string().contains("matched none of the 6 live actors"),
            "{e}"
        );
        assert!(e.to_string().contains("actor://gauntlet/router"), "{e}");
    }

    #[test]
    fn victims_replay_with_the_seed() {
        let all: Vec<String> = (0..50).map(|i| format!("actor://g/w-{i:02}")).collect();
        let a = choose(all.clone(), Some(3), 7);
        assert_eq!(a, choose(all.clone(), Some(3), 7));
        assert_ne!(a, choose(all.clone(), Some(3), 8));
        assert_eq!(a.len(), 3);
        assert_eq!(choose(all.clone(), None, 7), all);
        assert_eq!(choose(all.clone(), Some(99), 7), all);
    }
}
