//! The one rule for names that become a path component: a scenario's name (its output
//! folder `out/NAME`), load names, suite entries, the `scenario.name` of a results file
//! (`capacity --from` writes to `out/NAME-capacity`) and baseline look-ups
//! (`DIR/NAME.json`).
//!
//! A name is 1 to [`MAX_LEN`] characters of ASCII letters, digits, `-`, `_` and `.`,
//! and is neither `.` nor `..`. Such a name cannot hold a separator, cannot climb out
//! of its folder, and fits every file system's limit on a component (255 bytes) with
//! room for the suffixes Gauntlet adds (`-capacity`, `.json`).
//!
//! ```
//! use gauntlet_reports::path_name::check;
//!
//! assert!(check("smoke-v1.2").is_ok());
//! assert!(check("../../x").is_err());
//! assert!(check("..").is_err());
//! ```

/// The longest name accepted, in characters.
pub const MAX_LEN: usize = 100;

/// Why a name cannot be a path component; the message states the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("must not be empty (it names files and folders)")]
    Empty,
    /// The name is longer than [`MAX_LEN`].
    #[error("is {len} characters long; at most {MAX_LEN} are allowed (it names files and folders)")]
    TooLong {
        /// The name's length in characters.
        len: usize,
    },
    /// The name holds a character outside the rule.
    #[error(
        "`{name}` holds {found}; use only letters, digits, `-`, `_` and `.` (it names files and folders)"
    )]
    Character {
        /// The name, shortened to [`MAX_LEN`] characters.
        name: String,
        /// The first offending character, described.
        found: String,
    },
    /// The name is `.` or `..`.
    #[error("`{0}` is not allowed: it would name a folder that already exists (`.` or `..`)")]
    Dots(String),
}

/// Checks `name` against the rule (see the module docs).
pub fn check(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let len = name.chars().count();
    if len > MAX_LEN {
        return Err(NameError::TooLong { len });
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(NameError::Character {
            name: name.to_owned(),
            found: describe(c),
        });
    }
    if name == "." || name == ".." {
        return Err(NameError::Dots(name.to_owned()));
    }
    Ok(())
}

fn describe(c: char) -> String {
    match c {
        '/' | '\\' => format!("a path separator `{c}`"),
        ' ' => "a space".to_owned(),
        c if c.is_control() => format!("a control character (U+{:04X})", u32::from(c)),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_pass() {
        for ok in [
            "a",
            "smoke",
            "chaos-kill_2.v1",
            "..a",
            "a..",
            &"x".repeat(MAX_LEN),
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert_eq!(check(""), Err(NameError::Empty));
        assert_eq!(check("."), Err(NameError::Dots(".".into())));
        assert_eq!(check(".."), Err(NameError::Dots("..".into())));
        assert!(matches!(
            check(&"x".repeat(MAX_LEN + 1)),
            Err(NameError::TooLong { len: 101 })
        ));
        for bad in [
            "../../x", "/abs", "a/b", "a\\b", "a b", "a}b{c=d", "é", "a\0b", "a\nb",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        let e = check("../x").unwrap_err().to_string();
        assert!(e.contains("path separator `/`"), "{e}");
    }
}
