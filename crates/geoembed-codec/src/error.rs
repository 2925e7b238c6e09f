//! One error type for the whole codec crate.
//!
//! Errors carry a [`ErrorKind`] that callers can match on and a message that names the
//! format field or codec stage that failed, so a user reading it can tell *what* is wrong
//! with a file, not just that something is.

use std::fmt;

/// What went wrong, coarse enough to match on.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller passed something the codec cannot work with (wrong buffer length,
    /// unsupported sample type for a codec, zero-sized raster, ...).
    InvalidArgument,
    /// The bytes are not a valid `.emb` file or tile payload (bad magic, impossible field).
    Corrupt,
    /// A stored checksum does not match the bytes it covers.
    Checksum,
    /// The bytes end before the structure they describe does.
    Truncated,
    /// The file is valid but uses something this build cannot decode (newer version,
    /// codec compiled out, ...).
    Unsupported,
    /// A declared size exceeds the configured [`crate::Limits`], or memory for it could not
    /// be allocated.
    LimitExceeded,
    /// An I/O error from the underlying reader or writer.
    Io,
}

/// The codec crate's error: a kind plus a human-readable message.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<std::io::Error>,
}

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An [`ErrorKind::InvalidArgument`] error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// An [`ErrorKind::Corrupt`] error.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }

    /// An [`ErrorKind::Truncated`] error.
    pub fn truncated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Truncated, message)
    }

    /// An [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// An [`ErrorKind::LimitExceeded`] error: `field` (what the file declares, in words)
    /// is `value`, above the limit `key` (a [`crate::Limits`] key, so the message says what
    /// to raise) of `limit`. The value is exact: it is computed in 128 bits, never wrapped.
    pub fn limit_exceeded(field: impl fmt::Display, value: u128, key: &str, limit: u64) -> Self {
        Self::new(
            ErrorKind::LimitExceeded,
            format!("{field} = {value} exceeds the limit {key} = {limit}"),
        )
    }

    /// An [`ErrorKind::LimitExceeded`] error for an allocation of `bytes` for `what` that
    /// the system refused: reported, never an abort.
    pub fn out_of_memory(what: impl fmt::Display, bytes: u128) -> Self {
        Self::new(
            ErrorKind::LimitExceeded,
            format!("cannot allocate {bytes} bytes for {what}: out of memory"),
        )
    }

    /// What went wrong, to match on.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the message with where the error happened ("tile (3, 4)", "header field
    /// `band[2].nodata`", ...), keeping the kind.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let (kind, message) = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            (ErrorKind::Truncated, "unexpected end of file".to_string())
        } else {
            (ErrorKind::Io, e.to_string())
        };
        Error {
            kind,
            message,
            source: Some(e),
        }
    }
}

/// The codec crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
