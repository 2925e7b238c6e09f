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

/// The tile's values centred on their band means, as a `pixels × bands` matrix.
fn centred(values: &[f64], bands: usize, means: &[f64]) -> DMatrix<f64> {
    let pixels = values.len() / bands;
    DMatrix::from_fn(pixels, bands, |p, b| values[p * bands + b] - means[b])
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
    let x = centred(values, bands, &means);
    let gram = x.transpose() * &x;
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
/// component-major: component `k` of pixel `p` at `k × pixels + p`.
pub(super) fn project(values: &[f64], bands: usize, basis: &Basis) -> Vec<f64> {
    let x = centred(values, bands, &basis.means);
    let v = DMatrix::from_fn(bands, bands, |b, k| basis.components[k * bands + b] as f64);
    let coefficients = x * v;
    // Column-major: each component's coefficients are contiguous.
    coefficients.as_slice().to_vec()
}
