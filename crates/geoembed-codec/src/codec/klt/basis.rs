//! The tile's Karhunen–Loève basis: the principal components of its pixel vectors, fitted
//! in binary64 and sorted by variance. Many-band rasters (embeddings, hyperspectral
//! cubes) put most of their energy in a few directions, so after this rotation most of the
//! components can be quantised coarsely or dropped for a small relative error.
//!
//! Why the basis is rounded to binary32 before projecting: the payload stores it as f32,
//! and the encoder must project onto exactly the vectors the decoder back-projects with,
//! or the rate control would measure an error the file does not have.

use super::pixel_block;
use nalgebra::{DMatrix, SymmetricEigen};

/// Means and principal directions of a tile's pixel vectors.
#[derive(Clone, Debug)]
pub(super) struct Basis {
    /// Per band, the mean over the tile's pixels.
    pub means: Vec<f64>,
    /// `bands × bands` loadings, component-major (component `k`'s loading of band `b` at
    /// `k × bands + b`), components by decreasing variance.
    pub components: Vec<f32>,
    /// Per component, its eigenvalue: the squared norm of the tile's centred values along
    /// it (the encoder's rate control; never stored).
    pub energies: Vec<f64>,
}

/// Most pixels the basis is fitted on ([`fit`]).
const FITTED_PIXELS: usize = 1 << 16;
/// Pixels summed together by [`centred_gram`]: each pass over the `bands × bands` matrix
/// (larger than L1 at 128 bands) then serves four pixels.
const PIXEL_BLOCK: usize = 4;
/// Pixels [`project`] sums before writing them out to the component planes.
const PROJECTED_RUN: usize = 64;

/// `Σ_p (x_p − μ)(x_p − μ)ᵀ` over the tile's pixels. Plain loops rather than a BLAS-like
/// kernel: those pick fused multiply-adds by CPU at run time, and the payload (a golden
/// file pins it) must not depend on the machine that wrote it. Only the lower triangle is
/// summed (half the products; each entry adds the same terms in the same order as the full
/// loop did), then mirrored.
fn centred_gram(values: &[f64], bands: usize, means: &[f64]) -> DMatrix<f64> {
    let mut gram = vec![0.0; bands * bands];
    let mut centred = vec![0.0; PIXEL_BLOCK * bands];
    let centre = |pixels: &[f64], centred: &mut [f64]| {
        for (pixel, out) in pixels
            .chunks_exact(bands)
            .zip(centred.chunks_exact_mut(bands))
        {
            for ((c, v), m) in out.iter_mut().zip(pixel).zip(means) {
                *c = v - m;
            }
        }
    };
    let mut blocks = values.chunks_exact(PIXEL_BLOCK * bands);
    for block in &mut blocks {
        centre(block, &mut centred);
        let [p0, p1, p2, p3] = [0, 1, 2, 3].map(|i| &centred[i * bands..(i + 1) * bands]);
        for (a, row) in gram.chunks_exact_mut(bands).enumerate() {
            let (a0, a1, a2, a3) = (p0[a], p1[a], p2[a], p3[a]);
            for (j, g) in row[..=a].iter_mut().enumerate() {
                // Four separate additions, in pixel order: the same sums as one pixel at
                // a time.
                *g += a0 * p0[j];
                *g += a1 * p1[j];
                *g += a2 * p2[j];
                *g += a3 * p3[j];
            }
        }
    }
    for pixel in blocks.remainder().chunks_exact(bands) {
        centre(pixel, &mut centred[..bands]);
        let centred = &centred[..bands];
        for (a, row) in gram.chunks_exact_mut(bands).enumerate() {
            let centred_a = centred[a];
            for (g, &b) in row[..=a].iter_mut().zip(&centred[..=a]) {
                *g += centred_a * b;
            }
        }
    }
    for a in 0..bands {
        for b in a + 1..bands {
            gram[a * bands + b] = gram[b * bands + a];
        }
    }
    DMatrix::from_row_slice(bands, bands, &gram)
}

fn band_means(values: &[f64], bands: usize) -> Vec<f64> {
    let mut sums = vec![0.0; bands];
    for pixel in values.chunks_exact(bands) {
        for (sum, v) in sums.iter_mut().zip(pixel) {
            *sum += v;
        }
    }
    let pixels = (values.len() / bands).max(1) as f64;
    sums.into_iter().map(|s| s / pixels).collect()
}

/// Fits the basis on a tile's values (pixel-interleaved, `bands` a pixel).
pub(super) fn fit(values: &[f64], bands: usize) -> Basis {
    let means = band_means(values, bands);
    // Past FITTED_PIXELS, every `stride`-th pixel: the covariance of 2^16 pixel vectors
    // already fixes the directions, and summing it is O(pixels · bands²).
    let pixels = values.len() / bands.max(1);
    let stride = pixels.div_ceil(FITTED_PIXELS).max(1);
    let sampled: Vec<f64>;
    let fitted = match stride {
        1 => values,
        _ => {
            sampled = values
                .chunks_exact(bands)
                .step_by(stride)
                .flatten()
                .copied()
                .collect();
            &sampled
        }
    };
    let mut gram = centred_gram(fitted, bands, &means);
    // Energies of the whole tile, as if every pixel had been summed.
    let scale = pixels as f64 / (fitted.len() / bands.max(1)).max(1) as f64;
    gram.iter_mut().for_each(|g| *g *= scale);
    let eigen = SymmetricEigen::new(gram);
    let mut order: Vec<usize> = (0..bands).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let mut components = Vec::with_capacity(bands * bands);
    for &k in &order {
        let v = eigen.eigenvectors.column(k);
        // A fixed sign (largest loading positive) keeps the payload deterministic.
        let largest = v
            .iter()
            .copied()
            .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        let sign = if largest < 0.0 { -1.0 } else { 1.0 };
        components.extend(v.iter().map(|&x| (sign * x) as f32));
    }
    let energies = order
        .iter()
        .map(|&k| eigen.eigenvalues[k].max(0.0))
        .collect();
    Basis {
        means,
        components,
        energies,
    }
}

/// The tile's coefficients on every component of `basis` (as stored, in binary32; it may
/// hold fewer components than bands), component-major: component `k` of pixel `p` at
/// `k × pixels + p`. Summed band by band in plain binary64 (see [`centred_gram`]).
pub(super) fn project(values: &[f64], bands: usize, basis: &Basis) -> Vec<f64> {
    let pixels = values.len() / bands;
    let components = basis.components.len() / bands;
    // Band-major loadings: band `b`'s loading on every component, contiguous.
    let mut loadings = vec![0.0; bands * components];
    for (k, component) in basis.components.chunks_exact(bands).enumerate() {
        for (b, &v) in component.iter().enumerate() {
            loadings[b * components + k] = v as f64;
        }
    }
    let projector = Projector {
        bands,
        means: &basis.means,
        loadings: &loadings,
        zeros: vec![0.0; components],
    };
    let mut coefficients = vec![0.0; pixels * components];
    // Pixel-major sums of a run of pixels, written out component by component: one
    // contiguous run per component plane instead of scattered stores per pixel.
    let mut sums = vec![0.0; PROJECTED_RUN * components];
    let mut centred = vec![[0.0; pixel_block::PIXELS]; bands];
    for (run_index, run) in values.chunks(PROJECTED_RUN * bands).enumerate() {
        let count = run.len() / bands;
        let run_sums = &mut sums[..count * components];
        for (block, block_sums) in run
            .chunks(pixel_block::PIXELS * bands)
            .zip(run_sums.chunks_mut(pixel_block::PIXELS * components))
        {
            projector.block(block, block_sums, &mut centred);
        }
        let first = run_index * PROJECTED_RUN;
        for (k, plane) in coefficients.chunks_exact_mut(pixels).enumerate() {
            let run_plane = &mut plane[first..first + count];
            for (out, y) in run_plane.iter_mut().zip(run_sums.chunks_exact(components)) {
                *out = y[k];
            }
        }
    }
    coefficients
}

/// What [`project`] multiplies by.
struct Projector<'a> {
    bands: usize,
    means: &'a [f64],
    /// `bands × components`, band-major.
    loadings: &'a [f64],
    /// `components` zeros: where every coefficient's sum starts.
    zeros: Vec<f64>,
}

impl Projector<'_> {
    /// The coefficients of up to [`pixel_block::PIXELS`] pixels into `sums` (pixel-major),
    /// each `y_k = Σ_b (x_b − μ_b) · V[k][b]`, added `b` ascending. `centred` is scratch of
    /// `bands` entries.
    fn block(&self, block: &[f64], sums: &mut [f64], centred: &mut [[f64; pixel_block::PIXELS]]) {
        let pixels = block.len() / self.bands;
        for (p, pixel) in block.chunks_exact(self.bands).enumerate() {
            for (b, (v, m)) in pixel.iter().zip(self.means).enumerate() {
                centred[b][p] = v - m;
            }
        }
        pixel_block::accumulate(&self.zeros, centred, self.loadings, pixels, sums);
    }
}
