//! Parsing: TOML text -> the raw file (syntax and type errors, with spans) -> the
//! validated model (see `validate`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::DeTable;

use super::error::{Problem, ScenarioError, problem_at};
use super::location::{Seg, locate, locate_key, render};
use super::model::Scenario;
use super::raw::RawScenario;
use super::validate::Validator;
use crate::workload::Registry;

/// Values given on the command line that replace the scenario's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `duration` (`--duration`).
    pub duration: Option<Duration>,
    /// Replaces `seed` (`--seed`).
    pub seed: Option<u64>,
}

/// Reads and validates a scenario file against the built-in workloads.
pub fn load_file(path: &Path, overrides: &Overrides) -> Result<Scenario, ScenarioError> {
    load_file_in(&Registry::builtin(), path, overrides)
}

/// Reads and validates a scenario file against the workloads of `registry`.
pub fn load_file_in(
    registry: &Registry,
    path: &Path,
    overrides: &Overrides,
) -> Result<Scenario, ScenarioError> {
    // hard14 (issue 14): a regular file under the input size cap only.
    let text = crate::input::read_text(path).map_err(|e| ScenarioError::Io {
        file: path.to_path_buf(),
        source: e.into_io(),
    })?;
    parse_in(registry, &text, &path.display().to_string(), overrides)
}

/// Parses and validates scenario text against the built-in workloads; `file` is used
/// in error messages.
pub fn parse_str(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    parse_with(text, file, &Overrides::default())
}

/// Parses and validates scenario text with command-line overrides applied, against
/// the built-in workloads.
pub fn parse_with(
    text: &str,
    file: &str,
    overrides: &Overrides,
) -> Result<Scenario, ScenarioError> {
    parse_in(&Registry::builtin(), text, file, overrides)
}

/// Parses and validates scenario text against the workloads of `registry`.
pub fn parse_in(
    registry: &Registry,
    text: &str,
    file: &str,
    overrides: &Overrides,
) -> Result<Scenario, ScenarioError> {
    let invalid = |problems: Vec<Problem>| ScenarioError::Invalid {
        file: PathBuf::from(file),
        problems,
    };
    let doc = DeTable::parse(text).map_err(|e| {
        invalid(vec![problem_at(
            text,
            e.span(),
            None,
            e.message().trim_end(),
        )])
    })?;
    let de = toml::de::Deserializer::from(doc.clone());
    let raw: RawScenario = serde_path_to_error::deserialize(de)
        .map_err(|e| invalid(vec![serde_problem(text, doc.get_ref(), &[], e)]))?;
    let mut problems = Vec::new();
    let target = super::target::parse(registry, text, file, doc.get_ref(), &mut problems);
    let mut v = Validator::new(text, doc.get_ref(), problems);
    let scenario = v.scenario(raw, target, file, overrides);
    match scenario {
        Some(s) if v.problems.is_empty() => Ok(s),
        _ => Err(invalid(v.problems)),
    }
}

/// Turns a deserialization error at `prefix` + its own path into a problem pointing at
/// the offending key or value.
pub(super) fn serde_problem(
    text: &str,
    doc: &toml::de::DeTable<'_>,
    prefix: &[Seg],
    e: serde_path_to_error::Error<toml::de::Error>,
) -> Problem {
    let mut path: Vec<Seg> = prefix.to_vec();
    path.extend(e.path().iter().filter_map(Seg::from_serde));
    let inner = e.into_inner();
    // hard14 (issue 14): "did you mean" for k6 names and near-miss names.
    let message = super::suggest::annotate(inner.message().trim_end());
    // Point unknown fields at the offending key rather than at its table.
    if let Some(key) = message
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
    {
        let mut with_key = path.clone();
        with_key.push(Seg::Key(key.to_owned()));
        if locate(doc, &with_key).is_some() {
            path = with_key;
        }
    }
    let span = if message.starts_with("unknown field") {
        locate_key(doc, &path)
    } else {
        locate(doc, &path)
    }
    .or_else(|| inner.span());
    let field = (!path.is_empty()).then(|| render(&path));
    problem_at(text, span, field, message)
}
