//! The context model: an estimate of each sample's expected residual magnitude, quantised on
//! a log scale into at most 32 contexts whose thresholds the encoder chose.
//!
//! The estimate is `max(P, 0) + w1·rep(token of W)`. `P` is a weighted sum of residual
//! magnitudes the decoder already knows before the row starts, each normalised by the mean
//! magnitude of its channel (channels differ by orders of magnitude): the same channel at N
//! and at NW+NE, the previous channel in coding order at the same pixel and at W+N, and the
//! sum over all earlier channels at this pixel — the pixel's own noise level, which for
//! per-pixel-quantised embeddings varies as 1/scale. `P` is computed for a whole row at once
//! in float32 (a fixed order of operations, no fused multiply-add, so every IEEE-754 machine
//! agrees) and quantised to a level. The W neighbour, known only sample by sample, enters
//! through its token, so a sample's context is one table lookup `ctx[level(P)][token(W)]`:
//! the sequential dependency is a load, not a float computation.
//!
//! [`context_row`] computes the W-free level of a whole row from its [`MagnitudeRows`], the
//! same way in the encoder and the decoder.

use super::neighbourhood::Rows;
use super::plan::{ContextParams, CONTEXT_WEIGHTS};
use crate::entropy::tokens;

/// Number of activity levels (8 per octave of the estimated magnitude).
pub(super) const LEVELS: usize = 256;
/// Tokens of the W neighbour that the table distinguishes (all tokens of 16-bit residuals).
pub(super) const W_TOKENS: usize = 64;

/// Level of a non-negative magnitude: 8 steps per octave from 2^-6 up, read off the float's
/// exponent and top three mantissa bits.
#[inline(always)]
pub(super) fn level(v: f32) -> usize {
    let biased_exponent = (v.to_bits() >> 20) as i32 - ((127 - 6) << 3);
    biased_exponent.clamp(0, LEVELS as i32 - 1) as usize
}

/// A representative magnitude of a level (the middle of its range; 0 for level 0).
fn level_value(l: usize) -> f32 {
    if l == 0 {
        return 0.0;
    }
    let (exponent, eighths) = ((l / 8) as i32 - 6, (l % 8) as f32);
    2f32.powi(exponent) * (1.0 + (eighths + 0.5) / 8.0)
}

/// A representative magnitude of a W token (its value for direct tokens, the middle of its
/// range otherwise).
fn token_value(t: usize) -> f32 {
    let extra = tokens::extra_bits(t as u32);
    let low = tokens::join(t as u32, 0) as f32;
    if extra == 0 {
        low
    } else {
        low + (1u64 << extra) as f32 / 2.0
    }
}

/// Per-position constants of the row pass.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PositionConstants {
    /// w0, then w1·r (unused in the row pass), w2·r, w3·r', w4·r', w5·p (r = 1/mean of this
    /// position, r' of the previous one, p = 1/sum of the means of all earlier positions).
    pub k: [f32; CONTEXT_WEIGHTS],
    /// This position's mean magnitude.
    pub mean: f32,
}

#[derive(Clone, Debug)]
pub(super) struct ContextModel {
    pub positions: Vec<PositionConstants>,
    /// `[level(P) * W_TOKENS + token(W)]` → estimate level.
    pub levels: Vec<u8>,
    /// `[level(P) * W_TOKENS + token(W)]` → context.
    pub table: Vec<u8>,
}

impl ContextModel {
    pub(super) fn new(p: &ContextParams) -> Self {
        let weights: Vec<f32> = p.weights.iter().map(|&v| v as f32 / 256.0).collect();
        let means: Vec<f32> = p.means.iter().map(|&m| m.max(1) as f32 / 16.0).collect();
        let mut sum = 0f32;
        let mut positions = Vec::with_capacity(means.len());
        for (i, &m) in means.iter().enumerate() {
            let reciprocal = 1.0 / m;
            let previous_reciprocal = if i > 0 { 1.0 / means[i - 1] } else { 0.0 };
            let prefix_reciprocal = if sum > 0.0 { 1.0 / sum } else { 0.0 };
            positions.push(PositionConstants {
                k: [
                    weights[0],
                    weights[1] * reciprocal,
                    weights[2] * reciprocal,
                    weights[3] * previous_reciprocal,
                    weights[4] * previous_reciprocal,
                    weights[5] * prefix_reciprocal,
                    weights[6] * reciprocal,
                ],
                mean: m,
            });
            sum += m;
        }
        let mut lut = [0u8; LEVELS];
        for (q, l) in lut.iter_mut().enumerate() {
            *l = p.thresholds.iter().filter(|&&t| t as usize <= q).count() as u8;
        }
        let w_weight = weights[1].max(0.0);
        let mut levels = vec![0u8; LEVELS * W_TOKENS];
        for pl in 0..LEVELS {
            for t in 0..W_TOKENS {
                levels[pl * W_TOKENS + t] =
                    level(level_value(pl) + w_weight * token_value(t)) as u8;
            }
        }
        let table = levels.iter().map(|&l| lut[l as usize]).collect();
        ContextModel {
            positions,
            levels,
            table,
        }
    }

    /// `P` without the W term:
    /// `(((((k0 + k2·(uNW+uNE)) + k3·prev) + k4·(pW+pN)) + k5·S) + k1'·uN) + k6·grad`,
    /// where `k1'·uN` is the N half of the (W+N) feature. Times the mean, in the row pass.
    #[inline(always)]
    pub(super) fn partial(
        k: &[f32; CONTEXT_WEIGHTS],
        u_n: f32,
        u_nw_ne: f32,
        prev: f32,
        p_wn: f32,
        pixel_sum: f32,
        grad: f32,
    ) -> f32 {
        k[0] + k[2] * u_nw_ne
            + k[3] * prev
            + k[4] * p_wn
            + k[5] * pixel_sum
            + k[1] * u_n
            + k[6] * grad
    }

    /// Level of the W-free estimate `max(partial·mean, 0)`.
    #[inline(always)]
    pub(super) fn partial_level(partial: f32, mean: f32) -> u8 {
        level((partial * mean).max(0.0)) as u8
    }
}

/// The neighbourhood of one row of residual magnitudes, for the context estimate: the same
/// position in the row above, the previous position in this row and in the row above, and
/// the per-pixel sum over earlier positions. Missing rows and positions are all zero.
pub(super) struct MagnitudeRows<'a> {
    above: &'a [i32],
    previous: &'a [i32],
    previous_above: &'a [i32],
    pixel_sum: &'a [i32],
    /// The channel's values in the rows y−1 and y−2 (the row above twice on row 1, zeros
    /// on row 0).
    values_above: &'a [i32],
    values_above2: &'a [i32],
}

impl<'a> MagnitudeRows<'a> {
    /// The neighbourhood of row `y`, position `pos`: from the zigzag residuals and centred
    /// values decoded so far, the sum of this pixel's earlier magnitudes, and a row of zeros
    /// for what does not exist.
    pub(super) fn gather(
        y: usize,
        pos: usize,
        magnitudes: &'a impl Rows,
        values: &'a impl Rows,
        pixel_sum: &'a [i32],
        zeros: &'a [i32],
    ) -> Self {
        let has_above = y > 0;
        let has_previous = pos > 0;
        MagnitudeRows {
            above: if has_above {
                magnitudes.row(y - 1, pos)
            } else {
                zeros
            },
            previous: if has_previous {
                magnitudes.row(y, pos - 1)
            } else {
                zeros
            },
            previous_above: if has_previous && has_above {
                magnitudes.row(y - 1, pos - 1)
            } else {
                zeros
            },
            pixel_sum,
            values_above: if has_above {
                values.row(y - 1, pos)
            } else {
                zeros
            },
            values_above2: if has_above {
                values.row(y.saturating_sub(2), pos)
            } else {
                zeros
            },
        }
    }
}

/// The value gradient |N−NW| + |N−NE| + |N−NN| at column `x` (columns clamp at the edges).
#[inline(always)]
fn gradient(n: i32, nw: i32, ne: i32, nn: i32) -> f32 {
    (n.wrapping_sub(nw).unsigned_abs()
        + n.wrapping_sub(ne).unsigned_abs()
        + n.wrapping_sub(nn).unsigned_abs()) as f32
}

#[inline(always)]
fn context_row_body(
    weights: &[f32; CONTEXT_WEIGHTS],
    mean: f32,
    rows: &MagnitudeRows,
    out: &mut [u8],
) {
    let width = out.len();
    // A local copy: the compiler then knows the weights do not alias `out`.
    let weights = &{ *weights };
    let f = |v: i32| v as f32;
    // The first and last columns, whose neighbours clamp.
    let edge = |x: usize| {
        let (left, right) = (x.saturating_sub(1), (x + 1).min(width - 1));
        let above = rows.above;
        let previous_w = if x > 0 {
            rows.previous[x - 1]
        } else {
            rows.previous_above[0]
        };
        let values = rows.values_above;
        let partial = ContextModel::partial(
            weights,
            f(above[x]),
            f(above[left] + above[right]),
            f(rows.previous[x]),
            f(previous_w + rows.previous_above[x]),
            f(rows.pixel_sum[x]),
            gradient(
                values[x],
                values[left],
                values[right],
                rows.values_above2[x],
            ),
        );
        ContextModel::partial_level(partial, mean)
    };
    out[0] = edge(0);
    if width > 1 {
        out[width - 1] = edge(width - 1);
    }
    if width > 2 {
        // Interior columns: shifted views of the rows, zipped so the loop has no bounds
        // checks and vectorises.
        let interior = width - 2;
        let (above, previous, previous_above) = (rows.above, rows.previous, rows.previous_above);
        let (values, values2) = (rows.values_above, &rows.values_above2[1..width - 1]);
        let magnitudes = out[1..width - 1]
            .iter_mut()
            .zip(&rows.pixel_sum[1..width - 1])
            .zip(above[1..].iter().zip(&above[..interior]).zip(&above[2..]));
        let previous_rows = previous[1..]
            .iter()
            .zip(&previous[..interior])
            .zip(&previous_above[1..]);
        let value_rows = values[1..]
            .iter()
            .zip(&values[..interior])
            .zip(&values[2..])
            .zip(values2);
        for (
            (((level, &pixel_sum), ((&u_n, &u_nw), &u_ne)), ((&p_here, &p_w), &p_n)),
            (((&v_n, &v_nw), &v_ne), &v_nn),
        ) in magnitudes.zip(previous_rows).zip(value_rows)
        {
            let partial = ContextModel::partial(
                weights,
                f(u_n),
                f(u_nw + u_ne),
                f(p_here),
                f(p_w + p_n),
                f(pixel_sum),
                gradient(v_n, v_nw, v_ne, v_nn),
            );
            *level = ContextModel::partial_level(partial, mean);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn context_row_avx2(
    weights: &[f32; CONTEXT_WEIGHTS],
    mean: f32,
    rows: &MagnitudeRows,
    out: &mut [u8],
) {
    context_row_body(weights, mean, rows, out)
}

/// The W-free context level of every sample of a row, 8 lanes at a time with AVX2.
pub(super) fn context_row(constants: &PositionConstants, rows: &MagnitudeRows, out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 support was just checked.
        return unsafe { context_row_avx2(&constants.k, constants.mean, rows, out) };
    }
    context_row_body(&constants.k, constants.mean, rows, out)
}
