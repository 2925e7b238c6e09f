//! Whole-pixel repeats: pixels whose every band equals a pixel of an earlier row, anywhere
//! in the tile. Real model embeddings repeat whole vectors far apart (uniform water, snow,
//! fields, nodata fill fed to an input-starved model); no spatial or spectral predictor sees
//! that, a dictionary does.
//!
//! The payload (version 2) lists the *sources* (pixels whose vector later pixels copy) and,
//! per pixel, which source it copies, in one zlib stream: a repeated region is a run of one
//! reference and deflates to almost nothing. In the coding loop a copied sample is an escape
//! that costs no bits: its prediction is the source's value and its token, residual 0, is
//! coded in an extra context whose table gives token 0 all 2048 slots, so the rANS step
//! leaves the state unchanged and reads nothing (docs/format.md §5.3.8).

use super::palette::Palette;
use super::plan::Plan;
use crate::entropy::deflate;
use crate::entropy::varint::{put_u, Cursor};
use crate::error::{Error, Result};
use crate::sample::SampleType;
use crate::word_hash::WordHashMap;

/// Fewest copied pixels for which the encoder lists repeats at all.
const MIN_COPIES: usize = 16;
/// Fewest bands for which the encoder looks for repeats: a pixel of few bands costs little
/// more to code than to reference (DEMs, RGB), one of many bands (embeddings) a lot more.
pub(super) const MIN_BANDS: usize = 8;

/// The repeats of a tile: its sources and every pixel's reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Repeats {
    /// Source pixels (index `y × width + x`), ascending.
    pub sources: Vec<u32>,
    /// Per pixel: 0, or 1 + the index of the source it copies.
    pub references: Vec<u32>,
}

impl Repeats {
    /// Whether pixel `p` copies a source.
    #[inline]
    pub(super) fn copies(&self, p: usize) -> bool {
        self.references.get(p).is_some_and(|&r| r != 0)
    }

    /// Finds the pixels that repeat a pixel of an earlier row (`samples` pixel-interleaved,
    /// `pixel_bytes` per pixel); `None` when fewer than [`MIN_COPIES`] do. A pixel equal to
    /// its N, NW and NE neighbours is left to the flat rule, which codes it for almost
    /// nothing (nodata frames, water).
    pub(super) fn find(
        samples: &[u8],
        width: usize,
        pixel_bytes: usize,
        skip_flat: bool,
    ) -> Option<Repeats> {
        let pixel = |p: usize| &samples[p * pixel_bytes..(p + 1) * pixel_bytes];
        let flat = |p: usize| {
            let (x, vector) = (p % width, pixel(p));
            let north = p - width;
            let west_north = if x > 0 { north - 1 } else { north };
            let east_north = if x + 1 < width { north + 1 } else { north };
            [north, west_north, east_north]
                .iter()
                .all(|&q| pixel(q) == vector)
        };
        let pixels = samples.len() / pixel_bytes;
        // First pixel of each distinct vector, and the source number it was given.
        let mut first: WordHashMap<&[u8], (u32, u32)> = WordHashMap::default();
        let mut sources = Vec::new();
        let mut references = vec![0u32; pixels];
        let mut copies = 0;
        for (p, vector) in samples.chunks_exact(pixel_bytes).enumerate() {
            let entry = first.entry(vector).or_insert((p as u32, u32::MAX));
            let (source, number) = *entry;
            if source as usize / width == p / width || (skip_flat && flat(p)) {
                continue; // the first pixel itself, or one in its row: not decoded yet
            }
            let number = if number == u32::MAX {
                sources.push(source);
                entry.1 = sources.len() as u32 - 1;
                entry.1
            } else {
                number
            };
            references[p] = number + 1;
            copies += 1;
        }
        if copies < MIN_COPIES {
            return None;
        }
        // Sources numbered in ascending pixel order, as the payload lists them.
        let mut order: Vec<u32> = (0..sources.len() as u32).collect();
        order.sort_by_key(|&n| sources[n as usize]);
        let mut renumber = vec![0u32; sources.len()];
        for (new, &old) in order.iter().enumerate() {
            renumber[old as usize] = new as u32 + 1;
        }
        for r in references.iter_mut().filter(|r| **r != 0) {
            *r = renumber[*r as usize - 1];
        }
        sources.sort_unstable();
        Some(Repeats {
            sources,
            references,
        })
    }

    /// `uv source count`, then (if any) `uv length` and a zlib stream of the sources as
    /// gaps and every pixel's reference.
    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        put_u(out, self.sources.len() as u64);
        if self.sources.is_empty() {
            return Ok(());
        }
        let mut raw = Vec::with_capacity(self.sources.len() * 2 + self.references.len());
        let mut next = 0u64;
        for &s in &self.sources {
            put_u(&mut raw, s as u64 - next);
            next = s as u64 + 1;
        }
        for &r in &self.references {
            put_u(&mut raw, r as u64);
        }
        deflate::put_zlib_block(out, &raw, 9)
    }

    /// Reads what [`Repeats::write`] wrote for a tile of `width × pixels / width`, checking
    /// that every source lies in a row above every pixel that copies it.
    pub(super) fn read(r: &mut Cursor, width: usize, pixels: usize) -> Result<Repeats> {
        let count = r.bounded("repeat sources", pixels as u64)? as usize;
        if count == 0 {
            return Ok(Repeats::default());
        }
        let length = r.bounded("repeat block length", (r.data.len() - r.pos) as u64)? as usize;
        // Varints of values below 2^32 take at most 5 bytes.
        let cap = 5 * (count + pixels);
        let raw = deflate::unzlib(r.bytes(length, "repeat block")?, cap, "native: repeats")?;
        let mut inner = Cursor::new(&raw, "native");
        let mut sources = Vec::with_capacity(count);
        let mut next = 0u64;
        for _ in 0..count {
            let source = next + inner.bounded("repeat source", pixels as u64)?;
            if source >= pixels as u64 {
                return Err(Error::corrupt("native: a repeat source outside the tile"));
            }
            sources.push(source as u32);
            next = source + 1;
        }
        let mut references = Vec::with_capacity(pixels);
        for p in 0..pixels {
            let reference = inner.bounded("repeat reference", count as u64)? as u32;
            if reference != 0 && sources[reference as usize - 1] as usize / width >= p / width {
                return Err(Error::corrupt(format!(
                    "native: pixel {p} copies a pixel that is not in a row above it"
                )));
            }
            references.push(reference);
        }
        if inner.pos != raw.len() {
            return Err(Error::corrupt("native: bytes after the repeat references"));
        }
        Ok(Repeats {
            sources,
            references,
        })
    }

    /// The source pixel pixel `p` copies, if any.
    #[inline]
    pub(super) fn source_of(&self, p: usize) -> Option<usize> {
        match self.references.get(p) {
            Some(&r) if r != 0 => Some(self.sources[r as usize - 1] as usize),
            _ => None,
        }
    }
}

/// Where copied pixels are read from: the tile's rows above (a whole-tile decode), or the
/// source pixels alone, kept as they were decoded (a row-by-row decode, which releases the
/// rows a reader has moved past).
#[derive(Clone, Copy)]
pub(super) enum SourcePixels<'a> {
    /// The decoded rows above, pixel-interleaved from the tile's first row.
    Rows(&'a [u8]),
    /// Each source's pixel, in source order ([`SourceStore`]).
    Sources(&'a [u8]),
}

/// The source pixels of a row-by-row decode, captured from each row as it is decoded.
pub(super) struct SourceStore {
    pixels: Vec<u8>,
    /// The first source not yet captured.
    next: usize,
}

impl SourceStore {
    pub(super) fn new(repeats: &Repeats, pixel_bytes: usize) -> Self {
        SourceStore {
            pixels: vec![0; repeats.sources.len() * pixel_bytes],
            next: 0,
        }
    }

    /// Keeps the sources of row `y` (`row`: its decoded bytes).
    pub(super) fn capture(&mut self, repeats: &Repeats, y: usize, width: usize, row: &[u8]) {
        let pixel_bytes = row.len() / width;
        while let Some(&source) = repeats.sources.get(self.next) {
            let (source_y, x) = (source as usize / width, source as usize % width);
            if source_y != y {
                break;
            }
            let at = self.next * pixel_bytes;
            self.pixels[at..at + pixel_bytes]
                .copy_from_slice(&row[x * pixel_bytes..(x + 1) * pixel_bytes]);
            self.next += 1;
        }
    }

    pub(super) fn pixels(&self) -> SourcePixels<'_> {
        SourcePixels::Sources(&self.pixels)
    }
}

/// The centred values of every coding position at the copied pixels of one row, read from
/// the samples already decoded ([`SourcePixels`]).
pub(super) struct CopiedRow {
    /// Columns of the row's copied pixels, ascending.
    pub columns: Vec<usize>,
    /// Per coding position, the copied value of each of `columns`.
    pub values: Vec<i32>,
}

impl CopiedRow {
    pub(super) fn new() -> Self {
        CopiedRow {
            columns: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Fills the row's copies from the decoded rows above. Errors if a copied sample has no
    /// index in its band's palette (only a corrupt stream can make one).
    pub(super) fn fill(
        &mut self,
        repeats: &Repeats,
        y: usize,
        width: usize,
        plan: &Plan,
        ty: SampleType,
        decoded: SourcePixels,
    ) -> Result<()> {
        self.columns.clear();
        self.values.clear();
        if repeats.sources.is_empty() {
            return Ok(());
        }
        self.columns
            .extend((0..width).filter(|&x| repeats.copies(y * width + x)));
        let (size, bands) = (ty.size(), plan.order.len());
        let mut sample = [0i32; 1];
        for &band in &plan.order {
            let (band, offset) = (band as usize, plan.offsets[band as usize]);
            for &x in &self.columns {
                let p = y * width + x;
                let (pixels, source) = match decoded {
                    SourcePixels::Rows(rows) => (rows, repeats.source_of(p).expect("a copy")),
                    SourcePixels::Sources(kept) => (kept, repeats.references[p] as usize - 1),
                };
                let at = (source * bands + band) * size;
                ty.small_int_values(&pixels[at..at + size], &mut sample);
                let coded = match &plan.palettes[band] {
                    Palette::Identity => sample[0],
                    palette => palette.index(sample[0]).ok_or_else(|| {
                        Error::corrupt("native: a copied sample is not in its palette")
                    })?,
                };
                self.values.push(coded - offset);
            }
        }
        Ok(())
    }

    /// The copied values of coding position `pos`, one per column of `columns`.
    pub(super) fn position(&self, pos: usize) -> &[i32] {
        let n = self.columns.len();
        &self.values[pos * n..(pos + 1) * n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_found_in_rows_below_their_source_and_round_trip() {
        // 4 x 8 pixels of 2 bytes: rows 2.. repeat pixels of rows 0 and 1.
        let width = 4;
        let mut samples = Vec::new();
        for p in 0..32u8 {
            let v = if p < 8 { p } else { (p * 5) % 8 };
            samples.extend_from_slice(&[v, 7]);
        }
        let repeats = Repeats::find(&samples, width, 2, true).unwrap();
        assert_eq!(repeats.sources, (0..8).collect::<Vec<u32>>());
        assert!((0..8).all(|p| !repeats.copies(p)));
        assert!((8..32).all(|p| repeats.copies(p)));
        assert_eq!(repeats.source_of(9), Some(5));
        let mut buf = Vec::new();
        repeats.write(&mut buf).unwrap();
        let back = Repeats::read(&mut Cursor::new(&buf, "native"), width, 32).unwrap();
        assert_eq!(back, repeats);
        // As a 16-wide tile, pixel 9 would copy pixel 5 of its own row: refused.
        assert!(Repeats::read(&mut Cursor::new(&buf, "native"), 16, 32).is_err());
        assert!(
            Repeats::find(&samples[..16], width, 2, true).is_none(),
            "too few"
        );
    }
}
