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

struct Rendered<'a> {
    file: &'a PathBuf,
    problems: &'a [Problem],
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
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
