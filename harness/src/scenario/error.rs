//! Scenario errors that point at the file, line, column and field.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// One thing wrong with a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the offending field (`load[0].rate`), when known.
    pub field: Option<String>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{}: cannot read scenario: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but is not a valid scenario.
    #[error("{}", Rendered { file, problems })]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every problem found (at least one).
        problems: Vec<Problem>,
    },
}

/// The most problems printed; a file with thousands (20,000 duplicate loads) would
/// bury the first, which is usually the cause of the rest.
pub const MAX_SHOWN: usize = 50;

struct Rendered<'a> {
    file: &'a PathBuf,
    problems: &'a [Problem],
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().take(MAX_SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file.display())?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
                if let Some(col) = p.column {
                    write!(f, ":{col}")?;
                }
            }
            write!(f, ": ")?;
            if let Some(field) = &p.field {
                write!(f, "{field}: ")?;
            }
            write!(f, "{}", p.message)?;
        }
        if self.problems.len() > MAX_SHOWN {
            write!(
                f,
                "\n{}: ... and {} more problem(s)",
                self.file.display(),
                self.problems.len() - MAX_SHOWN
            )?;
        }
        Ok(())
    }
}

impl ScenarioError {
    /// The problems found (empty for I/O errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Io { .. } => &[],
            ScenarioError::Invalid { problems, .. } => problems,
        }
    }
}

/// Converts a byte offset into a 1-based (line, column) pair; columns count characters.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let offset = (0..=offset)
        .rev()
        .find(|&o| text.is_char_boundary(o))
        .unwrap_or(0);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Where each line of a text starts, so that many offsets are turned into lines and
/// columns without rescanning the text for each (a file with thousands of problems
/// would otherwise take quadratic time).
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text` (one pass).
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { starts }
    }

    /// 1-based (line, column) of byte `offset` of `text` (the text indexed); columns
    /// count characters, as [`line_col`] does.
    pub(crate) fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let offset = (0..=offset)
            .rev()
            .find(|&o| text.is_char_boundary(o))
            .unwrap_or(0);
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0).min(offset);
        let column = text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }
}

/// Builds a problem at a byte span of `text`, with lines from `index`.
pub(crate) fn problem_indexed(
    text: &str,
    index: &LineIndex,
    span: Option<Range<usize>>,
    field: Option<String>,
    message: impl Into<String>,
) -> Problem {
    let (line, column) = match span {
        Some(s) => {
            let (l, c) = index.line_col(text, s.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    Problem {
        field,
        line,
        column,
        message: message.into(),
    }
}

/// Builds a problem at a byte span of `text`.
pub(crate) fn problem_at(
    text: &str,
    span: Option<Range<usize>>,
    field: Option<String>,
    message: impl Into<String>,
) -> Problem {
    let (line, column) = match span {
        Some(s) => {
            let (l, c) = line_col(text, s.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    Problem {
        field,
        line,
        column,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let t = "a = 1\nbb = \"é\"\nc = 3";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 11), (2, 6));
        assert_eq!(line_col(t, t.len()), (3, 6));
        assert_eq!(line_col(t, 10_000), (3, 6));
        let index = LineIndex::new(t);
        for offset in [0, 1, 5, 6, 7, 9, 10, 11, 12, 13, t.len(), 10_000] {
            assert_eq!(index.line_col(t, offset), line_col(t, offset), "{offset}");
        }
    }

    #[test]
    fn thousands_of_problems_print_the_first_fifty() {
        let problem = |i: usize| Problem {
            field: Some(format!("load[{i}].name")),
            line: Some(i + 1),
            column: Some(1),
            message: "duplicate".into(),
        };
        let e = ScenarioError::Invalid {
            file: "s.toml".into(),
            problems: (0..20_000).map(problem).collect(),
        };
        let text = e.to_string();
        assert_eq!(text.lines().count(), MAX_SHOWN + 1);
        assert!(
            text.ends_with("s.toml: ... and 19950 more problem(s)"),
            "{text}"
        );
    }

    #[test]
    fn rendering_names_file_line_column_and_field() {
        let e = ScenarioError::Invalid {
            file: "s.toml".into(),
            problems: vec![Problem {
                field: Some("load[0].rate".into()),
                line: Some(12),
                column: Some(8),
                message: "must be greater than 0".into(),
            }],
        };
        assert_eq!(
            e.to_string(),
            "s.toml:12:8: load[0].rate: must be greater than 0"
        );
    }
}
