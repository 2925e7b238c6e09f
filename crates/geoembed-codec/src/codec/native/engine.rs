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

use super::plan::{ChannelPredictor, Latent, Plan, LATENT_DX};

/// Accumulator for predictions: i32 for 8-bit samples (the encoder keeps every sum in
/// range), i64 for 16-bit samples. Arithmetic wraps, so even a corrupt plan cannot panic.
pub trait Acc: Copy + Default + Send + Sync + 'static {
    fn from_i64(v: i64) -> Self;
    fn to_i64(self) -> i64;
    fn mul_add(self, c: Self, x: i32) -> Self;
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
}

/// `acc[x] += c · row[clamp(x + dx, 0, w − 1)]`.
#[inline(always)]
pub fn axpy_shifted<A: Acc>(acc: &mut [A], c: i32, row: &[i32], dx: i32) {
    let w = acc.len();
    let c = A::from_i64(c as i64);
    if c.to_i64() == 0 {
        return;
    }
    match dx {
        0 => {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = a.mul_add(c, v);
            }
        }
        d if d < 0 => {
            let d = (-d) as usize;
            for x in 0..d.min(w) {
                acc[x] = acc[x].mul_add(c, row[0]);
            }
            if w > d {
                for (a, &v) in acc[d..].iter_mut().zip(&row[..w - d]) {
                    *a = a.mul_add(c, v);
                }
            }
        }
        d => {
            let d = d as usize;
            if w > d {
                for (a, &v) in acc[..w - d].iter_mut().zip(&row[d..]) {
                    *a = a.mul_add(c, v);
                }
            }
            for a in acc[w.saturating_sub(d)..].iter_mut() {
                *a = a.mul_add(c, row[w - 1]);
            }
        }
    }
}

/// Rows of centred samples the predictor reads, indexed by coding position. Implemented by
/// the encoder's whole-tile array and the decoder's three-row ring.
pub trait Rows {
    fn row(&self, y: usize, pos: usize) -> &[i32];
}

/// Sequential coefficients of a channel on row `y`: (W, WW).
pub fn sequential_coefs(plan: &Plan, ch: &ChannelPredictor, y: usize) -> (i32, i32) {
    let mut cw = 0i32;
    let mut cww = 0i32;
    for (k, (dy, dx)) in plan.own_offsets().into_iter().enumerate() {
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
pub fn row_base<A: Acc>(
    plan: &Plan,
    pos: usize,
    y: usize,
    rows: &impl Rows,
    srows: &[i32],
    z: &[Vec<i32>],
    base: &mut [A],
) {
    let ch = &plan.channels[pos];
    base.fill(A::from_i64(ch.bias));
    for t in &ch.taps {
        axpy_shifted(base, t.value, rows.row(y, t.pos as usize), 0);
        let w = base.len();
        axpy_shifted(
            base,
            t.spatial,
            &srows[t.pos as usize * w..(t.pos as usize + 1) * w],
            0,
        );
    }
    if y == 0 {
        return;
    }
    for (k, (dy, dx)) in plan.own_offsets().into_iter().enumerate() {
        if dy < 0 {
            let r = (y as i32 + dy).max(0) as usize;
            axpy_shifted(base, ch.own[k], rows.row(r, pos), dx);
        }
    }
    if let Some(l) = &plan.latent {
        let mut i = 0;
        for comp in z.iter().take(l.components) {
            for (b, dx) in LATENT_DX.iter().enumerate() {
                if l.positions & (1 << b) != 0 {
                    axpy_shifted(base, ch.latent[i], comp, *dx);
                    i += 1;
                }
            }
        }
    }
}

/// The spatial prediction `S` of a whole row of channel `pos` once that row is known, with
/// the same neighbour rules as the predictor.
pub fn spatial_row<A: Acc>(
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
    for (o, a) in out.iter_mut().zip(acc.iter()) {
        *o = finish_prediction(a.to_i64(), sp.shift, lo, hi);
    }
}

/// Latent scores of row `y − 1` (the input to row `y`'s predictions): one row per component.
pub fn latent_rows(
    l: &Latent,
    rows: &impl Rows,
    y_above: usize,
    channels: usize,
    width: usize,
    z: &mut [Vec<i64>],
    out: &mut [Vec<i32>],
) {
    for c in 0..l.components {
        let acc = &mut z[c];
        acc.iter_mut().for_each(|v| *v = 0);
        for pos in 0..channels {
            let b = l.basis[pos * l.components + c] as i64;
            if b != 0 {
                for (a, &v) in acc.iter_mut().zip(rows.row(y_above, pos)) {
                    *a = a.wrapping_add(b.wrapping_mul(v as i64));
                }
            }
        }
        let round = if l.shift > 0 {
            1i64 << (l.shift - 1)
        } else {
            0
        };
        for (o, &a) in out[c].iter_mut().zip(acc.iter()).take(width) {
            *o = (a.wrapping_add(round) >> l.shift) as i32;
        }
    }
}

/// Rounding shift and clamp of an accumulated prediction.
#[inline(always)]
pub fn finish_prediction(acc: i64, shift: u8, lo: i32, hi: i32) -> i32 {
    let round = if shift > 0 { 1i64 << (shift - 1) } else { 0 };
    (acc.wrapping_add(round) >> shift).clamp(lo as i64, hi as i64) as i32
}

/// W and WW values for column `x` of the current row (`cur`), with the row-start rule.
#[inline(always)]
pub fn left_values(cur: &[i32], above_first: i32, x: usize) -> (i32, i32) {
    let w = if x > 0 { cur[x - 1] } else { above_first };
    let ww = if x > 1 { cur[x - 2] } else { above_first };
    (w, ww)
}
