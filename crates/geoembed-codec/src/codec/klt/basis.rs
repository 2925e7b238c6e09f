//! The tile's Karhunen–Loève basis: the principal components of its pixel vectors, fitted
//! in binary64 and sorted by variance. Many-band rasters (embeddings, hyperspectral
//! cubes) put most of their energy in a few directions, so after this rotation most of the
//! components can be quantised coarsely or dropped for a small relative error.
//!
//! Why the basis is rounded to binary32 before projecting: the payload stores it as f32,
//! and the encoder must project onto exactly the vectors the decoder back-projects with,
//! or the rate control would measure an error the file does not have.

use nalgebra::{DMatrix, SymmetricEigen};

/// Means and principal directions of a tile's pixel vectors.
#[derive(Clone, Debug)]
pub(super) struct Basis {
    /// Per band, the mean over the tile's pixels.
    pub means: Vec<f64>,
    /// `bands × bands` loadings, component-major (component `k`'s loading of band `b` at
    /// `k × bands + b`), components by decreasing variance.
    pub components: Vec<f32>,
}

/// `Σ_p (x_p − μ)(x_p − μ)ᵀ` over the tile's pixels. Plain loops rather than a BLAS-like
/// kernel: those pick fused multiply-adds by CPU at run time, and the payload (a golden
/// file pins it) must not depend on the machine that wrote it. Only the lower triangle is
/// summed (half the products; each entry adds the same terms in the same order as the full
/// loop did), then mirrored.
fn centred_gram(values: &[f64], bands: usize, means: &[f64]) -> DMatrix<f64> {
    let mut gram = vec![0.0; bands * bands];
    let mut centred = vec![0.0; bands];
    for pixel in values.chunks_exact(bands) {
        for ((c, v), m) in centred.iter_mut().zip(pixel).zip(means) {
            *c = v - m;
        }
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
    let gram = centred_gram(values, bands, &means);
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
    Basis { means, components }
}

/// The tile's coefficients on every component of `basis` (as stored, in binary32),
/// component-major: component `k` of pixel `p` at `k × pixels + p`. Summed band by band
/// in plain binary64 (see [`centred_gram`]).
pub(super) fn project(values: &[f64], bands: usize, basis: &Basis) -> Vec<f64> {
    let pixels = values.len() / bands;
    // Band-major loadings: band `b`'s loading on every component, contiguous.
    let mut loadings = vec![0.0; bands * bands];
    for (k, component) in basis.components.chunks_exact(bands).enumerate() {
        for (b, &v) in component.iter().enumerate() {
            loadings[b * bands + k] = v as f64;
        }
    }
    let mut coefficients = vec![0.0; pixels * bands];
    let mut y = vec![0.0; bands];
    for (p, pixel) in values.chunks_exact(bands).enumerate() {
        y.iter_mut().for_each(|v| *v = 0.0);
        for ((&v, &m), row) in pixel
            .iter()
            .zip(&basis.means)
            .zip(loadings.chunks_exact(bands))
        {
            let centred = v - m;
            for (acc, &l) in y.iter_mut().zip(row) {
                *acc += centred * l;
            }
        }
        for (k, &c) in y.iter().enumerate() {
            coefficients[k * pixels + p] = c;
        }
    }
    coefficients
}
