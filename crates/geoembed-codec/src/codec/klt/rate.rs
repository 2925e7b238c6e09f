//! Rate control by reverse water-filling: given a budget of squared error for the tile,
//! choose which principal components to keep and the uniform quantiser step of each.
//!
//! Why water-filling: for independent components the fewest bits for a total squared
//! error spend the same error `θ` on every component whose variance exceeds `θ` (step
//! `√(12θ)`: a uniform quantiser's error is step²/12) and drop the others (error = their
//! variance). The step model is only approximate at coarse steps, so the level `θ` is
//! bisected on the error the quantisers actually make, measured in the coefficient domain
//! (the basis is orthonormal, so that is the tile's error up to the output's rounding).

/// Largest magnitude of a quantised coefficient: the planes are 16-bit at most (the native
/// codec's widest samples), one less than `i16::MAX` for rounding's sake.
pub(super) const MAX_CODE: f64 = 32766.0;

/// The kept components' steps (component `k` kept iff `k < steps.len()`).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Quantiser {
    pub steps: Vec<f64>,
}

/// A tile's coefficients and what rate control needs of each component.
pub(super) struct Components<'a> {
    /// Component-major coefficients (`k × pixels + p`).
    coefficients: &'a [f64],
    pixels: usize,
    /// Per component, `Σ y²` (by decreasing variance, as the basis sorts them).
    energy: Vec<f64>,
    /// Per component, the largest `|y|`.
    max_abs: Vec<f64>,
}

impl<'a> Components<'a> {
    pub(super) fn new(coefficients: &'a [f64], pixels: usize) -> Self {
        let per_component = coefficients.chunks_exact(pixels.max(1));
        let energy = per_component
            .clone()
            .map(|c| c.iter().map(|y| y * y).sum())
            .collect();
        let max_abs = per_component
            .map(|c| c.iter().fold(0.0f64, |m, y| m.max(y.abs())))
            .collect();
        Components {
            coefficients,
            pixels,
            energy,
            max_abs,
        }
    }

    /// The quantiser of water level `θ` (squared error per coefficient).
    fn quantiser(&self, theta: f64) -> Quantiser {
        let step = (12.0 * theta).sqrt();
        let steps = self
            .energy
            .iter()
            .zip(&self.max_abs)
            .take_while(|(&energy, _)| energy > theta * self.pixels as f64)
            .map(|(_, &max_abs)| step.max(max_abs / MAX_CODE))
            .collect();
        Quantiser { steps }
    }

    /// The squared error of `q` over the tile: quantisation error of the kept components,
    /// the whole energy of the dropped ones.
    pub(super) fn distortion(&self, q: &Quantiser) -> f64 {
        let kept = q.steps.len();
        let quantised: f64 = self
            .coefficients
            .chunks_exact(self.pixels.max(1))
            .zip(&q.steps)
            .map(|(c, &step)| {
                c.iter()
                    .map(|&y| (y - (y / step).round() * step).powi(2))
                    .sum::<f64>()
            })
            .sum();
        quantised + self.energy[kept..].iter().sum::<f64>()
    }

    /// The quantiser whose error is closest to `budget` (squared error over the tile), by
    /// bisection of `log θ`: the error grows with `θ`, from ~0 to the tile's whole
    /// centred energy (every component dropped).
    pub(super) fn water_level(&self, budget: f64) -> Quantiser {
        let pixels = self.pixels.max(1) as f64;
        let top = self.energy.first().copied().unwrap_or(0.0) / pixels;
        let everything_dropped = Quantiser { steps: Vec::new() };
        if top <= 0.0 || budget >= self.energy.iter().sum::<f64>() {
            return everything_dropped;
        }
        let (mut lo, mut hi) = ((top * 1e-14).ln(), top.ln());
        let mut best = (f64::INFINITY, everything_dropped);
        for _ in 0..48 {
            let mid = 0.5 * (lo + hi);
            let q = self.quantiser(mid.exp());
            let error = self.distortion(&q);
            let miss = (error / budget - 1.0).abs();
            if miss < best.0 {
                best = (miss, q);
            }
            if miss < 1e-3 {
                break;
            }
            if error > budget {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        best.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisection_meets_the_budget_and_drops_weak_components() {
        // Two components: a strong one (variance ~ 10^4) and a weak one (~ 1).
        let pixels = 4096;
        let strong = (0..pixels).map(|p| 100.0 * ((p as f64) * 0.37).sin() * 1.41);
        let weak = (0..pixels).map(|p| ((p as f64) * 1.93).cos() * 1.41);
        let coefficients: Vec<f64> = strong.chain(weak).collect();
        let c = Components::new(&coefficients, pixels);
        let total: f64 = c.energy.iter().sum();
        let budget = total * 0.05 * 0.05;
        let q = c.water_level(budget);
        assert_eq!(
            q.steps.len(),
            1,
            "the weak component is below the water level"
        );
        let error = c.distortion(&q);
        assert!((error / budget - 1.0).abs() < 0.01, "{error} vs {budget}");
    }
}
