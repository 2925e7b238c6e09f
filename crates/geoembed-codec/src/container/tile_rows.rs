//! A tile's rows for readers that walk a raster a few rows at a time across its whole width
//! (GDAL's `gdal_translate`, a row-by-row rasterio loop). Such a reader visits every tile of
//! a row of tiles once per swath; holding every tile of that row decoded costs width x tile
//! height x bands bytes (128 MiB for a 4096-pixel-wide 128-band int8 raster), which grows
//! with the raster. Native tiles are decoded one row at a time instead: a tile keeps its
//! decoder (the few rows its predictors read, its streams) and the rows the reader still
//! wants, and drops the rows it has moved past (whole-pixel repeats keep their source
//! pixels, not the rows above them).
//!
//! A streamed tile does not hold its compressed payload either: its decoder keeps the part
//! of its streams the next rows need and reads the rest from the file as it goes, so a row
//! of tiles costs a few rows per tile even when the data barely compresses.
//!
//! Other codecs decode a tile whole and serve its rows from that. The checksum of decoded
//! samples covers the whole tile; a streamed tile checks it when its last row is decoded,
//! so a reader learns of a mismatch at the end of the tile. The payload's own checksum is
//! checked on a whole read before the first row; what the decoder reads again later is
//! covered by the decoded samples' checksum.

use super::reader::Reader;
use crate::allocation;
use crate::codec::RowDecoder;
use crate::entropy::unloaded::Fetch;
use crate::error::{Error, ErrorKind, Result};
use std::io::{Read, Seek};

/// The rows of one decoded (or decoding) tile; see the module documentation.
pub struct TileRows {
    /// Bytes of one tile row (all bands, little-endian samples unless swapped).
    row_bytes: usize,
    height: usize,
    /// The row-by-row decoder of a streamed tile; `None` once every row is decoded.
    decoder: Option<Box<dyn RowDecoder>>,
    /// Whether every row is kept (a tile decoded whole).
    keep_all: bool,
    /// Decoded rows `first_kept..next_row`.
    rows: Vec<u8>,
    first_kept: usize,
    next_row: usize,
    /// Checksum of the decoded samples so far, and the one the index records.
    crc: crc32fast::Hasher,
    expected_crc: u32,
    /// Sample size for byte swapping to native order (1: no swap).
    swap_size: usize,
    /// How errors name the tile and its codec.
    name: String,
    /// Set when a row failed to decode: the decoder's state is then unusable.
    failed: bool,
}

impl TileRows {
    /// A tile decoded whole: `samples` holds all its rows.
    pub fn whole(samples: Vec<u8>, height: usize) -> Self {
        let row_bytes = samples.len() / height.max(1);
        TileRows {
            row_bytes,
            height,
            decoder: None,
            keep_all: true,
            rows: samples,
            first_kept: 0,
            next_row: height,
            crc: crc32fast::Hasher::new(),
            expected_crc: 0,
            swap_size: 1,
            name: String::new(),
            failed: false,
        }
    }

    /// A tile decoded as its rows are asked for; `expected_crc` is the index's checksum of
    /// the decoded samples, `name` names the tile in errors.
    pub(crate) fn streamed(
        decoder: Box<dyn RowDecoder>,
        row_bytes: usize,
        height: usize,
        expected_crc: u32,
        name: String,
    ) -> Self {
        TileRows {
            row_bytes,
            height,
            keep_all: false,
            decoder: Some(decoder),
            rows: Vec::new(),
            first_kept: 0,
            next_row: 0,
            crc: crc32fast::Hasher::new(),
            expected_crc,
            swap_size: 1,
            name,
            failed: false,
        }
    }

    /// Samples of `size` bytes come out in the machine's byte order (GDAL's), not
    /// little-endian. Rows already decoded are swapped now.
    pub fn in_native_order(mut self, size: usize) -> Self {
        if cfg!(target_endian = "big") && size > 1 {
            swap_samples(&mut self.rows, size);
            self.swap_size = size;
        }
        self
    }

    /// Bytes of one tile row.
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// Rows `from..to` of the tile, contiguous, decoding up to `to` if needed. Rows above
    /// `from` are released when the tile allows it. `Ok(None)` when `from` is above the rows
    /// still kept: the caller starts the tile again (a new `TileRows`).
    /// `reader` is the reader of the file the tile came from: a streamed tile reads the rest
    /// of its streams from it as it goes.
    pub fn rows<R: Read + Seek>(
        &mut self,
        reader: &mut Reader<R>,
        from: usize,
        to: usize,
    ) -> Result<Option<&[u8]>> {
        let to = to.min(self.height);
        if from < self.first_kept || from > to {
            return Ok(None);
        }
        self.decode_until(to, &mut |offset, len| reader.read_at(offset, len))?;
        if !self.keep_all && from > self.first_kept {
            let released = (from - self.first_kept) * self.row_bytes;
            self.rows.drain(..released);
            self.first_kept = from;
        }
        let start = (from - self.first_kept) * self.row_bytes;
        let end = (to - self.first_kept) * self.row_bytes;
        Ok(Some(&self.rows[start..end]))
    }

    /// Decodes rows until `to`; the last row also checks the tile's checksum.
    fn decode_until(&mut self, to: usize, fetch: &mut Fetch) -> Result<()> {
        if self.failed {
            return Err(Error::corrupt(format!(
                "{}: an earlier row of the tile failed to decode",
                self.name
            )));
        }
        while self.next_row < to {
            let Some(decoder) = self.decoder.as_mut() else {
                break;
            };
            let kept = self.rows.len();
            allocation::reserve(&mut self.rows, self.row_bytes, "a decoded tile row")?;
            self.rows.resize(kept + self.row_bytes, 0);
            let row = &mut self.rows[kept..];
            if let Err(err) = decoder.next_row(row, fetch) {
                self.failed = true;
                return Err(err.context(self.name.clone()));
            }
            self.crc.update(row);
            if self.swap_size > 1 {
                swap_samples(row, self.swap_size);
            }
            self.next_row += 1;
            if self.next_row == self.height {
                self.decoder = None;
                self.failed = self.check_crc().is_err();
                self.check_crc()?;
            }
        }
        Ok(())
    }

    fn check_crc(&self) -> Result<()> {
        if self.crc.clone().finalize() == self.expected_crc {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Checksum,
            format!("{}: decoded samples do not match their checksum", self.name),
        ))
    }
}

fn swap_samples(samples: &mut [u8], size: usize) {
    for sample in samples.chunks_exact_mut(size) {
        sample.reverse();
    }
}
