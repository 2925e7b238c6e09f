//! What the codes do not rebuild, kept verbatim: whole pixels off the lattice (NaN nodata
//! pixels, ±Inf, pixels no scale fits) and single samples that break their pixel's lattice
//! or have no code in the value table. Both lists are positions (as gaps) and bits in one
//! zlib stream each; a nodata region of identical NaN pixels deflates to almost nothing.

use crate::entropy::deflate;
use crate::entropy::varint::{put_gaps, put_u, Cursor};
use crate::error::{Error, Result};

/// The samples a tile keeps verbatim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Exceptions {
    /// Pixels stored whole, ascending.
    pub pixels: Vec<u32>,
    /// Their samples, pixel-interleaved little-endian (`pixels.len() × bands × size`).
    pub pixel_samples: Vec<u8>,
    /// Single samples (index `pixel × bands + band`), ascending, and their bits.
    pub samples: Vec<(u64, u64)>,
}

/// Reads `count` gaps back into ascending positions below `limit`.
fn read_gaps(cursor: &mut Cursor, count: usize, limit: u64, what: &str) -> Result<Vec<u64>> {
    let mut positions = Vec::with_capacity(count);
    let mut next = 0u64;
    for _ in 0..count {
        let position = next
            .checked_add(cursor.bounded(what, limit)?)
            .filter(|&p| p < limit)
            .ok_or_else(|| Error::corrupt(format!("dequant: {what} beyond the tile")))?;
        positions.push(position);
        next = position + 1;
    }
    Ok(positions)
}

impl Exceptions {
    /// `uv pixel count` [`uv length`, zlib(gaps, samples)], then `uv sample count`
    /// [`uv length`, zlib(gaps, bits)].
    pub(super) fn write(&self, size: usize, out: &mut Vec<u8>) -> Result<()> {
        put_u(out, self.pixels.len() as u64);
        if !self.pixels.is_empty() {
            let mut raw = Vec::with_capacity(self.pixels.len() * 2 + self.pixel_samples.len());
            put_gaps(&mut raw, self.pixels.iter().map(|&p| p as u64));
            raw.extend_from_slice(&self.pixel_samples);
            deflate::put_zlib_block(out, &raw, 6)?;
        }
        put_u(out, self.samples.len() as u64);
        if !self.samples.is_empty() {
            let mut raw = Vec::with_capacity(self.samples.len() * (size + 2));
            put_gaps(&mut raw, self.samples.iter().map(|&(p, _)| p));
            for &(_, bits) in &self.samples {
                raw.extend_from_slice(&bits.to_le_bytes()[..size]);
            }
            deflate::put_zlib_block(out, &raw, 6)?;
        }
        Ok(())
    }

    /// Reads what [`Exceptions::write`] wrote for a tile of `pixels` pixels of `bands`
    /// samples of `size` bytes.
    pub(super) fn read(
        cursor: &mut Cursor,
        pixels: usize,
        bands: usize,
        size: usize,
    ) -> Result<Exceptions> {
        let mut found = Exceptions::default();
        let pixel_count = cursor.bounded("exception pixel count", pixels as u64)? as usize;
        if pixel_count > 0 {
            // Gaps take at most 10 bytes each.
            let cap = pixel_count * (10 + bands * size);
            let raw = deflate::read_zlib_block(cursor, cap, "exception pixel block")?;
            let mut inner = Cursor::new(&raw, "dequant");
            let positions = read_gaps(&mut inner, pixel_count, pixels as u64, "exception pixel")?;
            found.pixels = positions.into_iter().map(|p| p as u32).collect();
            let samples = inner.bytes(pixel_count * bands * size, "exception pixel samples")?;
            if inner.pos != raw.len() {
                return Err(Error::corrupt("dequant: bytes after the exception pixels"));
            }
            found.pixel_samples = samples.to_vec();
        }
        let samples = (pixels * bands) as u64;
        let sample_count = cursor.bounded("exception sample count", samples)? as usize;
        if sample_count > 0 {
            let raw = deflate::read_zlib_block(
                cursor,
                sample_count * (10 + size),
                "exception sample block",
            )?;
            let mut inner = Cursor::new(&raw, "dequant");
            let positions = read_gaps(&mut inner, sample_count, samples, "exception sample")?;
            let bits = inner.bytes(sample_count * size, "exception sample bits")?;
            if inner.pos != raw.len() {
                return Err(Error::corrupt("dequant: bytes after the exception samples"));
            }
            let mut word = [0u8; 8];
            found.samples = positions
                .into_iter()
                .zip(bits.chunks_exact(size))
                .map(|(p, b)| {
                    word[..size].copy_from_slice(b);
                    (p, u64::from_le_bytes(word))
                })
                .collect();
        }
        Ok(found)
    }

    /// Writes the kept samples over a decoded tile (pixel-interleaved bytes).
    pub(super) fn apply(&self, bands: usize, size: usize, tile: &mut [u8]) {
        for &(position, bits) in &self.samples {
            let at = position as usize * size;
            tile[at..at + size].copy_from_slice(&bits.to_le_bytes()[..size]);
        }
        let pixel_bytes = bands * size;
        for (&pixel, samples) in self
            .pixels
            .iter()
            .zip(self.pixel_samples.chunks_exact(pixel_bytes))
        {
            let at = pixel as usize * pixel_bytes;
            tile[at..at + pixel_bytes].copy_from_slice(samples);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_round_trip_and_reject_positions_outside_the_tile() {
        let e = Exceptions {
            pixels: vec![0, 7],
            pixel_samples: (0..64).collect(),
            samples: vec![(3, 0x7fc0_0001), (40, 0x8000_0000)],
        };
        let mut buf = Vec::new();
        e.write(4, &mut buf).unwrap();
        let read = |bytes: &[u8], pixels| {
            Exceptions::read(&mut Cursor::new(bytes, "dequant"), pixels, 8, 4)
        };
        assert_eq!(read(&buf, 8).unwrap(), e);
        assert!(read(&buf, 7).is_err(), "pixel 7 of a 7-pixel tile");
        assert!(read(&buf, 5).is_err(), "sample 40 of a 40-sample tile");
        assert!(read(&buf[..buf.len() - 1], 8).is_err(), "truncated");
    }
}
