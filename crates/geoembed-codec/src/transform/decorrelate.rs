//! Reversible integer inter-band decorrelation: the lifting form of an LDLᵀ (Cholesky)
//! factorisation of the band covariance, as in the seed's "decorrelate + JPEG XL".
//!
//! Fit: Σ = L Lᵀ (with a small ridge), Lu = L·diag(1/diag L), A = I − Lu⁻¹ (strictly lower
//! triangular): row k of A is the least-squares prediction of band k from bands 0..k−1.
//! A and the bias μ − Aμ are rounded to fixed point (2^shift) and stored in the header.
//!
//! Forward: `p_k = clamp(floor((Σ_{j<k} A[k,j]·x_j + b_k + 2^(shift−1)) / 2^shift), lo, hi)`,
//! residual `u_k = (x_k − p_k + 2^(n−1)) mod 2^n`: an unsigned n-bit image centred on
//! 2^(n−1). The inverse rebuilds bands in order from already-decoded ones, so it is exact
//! whatever the coefficients are: only compression, never correctness, depends on the fit.

use crate::error::{Error, Result};
use crate::sample::SampleType;
use nalgebra::DMatrix;

/// Reversible integer inter-band prediction (lifting form of an LDLᵀ/Cholesky
/// decorrelation), fitted once per file and shared by every tile that uses a
/// `decorrelate+*` codec. See this module.
#[derive(Clone, Debug, PartialEq)]
pub struct Decorrelation {
    /// Fixed-point shift: coefficients are integers scaled by `2^shift`.
    pub shift: u8,
    /// Consecutive band groups, each decorrelated on its own.
    pub groups: Vec<DecorrelationGroup>,
}

/// One group of consecutive bands decorrelated together.
#[derive(Clone, Debug, PartialEq)]
pub struct DecorrelationGroup {
    /// The group's first band.
    pub first_band: u32,
    /// Bands in the group.
    pub bands: u32,
    /// Strictly lower-triangular matrix, row-major: row k holds the `k` coefficients that
    /// predict band `first_band + k` from bands `first_band .. first_band + k`.
    pub coefficients: Vec<i32>,
    /// Per-band bias, scaled by `2^shift`.
    pub bias: Vec<i64>,
}

impl Decorrelation {
    /// Checks that the groups tile `band_count` bands of type `ty` in order, with the right
    /// number of coefficients and a usable shift.
    pub fn validate(&self, band_count: usize, ty: SampleType) -> Result<()> {
        if ty.is_float() || ty.size() > 2 {
            return Err(Error::invalid(format!(
                "decorrelation applies to 8- and 16-bit integer bands, not {ty}"
            )));
        }
        if self.shift == 0 || self.shift > 24 {
            return Err(Error::corrupt(format!(
                "decorrelation shift {} outside 1..=24",
                self.shift
            )));
        }
        let mut next = 0u64;
        for (i, g) in self.groups.iter().enumerate() {
            let n = g.bands as u64;
            if g.first_band as u64 != next || n == 0 {
                return Err(Error::corrupt(format!(
                    "decorrelation group {i} starts at band {} with {n} bands; groups must tile the bands in order",
                    g.first_band
                )));
            }
            if g.coefficients.len() as u64 != n * (n - 1) / 2 || g.bias.len() as u64 != n {
                return Err(Error::corrupt(format!(
                    "decorrelation group {i} has the wrong number of coefficients"
                )));
            }
            next += n;
        }
        if next != band_count as u64 {
            return Err(Error::corrupt(format!(
                "decorrelation covers {next} bands, raster has {band_count}"
            )));
        }
        Ok(())
    }
}

/// Fixed-point shift of fitted coefficients.
const SHIFT: u8 = 14;
/// Bands per decorrelation group: bounds the header (n² coefficients) and the work per
/// pixel; beyond a few hundred bands the extra predictors gain nothing measurable.
pub(crate) const MAX_GROUP_BANDS: usize = 256;

/// Numeric value of every sample (8- and 16-bit integer types only).
fn to_values(ty: SampleType, bytes: &[u8]) -> Vec<i32> {
    let mut values = vec![0; bytes.len() / ty.size()];
    ty.small_int_values(bytes, &mut values);
    values
}

fn range(ty: SampleType) -> (i64, i64) {
    let (min, max) = ty
        .small_int_range()
        .expect("decorrelation is limited to 8/16-bit integers");
    (min as i64, max as i64)
}

/// Splits `bands` into near-equal consecutive groups of at most [`MAX_GROUP_BANDS`].
fn group_bounds(bands: usize) -> Vec<(usize, usize)> {
    let groups = bands.div_ceil(MAX_GROUP_BANDS);
    (0..groups)
        .map(|g| (g * bands / groups, (g + 1) * bands / groups))
        .collect()
}

/// Fits the decorrelation from a sample of pixels (pixel-interleaved sample bytes).
pub fn fit(ty: SampleType, bands: usize, sample: &[u8]) -> Result<Decorrelation> {
    if ty.is_float() || ty.size() > 2 {
        return Err(Error::invalid(format!(
            "decorrelation needs 8- or 16-bit integer bands, not {ty}"
        )));
    }
    let values = to_values(ty, sample);
    let pixels = values.len() / bands;
    if pixels < 2 {
        return Err(Error::invalid(
            "decorrelation needs at least two pixels to fit",
        ));
    }
    let groups = group_bounds(bands)
        .into_iter()
        .map(|(b0, b1)| fit_group(&values, bands, pixels, b0, b1))
        .collect();
    Ok(Decorrelation {
        shift: SHIFT,
        groups,
    })
}

fn fit_group(
    values: &[i32],
    bands: usize,
    pixels: usize,
    b0: usize,
    b1: usize,
) -> DecorrelationGroup {
    let size = b1 - b0;
    let mut mean = vec![0f64; size];
    for p in 0..pixels {
        for k in 0..size {
            mean[k] += values[p * bands + b0 + k] as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= pixels as f64);
    let mut cov = DMatrix::<f64>::zeros(size, size);
    let mut scales = vec![0f64; size];
    for p in 0..pixels {
        for k in 0..size {
            scales[k] = values[p * bands + b0 + k] as f64 - mean[k];
        }
        for i in 0..size {
            for j in 0..=i {
                cov[(i, j)] += scales[i] * scales[j];
            }
        }
    }
    for i in 0..size {
        for j in 0..=i {
            let value = cov[(i, j)] / (pixels - 1) as f64;
            cov[(i, j)] = value;
            cov[(j, i)] = value;
        }
    }
    // Ridge: keeps the factorisation defined for constant or collinear bands.
    let mut ridge = 1e-3 * cov.trace() / size as f64 + 1e-6;
    let chol = loop {
        let mut covariance = cov.clone();
        for i in 0..size {
            covariance[(i, i)] += ridge;
        }
        if let Some(ch) = covariance.cholesky() {
            break ch;
        }
        ridge *= 10.0;
    };
    let l = chol.l();
    let mut unit_lower = l.clone();
    for j in 0..size {
        let djj = l[(j, j)];
        for i in 0..size {
            unit_lower[(i, j)] /= djj;
        }
    }
    // Lu is unit lower triangular, so its inverse exists and is cheap to solve for.
    let inv = unit_lower
        .solve_lower_triangular(&DMatrix::identity(size, size))
        .expect("unit lower-triangular matrix is invertible");
    let scale = (1u64 << SHIFT) as f64;
    let mut coefficients = Vec::with_capacity(size * (size - 1) / 2);
    let mut bias = Vec::with_capacity(size);
    for k in 0..size {
        let mut pred_mean = 0.0;
        for j in 0..k {
            let coefficient = -inv[(k, j)];
            pred_mean += coefficient * mean[j];
            let quantised = (coefficient * scale)
                .round_ties_even()
                .clamp(i32::MIN as f64, i32::MAX as f64);
            coefficients.push(quantised as i32);
        }
        bias.push(((mean[k] - pred_mean) * scale).round_ties_even() as i64);
    }
    DecorrelationGroup {
        first_band: b0 as u32,
        bands: size as u32,
        coefficients,
        bias,
    }
}

/// Per-band predictions for one pixel, calling `residual(k, prediction)` in band order; the
/// callback returns the band's true value (known to the encoder, rebuilt by the decoder).
#[inline(always)]
fn run_pixel(
    g: &DecorrelationGroup,
    shift: u8,
    lo: i64,
    hi: i64,
    x: &mut [i32],
    mut value_for: impl FnMut(usize, i64) -> i32,
) {
    let round = 1i64 << (shift - 1);
    let mut row = 0;
    for k in 0..x.len() {
        let coef = &g.coefficients[row..row + k];
        row += k;
        let s: i64 = coef
            .iter()
            .zip(&x[..k])
            .map(|(&a, &v)| a as i64 * v as i64)
            .sum();
        let prediction = ((s + g.bias[k] + round) >> shift).clamp(lo, hi);
        x[k] = value_for(k, prediction);
    }
}

/// Forward transform of a pixel-interleaved tile: returns residual words (unsigned n-bit,
/// centred on 2^(n−1)), pixel-interleaved like the input.
pub(crate) fn forward(d: &Decorrelation, ty: SampleType, bands: usize, samples: &[u8]) -> Vec<u32> {
    let values = to_values(ty, samples);
    let (low, high) = range(ty);
    let bits = ty.bits();
    let mask = (1i64 << bits) - 1;
    let half = 1i64 << (bits - 1);
    let mut out = vec![0u32; values.len()];
    for g in &d.groups {
        let (first, size) = (g.first_band as usize, g.bands as usize);
        let mut x = vec![0i32; size];
        for (pixel, out_pixel) in values.chunks_exact(bands).zip(out.chunks_exact_mut(bands)) {
            let pixel = &pixel[first..first + size];
            let out_pixel = &mut out_pixel[first..first + size];
            run_pixel(g, d.shift, low, high, &mut x, |k, p| {
                out_pixel[k] = ((pixel[k] as i64 - p + half) & mask) as u32;
                pixel[k]
            });
        }
    }
    out
}

/// Inverse of [`forward`]: residual words back to sample bytes (appended to `out`).
pub(crate) fn inverse(
    d: &Decorrelation,
    ty: SampleType,
    bands: usize,
    residuals: &[u32],
    out: &mut Vec<u8>,
) {
    let (low, high) = range(ty);
    let bits = ty.bits();
    let mask = (1i64 << bits) - 1;
    let half = 1i64 << (bits - 1);
    let mut values = vec![0i32; residuals.len()];
    for g in &d.groups {
        let (first, size) = (g.first_band as usize, g.bands as usize);
        for (r, v) in residuals
            .chunks_exact(bands)
            .zip(values.chunks_exact_mut(bands))
        {
            let r = &r[first..first + size];
            run_pixel(
                g,
                d.shift,
                low,
                high,
                &mut v[first..first + size],
                |k, p| (((r[k] as i64 - half + p - low) & mask) + low) as i32,
            );
        }
    }
    ty.extend_small_int_bytes(&values, out);
}
