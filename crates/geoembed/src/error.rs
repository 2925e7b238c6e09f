//! The converter's error: one line naming the file and the problem.

use std::fmt;
use std::path::Path;

#[derive(Debug)]
pub struct CliError {
    message: String,
}

impl CliError {
    pub fn msg(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
        }
    }

    /// A problem with a named file.
    pub fn file(path: impl AsRef<Path>, problem: impl fmt::Display) -> Self {
        CliError {
            message: format!("{}: {problem}", path.as_ref().display()),
        }
    }

    /// An I/O error on a named file, worded for people (ENOSPC reads "disk full").
    pub fn io(path: impl AsRef<Path>, e: std::io::Error) -> Self {
        let problem = match e.raw_os_error() {
            Some(28) => "no space left on device (disk full)".to_string(),
            Some(27) => "file too large for this file system or limit".to_string(),
            _ => match e.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => e.to_string(),
            },
        };
        Self::file(path, problem)
    }

    /// A codec-crate error about a named file.
    pub fn codec(path: impl AsRef<Path>, e: geoembed_codec::Error) -> Self {
        // I/O errors from the codec crate keep their OS wording (disk full, ...).
        Self::file(path, e)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
