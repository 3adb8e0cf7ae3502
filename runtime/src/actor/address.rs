//! Actor addresses: `actor://<system>/<parent>/<child>`.
//!
//! An address names an actor by its place in the supervision tree: the system name is
//! the authority, and each path segment is the name of one actor, its parent first.
//! Names are URI *unreserved* characters only (`A-Z a-z 0-9 - . _ ~`), 1 to 128 of them,
//! so an address never needs escaping and never contains a query, fragment, port or
//! user info. (A general URL parser would accept all of those, which we would then have
//! to reject again; the grammar here is small enough to check directly and report
//! precisely.)

use std::fmt;
use std::sync::Arc;

/// The scheme every address starts with.
pub const SCHEME: &str = "actor://";
const MAX_NAME: usize = 128;
/// The first character of the names unnamed actors get (`~<id>`).
const UNNAMED: u8 = b'~';

/// Why a string is not a valid address or name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The string does not start with `actor://`.
    #[error("address `{0}` must start with `actor://`")]
    Scheme(String),
    /// The system name (authority) is missing.
    #[error("address `{0}` has no system name after `actor://`")]
    NoSystem(String),
    /// A name is empty (for example `actor://home//x` or a trailing `/`).
    #[error("address `{address}` has an empty name at segment {segment}")]
    EmptySegment {
        /// The offending address.
        address: String,
        /// 0 is the system name, 1 the first actor name.
        segment: usize,
    },
    /// A name contains a character outside `A-Z a-z 0-9 - . _ ~`.
    #[error(
        "name `{name}` contains `{ch}` at byte {at}: names may only use letters, digits, `-`, `.`, `_` and `~`"
    )]
    BadChar {
        /// The offending name.
        name: String,
        /// The first character that is not allowed.
        ch: char,
        /// Its byte offset in the name.
        at: usize,
    },
    /// A name is longer than 128 bytes.
    #[error("name `{0}` is longer than 128 bytes")]
    TooLong(String),
    /// `.` and `..` are not names.
    #[error("`{0}` is not a valid name")]
    DotName(String),
    /// Names of the form `~<digits>` belong to unnamed actors.
    #[error("name `{0}` is reserved: `~` followed by digits names unnamed actors")]
    Reserved(String),
}

/// Checks one actor or system name.
pub fn validate_name(name: &str) -> Result<(), AddressError> {
    if name.is_empty() {
        return Err(AddressError::EmptySegment {
            address: name.to_owned(),
            segment: 0,
        });
    }
    if name.len() > MAX_NAME {
        return Err(AddressError::TooLong(name.to_owned()));
    }
    if name == "." || name == ".." {
        return Err(AddressError::DotName(name.to_owned()));
    }
    // Bytes, not chars: every allowed character is ASCII, and a multi-byte character's
    // first byte is not ASCII, so the first bad byte starts the first bad character.
    if let Some(at) = name
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')))
    {
        return Err(AddressError::BadChar {
            name: name.to_owned(),
            ch: name[at..].chars().next().unwrap_or_default(),
            at,
        });
    }
    Ok(())
}

/// Checks the name an actor is spawned with (or an entity key): a valid name, and not
/// of the form `~<digits>`, which unnamed actors' names take.
pub fn validate_actor_name(name: &str) -> Result<(), AddressError> {
    validate_name(name)?;
    if is_unnamed_name(name.as_bytes()) {
        return Err(AddressError::Reserved(name.to_owned()));
    }
    Ok(())
}

/// The actor id in an unnamed actor's name (`~<digits>`), or `None` for any other name.
pub(crate) fn unnamed_id(name: &str) -> Option<u64> {
    if !is_unnamed_name(name.as_bytes()) {
        return None;
    }
    name[1..].parse().ok()
}

fn is_unnamed_name(name: &[u8]) -> bool {
    match name {
        [UNNAMED, digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// A validated actor address. Cheap to clone (one shared string).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(Arc<str>);

impl Address {
    /// Parses and validates an address such as `actor://home/kitchen/lamp-1`.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let rest = s
            .strip_prefix(SCHEME)
            .ok_or_else(|| AddressError::Scheme(s.to_owned()))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(AddressError::NoSystem(s.to_owned()));
        }
        for (segment, name) in rest.split('/').enumerate() {
            if name.is_empty() {
                return Err(AddressError::EmptySegment {
                    address: s.to_owned(),
                    segment,
                });
            }
            validate_name(name)?;
        }
        Ok(Self(Arc::from(s)))
    }

    /// The root address of a system, `actor://<system>`.
    pub(crate) fn root(system: &str) -> Result<Self, AddressError> {
        validate_name(system)?;
        Ok(Self(Arc::from(format!("{SCHEME}{system}"))))
    }

    /// The address of a child called `name` under this one.
    pub fn child(&self, name: &str) -> Result<Self, AddressError> {
        validate_name(name)?;
        Ok(Self(joined(&self.0, name)))
    }

    /// The address `~<id>` under this one, given to an actor spawned without a name
    /// (written without `format!`: it is made on every unnamed spawn).
    pub(crate) fn unnamed_child(&self, id: u64) -> Self {
        let mut digits = [0u8; 21];
        let mut at = digits.len();
        let mut n = id;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        at -= 1;
        digits[at] = UNNAMED;
        // SAFETY: `~` and ASCII digits are UTF-8 (a checked conversion cost an unnamed
        // spawn about 70 instructions).
        let name = unsafe { std::str::from_utf8_unchecked(&digits[at..]) };
        Self(joined(&self.0, name))
    }

    /// Whether this is an unnamed actor's address (its name is `~<digits>`).
    pub fn is_unnamed(&self) -> bool {
        // Bytes from the end: this runs on every actor's finalize.
        let s = self.0.as_bytes();
        match s.iter().rposition(|&b| b == b'/') {
            Some(slash) if slash >= SCHEME.len() => is_unnamed_name(&s[slash + 1..]),
            _ => false,
        }
    }

    /// The whole address as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The system name.
    pub fn system(&self) -> &str {
        self.after_scheme().split('/').next().unwrap_or_default()
    }

    /// The actor's own name (the last segment), or `None` for a system root.
    pub fn name(&self) -> Option<&str> {
        self.after_scheme()
            .split_once('/')
            .map(|(_, path)| path.rsplit('/').next().unwrap_or(path))
    }

    /// The actor names from the top of the tree down to this actor.
    pub fn path(&self) -> impl Iterator<Item = &str> {
        self.after_scheme().split('/').skip(1)
    }

    /// How many actors deep this address is (0 for a system root).
    pub fn depth(&self) -> usize {
        self.path().count()
    }

    /// The parent's address, or `None` for a system root.
    pub fn parent(&self) -> Option<Address> {
        let rest = self.after_scheme();
        let cut = rest.rfind('/')?;
        Some(Self(Arc::from(&self.0[..SCHEME.len() + cut])))
    }

    /// Whether `self` is `other` or lies below it in the tree.
    pub fn is_within(&self, other: &Address) -> bool {
        self.0.len() >= other.0.len()
            && self.0.starts_with(&*other.0)
            && (self.0.len() == other.0.len() || self.0.as_bytes()[other.0.len()] == b'/')
    }

    fn after_scheme(&self) -> &str {
        &self.0[SCHEME.len()..]
    }

    pub(crate) fn shared(&self) -> &Arc<str> {
        &self.0
    }
}

/// `parent/name` as one shared string, allocated once: assembled on the stack when it
/// is short (every spawn makes one; a `String` first would be a second allocation).
fn joined(parent: &str, name: &str) -> Arc<str> {
    const ON_STACK: usize = 192;
    let len = parent.len() + 1 + name.len();
    if len > ON_STACK {
        return Arc::from(format!("{parent}/{name}"));
    }
    let mut buf = [0u8; ON_STACK];
    buf[..parent.len()].copy_from_slice(parent.as_bytes());
    buf[parent.len()] = b'/';
    buf[parent.len() + 1..len].copy_from_slice(name.as_bytes());
    // SAFETY: two `str`s joined by an ASCII byte are UTF-8 (checking cost a spawn about
    // 80 instructions).
    Arc::from(unsafe { std::str::from_utf8_unchecked(&buf[..len]) })
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Address {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unnamed_form_is_tilde_then_digits_and_reserved() {
        for (name, unnamed) in [
            ("~0", true),
            ("~123", true),
            ("~99999999999999999999999", true),
            ("~", false),
            ("~1x", false),
            ("~x1", false),
            ("a~1", false),
            ("1", false),
        ] {
            assert_eq!(is_unnamed_name(name.as_bytes()), unnamed, "{name}");
            assert_eq!(
                matches!(validate_actor_name(name), Err(AddressError::Reserved(_))),
                unnamed,
                "{name}"
            );
        }
        assert_eq!(unnamed_id("~42"), Some(42));
        assert_eq!(unnamed_id("~99999999999999999999999"), None);
        let root = Address::root("s").unwrap();
        assert!(!root.is_unnamed());
        assert!(root.unnamed_child(7).is_unnamed());
        assert!(Address::parse("actor://s/a/~3").unwrap().is_unnamed());
        assert!(!Address::parse("actor://s/~3/b").unwrap().is_unnamed());
        assert!(!Address::parse("actor://s/~3x").unwrap().is_unnamed());
    }

    #[test]
    fn parses_nested_addresses() {
        let a = Address::parse("actor://home/kitchen/lamp-1").unwrap();
        assert_eq!(a.system(), "home");
        assert_eq!(a.name(), Some("lamp-1"));
        assert_eq!(a.path().collect::<Vec<_>>(), ["kitchen", "lamp-1"]);
        assert_eq!(a.depth(), 2);
        assert_eq!(a.parent().unwrap().as_str(), "actor://home/kitchen");
        assert_eq!(
            a.parent().unwrap().parent().unwrap().as_str(),
            "actor://home"
        );
        assert_eq!(a.parent().unwrap().parent().unwrap().parent(), None);
        assert_eq!(a.to_string(), "actor://home/kitchen/lamp-1");
    }

    #[test]
    fn children_live_under_their_parent() {
        let root = Address::root("home").unwrap();
        let kitchen = root.child("kitchen").unwrap();
        let lamp = kitchen.child("lamp").unwrap();
        assert_eq!(lamp.as_str(), "actor://home/kitchen/lamp");
        assert!(lamp.is_within(&kitchen));
        assert!(lamp.is_within(&root));
        assert!(kitchen.is_within(&kitchen));
        assert!(!kitchen.is_within(&lamp));
        let kitchenette = root.child("kitchenette").unwrap();
        assert!(!kitchenette.is_within(&kitchen));
    }

    #[test]
    fn rejects_malformed_addresses_with_a_clear_reason() {
        let cases = [
            ("http://home/a", "must start with `actor://`"),
            ("actor://", "no system name"),
            ("actor:///a", "no system name"),
            ("actor://home//a", "empty name at segment 1"),
            ("actor://home/a/", "empty name at segment 2"),
            ("actor://home/a b", "contains ` ` at byte 1"),
            ("actor://home/ab\u{e9}c", "contains `\u{e9}` at byte 2"),
            ("actor://home/a?x=1", "contains `?`"),
            ("actor://home:80/a", "contains `:`"),
            ("actor://home/..", "is not a valid name"),
        ];
        for (input, expected) in cases {
            let err = Address::parse(input).unwrap_err().to_string();
            assert!(err.contains(expected), "{input}: {err}");
        }
        let long = format!("actor://home/{}", "x".repeat(129));
        assert!(matches!(
            Address::parse(&long),
            Err(AddressError::TooLong(_))
        ));
    }

    #[test]
    fn unnamed_children_are_numbered() {
        let root = Address::root("home").unwrap();
        assert_eq!(root.unnamed_child(0).as_str(), "actor://home/~0");
        let a = root.unnamed_child(u64::MAX);
        assert_eq!(a.as_str(), format!("actor://home/~{}", u64::MAX));
        assert_eq!(Address::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn child_names_are_validated() {
        let root = Address::root("home").unwrap();
        assert!(root.child("a/b").is_err());
        assert!(root.child("").is_err());
        assert!(Address::root("bad name").is_err());
    }
}
