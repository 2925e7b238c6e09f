//! The converter's error: a kind a caller can match on (a Python binding maps it to an
//! exception class, a front end to an exit code), the file it concerns, a one-line message
//! naming the problem, and the underlying io/codec/GDAL error as its `source()`.
//!
//! Messages name no command-line flag or creation option: an [`ErrorKind::InvalidOption`]
//! error records which option and value were wrong, and each front end labels it in its own
//! vocabulary with [`Error::label_option`] (`--codec foo`, `-co CODEC=foo`).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, coarse enough to match on.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Reading or writing a file failed; disk full is `Io(StorageFull)`, an output over the
    /// file-size limit `Io(FileTooLarge)`, an output that exists `Io(AlreadyExists)`.
    Io(io::ErrorKind),
    /// A `.emb` (or a tile) is corrupt, truncated, or not decodable by this build.
    Codec(geoembed_codec::ErrorKind),
    /// An option value is unknown or does not fit the input (codec vs sample type, tile
    /// size vs raster).
    InvalidOption(OptionKey),
    /// The input is readable but not something geoembed can store (complex samples, mixed
    /// band types, a `.npy` of the wrong shape).
    UnsupportedInput,
    /// GDAL refused an operation (open, read, write, reproject).
    Gdal,
    /// The caller's [`crate::Progress`] asked to stop.
    Cancelled,
    /// Anything else (a thread pool that cannot start, ...).
    Other,
}

/// The options a front end exposes, so that it can spell them its own way.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKey {
    Codec,
    Effort,
    TileSize,
    /// Output format (a GDAL driver name).
    Format,
    /// A GDAL creation option for the output format.
    CreationOption,
    Dequantize,
    /// Bands shown by a view.
    Bands,
    /// Zoom levels of a tile pyramid.
    Zoom,
    /// An output format (its value) that loses information, written only when allowed.
    LossyOutput,
    /// A reader limit (`max_tile_bytes=...`).
    Limit,
    /// Bytes of samples a conversion holds at once.
    BatchMemory,
    /// How a float raster was dequantised from integer codes.
    Recipe,
    /// A near-lossless bound (largest absolute error per band).
    MaxError,
    /// A transform coding target (relative RMSE).
    RelRmse,
    /// A transform coding target given as a quality from 1 to 100 ([`crate::quality_rel_rmse`]).
    Quality,
}

impl OptionKey {
    /// A neutral name, used when no front end labelled the error.
    pub fn name(self) -> &'static str {
        match self {
            OptionKey::Codec => "codec",
            OptionKey::Effort => "effort",
            OptionKey::TileSize => "tile size",
            OptionKey::Format => "format",
            OptionKey::CreationOption => "creation option",
            OptionKey::Dequantize => "dequantize",
            OptionKey::Bands => "bands",
            OptionKey::Zoom => "zoom",
            OptionKey::LossyOutput => "format",
            OptionKey::Limit => "limit",
            OptionKey::BatchMemory => "batch memory",
            OptionKey::Recipe => "recipe",
            OptionKey::MaxError => "max error",
            OptionKey::RelRmse => "relative RMSE",
            OptionKey::Quality => "quality",
        }
    }
}

/// The converter's error.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    /// For `InvalidOption`: the value given and how the front end spells the option.
    option: Option<(String, Option<String>)>,
    message: String,
    source: Option<Source>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest message an error carries, in characters: six lines of a terminal. Text from
/// elsewhere (GDAL's error text, lists of subdatasets) can run to tens of kilobytes.
pub const MAX_MESSAGE_CHARS: usize = 480;

/// `text` on one line and at most [`MAX_MESSAGE_CHARS`] long, saying how much was cut.
pub fn bounded(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let total = one_line.chars().count();
    if total <= MAX_MESSAGE_CHARS {
        return one_line;
    }
    let kept: String = one_line.chars().take(MAX_MESSAGE_CHARS - 40).collect();
    format!(
        "{kept}... ({} more characters)",
        total - (MAX_MESSAGE_CHARS - 40)
    )
}

impl Error {
    /// An error of `kind`; the message is kept to one line of bounded length.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = if message.len() > MAX_MESSAGE_CHARS || message.contains('\n') {
            bounded(&message)
        } else {
            message
        };
        Error {
            kind,
            path: None,
            option: None,
            message,
            source: None,
        }
    }

    /// An option value that is unknown or does not fit: `value` is what was given.
    pub fn invalid_option(
        key: OptionKey,
        value: impl Into<String>,
        problem: impl fmt::Display,
    ) -> Self {
        let mut e = Self::new(ErrorKind::InvalidOption(key), problem.to_string());
        e.option = Some((value.into(), None));
        e
    }

    /// Input geoembed cannot store.
    pub fn unsupported(path: impl AsRef<Path>, problem: impl fmt::Display) -> Self {
        Self::new(ErrorKind::UnsupportedInput, problem.to_string()).at(path)
    }

    /// A GDAL failure about `name` (a path or a GDAL dataset name).
    pub fn gdal(name: impl AsRef<Path>, problem: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Gdal, problem.to_string()).at(name)
    }

    /// The caller's progress asked to stop.
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "cancelled")
    }

    /// An I/O error on a named file, worded for people.
    pub fn io(path: impl AsRef<Path>, e: io::Error) -> Self {
        let mut err = Self::new(ErrorKind::Io(e.kind()), io_problem(&e)).at(path);
        err.source = Some(Box::new(e));
        err
    }

    /// A codec-crate error about a named file. An I/O error inside it (a full disk under
    /// the container writer) keeps its `io::ErrorKind` and wording.
    pub fn codec(path: impl AsRef<Path>, e: geoembed_codec::Error) -> Self {
        Self::from(e).at(path)
    }

    /// The file this error concerns, unless it already names one (the innermost file is
    /// the one with the problem).
    pub fn at(mut self, path: impl AsRef<Path>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.as_ref().to_path_buf());
        }
        self
    }

    /// Prefixes the message with where in the work it happened ("decorrelation fit").
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = bounded(&format!("{what}: {}", self.message));
        self
    }

    /// Appends what the user can do about it (" (use --overwrite to replace it)").
    pub fn with_hint(mut self, hint: impl fmt::Display) -> Self {
        self.message = format!("{}{hint}", self.message);
        self
    }

    /// Keeps `source` as the underlying error.
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// For an `InvalidOption` error, how the front end names the option and its value
    /// (`|_, value| format!("--codec {value}")`); the first label given stays (an inner
    /// caller knows better), and other errors pass through unchanged.
    pub fn label_option(mut self, label: impl FnOnce(OptionKey, &str) -> String) -> Self {
        if let (ErrorKind::InvalidOption(key), Some((value, spelled @ None))) =
            (self.kind, &mut self.option)
        {
            *spelled = Some(label(key, value));
        }
        self
    }

    /// The error with `from` replaced by `to` in its path and message: a staged file's or
    /// directory's name replaced by the destination's, so that no message names a
    /// temporary path (GDAL's messages quote the file they were given).
    pub fn redact_path(mut self, from: &Path, to: &Path) -> Self {
        if let Some(rest) = self.path.as_deref().and_then(|p| p.strip_prefix(from).ok()) {
            self.path = Some(if rest.as_os_str().is_empty() {
                to.to_path_buf()
            } else {
                to.join(rest)
            });
        }
        let (from, to) = (from.to_string_lossy(), to.to_string_lossy());
        if !from.is_empty() {
            self.message = self.message.replace(from.as_ref(), to.as_ref());
        }
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The problem alone, without the file name or option label.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For `InvalidOption` errors: the value that was given.
    pub fn option_value(&self) -> Option<&str> {
        self.option.as_ref().map(|(v, _)| v.as_str())
    }
}

/// An I/O error in words (the OS's own for the rest).
fn io_problem(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::StorageFull => "no space left on device (disk full)".into(),
        io::ErrorKind::FileTooLarge => "file too large for this file system or limit".into(),
        _ => e.to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}: ", p.display())?;
        }
        match (&self.kind, &self.option) {
            (_, Some((_, Some(label)))) => write!(f, "{label}: ")?,
            (ErrorKind::InvalidOption(key), Some((value, None))) if value.is_empty() => {
                write!(f, "{}: ", key.name())?
            }
            (ErrorKind::InvalidOption(key), Some((value, None))) => {
                write!(f, "{} {value}: ", key.name())?
            }
            _ => {}
        }
        f.write_str(&self.message)
    }
}

impl From<geoembed_codec::Error> for Error {
    fn from(e: geoembed_codec::Error) -> Self {
        let io_kind = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<io::Error>())
            .filter(|_| e.kind() == geoembed_codec::ErrorKind::Io)
            .map(|io| (io.kind(), io_problem(io)));
        let (kind, message) = match io_kind {
            Some((k, problem)) => (ErrorKind::Io(k), problem),
            None => (ErrorKind::Codec(e.kind()), e.to_string()),
        };
        Error::new(kind, message).with_source(e)
    }
}

#[cfg(feature = "gdal")]
impl From<gdal::errors::GdalError> for Error {
    fn from(e: gdal::errors::GdalError) -> Self {
        Error::new(ErrorKind::Gdal, e.to_string()).with_source(e)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn disk_full_and_file_too_large_come_from_the_io_kind() {
        let full = Error::io("out.emb", io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(full.kind(), ErrorKind::Io(io::ErrorKind::StorageFull));
        assert_eq!(
            full.to_string(),
            "out.emb: no space left on device (disk full)"
        );
        assert!(full.source().is_some());
        let big = Error::io("out.emb", io::Error::from_raw_os_error(27));
        assert_eq!(big.kind(), ErrorKind::Io(io::ErrorKind::FileTooLarge));
        assert_eq!(
            big.to_string(),
            "out.emb: file too large for this file system or limit"
        );
    }

    #[test]
    fn codec_io_errors_keep_their_io_kind_and_others_their_codec_kind() {
        let inner = geoembed_codec::Error::from(io::Error::from_raw_os_error(28));
        let e = Error::codec("x.emb", inner);
        assert_eq!(e.kind(), ErrorKind::Io(io::ErrorKind::StorageFull));
        assert_eq!(e.to_string(), "x.emb: no space left on device (disk full)");
        let bad = Error::codec("x.emb", geoembed_codec::Error::corrupt("tile (1, 1): bad"));
        assert_eq!(
            bad.kind(),
            ErrorKind::Codec(geoembed_codec::ErrorKind::Corrupt)
        );
        assert_eq!(bad.to_string(), "x.emb: tile (1, 1): bad");
        assert_eq!(
            bad.source().unwrap().to_string(),
            "tile (1, 1): bad",
            "the codec error is the source"
        );
    }

    #[test]
    fn long_and_multi_line_messages_are_bounded() {
        let huge = format!(
            "GDAL says:\n{}",
            "SUBDATASET_1_NAME=ZARR:x.zarr:/a ".repeat(1200)
        );
        let e = Error::gdal("in.zarr", &huge);
        let text = e.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(
            text.len() <= "in.zarr: ".len() + MAX_MESSAGE_CHARS + 40,
            "{}",
            text.len()
        );
        assert!(
            text.starts_with("in.zarr: GDAL says: SUBDATASET_1_NAME="),
            "{text}"
        );
        assert!(text.ends_with(" more characters)"), "{text}");
        assert_eq!(bounded("short\nand plain"), "short and plain");
    }

    #[test]
    fn the_innermost_path_wins_and_options_are_labelled_by_the_front_end() {
        let e = Error::unsupported("in.tif", "complex samples").at("out.emb");
        assert_eq!(e.to_string(), "in.tif: complex samples");
        let o = Error::invalid_option(OptionKey::Codec, "zip", "unknown codec 'zip'");
        assert_eq!(o.to_string(), "codec zip: unknown codec 'zip'");
        let cli = Error::invalid_option(OptionKey::Codec, "zip", "unknown codec 'zip'")
            .label_option(|_, v| format!("--codec {v}"));
        assert_eq!(cli.to_string(), "--codec zip: unknown codec 'zip'");
        assert_eq!(cli.option_value(), Some("zip"));
        let passthrough = Error::cancelled().label_option(|_, v| format!("--x {v}"));
        assert_eq!(passthrough.to_string(), "cancelled");
    }
}
