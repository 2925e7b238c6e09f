//! Native tile decoder: one pass, band-interleaved by line, with three rows of samples and
//! two rows of residual magnitudes in a ring.

use super::bits::BitReader;
use super::context::ContextModel;
use super::engine::{
    finish_prediction, latent_rows, left_values, row_base, sequential_coefs, spatial_row, Acc, Rows,
};
use super::plan::Plan;
use super::rans::Decoder;
use super::tables::Tables;
use super::tokens;
use super::Geometry;
use crate::error::{Error, Result};

/// The last three rows of centred samples, by coding position.
struct Ring {
    data: Vec<i32>,
    channels: usize,
    width: usize,
}

impl Ring {
    fn slot(&self, y: usize, pos: usize) -> usize {
        ((y % 3) * self.channels + pos) * self.width
    }
}

impl Rows for Ring {
    fn row(&self, y: usize, pos: usize) -> &[i32] {
        let s = self.slot(y, pos);
        &self.data[s..s + self.width]
    }
}

/// Residual magnitudes (zigzag values) of the current and previous row.
pub struct Magnitudes {
    pub data: Vec<u32>,
    pub channels: usize,
    pub width: usize,
}

impl Magnitudes {
    #[inline(always)]
    pub fn row(&self, y: usize, pos: usize) -> &[u32] {
        let s = ((y % 2) * self.channels + pos) * self.width;
        &self.data[s..s + self.width]
    }
}

/// Context partial sums for row `y`, position `pos` (everything but the W neighbour).
/// `rows` returns the magnitudes of (row, pos); `pixel_sum` the running sum over earlier
/// positions at each pixel of row `y`.
pub fn context_partials<'a>(
    model: &ContextModel,
    pos: usize,
    y: usize,
    width: usize,
    rows: impl Fn(usize, usize) -> &'a [u32],
    pixel_sum: &[u32],
    out: &mut [i64],
) {
    let zeros = [0u32; 0];
    let above: &[u32] = if y > 0 { rows(y - 1, pos) } else { &zeros };
    let prev_cur: &[u32] = if pos > 0 { rows(y, pos - 1) } else { &zeros };
    let prev_above: &[u32] = if pos > 0 && y > 0 {
        rows(y - 1, pos - 1)
    } else {
        &zeros
    };
    for x in 0..width {
        let (u_n, u_nw_ne) = if y > 0 {
            (
                above[x],
                above[x.saturating_sub(1)] + above[(x + 1).min(width - 1)],
            )
        } else {
            (0, 0)
        };
        let (prev, p_wn) = if pos > 0 {
            let pw = if x > 0 {
                prev_cur[x - 1]
            } else if y > 0 {
                prev_above[0]
            } else {
                0
            };
            let pn = if y > 0 { prev_above[x] } else { 0 };
            (prev_cur[x], pw + pn)
        } else {
            (0, 0)
        };
        out[x] = model.partial(pos, u_n, u_nw_ne, prev, p_wn, pixel_sum[x]);
    }
}

/// Decodes a tile into numeric sample values, pixel-interleaved by band.
#[inline(always)]
pub fn decode<A: Acc>(
    plan: &Plan,
    g: &Geometry,
    tables: &Tables,
    rans_bytes: &[u8],
    raw: &[u8],
) -> Result<Vec<i32>> {
    let (w, h, c) = (g.width, g.height, g.channels);
    let model = ContextModel::new(&plan.context);
    let mut ring = Ring {
        data: vec![0; 3 * c * w],
        channels: c,
        width: w,
    };
    let mut mags = Magnitudes {
        data: vec![0; 2 * c * w],
        channels: c,
        width: w,
    };
    let k = plan.latent.as_ref().map_or(0, |l| l.components);
    let mut zacc = vec![vec![0i64; w]; k];
    let mut zrows = vec![vec![0i32; w]; k];
    let mut base = vec![A::default(); w];
    let mut sacc = vec![A::default(); w];
    let mut srows = vec![0i32; c * w];
    let mut partial = vec![0i64; w];
    let mut pixel_sum = vec![0u32; w];
    let mut dec = Decoder::new(rans_bytes)?;
    let mut bits = BitReader::new(raw);
    let mask = ((1u64 << g.bits) - 1) as i64;
    let mut out = vec![0i32; w * h * c];
    for y in 0..h {
        if let (Some(l), true) = (&plan.latent, y > 0) {
            latent_rows(l, &ring, y - 1, c, w, &mut zacc, &mut zrows);
        }
        pixel_sum.iter_mut().for_each(|s| *s = 0);
        for pos in 0..c {
            let ch = &plan.channels[pos];
            row_base(plan, pos, y, &ring, &srows, &zrows, &mut base);
            let (cw, cww) = sequential_coefs(plan, ch, y);
            let (cw, cww) = (A::from_i64(cw as i64), A::from_i64(cww as i64));
            context_partials(
                &model,
                pos,
                y,
                w,
                |yy, pp| mags.row(yy, pp),
                &pixel_sum,
                &mut partial,
            );
            let above_first = if y > 0 { ring.row(y - 1, pos)[0] } else { 0 };
            let u_above_first = if y > 0 { mags.row(y - 1, pos)[0] } else { 0 };
            let (lo, hi) = (g.lo[pos], g.hi[pos]);
            let xs = ring.slot(y, pos);
            let us = ((y % 2) * c + pos) * w;
            for x in 0..w {
                let u_w = if x > 0 {
                    mags.data[us + x - 1]
                } else {
                    u_above_first
                };
                let ctx = model.context(pos, partial[x], u_w);
                let slots = &tables.slots[ctx];
                if slots.is_empty() {
                    return Err(Error::corrupt(format!(
                        "native: sample uses context {ctx}, which has no table"
                    )));
                }
                let sym = slots[dec.peek() as usize] as u32;
                dec.advance(tables.ranges[ctx][sym as usize]);
                let u = tokens::join(sym, bits.get(tokens::extra_bits(sym)));
                let r = tokens::unzigzag(u) as i64;
                let cur = &ring.data[xs..xs + w];
                let (wv, wwv) = left_values(cur, above_first, x);
                let acc = base[x].mul_add(cw, wv).mul_add(cww, wwv);
                let pred = finish_prediction(acc.to_i64(), ch.shift, lo, hi) as i64;
                let v = ((pred + r - lo as i64) & mask) + lo as i64;
                ring.data[xs + x] = v as i32;
                mags.data[us + x] = u;
                pixel_sum[x] = pixel_sum[x].wrapping_add(u);
            }
            spatial_row(
                plan,
                pos,
                y,
                &ring,
                lo,
                hi,
                &mut sacc,
                &mut srows[pos * w..(pos + 1) * w],
            );
        }
        for pos in 0..c {
            let band = plan.order[pos] as usize;
            let off = plan.offsets[band];
            for (x, &v) in ring.row(y, pos).iter().enumerate() {
                out[(y * w + x) * c + band] = v + off;
            }
        }
    }
    dec.finish()?;
    if bits.overrun() {
        return Err(Error::corrupt("native: raw bit stream ends early"));
    }
    Ok(out)
}
