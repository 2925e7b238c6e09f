//! What a `.emb` is read from: a local file, or any Python object with `read` and `seek`
//! (an fsspec file over HTTP, S3 or GCS, a `BytesIO`). Both are `Read + Seek` for the codec
//! crate's reader, which fetches only the preamble, the index, the header and the tiles a
//! read needs, so a remote file costs range reads, not a download.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// A byte source for [`geoembed_codec::Reader`].
pub enum Source {
    /// A local file, read without the GIL.
    File(File),
    /// A Python file-like object; each call takes the GIL for its duration.
    Python(PyFile),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Python(f) => f.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Source::File(f) => f.seek(pos),
            Source::Python(f) => f.seek(pos),
        }
    }
}

/// A Python object with `read(n)` and `seek(offset, whence)`.
pub struct PyFile {
    object: Py<PyAny>,
}

impl PyFile {
    pub fn new(object: Py<PyAny>) -> Self {
        PyFile { object }
    }
}

fn io_error(e: PyErr) -> io::Error {
    io::Error::other(e.to_string())
}

impl Read for PyFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let data = self
                .object
                .call_method1(py, "read", (buf.len(),))
                .map_err(io_error)?;
            let bytes = data
                .cast_bound::<PyBytes>(py)
                .map_err(|_| io::Error::other("the file object's read() did not return bytes"))?;
            let bytes = bytes.as_bytes();
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            Ok(n)
        })
    }
}

impl Seek for PyFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let (offset, whence) = match pos {
            SeekFrom::Start(o) => (o as i64, 0),
            SeekFrom::Current(o) => (o, 1),
            SeekFrom::End(o) => (o, 2),
        };
        Python::attach(|py| {
            self.object
                .call_method1(py, "seek", (offset, whence))
                .map_err(io_error)?;
            // Some file objects return None from seek(); tell() always answers.
            self.object
                .call_method0(py, "tell")
                .and_then(|t| t.extract::<u64>(py))
                .map_err(io_error)
        })
    }
}
