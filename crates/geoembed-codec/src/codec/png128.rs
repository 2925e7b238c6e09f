//! PNG128: PNG's row filters across all channels of a pixel, then deflate.
//!
//! The tile is seen as a PNG image whose "pixel" is all the bands of a pixel, so the filters'
//! left neighbour is the same band in the previous pixel (PNG's bytes-per-pixel = bands).
//! Each row gets the filter (None, Sub, Up, Average, Paeth) with the smallest sum of absolute
//! residuals, the heuristic libpng recommends.
//!
//! 8-bit samples use PNG's exact scanline layout (filter byte, then the row). Wider samples
//! follow cbloom's rules for multi-byte data: filter at full word width, add a bias of 0x80
//! in every byte so small negative residuals do not flip the high bytes, then de-interleave
//! the bytes into planes (most significant first) so each plane has uniform statistics.

use super::TileShape;
use crate::entropy::deflate;
use crate::error::{Error, Result};
use crate::transform::words;
pub use crate::transform::words::Word;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Filter {
    None = 0,
    Sub = 1,
    Up = 2,
    Average = 3,
    Paeth = 4,
}

const FILTERS: [Filter; 5] = [
    Filter::None,
    Filter::Sub,
    Filter::Up,
    Filter::Average,
    Filter::Paeth,
];

#[inline(always)]
fn predict<W: Word>(f: Filter, left: W, up: W, up_left: W) -> W {
    match f {
        Filter::None => W::default(),
        Filter::Sub => left,
        Filter::Up => up,
        Filter::Average => W::average(left, up),
        Filter::Paeth => W::paeth(left, up, up_left),
    }
}

/// Residuals of `cur` under filter `f`; `prev` is the previous reconstructed row (all zero
/// for the first row, as in PNG).
fn filter_row<W: Word>(f: Filter, cur: &[W], prev: &[W], bpp: usize, out: &mut [W]) {
    let zero = W::default();
    for i in 0..cur.len() {
        let (left, up_left) = if i >= bpp {
            (cur[i - bpp], prev[i - bpp])
        } else {
            (zero, zero)
        };
        out[i] = cur[i].wrapping_sub(predict(f, left, prev[i], up_left));
    }
}

fn unfilter_row<W: Word>(f: Filter, row: &mut [W], prev: &[W], bpp: usize) {
    let zero = W::default();
    match f {
        Filter::None => {}
        // The common filters get their own loops so the compiler can keep them tight.
        Filter::Sub => {
            for i in bpp..row.len() {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
        }
        Filter::Up => {
            for (r, p) in row.iter_mut().zip(prev) {
                *r = r.wrapping_add(*p);
            }
        }
        _ => {
            for i in 0..row.len() {
                let (left, up_left) = if i >= bpp {
                    (row[i - bpp], prev[i - bpp])
                } else {
                    (zero, zero)
                };
                row[i] = row[i].wrapping_add(predict(f, left, prev[i], up_left));
            }
        }
    }
}

/// Filters every row, choosing each row's filter; returns the filter types and residuals.
fn filter_image<W: Word>(
    words: &[W],
    row_len: usize,
    bpp: usize,
    only: Option<Filter>,
) -> (Vec<u8>, Vec<W>) {
    let rows = words.len() / row_len;
    let mut types = Vec::with_capacity(rows);
    let mut out = vec![W::default(); words.len()];
    let zeros = vec![W::default(); row_len];
    let mut trial = vec![W::default(); row_len];
    for y in 0..rows {
        let cur = &words[y * row_len..(y + 1) * row_len];
        let prev = if y > 0 {
            &words[(y - 1) * row_len..y * row_len]
        } else {
            &zeros[..]
        };
        let dst = &mut out[y * row_len..(y + 1) * row_len];
        let best = match only {
            Some(f) => {
                filter_row(f, cur, prev, bpp, dst);
                f
            }
            None => {
                let mut best = (u64::MAX, Filter::None);
                for f in FILTERS {
                    filter_row(f, cur, prev, bpp, &mut trial);
                    let cost = trial
                        .iter()
                        .fold(0u64, |a, w| a.saturating_add(w.signed_magnitude()));
                    if f == Filter::None || cost < best.0 {
                        best = (cost, f);
                        dst.copy_from_slice(&trial);
                    }
                }
                best.1
            }
        };
        types.push(best as u8);
    }
    (types, out)
}

/// Encodes words laid out as `rows` rows of `row_len` words, `bpp` words per pixel.
pub fn encode_words<W: Word>(
    words: &[W],
    row_len: usize,
    bpp: usize,
    level: u32,
    only_paeth: bool,
) -> Result<Vec<u8>> {
    let only = only_paeth.then_some(Filter::Paeth);
    let (types, residuals) = filter_image(words, row_len, bpp, only);
    let mut stream = Vec::with_capacity(types.len() + residuals.len() * W::BYTES);
    if W::BYTES == 1 {
        for (y, t) in types.iter().enumerate() {
            stream.push(*t);
            stream.extend(
                residuals[y * row_len..(y + 1) * row_len]
                    .iter()
                    .map(|w| w.to_u64() as u8),
            );
        }
    } else {
        stream.extend_from_slice(&types);
        let biased: Vec<W> = residuals.iter().map(|r| r.wrapping_add(W::BIAS)).collect();
        words::split_bytes(&biased, &mut stream);
    }
    deflate::compress(&stream, level)
}

/// Inverse of [`encode_words`].
pub fn decode_words<W: Word>(
    payload: &[u8],
    rows: usize,
    row_len: usize,
    bpp: usize,
) -> Result<Vec<W>> {
    let n = rows * row_len;
    let stream = deflate::decompress(payload, rows + n * W::BYTES)?;
    let (types, mut words): (Vec<u8>, Vec<W>) = if W::BYTES == 1 {
        let mut types = Vec::with_capacity(rows);
        let mut words = Vec::with_capacity(n);
        for row in stream.chunks_exact(row_len + 1) {
            types.push(row[0]);
            words.extend(row[1..].iter().map(|b| W::from_u64(*b as u64)));
        }
        (types, words)
    } else {
        let mut words = words::join_bytes::<W>(&stream[rows..], n);
        words.iter_mut().for_each(|w| *w = w.wrapping_sub(W::BIAS));
        (stream[..rows].to_vec(), words)
    };
    let zeros = vec![W::default(); row_len];
    for y in 0..rows {
        let f = *FILTERS.get(types[y] as usize).ok_or_else(|| {
            Error::corrupt(format!(
                "png128: row {y} has unknown filter type {}",
                types[y]
            ))
        })?;
        let (done, rest) = words.split_at_mut(y * row_len);
        let prev = if y > 0 {
            &done[(y - 1) * row_len..]
        } else {
            &zeros[..]
        };
        unfilter_row(f, &mut rest[..row_len], prev, bpp);
    }
    Ok(words)
}

/// PNG128 on a tile of any sample type.
pub(crate) fn encode(shape: &TileShape, samples: &[u8], level: u32) -> Result<Vec<u8>> {
    words::with_word!(shape.sample_type, W => {
        let w = words::load::<W>(shape.sample_type, samples);
        encode_words(&w, shape.width * shape.bands, shape.bands, level, false)
    })
}

pub(crate) fn decode(shape: &TileShape, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
    words::with_word!(shape.sample_type, W => {
        let w = decode_words::<W>(payload, shape.height, shape.width * shape.bands, shape.bands)?;
        words::store(shape.sample_type, &w, out);
        Ok(())
    })
}
