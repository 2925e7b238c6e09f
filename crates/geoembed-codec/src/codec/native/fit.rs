//! Encoder-side predictor fitting: per-tile least squares for every channel's spatial
//! predictor, forward selection of its taps on earlier channels, and the quantisation of
//! the coefficients to the plan's fixed point (the context estimator is fitted in
//! `context_fit.rs`). The decoder never solves anything: it reads the integer coefficients
//! from the plan.

use super::integer_gram;
use super::neighbourhood::Rows;
use super::plan::{ChannelPredictor, Spatial, Tap, MAX_COEF};
use nalgebra::{DMatrix, DVector};

/// The whole tile's centred samples, band-interleaved by line: `[(y * channels + pos) * width + x]`.
#[derive(Clone)]
pub(super) struct Tile {
    pub data: Vec<i32>,
    pub width: usize,
    pub height: usize,
    pub channels: usize,
}

impl Rows for Tile {
    fn row(&self, y: usize, pos: usize) -> &[i32] {
        let start = (y * self.channels + pos) * self.width;
        &self.data[start..start + self.width]
    }
}

impl Tile {
    #[inline(always)]
    pub(super) fn at(&self, y: usize, pos: usize, x: usize) -> i32 {
        self.data[(y * self.channels + pos) * self.width + x]
    }
}

/// Pixels used for fitting: a regular grid thinned to about `target` pixels (all pixels of
/// small tiles), skipping row 0 whose predictor is different.
pub(super) fn sample_pixels(width: usize, height: usize, target: usize) -> Vec<(usize, usize)> {
    let total = width * height.saturating_sub(1);
    let step = (total / target.max(1)).max(1);
    // A stride coprime-ish with the width so the grid does not align with columns.
    let step = if step > 1 && width.is_multiple_of(step) {
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
pub(super) fn own_value(t: &Tile, pos: usize, y: usize, x: usize, dy: i32, dx: i32) -> i32 {
    if dy == 0 {
        let column = x as i32 + dx;
        if column >= 0 {
            t.at(y, pos, column as usize)
        } else {
            t.at(y - 1, pos, 0)
        }
    } else {
        let source_row = (y as i32 + dy).max(0) as usize;
        let source_column = (x as i32 + dx).clamp(0, t.width as i32 - 1) as usize;
        t.at(source_row, pos, source_column)
    }
}

/// Forward selection of up to `m` columns of `pool` that best predict column `target`,
/// given the `mandatory` columns, from a Gram matrix (sweep operator on standardised
/// columns). Returns the chosen columns in the order they were chosen and the target's
/// standardised residual variance before the first and after each choice. Stops early once
/// four choices in a row fail to pay for themselves over `samples` samples (greedy gains
/// only shrink).
pub(super) fn select(
    gram: &DMatrix<f64>,
    target: usize,
    mandatory: &[usize],
    pool: &[usize],
    m: usize,
    samples: usize,
) -> (Vec<usize>, Vec<f64>) {
    let idx: Vec<usize> = std::iter::once(target)
        .chain(mandatory.iter().cloned())
        .chain(pool.iter().cloned())
        .collect();
    let mut swept = LazySweep::new(gram, &idx);
    let mandatory_count = mandatory.len();
    for k in 1..=mandatory_count {
        swept.sweep(k);
    }
    let mut alive = vec![true; idx.len()];
    let mut chosen = Vec::with_capacity(m);
    let mut residual = vec![swept.target_row[0]];
    let mut idle = 0;
    for _ in 0..m.min(pool.len()) {
        let mut best = (1e-9, usize::MAX);
        let candidates = alive.iter().zip(&swept.diagonal).zip(&swept.target_row);
        for (k, ((&alive, &variance), &covariance)) in candidates.enumerate() {
            if k > mandatory_count && alive && variance > 1e-8 {
                let variance_gain = covariance * covariance / variance;
                if variance_gain > best.0 {
                    best = (variance_gain, k);
                }
            }
        }
        if best.1 == usize::MAX {
            break;
        }
        alive[best.1] = false;
        chosen.push(idx[best.1]);
        swept.sweep(best.1);
        let before = *residual.last().expect("starts non-empty");
        let after = swept.target_row[0].max(1e-12);
        residual.push(after);
        let gain = samples as f64 / 2.0 * (before / after).log2();
        idle = if gain < TAP_COST_BITS { idle + 1 } else { 0 };
        if idle == 4 {
            break;
        }
    }
    (chosen, residual)
}

/// The sweep operator on the standardised Gram matrix of `idx`'s columns, kept only where
/// [`select`] reads it: the target's row (index 0), the diagonal, and the row of every
/// pivot as it was swept. Any other row is rebuilt from those when it becomes a pivot, by
/// the same operations in the same order as sweeping the whole matrix each time, so every
/// value read is the same to the bit. Sweeping all of a 128-band tile's 257 x 257 matrix
/// at every choice was about a twelfth of presto_eol's encode; this is linear in the
/// matrix's side per choice, plus the pivots' rows.
struct LazySweep<'a> {
    gram: &'a DMatrix<f64>,
    idx: &'a [usize],
    scale: Vec<f64>,
    target_row: Vec<f64>,
    diagonal: Vec<f64>,
    /// Each swept pivot's row as it was when swept, and its pivot value.
    pivots: Vec<(Vec<f64>, f64)>,
}

impl<'a> LazySweep<'a> {
    fn new(gram: &'a DMatrix<f64>, idx: &'a [usize]) -> Self {
        let scale: Vec<f64> = idx
            .iter()
            .map(|&i| gram[(i, i)].max(1e-12).sqrt())
            .collect();
        let mut swept = LazySweep {
            gram,
            idx,
            scale,
            target_row: Vec::new(),
            diagonal: Vec::new(),
            pivots: Vec::new(),
        };
        swept.target_row = (0..idx.len()).map(|k| swept.initial(0, k)).collect();
        swept.diagonal = (0..idx.len()).map(|k| swept.initial(k, k)).collect();
        swept
    }

    /// Entry (i, j) of the standardised matrix before any sweep.
    fn initial(&self, i: usize, j: usize) -> f64 {
        self.gram[(self.idx[i], self.idx[j])] / (self.scale[i] * self.scale[j])
    }

    /// Row `k` as sweeping the whole matrix would have left it.
    fn row(&self, k: usize) -> Vec<f64> {
        let mut row: Vec<f64> = (0..self.idx.len()).map(|j| self.initial(k, j)).collect();
        for (pivot_row, pivot) in &self.pivots {
            let ratio = pivot_row[k] / pivot;
            if ratio != 0.0 {
                for (value, &c) in row.iter_mut().zip(pivot_row) {
                    *value -= c * ratio;
                }
            }
        }
        row
    }

    /// Sweeps on `k` (nothing when its pivot is nearly zero).
    fn sweep(&mut self, k: usize) {
        let pivot = self.diagonal[k];
        if pivot <= 1e-10 {
            return;
        }
        let pivot_row = self.row(k);
        let target_ratio = pivot_row[0] / pivot;
        if target_ratio != 0.0 {
            for (value, &c) in self.target_row.iter_mut().zip(&pivot_row) {
                *value -= c * target_ratio;
            }
        }
        for (j, value) in self.diagonal.iter_mut().enumerate() {
            let ratio = pivot_row[j] / pivot;
            if ratio != 0.0 {
                *value -= pivot_row[j] * ratio;
            }
        }
        self.pivots.push((pivot_row, pivot));
    }
}

/// What one tap costs in the plan: its position and two coefficients, plus the work it adds
/// to every sample (counted as a few bits so marginal taps are dropped).
const TAP_COST_BITS: f64 = 48.0;

/// How many of the selected taps pay for themselves: a tap that lowers the residual
/// variance from v to v' saves about n/2·log2(v/v') bits over `n` samples and costs its two
/// stored coefficients (minimum description length).
pub(super) fn taps_worth_keeping(residual: &[f64], samples: usize, bits_per_tap: f64) -> usize {
    let base = residual[0].max(1e-12);
    let mut best = (0.0, 0);
    for (m, &v) in residual.iter().enumerate().skip(1) {
        let gain = samples as f64 / 2.0 * (base / v).log2() - bits_per_tap * m as f64;
        if gain > best.0 {
            best = (gain, m);
        }
    }
    best.1
}

/// Ridge least squares: minimises |F w − y|² + λ Σ (diag-scaled) w², from the normal
/// equations (`gram` = FᵀF with the target as the last row/column).
pub(super) fn solve(gram: &DMatrix<f64>) -> Vec<f64> {
    let features = gram.nrows() - 1;
    let mut normal = gram.view((0, 0), (features, features)).into_owned();
    let rhs = DVector::from_iterator(features, (0..features).map(|i| gram[(i, features)]));
    let mut ridge = 1e-7;
    loop {
        let mut regularised = normal.clone();
        for i in 0..features {
            regularised[(i, i)] += ridge * normal[(i, i)].max(1.0);
        }
        if let Some(factor) = regularised.cholesky() {
            return factor.solve(&rhs).iter().cloned().collect();
        }
        ridge *= 100.0;
        if ridge > 1.0 {
            normal.fill_diagonal(1.0);
        }
    }
}

/// [`solve`] of a spatial fit's normal equations (the neighbours, then the constant, then
/// the target) with the features re-expressed relative to the first neighbour: every
/// other neighbour minus it, and the target minus it too. The least-
/// squares solution is the same; what changes is the ridge. Neighbours of a smooth field are
/// nearly equal, so in absolute terms the normal equations are ill-conditioned and the
/// ridge (scaled by each feature's energy, the square of the field's values) shrinks the
/// small differences that carry the prediction; relative to a reference it acts on the
/// differences and pulls the predictor towards "the reference", not towards zero. On one
/// band of ERA-Interim geopotential: 2.7% smaller (31,277 against 32,133 bytes), elsewhere
/// within 0.01%. Returns the absolute coefficients.
fn solve_relative(gram: &DMatrix<f64>) -> Vec<f64> {
    let (size, reference) = (gram.nrows(), 0);
    let (constant, target) = (size - 2, size - 1);
    // f' = T f, with the target row y' = y − f_ref.
    let mut transform = DMatrix::<f64>::identity(size, size);
    for j in (reference + 1..constant).chain([target]) {
        transform[(j, reference)] -= 1.0;
    }
    let relative_gram = &transform * gram * transform.transpose();
    let solution = solve(&relative_gram);
    // y = f_ref + w'ᵀ T_f f: w = T_fᵀ w' + e_ref.
    let features = size - 1;
    let mut absolute = vec![0f64; features];
    for (i, w) in absolute.iter_mut().enumerate() {
        *w = (0..features).map(|k| transform[(k, i)] * solution[k]).sum();
    }
    absolute[reference] += 1.0;
    absolute
}

/// Residual mean square of the least-squares solution `w` of the normal equations `gram`
/// (target last) over `n` samples, and the mean square of every feature.
fn moments(gram: &DMatrix<f64>, w: &[f64], count: usize) -> (f64, Vec<f64>) {
    let features = gram.nrows() - 1;
    let count = count.max(1) as f64;
    let explained: f64 = (0..features).map(|i| w[i] * gram[(i, features)]).sum();
    let resid = ((gram[(features, features)] - explained) / count).max(1.0 / 12.0);
    (resid, (0..features).map(|i| gram[(i, i)] / count).collect())
}

/// Coefficient precision by minimum description length: each extra bit of precision costs a
/// bit per stored coefficient and shrinks the rounding noise the coefficients add to every
/// prediction, Σ E\[f²\]·2^(−2s)/12, relative to the residual variance.
pub(super) fn precision(feature_sq: &[f64], resid: f64, samples: usize, max_shift: u8) -> u8 {
    let energy: f64 = feature_sq.iter().sum::<f64>() / 12.0;
    let coefficients = feature_sq.len() as f64;
    (0..=max_shift)
        .map(|s| {
            let noise = energy * (-2.0 * s as f64).exp2();
            let cost =
                coefficients * s as f64 + samples as f64 / 2.0 * (1.0 + noise / resid).log2();
            (cost, s)
        })
        .min_by(|a, b| a.0.partial_cmp(&b.0).unwrap())
        .map_or(max_shift, |(_, s)| s)
}

/// Quantises fitted coefficients to the plan's fixed point: picks the largest shift (up to
/// `max_shift`) that keeps every coefficient within [`MAX_COEF`] and, for 32-bit
/// accumulators, the worst-case sum within ±2^30 given the features' magnitudes.
pub(super) fn quantise(
    w: &[f64],
    bias: f64,
    feature_max: &[f64],
    max_shift: u8,
    acc32: bool,
) -> (u8, Vec<i32>, i64) {
    let mut shift = max_shift;
    loop {
        let scale = (1i64 << shift) as f64;
        let quantised: Vec<i64> = w.iter().map(|v| (v * scale).round() as i64).collect();
        let quantised_bias = (bias * scale).round() as i64;
        // 8-bit samples multiply 16-bit coefficients (the pairwise kernel).
        let limit = if acc32 { i16::MAX as i64 } else { MAX_COEF };
        let fits = quantised.iter().all(|v| v.abs() <= limit);
        let bound: f64 = quantised
            .iter()
            .zip(feature_max)
            .map(|(v, m)| v.abs() as f64 * m)
            .sum::<f64>()
            + quantised_bias.abs() as f64
            + scale;
        if (fits && (!acc32 || bound < (1u64 << 30) as f64)) || shift == 0 {
            return (
                shift,
                quantised
                    .iter()
                    .map(|&v| v.clamp(-MAX_COEF, MAX_COEF) as i32)
                    .collect(),
                quantised_bias,
            );
        }
        shift -= 1;
    }
}

/// Reweighted rounds of the spatial fit of few 16-bit bands (see [`fit_spatial`]).
const IRLS_ROUNDS: usize = 2;
/// Pixels each reweighted round sums over (at most).
const IRLS_PIXELS: usize = 4096;
/// Mean square over squared mean absolute residual from which the rounds run (a
/// Laplacian's ratio).
const HEAVY_TAILS: f64 = 2.0;

/// Least-squares spatial predictor of coding position `pos` from its own neighbours. The
/// normal equations are accumulated directly (a few neighbours: no feature matrix).
pub(super) fn fit_spatial(target: &SpatialTarget, own: &[(i32, i32)]) -> Spatial {
    let SpatialTarget {
        tile: t, pixels, ..
    } = *target;
    let neighbours = OwnNeighbours::new(t, own, target.pos);
    let step = spatial_step(t, pixels);
    let gram = neighbours.gram(pixels, step, &|_| 1.0);
    let mut solution = solve_relative(&gram);
    // Few 16-bit bands (DEMs, climate grids): least squares chases the largest residuals
    // (cliffs, fronts), which the entropy coder pays for by their logarithm only; a few
    // rounds reweighted by 1/|r| (iteratively reweighted least squares, towards the least
    // absolute residual) fit the bulk. On a sample of the pixels, where a round costs a
    // tenth of the first fit. 8-bit samples keep the plain fit: their coefficients must
    // fit 16 bits for the pairwise kernel, and on Landsat RGB the reweighted ones made
    // the encoder 23% slower for 0.5%.
    let irls_step = (pixels.len() / IRLS_PIXELS).max(step);
    // Only where the residuals are heavier-tailed than a Laplacian's (mean square over
    // squared mean absolute value at least 2; a Gaussian's is 1.57): on ERA-Interim's
    // geopotential and winds they are (2-6), on SRTM DEMs they are not (1.6-2.1), and
    // there the rounds cost 11-19% of the encode for +-0.05%.
    if t.channels < 8 && !target.acc32 && neighbours.heavy_tailed(pixels, &solution) {
        for _ in 0..IRLS_ROUNDS {
            let current = solution.clone();
            let weighted = neighbours.gram(pixels, irls_step, &|features| {
                1.0 / neighbours.residual(&current, features).abs().max(1.0)
            });
            solution = solve_relative(&weighted);
        }
    }
    target
        .quantised(&gram, &solution, pixels.len().div_ceil(step))
        .0
}

/// A spatial predictor of many-band tiles fitted with and without its W neighbour (the
/// first of `own`), from one pass over the pixels, and how much W lowers the residual mean
/// square (their ratio, at least 1 up to rounding). W ties a row's samples into a chain the
/// decoder follows one by one, so it is kept only where it pays (see `fit_plan`); without
/// it the predictor is the one [`fit_spatial`] fits on `own[1..]`, to the bit.
pub(super) fn fit_spatial_with_and_without_w(
    target: &SpatialTarget,
    own: &[(i32, i32)],
) -> (Spatial, Spatial, f64) {
    let SpatialTarget {
        tile: t, pixels, ..
    } = *target;
    assert_eq!(own.first(), Some(&W), "W leads the neighbours");
    assert!(t.channels >= 8, "few bands reweight their fit");
    let neighbours = OwnNeighbours::new(t, own, target.pos);
    let step = spatial_step(t, pixels);
    let count = pixels.len().div_ceil(step);
    let gram = neighbours.gram(pixels, step, &|_| 1.0);
    let with_w = solve_relative(&gram);
    let (with_w, residual_with_w) = target.quantised(&gram, &with_w, count);
    // The same sums without W's row and column: the normal equations of `own[1..]`.
    let size = gram.nrows();
    let rest = DMatrix::<f64>::from_fn(size - 1, size - 1, |a, b| gram[(a + 1, b + 1)]);
    let without_w = solve_relative(&rest);
    let (without_w, residual_without_w) = target.quantised(&rest, &without_w, count);
    (with_w, without_w, residual_without_w / residual_with_w)
}

/// The W neighbour (the first of [`super::plan::OWN`]).
pub(super) const W: (i32, i32) = super::plan::OWN[0];

/// Every how many fitting pixels the spatial fit sums: with many bands S is one feature
/// among many and 2048 pixels fit its few parameters well (4096 gave files within 0.07% on
/// the Presto tiles and Jasper, 4-7% slower); with few bands it is most of the predictor
/// and gets every fitting pixel.
fn spatial_step(t: &Tile, pixels: &[(usize, usize)]) -> usize {
    let budget = if t.channels >= 8 { 2048 } else { usize::MAX };
    (pixels.len() / budget).max(1)
}

/// What a position's spatial fit needs besides its neighbours.
#[derive(Clone, Copy)]
pub(super) struct SpatialTarget<'a> {
    pub tile: &'a Tile,
    /// The fitting pixels.
    pub pixels: &'a [(usize, usize)],
    pub pos: usize,
    /// The position's largest |value|: bounds its coefficients.
    pub bound: f64,
    pub max_shift: u8,
    /// 8-bit samples: coefficients for the 32-bit pairwise kernel.
    pub acc32: bool,
}

impl SpatialTarget<'_> {
    /// The fitted coefficients in the plan's fixed point, and the fit's residual mean
    /// square over the `count` pixels summed.
    fn quantised(&self, gram: &DMatrix<f64>, solution: &[f64], count: usize) -> (Spatial, f64) {
        let dim = gram.nrows() - 1;
        let samples = self.tile.width * self.tile.height;
        let (resid, feature_sq) = moments(gram, solution, count);
        let max_shift = self
            .max_shift
            .min(precision(&feature_sq, resid, samples, self.max_shift));
        let (shift, own_q, bias) = quantise(
            &solution[..dim - 1],
            solution[dim - 1],
            &vec![self.bound; dim - 1],
            max_shift,
            self.acc32,
        );
        let spatial = Spatial {
            shift,
            bias,
            own: own_q,
        };
        (spatial, resid)
    }
}

/// Largest number of own neighbours plus the constant and the target.
const MAX_FEATURES: usize = super::plan::OWN.len() + 2;

/// A position's own neighbours as the features of its spatial fit: the neighbours' values,
/// then the constant 1, then the sample itself (the target).
struct OwnNeighbours<'a> {
    t: &'a Tile,
    own: &'a [(i32, i32)],
    pos: usize,
    /// Away from the edges every neighbour is a fixed offset in the tile's data.
    offsets: Vec<isize>,
    reach: usize,
}

impl<'a> OwnNeighbours<'a> {
    fn new(t: &'a Tile, own: &'a [(i32, i32)], pos: usize) -> Self {
        let row_stride = (t.channels * t.width) as isize;
        let offsets = own
            .iter()
            .map(|&(dy, dx)| dy as isize * row_stride + dx as isize)
            .collect();
        let reach = own
            .iter()
            .map(|&(dy, dx)| dy.unsigned_abs().max(dx.unsigned_abs()) as usize)
            .max()
            .unwrap_or(0);
        Self {
            t,
            own,
            pos,
            offsets,
            reach,
        }
    }

    /// Features 0..own.len(): the neighbours; then 1; then the target.
    fn features_of(&self, y: usize, x: usize, features: &mut [f64; MAX_FEATURES]) {
        let (t, dim) = (self.t, self.own.len() + 1);
        if y >= self.reach && x >= self.reach && x + self.reach < t.width {
            let at = ((y * t.channels + self.pos) * t.width + x) as isize;
            for (feature, &offset) in features.iter_mut().zip(&self.offsets) {
                *feature = t.data[(at + offset) as usize] as f64;
            }
        } else {
            for (i, &(dy, dx)) in self.own.iter().enumerate() {
                features[i] = own_value(t, self.pos, y, x, dy, dx) as f64;
            }
        }
        features[dim - 1] = 1.0;
        features[dim] = t.at(y, self.pos, x) as f64;
    }

    /// The target minus the prediction of `solution` (neighbours' and constant's weights).
    fn residual(&self, solution: &[f64], features: &[f64; MAX_FEATURES]) -> f64 {
        let dim = self.own.len() + 1;
        features[dim] - (0..dim).map(|i| solution[i] * features[i]).sum::<f64>()
    }

    /// Sums of products of the features (target last) over every `step`-th pixel, each
    /// weighted by `weight(features)`.
    fn gram(
        &self,
        pixels: &[(usize, usize)],
        step: usize,
        weight: &dyn Fn(&[f64; MAX_FEATURES]) -> f64,
    ) -> DMatrix<f64> {
        let dim = self.own.len() + 1;
        let mut sums = [[0f64; MAX_FEATURES]; MAX_FEATURES];
        let mut features = [0f64; MAX_FEATURES];
        for &(y, x) in pixels.iter().step_by(step) {
            self.features_of(y, x, &mut features);
            let w = weight(&features);
            // Row by row of the lower triangle, as slices (vectorised, no bounds checks;
            // each sum still adds its pixels in the same order).
            for (a, row) in sums.iter_mut().enumerate().take(dim + 1) {
                let feature_a = features[a] * w;
                for (sum, &feature_b) in row[..=a].iter_mut().zip(&features[..=a]) {
                    *sum += feature_a * feature_b;
                }
            }
        }
        DMatrix::<f64>::from_fn(dim + 1, dim + 1, |a, b| {
            if b <= a {
                sums[a][b]
            } else {
                sums[b][a]
            }
        })
    }

    /// Whether the residuals of `solution` on about 1024 of `pixels` are heavier-tailed
    /// than a Laplacian's ([`HEAVY_TAILS`]).
    fn heavy_tailed(&self, pixels: &[(usize, usize)], solution: &[f64]) -> bool {
        let mut features = [0f64; MAX_FEATURES];
        let (mut abs_sum, mut square_sum, mut count) = (0f64, 0f64, 0f64);
        for &(y, x) in pixels.iter().step_by((pixels.len() / 1024).max(1)) {
            self.features_of(y, x, &mut features);
            let r = self.residual(solution, &features);
            abs_sum += r.abs();
            square_sum += r * r;
            count += 1.0;
        }
        square_sum * count >= HEAVY_TAILS * abs_sum * abs_sum && abs_sum > 0.0
    }
}

/// Column layout of the pooled Gram matrix: constant, every position's value, and its
/// spatial prediction `S`.
pub(super) struct Pool {
    pub channels: usize,
}

impl Pool {
    pub(super) const CONST: usize = 0;
    pub(super) fn value(&self, pos: usize) -> usize {
        1 + pos
    }
    pub(super) fn spatial(&self, pos: usize) -> usize {
        1 + self.channels + pos
    }
    pub(super) fn size(&self) -> usize {
        1 + 2 * self.channels
    }

    /// The value of pooled column `col` at pixel (y, x).
    pub(super) fn column(&self, t: &Tile, s_all: &Tile, col: usize, y: usize, x: usize) -> f64 {
        if col == Self::CONST {
            1.0
        } else if col <= self.channels {
            t.at(y, col - 1, x) as f64
        } else {
            s_all.at(y, col - 1 - self.channels, x) as f64
        }
    }
}

/// The pooled Gram matrix on the sampled pixels: one matrix product shared by every channel,
/// accumulated over blocks of pixels so the feature matrix stays small.
///
/// Every feature is an integer, so every sum of products is exact in f64 whatever the order
/// (below 2^53), and in i32 while below 2^31: a block whose largest feature allows that
/// (8-bit tiles, `narrow`) is multiplied in 16-bit integers ([`integer_gram`]) and added to
/// the f64 matrix. The matrix is the same to the bit either way, on any CPU.
pub(super) fn pool_gram(
    t: &Tile,
    s_all: &Tile,
    pixels: &[(usize, usize)],
    pool: &Pool,
    narrow: bool,
) -> DMatrix<f64> {
    let columns = pool.size();
    let mut gram = DMatrix::<f64>::zeros(columns, columns);
    let (mut narrow_block, mut wide_block) = (Vec::new(), Vec::new());
    let narrow_columns = columns.next_multiple_of(integer_gram::COLUMN_GROUP);
    let mut products = vec![0i32; narrow_columns * narrow_columns];
    for chunk in pixels.chunks(GRAM_BLOCK_PIXELS) {
        if narrow {
            let stride = chunk.len().next_multiple_of(integer_gram::PIXEL_GROUP);
            let layout = (stride, narrow_columns);
            let largest = fill_pool_block(t, s_all, chunk, pool, layout, &mut narrow_block, |v| {
                v as i16
            });
            if largest <= f64::from(i16::MAX) && largest * largest * stride as f64 <= I32_EXACT_SUM
            {
                let block = integer_gram::FeatureBlock {
                    values: &narrow_block,
                    stride,
                    columns: narrow_columns,
                };
                integer_gram::lower_products(&block, &mut products);
                for column in 0..columns {
                    for row in column..columns {
                        gram[(row, column)] += f64::from(products[row * narrow_columns + column]);
                    }
                }
                continue;
            }
        }
        let layout = (chunk.len(), columns);
        fill_pool_block(t, s_all, chunk, pool, layout, &mut wide_block, f64::from);
        let sums = gram.as_mut_slice();
        for panel in lower_panels(columns) {
            add_panel(&wide_block, chunk.len(), columns, panel, sums);
        }
    }
    gram.fill_upper_triangle_with_lower_triangle();
    gram
}

/// Pixels per block of the pooled Gram matrix: 512 pixels of 257 16-bit features (a
/// 128-band tile) are 263 KB, which stay in a core's L2 cache while their products are
/// taken four columns by four.
const GRAM_BLOCK_PIXELS: usize = 512;

/// Sums of integer products at most this large are exact in i32.
const I32_EXACT_SUM: f64 = i32::MAX as f64;

/// Fills `block` (column-major, `layout` = (stride, columns): each pooled column's values
/// for the pixels of `chunk`, zeros after them up to `stride`, then zero columns up to
/// `columns`) with each feature through `convert`; returns the largest magnitude in it.
/// Samples and spatial predictions are integers of at most 17 bits, exact in f64.
fn fill_pool_block<T: Copy + Default>(
    t: &Tile,
    s_all: &Tile,
    chunk: &[(usize, usize)],
    pool: &Pool,
    (stride, columns): (usize, usize),
    block: &mut Vec<T>,
    convert: impl Fn(i32) -> T,
) -> f64 {
    let rows = chunk.len();
    block.clear();
    block.resize(stride * columns, T::default());
    let constant = Pool::CONST * stride;
    block[constant..constant + rows].fill(convert(1));
    let mut largest = 1u32;
    for pos in 0..t.channels {
        for (column, source) in [(pool.value(pos), t), (pool.spatial(pos), s_all)] {
            let values = &mut block[column * stride..column * stride + rows];
            for (v, &(y, x)) in values.iter_mut().zip(chunk) {
                let value = source.at(y, pos, x);
                largest = largest.max(value.unsigned_abs());
                *v = convert(value);
            }
        }
    }
    f64::from(largest)
}

/// One panel of the Gram matrix's lower triangle: rows `row_start..row_start + rows`,
/// columns `column_start..column_start + width`.
#[derive(Clone, Copy)]
struct Panel {
    row_start: usize,
    rows: usize,
    column_start: usize,
    width: usize,
}

/// The panels on and below the diagonal of a `columns × columns` Gram matrix cut into four
/// column panels: the matrix is symmetric, so the panels above the diagonal (3/8 of the
/// products) are skipped.
fn lower_panels(columns: usize) -> impl Iterator<Item = Panel> {
    const PANELS: usize = 4;
    let panel = columns.div_ceil(PANELS).max(1);
    (0..columns).step_by(panel).flat_map(move |row_start| {
        (0..=row_start)
            .step_by(panel)
            .map(move |column_start| Panel {
                row_start,
                rows: panel.min(columns - row_start),
                column_start,
                width: panel.min(columns - column_start),
            })
    })
}

/// `out`'s `panel` += (blockᵀ·block)'s `panel`, through matrixmultiply's blocked GEMM. Both
/// are column-major: `block` is `pixels × columns`, `out` `columns × columns`; `blockᵀ` is
/// passed as strides (nalgebra's `transpose()` copied every panel first, which took longer
/// than the products on small tiles).
fn add_panel(block: &[f64], pixels: usize, columns: usize, panel: Panel, out: &mut [f64]) {
    assert_eq!(block.len(), pixels * columns, "a block of pixels × columns");
    assert_eq!(
        out.len(),
        columns * columns,
        "a Gram matrix per block column"
    );
    assert!(panel.row_start + panel.rows <= columns && panel.column_start + panel.width <= columns);
    let (pixel_stride, gram_stride) = (pixels as isize, columns as isize);
    // SAFETY: dgemm reads a `rows × pixels` matrix at `block[row_start·pixels]` with element
    // (i, p) at offset i·pixels + p, i.e. block (p, row_start + i), and a `pixels × width`
    // one at `block[column_start·pixels]` with (p, j) at p + j·pixels, i.e. block (p,
    // column_start + j): both inside `block` (asserted pixels × columns long) as row_start
    // + rows and column_start + width are at most `columns` (asserted). It writes `rows ×
    // width` values at out's (row_start, column_start), (i, j) at i + j·columns, inside
    // the asserted `columns × columns` out; `out` is borrowed mutably and does not alias
    // `block`.
    unsafe {
        matrixmultiply::dgemm(
            panel.rows,
            pixels,
            panel.width,
            1.0,
            block.as_ptr().add(panel.row_start * pixels),
            pixel_stride,
            1,
            block.as_ptr().add(panel.column_start * pixels),
            1,
            pixel_stride,
            1.0,
            out.as_mut_ptr()
                .add(panel.column_start * columns + panel.row_start),
            1,
            gram_stride,
        );
    }
}

/// What a joint refit needs besides the Gram matrix: the samples themselves.
pub(super) struct Joint<'a> {
    pub tile: &'a Tile,
    pub s_all: &'a Tile,
    pub pixels: &'a [(usize, usize)],
    pub own: &'a [(i32, i32)],
}

/// Gram matrix of the final predictor's features: own neighbours of `pos` (computed here on
/// the sampled pixels), then the pooled columns `cols` (whose block comes from `gram`).
fn joint_gram(
    j: &Joint,
    pos: usize,
    gram: &DMatrix<f64>,
    pool: &Pool,
    cols: &[usize],
) -> DMatrix<f64> {
    let (own_count, pooled_count) = (j.own.len(), cols.len());
    let pixel_count = j.pixels.len();
    let mut own_features = DMatrix::<f64>::zeros(pixel_count, own_count);
    let mut pooled = DMatrix::<f64>::zeros(pixel_count, pooled_count);
    for (row, &(y, x)) in j.pixels.iter().enumerate() {
        for (i, &(dy, dx)) in j.own.iter().enumerate() {
            own_features[(row, i)] = own_value(j.tile, pos, y, x, dy, dx) as f64;
        }
        for (i, &col) in cols.iter().enumerate() {
            pooled[(row, i)] = pool.column(j.tile, j.s_all, col, y, x);
        }
    }
    let own_own = own_features.transpose() * &own_features;
    let own_pooled = own_features.transpose() * &pooled;
    DMatrix::<f64>::from_fn(
        own_count + pooled_count,
        own_count + pooled_count,
        |a, b| match (a < own_count, b < own_count) {
            (true, true) => own_own[(a, b)],
            (true, false) => own_pooled[(a, b - own_count)],
            (false, true) => own_pooled[(b, a - own_count)],
            (false, false) => gram[(cols[a - own_count], cols[b - own_count])],
        },
    )
}

/// The final predictor's coefficients fitted on the pooled Gram matrix with the channel's
/// own spatial prediction `S` as one feature (`cols`: the taps' columns, the constant, the
/// target), `γ·S` then folded into own-neighbour coefficients. Returns the coefficients
/// (own, then the taps' pairs), the bias and the residual mean square.
fn fit_with_spatial(
    gram: &DMatrix<f64>,
    pool: &Pool,
    pos: usize,
    spatial: &Spatial,
    cols: &[usize],
    fit_n: usize,
) -> (Vec<f64>, f64, f64) {
    let tap_coefficients = cols.len() - 2;
    let mut cols_s = vec![pool.spatial(pos)];
    cols_s.extend_from_slice(cols);
    let system = DMatrix::<f64>::from_fn(cols_s.len(), cols_s.len(), |i, j| {
        gram[(cols_s[i], cols_s[j])]
    });
    let solution = solve(&system);
    let (resid, _) = moments(&system, &solution, fit_n);
    let gamma = solution[0];
    // Fold γ·S into own coefficients: S = (bias + Σ own·n) / 2^shift.
    let spatial_scale = (1i64 << spatial.shift) as f64;
    let mut coefs: Vec<f64> = spatial
        .own
        .iter()
        .map(|&a| gamma * a as f64 / spatial_scale)
        .collect();
    coefs.extend_from_slice(&solution[1..1 + tap_coefficients]);
    let bias = solution[1 + tap_coefficients] + gamma * spatial.bias as f64 / spatial_scale;
    (coefs, bias, resid)
}

/// Fits the predictor of `pos`: `γ·S_pos + Σ_taps (b·x_j + c·S_j) + constant`, with γ folded
/// into own-neighbour coefficients, from the pooled Gram matrix. With `joint`, the own
/// neighbours' coefficients are refitted freely together with the taps instead (better:
/// the best spatial predictor of a band alone is not the best complement to its spectral
/// prediction, but it costs a pass over the samples per channel).
#[allow(clippy::too_many_arguments)]
pub(super) fn fit_channel(
    gram: &DMatrix<f64>,
    pool: &Pool,
    pos: usize,
    spatial: Spatial,
    taps: usize,
    samples: usize,
    chan_max: &[f64],
    max_shift: u8,
    acc32: bool,
    joint: Option<&Joint>,
) -> ChannelPredictor {
    let mandatory = [Pool::CONST, pool.spatial(pos)];
    let candidates: Vec<usize> = (0..pos).map(|j| pool.value(j)).collect();
    let (mut chosen, residual) = select(
        gram,
        pool.value(pos),
        &mandatory,
        &candidates,
        taps,
        samples,
    );
    chosen.truncate(taps_worth_keeping(&residual, samples, TAP_COST_BITS));
    for c in &mut chosen {
        *c -= 1;
    }
    // Tap columns (x_j, S_j) per tap, then the constant and the target x_pos.
    let mut cols = Vec::with_capacity(2 * chosen.len() + 2);
    for &j in &chosen {
        cols.push(pool.value(j));
        cols.push(pool.spatial(j));
    }
    cols.push(Pool::CONST);
    cols.push(pool.value(pos));
    let n_own = spatial.own.len();
    let fit_n = (gram[(Pool::CONST, Pool::CONST)].round() as usize).max(1);
    let (mut coefs, bias, resid) = match joint {
        Some(jd) => {
            let system = joint_gram(jd, pos, gram, pool, &cols);
            let solution = solve(&system);
            let bias = solution[n_own + 2 * chosen.len()];
            let (resid, _) = moments(&system, &solution, fit_n);
            (solution[..n_own + 2 * chosen.len()].to_vec(), bias, resid)
        }
        None => fit_with_spatial(gram, pool, pos, &spatial, &cols, fit_n),
    };
    // Mean squares of the features the coefficients multiply (own neighbours ≈ the band).
    let sq_of = |col: usize| gram[(col, col)] / fit_n as f64;
    let mut feature_sq = vec![sq_of(pool.value(pos)); n_own];
    for &j in &chosen {
        feature_sq.push(sq_of(pool.value(j)));
        feature_sq.push(sq_of(pool.spatial(j)));
    }
    let max_shift = max_shift.min(precision(&feature_sq, resid, samples, max_shift));
    let mut bounds: Vec<f64> = vec![chan_max[pos]; n_own];
    for &j in &chosen {
        bounds.push(chan_max[j]);
        bounds.push(chan_max[j]);
    }
    coefs.truncate(bounds.len());
    let (shift, quantised, quantised_bias) = quantise(&coefs, bias, &bounds, max_shift, acc32);
    let taps = chosen
        .iter()
        .enumerate()
        .map(|(i, &j)| Tap {
            pos: j as u16,
            value: quantised[n_own + 2 * i],
            spatial: quantised[n_own + 2 * i + 1],
        })
        .collect();
    ChannelPredictor {
        spatial,
        shift,
        bias: quantised_bias,
        own: quantised[..n_own].to_vec(),
        taps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forward selection sweeping the whole standardised matrix at every choice (what
    /// [`LazySweep`] replaced): the reference its choices and residuals must match.
    fn select_sweeping_everything(
        gram: &DMatrix<f64>,
        idx: &[usize],
        mandatory_count: usize,
        m: usize,
    ) -> (Vec<usize>, Vec<f64>) {
        let size = idx.len();
        let scale: Vec<f64> = idx
            .iter()
            .map(|&i| gram[(i, i)].max(1e-12).sqrt())
            .collect();
        let mut swept = vec![0f64; size * size];
        for i in 0..size {
            for j in 0..size {
                swept[i * size + j] = gram[(idx[i], idx[j])] / (scale[i] * scale[j]);
            }
        }
        let sweep = |swept: &mut Vec<f64>, k: usize| {
            let pivot = swept[k * size + k];
            if pivot <= 1e-10 {
                return;
            }
            let pivot_row = swept[k * size..(k + 1) * size].to_vec();
            for (j, row) in swept.chunks_exact_mut(size).enumerate() {
                let ratio = pivot_row[j] / pivot;
                if ratio != 0.0 {
                    row.iter_mut()
                        .zip(&pivot_row)
                        .for_each(|(r, &c)| *r -= c * ratio);
                }
            }
        };
        (1..=mandatory_count).for_each(|k| sweep(&mut swept, k));
        let (mut alive, mut chosen, mut residual) = (vec![true; size], vec![], vec![swept[0]]);
        for _ in 0..m {
            let gain = |k: usize| swept[k] * swept[k] / swept[k * size + k];
            let best = (1 + mandatory_count..size)
                .filter(|&k| alive[k] && swept[k * size + k] > 1e-8 && gain(k) > 1e-9)
                .fold(None, |b: Option<usize>, k| match b {
                    Some(b) if gain(b) >= gain(k) => Some(b),
                    _ => Some(k),
                });
            let Some(best) = best else { break };
            alive[best] = false;
            chosen.push(idx[best]);
            sweep(&mut swept, best);
            residual.push(swept[0].max(1e-12));
        }
        (chosen, residual)
    }

    /// The lazy sweep chooses the same columns with the same residuals, to the bit, as
    /// sweeping the whole matrix, on the Gram matrix of correlated integer features.
    #[test]
    fn the_lazy_sweep_matches_sweeping_everything() {
        let (pixels, columns) = (300, 24);
        let feature = |p: usize, c: usize| -> f64 {
            let shared = ((p * 37) % 101) as f64;
            shared * (c % 5) as f64 + ((p * 7919 + c * 104_729) % 61) as f64
        };
        let block = DMatrix::<f64>::from_fn(pixels, columns, feature);
        let gram = block.transpose() * &block;
        let (target, mandatory, pool) = (3, vec![0, 7], (8..columns).collect::<Vec<_>>());
        let idx: Vec<usize> = [target]
            .iter()
            .chain(&mandatory)
            .chain(&pool)
            .copied()
            .collect();
        let m = 10;
        // A budget of samples so large that no choice is idle: every one of m is made.
        let (chosen, residual) = select(&gram, target, &mandatory, &pool, m, 1 << 40);
        let (expected, expected_residual) =
            select_sweeping_everything(&gram, &idx, mandatory.len(), m);
        assert_eq!(chosen, expected);
        assert_eq!(residual, expected_residual);
        assert!(chosen.len() >= 5, "{chosen:?}");
    }

    /// Without W, the pair fit gives the predictor `fit_spatial` fits on the other
    /// neighbours, to the bit (the same sums, without W's row and column); with W it is
    /// that fit on every neighbour, and on a field smooth along its rows W pays.
    #[test]
    fn the_fit_without_w_is_the_plain_fit_on_the_other_neighbours() {
        let (width, height, channels) = (40, 30, 8);
        let mut state = 12345u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 60) as i32 - 8
        };
        let mut data = vec![0i32; width * height * channels];
        for y in 0..height {
            for pos in 0..channels {
                for x in 0..width {
                    let left = if x > 0 {
                        data[(y * channels + pos) * width + x - 1]
                    } else {
                        0
                    };
                    data[(y * channels + pos) * width + x] =
                        (left * 7 / 8 + noise()).clamp(-127, 127);
                }
            }
        }
        let tile = Tile {
            data,
            width,
            height,
            channels,
        };
        let pixels = sample_pixels(width, height, 16384);
        let own: Vec<(i32, i32)> = super::super::plan::offsets(0xef).collect();
        for pos in [0, 5] {
            let target = SpatialTarget {
                tile: &tile,
                pixels: &pixels,
                pos,
                bound: 127.0,
                max_shift: 10,
                acc32: true,
            };
            let fit = |own: &[(i32, i32)]| fit_spatial(&target, own);
            let (with_w, without_w, gain) = fit_spatial_with_and_without_w(&target, &own);
            assert_eq!(without_w, fit(&own[1..]));
            assert_eq!(with_w, fit(&own));
            assert!(gain > 1.5, "W on rows that follow it: gain {gain}");
        }
    }

    /// The panels' GEMM adds blockᵀ·block to the lower triangle, on shapes whose columns do
    /// not split evenly into panels, and above it only the diagonal panels' products.
    #[test]
    fn gram_lower_triangle_is_the_product_and_nothing_else() {
        for (pixels, columns) in [(37, 13), (256, 257), (5, 1), (9, 4)] {
            let block = DMatrix::<f64>::from_fn(pixels, columns, |r, c| {
                ((r * 7919 + c * 104_729) % 255) as f64 - 127.0
            });
            let expected = block.transpose() * &block;
            let mut gram = vec![0f64; columns * columns];
            for panel in lower_panels(columns) {
                // Twice: the products accumulate.
                for _ in 0..2 {
                    add_panel(block.as_slice(), pixels, columns, panel, &mut gram);
                }
            }
            for r in 0..columns {
                for c in 0..columns {
                    let sum = gram[r + c * columns];
                    match c <= r {
                        // Integer sums well below 2^53: exact in any order.
                        true => assert_eq!(sum, 2.0 * expected[(r, c)], "({r}, {c})"),
                        false => assert!(
                            [0.0, 2.0 * expected[(r, c)]].contains(&sum),
                            "upper ({r}, {c}): {sum}"
                        ),
                    }
                }
            }
        }
    }

    /// The pooled Gram matrix is the same to the bit whether its blocks multiply in 16-bit
    /// integers or in f64, and equal to the product of every feature.
    #[test]
    fn pooled_gram_is_exact_in_integer_blocks() {
        // 1,230 pixels: a last block of 206, padded to 208.
        let (width, height, channels) = (41, 30, 9);
        let value = |i: usize| ((i * 7919) % 511) as i32 - 255;
        let tile = Tile {
            data: (0..width * height * channels).map(value).collect(),
            width,
            height,
            channels,
        };
        let spatial = Tile {
            data: (0..width * height * channels)
                .map(|i| value(i + 13))
                .collect(),
            ..tile
        };
        let pixels = sample_pixels(width, height, 16384);
        let pool = Pool { channels };
        let narrow = pool_gram(&tile, &spatial, &pixels, &pool, true);
        let wide = pool_gram(&tile, &spatial, &pixels, &pool, false);
        assert_eq!(narrow, wide);
        let all: DMatrix<f64> = DMatrix::from_fn(pixels.len(), pool.size(), |row, column| {
            let (y, x) = pixels[row];
            pool.column(&tile, &spatial, column, y, x)
        });
        assert_eq!(narrow, all.transpose() * &all);
    }
}
