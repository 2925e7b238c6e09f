//! Encoder-side model fitting: per-tile least squares for every channel's predictor, the
//! context estimator. The decoder never
//! solves anything: it reads the integer coefficients from the plan.

use super::engine::Rows;
use super::plan::{ChannelPredictor, Spatial, Tap, MAX_COEF};
use nalgebra::{DMatrix, DVector};

/// The whole tile's centred samples, band-interleaved by line: `[(y * channels + pos) * width + x]`.
pub struct Tile {
    pub data: Vec<i32>,
    pub width: usize,
    pub height: usize,
    pub channels: usize,
}

impl Rows for Tile {
    fn row(&self, y: usize, pos: usize) -> &[i32] {
        let s = (y * self.channels + pos) * self.width;
        &self.data[s..s + self.width]
    }
}

impl Tile {
    #[inline(always)]
    pub fn at(&self, y: usize, pos: usize, x: usize) -> i32 {
        self.data[(y * self.channels + pos) * self.width + x]
    }
}

/// Pixels used for fitting: a regular grid thinned to about `target` pixels (all pixels of
/// small tiles), skipping row 0 whose predictor is different.
pub fn sample_pixels(width: usize, height: usize, target: usize) -> Vec<(usize, usize)> {
    let total = width * height.saturating_sub(1);
    let step = (total / target.max(1)).max(1);
    // A stride coprime-ish with the width so the grid does not align with columns.
    let step = if step > 1 && width % step == 0 {
        step + 1
    } else {
        step
    };
    (0..total)
        .step_by(step)
        .map(|i| (1 + i / width, i % width))
        .collect()
}

/// Value of own-channel neighbour (dy, dx) of (y, x) under the format's edge rules (y ≥ 1).
#[inline(always)]
pub fn own_value(t: &Tile, pos: usize, y: usize, x: usize, dy: i32, dx: i32) -> i32 {
    if dy == 0 {
        let xx = x as i32 + dx;
        if xx >= 0 {
            t.at(y, pos, xx as usize)
        } else {
            t.at(y - 1, pos, 0)
        }
    } else {
        let r = (y as i32 + dy).max(0) as usize;
        let c = (x as i32 + dx).clamp(0, t.width as i32 - 1) as usize;
        t.at(r, pos, c)
    }
}

/// Forward selection of up to `m` columns of `pool` that best predict column `target`,
/// given the `mandatory` columns, from a Gram matrix (sweep operator on standardised
/// columns). Returns the chosen columns in the order they were chosen.
pub fn select(
    gram: &DMatrix<f64>,
    target: usize,
    mandatory: &[usize],
    pool: &[usize],
    m: usize,
) -> Vec<usize> {
    if m >= pool.len() {
        return pool.to_vec();
    }
    let idx: Vec<usize> = std::iter::once(target)
        .chain(mandatory.iter().cloned())
        .chain(pool.iter().cloned())
        .collect();
    let n = idx.len();
    let mut a = DMatrix::<f64>::from_fn(n, n, |i, j| gram[(idx[i], idx[j])]);
    let scale: Vec<f64> = (0..n).map(|i| a[(i, i)].max(1e-12).sqrt()).collect();
    for i in 0..n {
        for j in 0..n {
            a[(i, j)] /= scale[i] * scale[j];
        }
    }
    let sweep = |a: &mut DMatrix<f64>, k: usize| {
        let piv = a[(k, k)];
        if piv <= 1e-10 {
            return;
        }
        let col: Vec<f64> = (0..n).map(|i| a[(i, k)]).collect();
        for j in 0..n {
            let cj = col[j] / piv;
            if cj != 0.0 {
                for i in 0..n {
                    a[(i, j)] -= col[i] * cj;
                }
            }
        }
    };
    let nm = mandatory.len();
    for k in 1..=nm {
        sweep(&mut a, k);
    }
    let mut alive = vec![true; n];
    let mut chosen = Vec::with_capacity(m);
    for _ in 0..m {
        let mut best = (1e-9, usize::MAX);
        for k in 1 + nm..n {
            let d = a[(k, k)];
            if alive[k] && d > 1e-8 {
                let g = a[(0, k)] * a[(0, k)] / d;
                if g > best.0 {
                    best = (g, k);
                }
            }
        }
        if best.1 == usize::MAX {
            break;
        }
        alive[best.1] = false;
        chosen.push(idx[best.1]);
        sweep(&mut a, best.1);
    }
    chosen
}

/// FᵀF through a transposed copy: nalgebra's `tr_mul` is a naive loop, while the product
/// of two owned matrices goes through a blocked SIMD GEMM (matrixmultiply).
pub fn gram_of(f: &DMatrix<f64>) -> DMatrix<f64> {
    f.transpose() * f
}

/// Ridge least squares: minimises |F w − y|² + λ Σ (diag-scaled) w², from the normal
/// equations (`gram` = FᵀF with the target as the last row/column).
pub fn solve(gram: &DMatrix<f64>) -> Vec<f64> {
    let d = gram.nrows() - 1;
    let mut a = gram.view((0, 0), (d, d)).into_owned();
    let b = DVector::from_iterator(d, (0..d).map(|i| gram[(i, d)]));
    let mut ridge = 1e-7;
    loop {
        let mut r = a.clone();
        for i in 0..d {
            r[(i, i)] += ridge * a[(i, i)].max(1.0);
        }
        if let Some(ch) = r.cholesky() {
            return ch.solve(&b).iter().cloned().collect();
        }
        ridge *= 100.0;
        if ridge > 1.0 {
            a.fill_diagonal(1.0);
        }
    }
}

/// Quantises fitted coefficients to the plan's fixed point: picks the largest shift (up to
/// `max_shift`) that keeps every coefficient within [`MAX_COEF`] and, for 32-bit
/// accumulators, the worst-case sum within ±2^30 given the features' magnitudes.
pub fn quantise(
    w: &[f64],
    bias: f64,
    feature_max: &[f64],
    max_shift: u8,
    acc32: bool,
) -> (u8, Vec<i32>, i64) {
    let mut shift = max_shift;
    loop {
        let s = (1i64 << shift) as f64;
        let q: Vec<i64> = w.iter().map(|v| (v * s).round() as i64).collect();
        let qb = (bias * s).round() as i64;
        // 8-bit samples multiply 16-bit coefficients (the pairwise kernel).
        let limit = if acc32 { i16::MAX as i64 } else { MAX_COEF };
        let fits = q.iter().all(|v| v.abs() <= limit);
        let bound: f64 = q
            .iter()
            .zip(feature_max)
            .map(|(v, m)| v.abs() as f64 * m)
            .sum::<f64>()
            + qb.abs() as f64
            + s;
        if (fits && (!acc32 || bound < (1u64 << 30) as f64)) || shift == 0 {
            return (
                shift,
                q.iter()
                    .map(|&v| v.clamp(-MAX_COEF, MAX_COEF) as i32)
                    .collect(),
                qb,
            );
        }
        shift -= 1;
    }
}

/// Least-squares spatial predictor of coding position `pos` from its own neighbours.
pub fn fit_spatial(
    t: &Tile,
    pixels: &[(usize, usize)],
    own: &[(i32, i32)],
    pos: usize,
    bound: f64,
    max_shift: u8,
    acc32: bool,
) -> Spatial {
    let d = own.len() + 1;
    let mut f = DMatrix::<f64>::zeros(pixels.len(), d + 1);
    for (row, &(y, x)) in pixels.iter().enumerate() {
        for (i, &(dy, dx)) in own.iter().enumerate() {
            f[(row, i)] = own_value(t, pos, y, x, dy, dx) as f64;
        }
        f[(row, d - 1)] = 1.0;
        f[(row, d)] = t.at(y, pos, x) as f64;
    }
    let w = solve(&gram_of(&f));
    let (shift, own_q, bias) =
        quantise(&w[..d - 1], w[d - 1], &vec![bound; d - 1], max_shift, acc32);
    Spatial {
        shift,
        bias,
        own: own_q,
    }
}

/// Column layout of the pooled Gram matrix: constant, every position's value, and its
/// spatial prediction `S`.
pub struct Pool {
    pub channels: usize,
}

impl Pool {
    pub const CONST: usize = 0;
    pub fn value(&self, pos: usize) -> usize {
        1 + pos
    }
    pub fn spatial(&self, pos: usize) -> usize {
        1 + self.channels + pos
    }
    pub fn size(&self) -> usize {
        1 + 2 * self.channels
    }
}

/// The pooled Gram matrix on the sampled pixels: one matrix product shared by every channel.
pub fn pool_gram(t: &Tile, s_all: &Tile, pixels: &[(usize, usize)], pool: &Pool) -> DMatrix<f64> {
    let mut f = DMatrix::<f64>::zeros(pixels.len(), pool.size());
    for (row, &(y, x)) in pixels.iter().enumerate() {
        f[(row, Pool::CONST)] = 1.0;
        for pos in 0..t.channels {
            f[(row, pool.value(pos))] = t.at(y, pos, x) as f64;
            f[(row, pool.spatial(pos))] = s_all.at(y, pos, x) as f64;
        }
    }
    gram_of(&f)
}

/// Fits the predictor of `pos`: `γ·S_pos + Σ_taps (b·x_j + c·S_j) + constant`, with γ folded
/// into own-neighbour coefficients, from the pooled Gram matrix.
#[allow(clippy::too_many_arguments)]
pub fn fit_channel(
    gram: &DMatrix<f64>,
    pool: &Pool,
    pos: usize,
    spatial: Spatial,
    taps: usize,
    chan_max: &[f64],
    max_shift: u8,
    acc32: bool,
) -> ChannelPredictor {
    let mandatory = [Pool::CONST, pool.spatial(pos)];
    let candidates: Vec<usize> = (0..pos).map(|j| pool.value(j)).collect();
    let chosen: Vec<usize> = select(gram, pool.value(pos), &mandatory, &candidates, taps)
        .into_iter()
        .map(|c| c - 1)
        .collect();
    // Features: S_pos, (x_j, S_j) per tap, constant; target x_pos.
    let mut cols = vec![pool.spatial(pos)];
    for &j in &chosen {
        cols.push(pool.value(j));
        cols.push(pool.spatial(j));
    }
    cols.push(Pool::CONST);
    cols.push(pool.value(pos));
    let g = DMatrix::<f64>::from_fn(cols.len(), cols.len(), |i, j| gram[(cols[i], cols[j])]);
    let w = solve(&g);
    let gamma = w[0];
    // Fold γ·S into own coefficients: S = (bias + Σ own·n) / 2^shift.
    let ss = (1i64 << spatial.shift) as f64;
    let mut coefs: Vec<f64> = spatial.own.iter().map(|&a| gamma * a as f64 / ss).collect();
    let mut bounds: Vec<f64> = vec![chan_max[pos]; coefs.len()];
    for (i, &j) in chosen.iter().enumerate() {
        coefs.push(w[1 + 2 * i]);
        coefs.push(w[2 + 2 * i]);
        bounds.push(chan_max[j]);
        bounds.push(chan_max[j]);
    }
    let bias = w[1 + 2 * chosen.len()] + gamma * spatial.bias as f64 / ss;
    let (shift, q, qb) = quantise(&coefs, bias, &bounds, max_shift, acc32);
    let n_own = spatial.own.len();
    let taps = chosen
        .iter()
        .enumerate()
        .map(|(i, &j)| Tap {
            pos: j as u16,
            value: q[n_own + 2 * i],
            spatial: q[n_own + 2 * i + 1],
        })
        .collect();
    ChannelPredictor {
        spatial,
        shift,
        bias: qb,
        own: q[..n_own].to_vec(),
        taps,
    }
}
