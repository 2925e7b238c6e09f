//! The part of a stream still in the file. A row-by-row decoder of a wide many-band raster
//! keeps one tile per column of a row of tiles; holding every tile's whole compressed
//! streams would cost as much as the decoded tiles when the data barely compresses, so the
//! rANS and raw-bit readers load their streams a chunk at a time, a few rows ahead of the
//! decoder, and drop what they have read.

use crate::error::{Error, Result};

/// Reads exactly `len` bytes at a file offset.
pub(crate) type Fetch<'a> = dyn FnMut(u64, usize) -> Result<Vec<u8>> + 'a;

/// Fewest bytes a refill reads, so that streams of narrow tiles are not read a few bytes at
/// a time.
const MIN_CHUNK: usize = 16 << 10;

/// Where the rest of a stream is: its file offset and length (nothing, for a stream held
/// whole).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Unloaded {
    file_offset: u64,
    remaining: usize,
}

impl Unloaded {
    pub(crate) fn new(file_offset: u64, remaining: usize) -> Self {
        Unloaded {
            file_offset,
            remaining,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// Bytes still in the file.
    pub(crate) fn len(&self) -> usize {
        self.remaining
    }

    /// The next chunk: at least `want` bytes (or the rest), rounded down to a multiple of
    /// `unit` unless it is the rest.
    pub(crate) fn take(&mut self, want: usize, unit: usize, fetch: &mut Fetch) -> Result<Vec<u8>> {
        let mut len = want.max(MIN_CHUNK).min(self.remaining);
        if len < self.remaining {
            len -= len % unit;
        }
        let bytes = fetch(self.file_offset, len)?;
        if bytes.len() != len {
            return Err(Error::truncated("a stream ends early in the file"));
        }
        self.file_offset += len as u64;
        self.remaining -= len;
        Ok(bytes)
    }
}
