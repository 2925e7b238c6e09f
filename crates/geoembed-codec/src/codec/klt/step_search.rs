//! The search for the quantiser step of a `klt` tile (docs/format.md §5.7.7): the encoder's
//! estimate of the squared error against the step, evaluated at as few steps as finding
//! the budget's needs.
//!
//! Why a search of its own: every evaluation runs over every coefficient of every candidate
//! component, and rate control asks for a step several times per tile (once per pass, for
//! a corrected budget). The curve keeps what it evaluated, so a later pass starts from a
//! bracket, and interpolates where the curve is nearly straight instead of bisecting.

use super::coefficients::MAX_MAGNITUDE;
use super::wavelet_coded::Transformed;

/// Most evaluations of the estimate per search for a step ([`EstimateCurve::step_for`]).
const SEARCH_STEPS: usize = 40;
/// Relative miss of the budget at which the search stops (the passes correct the rest).
const ESTIMATE_TOLERANCE: f64 = 2e-3;

/// The estimated error against the step of one [`Transformed`] tile, as far as it has
/// been evaluated: the passes of rate control ask it for different budgets, and every point
/// evaluated for one budget brackets the next (the estimate itself does not change between
/// passes, as long as the tile's components do not).
pub(super) struct EstimateCurve {
    bands: usize,
    drop: bool,
    /// Evaluated points `(ln Δ, estimated squared error, kept components)`.
    points: Vec<(f64, f64, Vec<usize>)>,
}

/// A point of the curve without its kept components: `(ln Δ, estimated squared error)`.
type Point = (f64, f64);

impl EstimateCurve {
    pub(super) fn new(bands: usize, drop: bool) -> Self {
        EstimateCurve {
            bands,
            drop,
            points: Vec::new(),
        }
    }

    fn evaluate(&mut self, transformed: &Transformed, ln_step: f64) -> Point {
        let (kept, error) = transformed.estimate(ln_step.exp(), self.bands, self.drop);
        self.points.push((ln_step, error, kept));
        (ln_step, error)
    }

    /// The step whose estimated error is closest to `budget`, with the components kept at
    /// that step. The error is the components' never projected (a constant) plus a part
    /// that grows with the step, nearly straight in `(ln Δ, ln part)` (∝ Δ² at high
    /// rates, flatter as coefficients fall into the dead zone): the first step is the
    /// high-rate guess, the next ones interpolated there between the evaluated points
    /// nearest the budget on either side (by factors of 4 until there are both), halving
    /// the bracket instead when interpolation stalls.
    pub(super) fn step_for(&mut self, transformed: &Transformed, budget: f64) -> (f64, Vec<usize>) {
        let top = transformed.largest_coefficient();
        let reachable = budget - transformed.never_coded();
        if top <= 0.0 || reachable <= 0.0 {
            // Nothing to quantise, or the budget is spent by what is never coded: the
            // finest step then (the caller asks for more components).
            let floor = (top / MAX_MAGNITUDE as f64).max(f64::MIN_POSITIVE).ln();
            let at = self.point_at(transformed, floor);
            let (ln_step, _, kept) = &self.points[at];
            return (ln_step.exp(), kept.clone());
        }
        let (floor, ceiling) = ((top / MAX_MAGNITUDE as f64).ln(), (4.0 * top).ln());
        let part = |p: Point| (p.1 - transformed.never_coded()).max(reachable * 1e-12);
        if self.points.is_empty() {
            let coefficients = transformed.coefficient_count().max(1) as f64;
            let guess = 0.5 * (12.0 * reachable / coefficients).ln();
            self.evaluate(transformed, guess.clamp(floor, ceiling));
        }
        let mut stalled = false;
        for _ in 0..SEARCH_STEPS {
            let best = self.closest(budget);
            if (self.points[best].1 / budget - 1.0).abs() < ESTIMATE_TOLERANCE {
                break;
            }
            let (below, above) = (self.nearest(budget, true), self.nearest(budget, false));
            let next = match (below, above) {
                (None, Some(above)) => (above.0 - 4f64.ln()).max(floor),
                (Some(below), None) => (below.0 + 4f64.ln()).min(ceiling),
                (Some(below), Some(above)) if stalled => 0.5 * (below.0 + above.0),
                (Some(below), Some(above)) => {
                    let (low, high) = (part(below).ln(), part(above).ln());
                    let t = (reachable.ln() - low) / (high - low);
                    // Off the ends, where regula falsi creeps.
                    below.0 + t.clamp(0.05, 0.95) * (above.0 - below.0)
                }
                (None, None) => unreachable!("a point was evaluated"),
            };
            if self.points.iter().any(|p| (p.0 - next).abs() < 1e-9) {
                break;
            }
            let width = self.bracket_width(budget);
            self.evaluate(transformed, next);
            stalled = self.bracket_width(budget) > 0.5 * width;
        }
        let (ln_step, _, kept) = &self.points[self.closest(budget)];
        (ln_step.exp(), kept.clone())
    }

    /// The index of the point at `ln_step`, evaluated if it is not yet.
    fn point_at(&mut self, transformed: &Transformed, ln_step: f64) -> usize {
        match self.points.iter().position(|p| p.0 == ln_step) {
            Some(i) => i,
            None => {
                self.evaluate(transformed, ln_step);
                self.points.len() - 1
            }
        }
    }

    /// The evaluated point whose error is nearest `budget` (relatively).
    fn closest(&self, budget: f64) -> usize {
        let miss = |p: &(f64, f64, Vec<usize>)| (p.1 / budget - 1.0).abs();
        (0..self.points.len())
            .min_by(|&a, &b| miss(&self.points[a]).total_cmp(&miss(&self.points[b])))
            .expect("a point")
    }

    /// The largest step at or under `budget` (`under`), or the smallest over it.
    fn nearest(&self, budget: f64, under: bool) -> Option<Point> {
        let side = self.points.iter().filter(|p| (p.1 <= budget) == under);
        let pick = |a: &&(f64, f64, Vec<usize>), b: &&(f64, f64, Vec<usize>)| a.0.total_cmp(&b.0);
        match under {
            true => side.max_by(pick),
            false => side.min_by(pick),
        }
        .map(|p| (p.0, p.1))
    }

    /// The width in `ln Δ` of the bracket around `budget` (infinite while one side is
    /// missing).
    fn bracket_width(&self, budget: f64) -> f64 {
        match (self.nearest(budget, true), self.nearest(budget, false)) {
            (Some(below), Some(above)) => above.0 - below.0,
            _ => f64::INFINITY,
        }
    }
}
