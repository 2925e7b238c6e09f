//! Row-level prediction shared by the encoder and the decoder, so that both compute every
//! prediction with the same integer operations.
//!
//! Samples are processed band-interleaved by line: for each row, each channel in coding
//! order, each column. The part of a prediction that does not depend on the current row's
//! left neighbours (earlier channels at this pixel, the rows above) is computed for a whole
//! row at once with vectorisable loops ([`row_base`]); only the W and WW terms, which
//! [`FinalPredictor`] adds, are sequential.
//!
//! Neighbour rules (docs/format.md §5.3.4): on row 0 every own-channel neighbour is W
//! (0 at column 0); below row 0 a neighbour at (dy < 0, dx) reads row `max(y+dy, 0)`,
//! column `clamp(x+dx, 0, w−1)`, and a missing left neighbour in the current row reads the
//! first sample of the row above.

use super::neighbourhood::Rows;
use super::plan::Plan;
use super::simd;
use super::Geometry;

/// Accumulator for predictions: i32 for 8-bit samples (the encoder keeps every sum in
/// range), i64 for 16-bit samples. Arithmetic wraps, so even a corrupt plan cannot panic.
pub(super) trait Acc: Copy + Default + Send + Sync + 'static {
    fn from_i64(v: i64) -> Self;
    fn to_i64(self) -> i64;
    fn mul_add(self, c: Self, x: i32) -> Self;
    /// `acc[i] += c · row[i]` over a row (the vectorised kernel).
    fn axpy(acc: &mut [Self], c: Self, row: &[i32]);
    /// Adds every tap from 16-bit (value, spatial) pair rows (8-bit samples only): tap `i`
    /// reads row `taps[i]` of `rows` (rows of `stride` values).
    fn taps_pairs(acc: &mut [Self], rows: &[i16], stride: usize, taps: &[usize], coefs: &[u32]);
    /// `clamp((acc + round) >> shift, lo, hi)` (the shift floors).
    fn predict(acc: Self, round: Self, shift: u32, lo: i32, hi: i32) -> i32;
    /// [`Acc::predict`] over a row.
    fn predict_row(acc: &[Self], round: Self, shift: u32, lo: i32, hi: i32, out: &mut [i32]) {
        for (o, &a) in out.iter_mut().zip(acc) {
            *o = Self::predict(a, round, shift, lo, hi);
        }
    }
}

impl Acc for i32 {
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v as i32
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn mul_add(self, c: Self, x: i32) -> Self {
        self.wrapping_add(c.wrapping_mul(x))
    }
    #[inline(always)]
    fn axpy(acc: &mut [Self], c: Self, row: &[i32]) {
        simd::axpy_i32(acc, c, row)
    }
    fn taps_pairs(acc: &mut [Self], rows: &[i16], stride: usize, taps: &[usize], coefs: &[u32]) {
        simd::taps_pairs(acc, rows, stride, taps, coefs)
    }
    #[inline(always)]
    fn predict(acc: Self, round: Self, shift: u32, lo: i32, hi: i32) -> i32 {
        (acc.wrapping_add(round) >> shift).clamp(lo, hi)
    }
    fn predict_row(acc: &[Self], round: Self, shift: u32, lo: i32, hi: i32, out: &mut [i32]) {
        simd::predict_row_i32(acc, round, shift, lo, hi, out)
    }
}

impl Acc for i64 {
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self
    }
    #[inline(always)]
    fn mul_add(self, c: Self, x: i32) -> Self {
        self.wrapping_add(c.wrapping_mul(x as i64))
    }
    #[inline(always)]
    fn axpy(acc: &mut [Self], c: Self, row: &[i32]) {
        simd::axpy_i64(acc, c, row)
    }
    fn taps_pairs(_: &mut [Self], _: &[i16], _: usize, _: &[usize], _: &[u32]) {
        unreachable!("16-bit samples use 64-bit accumulators and no pair rows")
    }
    #[inline(always)]
    fn predict(acc: Self, round: Self, shift: u32, lo: i32, hi: i32) -> i32 {
        (acc.wrapping_add(round) >> shift).clamp(lo as i64, hi as i64) as i32
    }
}

/// `acc[x] += coef · row[clamp(x + dx, 0, w − 1)]`.
#[inline(always)]
pub(super) fn axpy_shifted<A: Acc>(acc: &mut [A], coef: i32, row: &[i32], dx: i32) {
    let width = acc.len();
    let coef = A::from_i64(coef as i64);
    if coef.to_i64() == 0 {
        return;
    }
    let shift = dx.unsigned_abs() as usize;
    match dx {
        0 => A::axpy(acc, coef, row),
        // Columns left of the row read its first sample.
        _ if dx < 0 => {
            for a in &mut acc[..shift.min(width)] {
                *a = a.mul_add(coef, row[0]);
            }
            if width > shift {
                A::axpy(&mut acc[shift..], coef, &row[..width - shift]);
            }
        }
        // Columns right of the row read its last sample.
        _ => {
            if width > shift {
                A::axpy(&mut acc[..width - shift], coef, &row[shift..]);
            }
            for a in acc[width.saturating_sub(shift)..].iter_mut() {
                *a = a.mul_add(coef, row[width - 1]);
            }
        }
    }
}

/// `2^(shift − 1)` (0 for no shift): what `(acc + round) >> shift` adds to round to nearest.
#[inline(always)]
pub(super) fn rounding<A: Acc>(shift: u8) -> A {
    A::from_i64(if shift > 0 { 1i64 << (shift - 1) } else { 0 })
}

/// A channel's final predictor on one row, once the row's base (everything but W and WW,
/// see [`row_base`]) is known: `clamp((base + w_coef·W + ww_coef·WW + round) >> shift, lo,
/// hi)`.
#[derive(Clone, Copy)]
pub(super) struct FinalPredictor<A> {
    pub(super) w_coef: A,
    pub(super) ww_coef: A,
    pub(super) round: A,
    pub(super) shift: u32,
    pub(super) lo: i32,
    pub(super) hi: i32,
}

impl<A: Acc> FinalPredictor<A> {
    /// The predictor of coding position `pos` on row `y`. On row 0 every own neighbour is W,
    /// so all own coefficients add to W's.
    pub(super) fn new(plan: &Plan, geometry: &Geometry, pos: usize, y: usize) -> Self {
        let channel = &plan.channels[pos];
        let mut w_coef = 0i32;
        let mut ww_coef = 0i32;
        for (&coef, (dy, dx)) in channel.own.iter().zip(plan.own_offsets()) {
            if y == 0 || (dy, dx) == (0, -1) {
                w_coef = w_coef.wrapping_add(coef);
            } else if dy == 0 {
                ww_coef = ww_coef.wrapping_add(coef);
            }
        }
        FinalPredictor {
            w_coef: A::from_i64(w_coef as i64),
            ww_coef: A::from_i64(ww_coef as i64),
            round: rounding(channel.shift),
            shift: channel.shift as u32,
            lo: geometry.lo[pos],
            hi: geometry.hi[pos],
        }
    }

    /// Whether the row needs its own samples (W or WW) to be predicted.
    pub(super) fn is_sequential(&self) -> bool {
        self.w_coef.to_i64() != 0 || self.ww_coef.to_i64() != 0
    }

    /// The prediction of one sample.
    #[inline(always)]
    pub(super) fn predict(&self, base: A, w: i32, ww: i32) -> i32 {
        let acc = base.mul_add(self.w_coef, w).mul_add(self.ww_coef, ww);
        A::predict(acc, self.round, self.shift, self.lo, self.hi)
    }

    /// The predictions of a whole row whose base already holds the W and WW terms.
    pub(super) fn predict_row(&self, base: &[A], out: &mut [i32]) {
        A::predict_row(base, self.round, self.shift, self.lo, self.hi, out);
    }
}

/// The non-sequential part of the predictions of row `y`, coding position `pos`: bias, taps
/// on earlier channels (their values in `rows` and their spatial predictions in
/// `spatial_rows`, one row per position), own neighbours in the rows above.
pub(super) fn row_base<A: Acc>(
    plan: &Plan,
    pos: usize,
    y: usize,
    rows: &impl Rows,
    spatial_rows: &[i32],
    pairs: Option<&PairRows>,
    base: &mut [A],
) {
    let channel = &plan.channels[pos];
    base.fill(A::from_i64(channel.bias));
    match pairs {
        Some(pairs) => A::taps_pairs(
            base,
            &pairs.data,
            2 * pairs.width,
            &pairs.taps[pos],
            &pairs.coefs[pos],
        ),
        None => {
            let width = base.len();
            for tap in &channel.taps {
                let tapped = tap.pos as usize;
                axpy_shifted(base, tap.value, rows.row(y, tapped), 0);
                let spatial = &spatial_rows[tapped * width..(tapped + 1) * width];
                axpy_shifted(base, tap.spatial, spatial, 0);
            }
        }
    }
    if y == 0 {
        return;
    }
    for (&coef, (dy, dx)) in channel.own.iter().zip(plan.own_offsets()) {
        if dy < 0 {
            let source = (y as i32 + dy).max(0) as usize;
            axpy_shifted(base, coef, rows.row(source, pos), dx);
        }
    }
}

/// The current row's (value, spatial prediction) pairs as 16-bit integers, one row per
/// coding position, and every channel's tap coefficients packed for the pairwise kernel.
/// Used for 8-bit samples, whose centred values and spatial predictions fit 16 bits.
pub(super) struct PairRows {
    data: Vec<i16>,
    width: usize,
    /// Per position: its taps' coefficients, packed by [`simd::pack_pair`].
    coefs: Vec<Vec<u32>>,
    /// Per position: the positions its taps read.
    taps: Vec<Vec<usize>>,
}

impl PairRows {
    pub(super) fn new(plan: &Plan, width: usize) -> Self {
        let channels = &plan.channels;
        PairRows {
            data: vec![0; channels.len() * 2 * width],
            width,
            coefs: channels
                .iter()
                .map(|channel| {
                    let taps = channel.taps.iter();
                    taps.map(|tap| simd::pack_pair(tap.value, tap.spatial))
                        .collect()
                })
                .collect(),
            taps: channels
                .iter()
                .map(|channel| channel.taps.iter().map(|tap| tap.pos as usize).collect())
                .collect(),
        }
    }

    /// Stores position `pos`'s values and spatial predictions for the current row.
    pub(super) fn set(&mut self, pos: usize, values: &[i32], spatial: &[i32]) {
        let stride = 2 * self.width;
        simd::interleave_pairs(
            values,
            spatial,
            &mut self.data[pos * stride..(pos + 1) * stride],
        );
    }
}

/// The spatial prediction `S` of a whole row of channel `pos` once that row is known, with
/// the same neighbour rules as the predictor, clamped to `[lo, hi]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn spatial_row<A: Acc>(
    plan: &Plan,
    pos: usize,
    y: usize,
    rows: &impl Rows,
    lo: i32,
    hi: i32,
    acc: &mut [A],
    out: &mut [i32],
) {
    let spatial = &plan.channels[pos].spatial;
    let current = rows.row(y, pos);
    acc.fill(A::from_i64(spatial.bias));
    if y == 0 {
        // Every neighbour is W; W of column 0 is 0.
        let w_coef = spatial.own.iter().fold(0i32, |a, &v| a.wrapping_add(v));
        axpy_shifted(acc, w_coef, current, -1);
        acc[0] = A::from_i64(spatial.bias);
    } else {
        let first_above = rows.row(y - 1, pos)[0];
        for (&coef, (dy, dx)) in spatial.own.iter().zip(plan.own_offsets()) {
            if dy < 0 {
                let source = (y as i32 + dy).max(0) as usize;
                axpy_shifted(acc, coef, rows.row(source, pos), dx);
            } else {
                axpy_shifted(acc, coef, current, dx);
                // Missing left neighbours read the first sample of the row above:
                // axpy_shifted read the row's first sample there, so swap one for the other.
                let correction = first_above.wrapping_sub(current[0]);
                let missing = (-dx as usize).min(acc.len());
                for a in &mut acc[..missing] {
                    *a = a.mul_add(A::from_i64(coef as i64), correction);
                }
            }
        }
    }
    let round = rounding(spatial.shift);
    A::predict_row(acc, round, spatial.shift as u32, lo, hi, out);
}
