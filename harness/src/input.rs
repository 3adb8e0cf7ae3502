//! Reading an input file (a scenario, a results file, a baseline) without trusting it.
//!
//! Inputs come from people and from CI artifacts. [`read_text`] reads one only when
//! it is a regular file of at most [`MAX_INPUT_BYTES`]: a FIFO, a device such as
//! `/dev/zero` or a directory is refused at once (reading would block forever or
//! never end), and a file that grows past the cap while it is read is refused too, so
//! memory stays bounded whatever the path names.

use std::io::Read as _;
use std::path::Path;

/// The largest input file read: 64 MiB, far above any real scenario or results file
/// (a 10-minute run with 1 s ticks is about 1 MB).
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Why an input file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The path names something other than a regular file.
    #[error("is {0}, not a regular file")]
    NotAFile(&'static str),
    /// The file is larger than [`MAX_INPUT_BYTES`].
    #[error("is larger than the {} MiB input limit", MAX_INPUT_BYTES / (1024 * 1024))]
    TooLarge,
    /// The file is not UTF-8 text.
    #[error("is not UTF-8 text (byte {0} is not part of a UTF-8 character)")]
    NotUtf8(usize),
}

impl InputError {
    /// The same problem as an [`std::io::Error`], for callers whose error type holds
    /// one (the message is kept).
    pub fn into_io(self) -> std::io::Error {
        match self {
            InputError::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other.to_string()),
        }
    }
}

/// Reads `path` as UTF-8 text, refusing anything but a regular file of at most
/// [`MAX_INPUT_BYTES`].
pub fn read_text(path: &Path) -> Result<String, InputError> {
    // The type is checked on the path before opening: opening a FIFO for reading
    // blocks until a writer appears.
    let kind = std::fs::metadata(path)?.file_type();
    if !kind.is_file() {
        return Err(InputError::NotAFile(describe(kind)));
    }
    if std::fs::metadata(path)?.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge);
    }
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|e| InputError::NotUtf8(e.utf8_error().valid_up_to()))
}

fn describe(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_under_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.toml");
        std::fs::write(&ok, "name = \"x\"").unwrap();
        assert_eq!(read_text(&ok).unwrap(), "name = \"x\"");

        let e = read_text(dir.path()).unwrap_err();
        assert_eq!(e.to_string(), "is a directory, not a regular file");
        #[cfg(unix)]
        {
            let e = read_text(Path::new("/dev/zero")).unwrap_err();
            assert_eq!(e.to_string(), "is a device, not a regular file");
        }
        let bin = dir.path().join("bin");
        std::fs::write(&bin, b"ab\xffcd").unwrap();
        assert_eq!(
            read_text(&bin).unwrap_err().to_string(),
            "is not UTF-8 text (byte 2 is not part of a UTF-8 character)"
        );
        let big = dir.path().join("big");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_INPUT_BYTES + 1).unwrap();
        assert_eq!(
            read_text(&big).unwrap_err().to_string(),
            "is larger than the 64 MiB input limit"
        );
        assert!(matches!(
            read_text(&dir.path().join("missing")),
            Err(InputError::Io(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo on this machine: nothing to check
        }
        assert_eq!(
            read_text(&fifo).unwrap_err().to_string(),
            "is a FIFO (named pipe), not a regular file"
        );
    }
}
