//! Field paths (`load[0].stages[1].duration`) and where they are in the file.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

impl Seg {
    pub(super) fn from_serde(s: &serde_path_to_error::Segment) -> Option<Self> {
        match s {
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {
                None
            }
        }
    }
}

struct Path_<'a>(&'a [Seg]);

impl fmt::Display for Path_<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    {
                        f.write_str(k)?;
                    } else {
                        write!(f, "\"{k}\"")?;
                    }
                }
            }
        }
        Ok(())
    }
}

pub(super) fn render(path: &[Seg]) -> String {
    Path_(path).to_string()
}

/// The span of the key at the end of `path` (the value's span for array elements).
pub(super) fn locate_key(doc: &DeTable<'_>, path: &[Seg]) -> Option<Range<usize>> {
    locate_in(doc, path, true)
}

/// The span of the value at `path` (of the key, for tables and arrays of tables).
pub(super) fn locate(doc: &DeTable<'_>, path: &[Seg]) -> Option<Range<usize>> {
    locate_in(doc, path, false)
}

fn locate_in(doc: &DeTable<'_>, path: &[Seg], want_key: bool) -> Option<Range<usize>> {
    let mut table = doc;
    let mut current: Option<&Spanned<DeValue<'_>>> = None;
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match seg {
            Seg::Key(k) => {
                if let Some(v) = current {
                    match v.get_ref() {
                        DeValue::Table(t) => table = t,
                        _ => return None,
                    }
                }
                let (key, value) = table.iter().find(|(key, _)| key.get_ref() == k)?;
                if last
                    && !want_key
                    && !matches!(value.get_ref(), DeValue::Table(_) | DeValue::Array(_))
                {
                    return Some(value.span());
                }
                if last {
                    return Some(key.span());
                }
                current = Some(value);
            }
            Seg::Index(n) => {
                let v = current?;
                match v.get_ref() {
                    DeValue::Array(a) => current = Some(a.get(*n)?),
                    _ => return None,
                }
                if last {
                    return current.map(|c| c.span());
                }
            }
        }
    }
    current.map(|c| c.span())
}
