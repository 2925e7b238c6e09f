//! How far a lossy (`klt`) tile is from the values it was encoded from, in the terms
//! people judge embeddings and spectra by: the relative RMSE the rate control aims at, the
//! largest absolute error, and the cosine similarity of every pixel's vector to its
//! original (what nearest-neighbour search and classifiers on embeddings see).
//!
//! Why a histogram: the file-level 1st percentile of the per-pixel cosine similarity must
//! be computed over every tile without keeping every pixel. The bins are uniform in
//! `sin(angle / 2) = sqrt((1 − cos) / 2)`, fine where cosines crowd near 1.

/// Bins of the cosine histogram.
const COSINE_BINS: usize = 1 << 16;

/// Fidelity of decoded values against their originals, over any number of tiles
/// ([`LossStats::merge`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LossStats {
    /// `Σ (x − x̂)²` over every sample.
    pub squared_error: f64,
    /// `Σ x²` over every sample.
    pub squared_norm: f64,
    /// Largest `|x − x̂|`.
    pub max_abs_error: f64,
    /// Sum of the per-pixel cosine similarities.
    pub cosine_sum: f64,
    /// Pixels measured.
    pub pixels: u64,
    /// Pixels per bin of `sqrt((1 − cos) / 2)` over `[0, 1]`.
    cosine_counts: Vec<u64>,
}

impl Default for LossStats {
    fn default() -> Self {
        LossStats {
            squared_error: 0.0,
            squared_norm: 0.0,
            max_abs_error: 0.0,
            cosine_sum: 0.0,
            pixels: 0,
            cosine_counts: vec![0; COSINE_BINS],
        }
    }
}

/// The cosine similarity of two vectors: 1 when both are zero, 0 when one is.
fn cosine(x: &[f64], y: &[f64]) -> f64 {
    let (mut dot, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        dot += a * b;
        xx += a * a;
        yy += b * b;
    }
    match (xx == 0.0, yy == 0.0) {
        (true, true) => 1.0,
        (true, false) | (false, true) => 0.0,
        _ => (dot / (xx.sqrt() * yy.sqrt())).clamp(-1.0, 1.0),
    }
}

impl LossStats {
    /// Measures `decoded` against `original` (pixel-interleaved, `bands` values a pixel).
    pub fn measure(original: &[f64], decoded: &[f64], bands: usize) -> Self {
        let mut stats = LossStats::default();
        let pixels = original
            .chunks_exact(bands)
            .zip(decoded.chunks_exact(bands));
        for (x, y) in pixels {
            for (a, b) in x.iter().zip(y) {
                let error = a - b;
                stats.squared_error += error * error;
                stats.squared_norm += a * a;
                stats.max_abs_error = stats.max_abs_error.max(error.abs());
            }
            stats.add_cosine(cosine(x, y));
        }
        stats
    }

    fn add_cosine(&mut self, cos: f64) {
        let u = ((1.0 - cos) / 2.0).max(0.0).sqrt();
        let bin = ((u * COSINE_BINS as f64) as usize).min(COSINE_BINS - 1);
        self.cosine_counts[bin] += 1;
        self.cosine_sum += cos;
        self.pixels += 1;
    }

    /// Adds another tile's measurements.
    pub fn merge(&mut self, other: &LossStats) {
        self.squared_error += other.squared_error;
        self.squared_norm += other.squared_norm;
        self.max_abs_error = self.max_abs_error.max(other.max_abs_error);
        self.cosine_sum += other.cosine_sum;
        self.pixels += other.pixels;
        for (a, b) in self.cosine_counts.iter_mut().zip(&other.cosine_counts) {
            *a += b;
        }
    }

    /// `||x − x̂|| / ||x||` (0 for an all-zero original decoded exactly).
    pub fn rel_rmse(&self) -> f64 {
        match self.squared_norm {
            n if n > 0.0 => (self.squared_error / n).sqrt(),
            _ if self.squared_error == 0.0 => 0.0,
            _ => f64::INFINITY,
        }
    }

    /// Mean per-pixel cosine similarity (1 when nothing was measured).
    pub fn mean_cosine(&self) -> f64 {
        match self.pixels {
            0 => 1.0,
            n => self.cosine_sum / n as f64,
        }
    }

    /// The cosine similarity that `fraction` of the pixels (0.01: the 1st percentile) are at
    /// or below, to the histogram's resolution, rounded down (the bin's worst cosine).
    pub fn cosine_percentile(&self, fraction: f64) -> f64 {
        if self.pixels == 0 {
            return 1.0;
        }
        let rank = ((fraction * self.pixels as f64).ceil() as u64).max(1);
        // The worst cosines are in the highest bins of `u`: count down from there.
        let mut seen = 0;
        for (bin, &count) in self.cosine_counts.iter().enumerate().rev() {
            seen += count;
            if seen >= rank {
                let u = (bin + 1) as f64 / COSINE_BINS as f64;
                return 1.0 - 2.0 * u * u;
            }
        }
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_errors_and_cosines() {
        let original = [3.0, 4.0, 1.0, 0.0];
        let decoded = [3.0, 4.0, 0.0, 1.0];
        let stats = LossStats::measure(&original, &decoded, 2);
        assert_eq!(stats.squared_error, 2.0);
        assert_eq!(stats.squared_norm, 26.0);
        assert_eq!(stats.max_abs_error, 1.0);
        assert!((stats.mean_cosine() - 0.5).abs() < 1e-12);
        // One pixel of two is orthogonal to its original: the 1st percentile is ~0.
        assert!(stats.cosine_percentile(0.01).abs() < 1e-4);
        let mut both = stats.clone();
        both.merge(&stats);
        assert_eq!(both.pixels, 4);
        assert!((both.rel_rmse() - stats.rel_rmse()).abs() < 1e-15);
    }
}
