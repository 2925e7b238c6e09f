//! Codec-crate errors as Python exceptions of `geoembed` (defined in `geoembed/_errors.py` so
//! they can inherit from both `EmbError` and the builtin a Python user expects: a corrupt
//! file is a `ValueError`, a failed read an `OSError`).

use geoembed_codec::{Error, ErrorKind};
use pyo3::prelude::*;

/// The `geoembed._errors` class for an error kind.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument => "EmbArgumentError",
        ErrorKind::Checksum => "EmbChecksumError",
        ErrorKind::Corrupt | ErrorKind::Truncated | ErrorKind::LimitExceeded => "EmbFormatError",
        ErrorKind::Unsupported => "EmbUnsupportedError",
        ErrorKind::Io => "EmbIOError",
        _ => "EmbError",
    }
}

/// A Python exception for `error`, its message prefixed with `name` (the file or chunk it
/// concerns) when there is one.
pub fn to_py(name: &str, error: &Error) -> PyErr {
    let message = if name.is_empty() {
        error.to_string()
    } else {
        format!("{name}: {error}")
    };
    raise(class_name(error.kind()), message)
}

/// A Python exception of class `class` (a name in `geoembed._errors`).
pub fn raise(class: &str, message: String) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("geoembed._errors")
            .and_then(|module| module.getattr(class))
            .and_then(|cls| cls.call1((message.clone(),)));
        match made {
            Ok(instance) => PyErr::from_value(instance),
            // The package's own module is missing (a broken install): still say what failed.
            Err(_) => pyo3::exceptions::PyValueError::new_err(message),
        }
    })
}

/// A converter-library error as a Python exception: the kind picks the class, the message
/// already names the file.
pub fn converter_to_py(error: &geoembed::Error) -> PyErr {
    raise_converter(error, error.to_string())
}

/// A converter-library error as a Python exception of the class its kind picks, with the
/// message the caller worded (an option named as the Python keyword).
pub fn raise_converter(error: &geoembed::Error, message: String) -> PyErr {
    use geoembed::ErrorKind as Kind;
    let class = match error.kind() {
        Kind::Codec(kind) => class_name(kind),
        Kind::Io(_) | Kind::Gdal => "EmbIOError",
        Kind::InvalidOption(_) | Kind::UnsupportedInput => "EmbArgumentError",
        _ => "EmbError",
    };
    raise(class, message)
}
