//! Row-level prediction shared by the encoder and the decoder, so that both compute every
//! prediction with the same integer operations.
//!
//! Samples are processed band-interleaved by line: for each row, each channel in coding
//! order, each column. The part of a prediction that does not depend on the current row's
//! left neighbours (earlier channels at this pixel, the rows above, the latent scores) is
//! computed for a whole row at once with vectorisable loops ([`row_base`]); only the W and
//! WW terms are sequential.
//!
//! Neighbour rules (docs/format.md §5.3): on row 0 every own-channel neighbour is W
//! (0 at column 0); below row 0 a neighbour at (dy < 0, dx) reads row `max(y+dy, 0)`,
//! column `clamp(x+dx, 0, w−1)`, and a missing left neighbour in the current row reads the
//! first sample of the row above. Latent scores are 0 on row 0.

use super::plan::{ChannelPredictor, Plan};
use super::simd;

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

/// `acc[x] += c · row[clamp(x + dx, 0, w − 1)]`.
#[inline(always)]
pub(super) fn axpy_shifted<A: Acc>(acc: &mut [A], c: i32, row: &[i32], dx: i32) {
    let w = acc.len();
    let c = A::from_i64(c as i64);
    if c.to_i64() == 0 {
        return;
    }
    match dx {
        0 => A::axpy(acc, c, row),
        d if d < 0 => {
            let d = (-d) as usize;
            for a in &mut acc[..d.min(w)] {
                *a = a.mul_add(c, row[0]);
            }
            if w > d {
                A::axpy(&mut acc[d..], c, &row[..w - d]);
            }
        }
        d => {
            let d = d as usize;
            if w > d {
                A::axpy(&mut acc[..w - d], c, &row[d..]);
            }
            for a in acc[w.saturating_sub(d)..].iter_mut() {
                *a = a.mul_add(c, row[w - 1]);
            }
        }
    }
}

/// Rows of centred samples the predictor reads, indexed by coding position. Implemented by
/// the encoder's whole-tile array and the decoder's three-row ring.
pub(super) trait Rows {
    fn row(&self, y: usize, pos: usize) -> &[i32];
}

/// Start column of row segment `s` of `segments` (docs/format.md §5.3): a segment's first
/// sample reads W and WW from the row above, like column 0.
#[inline(always)]
pub(super) fn segment_start(width: usize, s: usize, segments: usize) -> usize {
    s * width / segments
}

/// Sequential coefficients of a channel on row `y`: (W, WW).
pub(super) fn sequential_coefs(plan: &Plan, ch: &ChannelPredictor, y: usize) -> (i32, i32) {
    let mut cw = 0i32;
    let mut cww = 0i32;
    for (k, (dy, dx)) in plan.own_offsets().enumerate() {
        let c = ch.own[k];
        if y == 0 {
            // Row 0: every own neighbour is W.
            cw = cw.wrapping_add(c);
        } else if dy == 0 {
            if dx == -1 {
                cw = cw.wrapping_add(c);
            } else {
                cww = cww.wrapping_add(c);
            }
        }
    }
    (cw, cww)
}

/// The non-sequential part of the predictions of row `y`, coding position `pos`: bias, taps
/// on earlier channels (their values and their spatial predictions `srow`), own neighbours
/// in the rows above, latent scores.
pub(super) fn row_base<A: Acc>(
    plan: &Plan,
    pos: usize,
    y: usize,
    rows: &impl Rows,
    srows: &[i32],
    pairs: Option<&PairRows>,
    base: &mut [A],
) {
    let ch = &plan.channels[pos];
    base.fill(A::from_i64(ch.bias));
    match pairs {
        Some(p) => A::taps_pairs(base, &p.data, 2 * p.width, &p.taps[pos], &p.coefs[pos]),
        None => {
            let w = base.len();
            for t in &ch.taps {
                axpy_shifted(base, t.value, rows.row(y, t.pos as usize), 0);
                axpy_shifted(
                    base,
                    t.spatial,
                    &srows[t.pos as usize * w..(t.pos as usize + 1) * w],
                    0,
                );
            }
        }
    }
    if y == 0 {
        return;
    }
    for (k, (dy, dx)) in plan.own_offsets().enumerate() {
        if dy < 0 {
            let r = (y as i32 + dy).max(0) as usize;
            axpy_shifted(base, ch.own[k], rows.row(r, pos), dx);
        }
    }
}

/// The current row's (value, spatial prediction) pairs as 16-bit integers, one row per
/// coding position, and every channel's tap coefficients packed for the pairwise kernel.
/// Used for 8-bit samples, whose centred values and spatial predictions fit 16 bits.
pub(super) struct PairRows {
    pub data: Vec<i16>,
    pub width: usize,
    pub coefs: Vec<Vec<u32>>,
    pub taps: Vec<Vec<usize>>,
}

impl PairRows {
    pub(super) fn new(plan: &Plan, width: usize) -> Self {
        let c = plan.channels.len();
        PairRows {
            data: vec![0; c * 2 * width],
            width,
            coefs: plan
                .channels
                .iter()
                .map(|ch| {
                    ch.taps
                        .iter()
                        .map(|t| simd::pack_pair(t.value, t.spatial))
                        .collect()
                })
                .collect(),
            taps: plan
                .channels
                .iter()
                .map(|ch| ch.taps.iter().map(|t| t.pos as usize).collect())
                .collect(),
        }
    }

    /// Stores position `pos`'s values and spatial predictions for the current row.
    pub(super) fn set(&mut self, pos: usize, values: &[i32], spatial: &[i32]) {
        simd::interleave_pairs(
            values,
            spatial,
            &mut self.data[pos * 2 * self.width..(pos + 1) * 2 * self.width],
        );
    }
}

/// The spatial prediction `S` of a whole row of channel `pos` once that row is known, with
/// the same neighbour rules as the predictor.
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
    let sp = &plan.channels[pos].spatial;
    let cur = rows.row(y, pos);
    acc.fill(A::from_i64(sp.bias));
    let offs = plan.own_offsets();
    if y == 0 {
        // Every neighbour is W; W of column 0 is 0.
        let c = sp.own.iter().fold(0i32, |a, &v| a.wrapping_add(v));
        axpy_shifted(acc, c, cur, -1);
        acc[0] = A::from_i64(sp.bias);
    } else {
        let above0 = rows.row(y - 1, pos)[0];
        for (k, (dy, dx)) in offs.into_iter().enumerate() {
            let c = sp.own[k];
            if dy < 0 {
                let r = (y as i32 + dy).max(0) as usize;
                axpy_shifted(acc, c, rows.row(r, pos), dx);
            } else {
                axpy_shifted(acc, c, cur, dx);
                // Missing left neighbours read the first sample of the row above.
                for x in 0..(-dx as usize).min(acc.len()) {
                    acc[x] = acc[x].mul_add(A::from_i64(c as i64), above0.wrapping_sub(cur[0]));
                }
            }
        }
    }
    let round = A::from_i64(if sp.shift > 0 {
        1i64 << (sp.shift - 1)
    } else {
        0
    });
    A::predict_row(acc, round, sp.shift as u32, lo, hi, out);
}

/// Flat-rule marks of row `y` (y ≥ 1): 1 where N, NW and NE are equal and, when `nn` is
/// given (the plan has no W), NN too. Columns clamp at the edges like the predictor's.
pub(super) fn flat_row(above: &[i32], nn: Option<&[i32]>, out: &mut [u8]) {
    let w = above.len();
    let out = &mut out[..w];
    let edge = |x: usize| {
        let n = above[x];
        let same = above[x.saturating_sub(1)] == n && above[(x + 1).min(w - 1)] == n;
        (same && nn.is_none_or(|r| r[x] == n)) as u8
    };
    out[0] = edge(0);
    out[w - 1] = edge(w - 1);
    if w > 2 {
        // Interior columns: shifted views zipped, so the loop vectorises.
        let trio = above[1..w - 1].iter().zip(&above[..w - 2]).zip(&above[2..]);
        match nn {
            None => {
                for (o, ((&n, &nw), &ne)) in out[1..w - 1].iter_mut().zip(trio) {
                    *o = ((n == nw) & (n == ne)) as u8;
                }
            }
            Some(r) => {
                for ((o, ((&n, &nw), &ne)), &v) in
                    out[1..w - 1].iter_mut().zip(trio).zip(&r[1..w - 1])
                {
                    *o = ((n == nw) & (n == ne) & (n == v)) as u8;
                }
            }
        }
    }
}

/// Applies the flat rule to a row of predictions (plans without W).
pub(super) fn flatten_row(marks: &[u8], above: &[i32], pred: &mut [i32]) {
    for ((p, &m), &n) in pred.iter_mut().zip(marks).zip(above) {
        if m != 0 {
            *p = n;
        }
    }
}

/// Flat-marked samples take activity level 0 (their own context): where the flat rule
/// applies the residual is almost always zero, and sharing a context with merely quiet
/// samples would make every sample of a nodata frame cost a fraction of a bit.
pub(super) fn zero_flat_levels(marks: &[u8], levels: &mut [u8]) {
    for (l, &m) in levels.iter_mut().zip(marks) {
        if m != 0 {
            *l = 0;
        }
    }
}
