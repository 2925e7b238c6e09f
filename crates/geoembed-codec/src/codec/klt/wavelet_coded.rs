//! `klt` payload version 3 (docs/format.md §5.7.5–5.7.7): the principal components coded as
//! wavelet images, with quantised means and loadings, and its encoder's rate control.
//!
//! Why: version 1 stored the basis as binary32 (a tenth to a half of a file at 2.5–5%) and
//! coded the quantised component planes losslessly with spatial prediction, which spends
//! bits on every pixel. Here the means and loadings are quantised just finely enough for
//! the target (their error is a fraction of it), and each kept component is a 9/7 wavelet
//! image whose coefficients share one dead-zone quantiser step: at equal squared error,
//! that spends bits only where a coefficient is larger than the step (reverse water-filling
//! over coefficients rather than over whole components). A component whose coefficients
//! do not pay for its loadings is dropped.

use super::coefficients::{self, Decoded, PlaneShape, RateDistortion, MAX_MAGNITUDE};
use super::step_search::EstimateCurve;
use super::wavelet;
use super::{back_project, basis, Fitted, LossStats};
use crate::codec::TileShape;
use crate::entropy::varint::{put_u, Cursor};
use crate::error::{Error, Result};

/// The payload version (docs/format.md §5.7.5).
pub(crate) const VERSION: u8 = 3;
/// Quantiser dead zone: coefficients below `(1 − DEAD_ZONE_ROUNDING) Δ` are 0.
const DEAD_ZONE_ROUNDING: f64 = 0.4;
/// Out of the dead zone, `|q| = max(1, ⌊|c| / Δ + ROUNDING⌋)`.
const ROUNDING: f64 = 0.55;
/// Decoded magnitudes sit `BIAS / 256` of a step below the interval's top, nearer where
/// a peaked distribution's values are.
const BIAS: u8 = 16;
/// Rate-control passes after the model's estimate, each correcting by the measured error.
const PASSES: usize = 4;
/// Relative miss of the target at which rate control stops: a miss under the target
/// costs bytes (presto_s2 at 1%: 0.7% under was 2% larger than on target).
const GOOD_ENOUGH: f64 = 0.004;
/// Relative miss above which rate control tries again keeping every used component.
const ACCEPTABLE_MISS: f64 = 0.03;
/// The fewest components rate control considers at first ([`transformed_enough`]).
const FIRST_CANDIDATES: usize = 16;
/// Bits a kept component's loading costs, over the loading step's bits (a unit vector's
/// loadings are ~`1/√c`, so their high bits are free).
const LOADING_BITS_SAVED: f64 = 3.0;
/// Bits a nonzero coefficient costs, roughly (zero flag, sign, magnitude).
const NONZERO_BITS: f64 = 5.0;
/// Squared error saved per bit spent at the step `Δ`: `LAMBDA · Δ²` (the slope of a
/// uniform quantiser's distortion–rate curve, `2 ln 2 · Δ²/12`): what a component must save
/// to be kept, and what a ±1 must save to be coded rather than zeroed (0.06 and 0.2 were
/// both larger on presto_s2 and Jasper).
const LAMBDA: f64 = 0.1155;

/// Squared synthesis gains of the subbands (level 0 the finest; levels past 4 as 4), by
/// orientation HL, LH, HH; the low band's is `LOW_GAIN`. Measured on a 256 × 256 plane:
/// only the encoder's error estimate uses them, the passes then measure the real error.
const DETAIL_GAINS: [[f64; 3]; 5] = [
    [1.231, 0.835, 1.303],
    [1.056, 0.665, 0.991],
    [1.063, 0.640, 1.050],
    [1.048, 0.618, 1.065],
    [1.026, 0.600, 1.051],
];
const LOW_GAIN: f64 = 0.586;

/// Everything a version-3 payload holds before the refinement.
pub(super) struct WaveletModel {
    pub levels: u8,
    pub mean_step: f64,
    pub loading_bits: u8,
    pub step: f64,
    pub bias: u8,
    pub kept: usize,
    pub stream: Vec<u8>,
}

/// A coded tile: its model and what the decoder rebuilds (values as the sample type holds
/// them), with its figures.
pub(super) type Coded = (WaveletModel, Vec<f64>, LossStats);

impl WaveletModel {
    /// Writes version, counts and fields up to the stream (docs/format.md §5.7.5).
    pub(super) fn write(&self, bands: usize, refined: bool, out: &mut Vec<u8>) {
        out.push(VERSION);
        put_u(out, bands as u64);
        put_u(out, self.kept as u64);
        out.push(self.levels);
        out.extend_from_slice(&self.mean_step.to_le_bytes());
        out.push(self.loading_bits);
        out.extend_from_slice(&self.step.to_le_bytes());
        out.push(self.bias);
        out.push(refined as u8);
        put_u(out, self.stream.len() as u64);
        out.extend_from_slice(&self.stream);
    }

    /// Reads the fields after the version byte; returns the model and whether a
    /// refinement follows.
    pub(super) fn read(c: &mut Cursor, bands: usize) -> Result<(Self, bool)> {
        let stored = c.u("band count")?;
        if stored != bands as u64 {
            return Err(Error::corrupt(format!(
                "klt: {stored} bands for a tile of {bands}"
            )));
        }
        let kept = c.bounded("kept components", bands as u64)? as usize;
        let levels = c.bytes(1, "levels")?[0];
        if levels > wavelet::MAX_LEVELS {
            return Err(Error::corrupt(format!(
                "klt: {levels} wavelet levels (at most {})",
                wavelet::MAX_LEVELS
            )));
        }
        let mean_step = positive_f64(c, "mean step")?;
        let loading_bits = c.bytes(1, "loading bits")?[0];
        if loading_bits > 24 {
            return Err(Error::corrupt(format!(
                "klt: {loading_bits} loading bits (at most 24)"
            )));
        }
        let step = positive_f64(c, "coefficient step")?;
        let bias = c.bytes(1, "bias")?[0];
        if bias > 127 {
            return Err(Error::corrupt(format!("klt: bias {bias} above 127")));
        }
        let refined = match c.bytes(1, "refined flag")?[0] {
            0 => false,
            1 => true,
            other => return Err(Error::corrupt(format!("klt: refined flag {other}"))),
        };
        let left = (c.data.len() - c.pos) as u64;
        let length = c.bounded("stream length", left)? as usize;
        let stream = c.bytes(length, "stream")?.to_vec();
        let model = WaveletModel {
            levels,
            mean_step,
            loading_bits,
            step,
            bias,
            kept,
            stream,
        };
        Ok((model, refined))
    }

    /// Decodes the stream and rebuilds the tile's values, calling `emit` per pixel with
    /// its values as the sample type holds them.
    pub(super) fn rebuild(&self, shape: &TileShape, emit: impl FnMut(&[f64])) -> Result<()> {
        let decoded =
            coefficients::decode(&self.stream, shape.bands, self.kept, self.planes(shape))?;
        self.rebuild_from(&decoded, shape, emit);
        Ok(())
    }

    fn planes(&self, shape: &TileShape) -> PlaneShape {
        PlaneShape {
            height: shape.height,
            width: shape.width,
            levels: self.levels,
        }
    }

    /// [`WaveletModel::rebuild`] from what the stream holds: the encoder's rate control
    /// rebuilds from what it coded, without decoding it again (what a reader decodes is
    /// the same, or the tile's checksum fails).
    fn rebuild_from(
        &self,
        decoded: &coefficients::Decoded,
        shape: &TileShape,
        emit: impl FnMut(&[f64]),
    ) {
        let planes = self.planes(shape);
        let means: Vec<f64> = decoded
            .means
            .iter()
            .map(|&m| m as f64 * self.mean_step)
            .collect();
        let loading_step = loading_step(self.loading_bits);
        let loadings: Vec<f64> = decoded
            .loadings
            .iter()
            .map(|&l| l as f64 * loading_step)
            .collect();
        let components = self.components(&decoded.planes, planes);
        let pixels = shape.pixels();
        back_project(
            &means,
            &loadings,
            self.kept,
            shape,
            |p, k| components[k * pixels + p],
            emit,
        );
    }

    /// The component planes: dequantised coefficients, inverse-transformed.
    fn components(&self, quantised: &[i32], planes: PlaneShape) -> Vec<f64> {
        let pixels = planes.height * planes.width;
        let offset = self.bias as f64 / 256.0;
        let mut values: Vec<f64> = quantised
            .iter()
            .map(|&q| dequantise(q, self.step, offset))
            .collect();
        for plane in values.chunks_exact_mut(pixels.max(1)) {
            wavelet::inverse(plane, planes.height, planes.width, planes.levels);
        }
        values
    }
}

/// `0` for `q = 0`, else `sign(q) · ((|q| − offset) · Δ)`.
fn dequantise(q: i32, step: f64, offset: f64) -> f64 {
    match q {
        0 => 0.0,
        _ => {
            let magnitude = (q.unsigned_abs() as f64 - offset) * step;
            if q < 0 {
                -magnitude
            } else {
                magnitude
            }
        }
    }
}

fn loading_step(bits: u8) -> f64 {
    1.0 / (1u64 << bits) as f64
}

fn positive_f64(c: &mut Cursor, field: &str) -> Result<f64> {
    let v = f64::from_le_bytes(c.bytes(8, field)?.try_into().expect("8 bytes"));
    match v.is_finite() && v > 0.0 {
        true => Ok(v),
        false => Err(Error::corrupt(format!("klt: {field} {v} is not positive"))),
    }
}

/// The loading bits for a target: the loadings' rounding turns the basis by about
/// `2^−b · √(c/12)`, which should cost a fifth of the target at most.
fn loading_bits_for(bands: usize, rel_rmse: f64) -> u8 {
    let needed = (5.0 * (bands as f64 / 12.0).sqrt() / rel_rmse)
        .log2()
        .ceil();
    needed.clamp(4.0, 24.0) as u8
}

/// The squared synthesis gain of each coefficient position (the encoder's estimate).
fn gain_map(height: usize, width: usize, levels: u8) -> Vec<f64> {
    let mut gains = vec![LOW_GAIN; height * width];
    for band in wavelet::subbands(height, width, levels) {
        if band.orientation == 0 {
            continue;
        }
        let gain = DETAIL_GAINS[(band.level as usize).min(4)][band.orientation as usize - 1];
        for y in band.rect.y0..band.rect.y1 {
            gains[y * width + band.rect.x0..y * width + band.rect.x1].fill(gain);
        }
    }
    gains
}

/// A tile's wavelet coefficients on its quantised basis, and what rate control needs.
pub(super) struct Transformed {
    levels: u8,
    mean_step: f64,
    means: Vec<i64>,
    loading_bits: u8,
    /// `bands × bands` quantised loadings, component-major.
    loadings: Vec<i32>,
    /// Component-major wavelet coefficients of every candidate component (the leading
    /// ones, see [`transformed_enough`]).
    coefficients: Vec<f64>,
    /// Pixels of the tile (at least 1): the length of one component's coefficients.
    pixels: usize,
    gains: Vec<f64>,
    /// Per candidate component, the gain-weighted energy and the largest |coefficient|.
    energy: Vec<f64>,
    max_abs: Vec<f64>,
    /// The energy of the components past the candidates (never coded).
    tail: f64,
    /// The squared error the target allows: `R² ‖x‖²`.
    budget: f64,
}

impl Transformed {
    /// The tile's quantised means and loadings, with no component projected yet.
    fn new(shape: &TileShape, fitted: &Fitted, rel_rmse: f64) -> Self {
        let (bands, pixels) = (shape.bands, shape.pixels());
        let values = fitted.values;
        let norm2: f64 = values.iter().map(|v| v * v).sum();
        let rms = (norm2 / values.len().max(1) as f64).sqrt();
        let largest_mean = fitted
            .basis
            .means
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        let mean_step = (rel_rmse * rms / 64.0).max(largest_mean / (1u64 << 29) as f64);
        let mean_step = if mean_step > 0.0 { mean_step } else { 1.0 };
        let means: Vec<i64> = fitted
            .basis
            .means
            .iter()
            .map(|m| (m / mean_step).round() as i64)
            .collect();
        let loading_bits = loading_bits_for(bands, rel_rmse);
        let scale = (1u64 << loading_bits) as f64;
        let loadings: Vec<i32> = fitted
            .basis
            .components
            .iter()
            .map(|&v| (v as f64 * scale).round() as i32)
            .collect();
        let levels = wavelet::encoder_levels(shape.height, shape.width);
        Transformed {
            levels,
            mean_step,
            means,
            loading_bits,
            loadings,
            coefficients: Vec::new(),
            pixels: pixels.max(1),
            gains: gain_map(shape.height, shape.width, levels),
            energy: Vec::new(),
            max_abs: Vec::new(),
            tail: fitted.basis.energies.iter().sum(),
            budget: rel_rmse * rel_rmse * norm2,
        }
    }

    /// How many leading components are projected.
    fn candidates(&self) -> usize {
        self.energy.len()
    }

    /// The largest |coefficient| of the projected components.
    pub(super) fn largest_coefficient(&self) -> f64 {
        self.max_abs.iter().fold(0.0f64, |m, &v| m.max(v))
    }

    /// The squared error of the components never projected (they are never coded).
    pub(super) fn never_coded(&self) -> f64 {
        self.tail
    }

    /// How many coefficients the projected components have.
    pub(super) fn coefficient_count(&self) -> usize {
        self.coefficients.len()
    }

    /// Projects and transforms the components up to the `count`-th (more than
    /// [`Transformed::candidates`]), on the quantised basis.
    fn extend(&mut self, shape: &TileShape, fitted: &Fitted, count: usize) {
        let (bands, first) = (shape.bands, self.candidates());
        let scale = (1u64 << self.loading_bits) as f64;
        let quantised = basis::Basis {
            means: self
                .means
                .iter()
                .map(|&m| m as f64 * self.mean_step)
                .collect(),
            components: self.loadings[first * bands..count * bands]
                .iter()
                .map(|&l| (l as f64 / scale) as f32)
                .collect(),
            energies: Vec::new(),
        };
        let mut coefficients = basis::project(fitted.values, bands, &quantised);
        for plane in coefficients.chunks_exact_mut(self.pixels) {
            wavelet::forward(plane, shape.height, shape.width, self.levels);
            let energy: f64 = plane.iter().zip(&self.gains).map(|(v, g)| v * v * g).sum();
            self.energy.push(energy);
            self.max_abs
                .push(plane.iter().fold(0.0f64, |m, v| m.max(v.abs())));
        }
        self.coefficients.extend_from_slice(&coefficients);
        self.tail = fitted.basis.energies[count..].iter().sum();
    }

    /// At step `Δ`: which components are kept and the estimated squared error. With
    /// `drop`, a component whose saved error does not pay for its estimated bits is
    /// dropped; without, every component with a nonzero coefficient is kept.
    pub(super) fn estimate(&self, step: f64, bands: usize, drop: bool) -> (Vec<usize>, f64) {
        let offset = BIAS as f64 / 256.0;
        let lambda = LAMBDA * step * step;
        let loading_cost = bands as f64 * (self.loading_bits as f64 - LOADING_BITS_SAVED).max(1.0);
        let mut kept = Vec::new();
        let mut error = self.tail;
        for (k, plane) in self.coefficients.chunks_exact(self.pixels).enumerate() {
            if self.max_abs[k] / step + DEAD_ZONE_ROUNDING < 1.0 {
                error += self.energy[k];
                continue;
            }
            let (saved, nonzero) = saved_by_quantising(plane, &self.gains, step, offset);
            let quantised = self.energy[k] - saved;
            let cost = match drop {
                true => lambda * (loading_cost + nonzero as f64 * NONZERO_BITS),
                false => 0.0,
            };
            if nonzero > 0 && saved > cost {
                kept.push(k);
                error += quantised;
            } else {
                error += self.energy[k];
            }
        }
        (kept, error)
    }

    /// The model of step `Δ` keeping the components `kept`, with its stream coded, and
    /// what the stream holds: the quantised coefficients, but for the ±1s the coder found
    /// cheaper as 0 ([`RateDistortion`]).
    fn model(&self, shape: &TileShape, step: f64, kept: &[usize]) -> (WaveletModel, Decoded) {
        let pixels = self.pixels;
        let mut planes = Vec::with_capacity(kept.len() * pixels);
        let mut loadings = Vec::with_capacity(kept.len() * shape.bands);
        let mut coefficients = Vec::with_capacity(kept.len());
        for &k in kept {
            let plane = &self.coefficients[k * pixels..(k + 1) * pixels];
            planes.extend(plane.iter().map(|&c| quantise(c, step)));
            coefficients.push(plane);
            loadings.extend_from_slice(&self.loadings[k * shape.bands..(k + 1) * shape.bands]);
        }
        let plane_shape = PlaneShape {
            height: shape.height,
            width: shape.width,
            levels: self.levels,
        };
        let choices = RateDistortion {
            coefficients,
            step,
            gains: &self.gains,
            offset: BIAS as f64 / 256.0,
            lambda: LAMBDA,
        };
        let stream = coefficients::encode(
            &self.means,
            &loadings,
            &mut planes,
            plane_shape,
            Some(&choices),
        );
        let model = WaveletModel {
            levels: self.levels,
            mean_step: self.mean_step,
            loading_bits: self.loading_bits,
            step,
            bias: BIAS,
            kept: kept.len(),
            stream,
        };
        let coded = Decoded {
            means: self.means.clone(),
            loadings,
            planes,
        };
        (model, coded)
    }
}

/// The gain-weighted squared error that quantising `plane` at `step` saves over dropping
/// it, and its nonzero count. Only coefficients out of the dead zone (`|c| ≥ 0.6 Δ`)
/// change anything, and they are few at the steps of interest, so the rest cost one
/// comparison (no division: this loop runs over every coefficient per evaluation).
fn saved_by_quantising(plane: &[f64], gains: &[f64], step: f64, offset: f64) -> (f64, usize) {
    let threshold = (1.0 - DEAD_ZONE_ROUNDING) * step;
    let inverse = 1.0 / step;
    let (mut saved, mut nonzero) = (0.0, 0usize);
    for (&c, &g) in plane.iter().zip(gains) {
        let magnitude = c.abs();
        if magnitude >= threshold {
            let q = magnitude_out_of_dead_zone(magnitude * inverse) as f64;
            let error = magnitude - (q - offset) * step;
            saved += g * (magnitude * magnitude - error * error);
            nonzero += 1;
        }
    }
    (saved, nonzero)
}

/// `0` in the dead zone, else `sign(c) · max(1, ⌊|c| / Δ + ROUNDING⌋)`, within the
/// stream's magnitudes.
fn quantise(c: f64, step: f64) -> i32 {
    let ratio = c.abs() / step;
    if ratio + DEAD_ZONE_ROUNDING < 1.0 {
        return 0;
    }
    let magnitude = magnitude_out_of_dead_zone(ratio);
    if c < 0.0 {
        -magnitude
    } else {
        magnitude
    }
}

/// The quantised magnitude of a coefficient `ratio` steps from 0, out of the dead zone:
/// `max(1, ⌊ratio + ROUNDING⌋)`, within the stream's magnitudes.
fn magnitude_out_of_dead_zone(ratio: f64) -> i32 {
    // Truncation is ⌊⌋ for a positive value (and much cheaper than a libm `floor` call).
    ((ratio + ROUNDING).min(MAX_MAGNITUDE as f64) as i32).max(1)
}

/// Codes the tile to `rel_rmse`: the step from the estimate, then corrected by the error
/// of what the decoder rebuilds until within [`GOOD_ENOUGH`] (the best pass is kept).
///
/// Why a second try: dropping a whole component is a jump in the error, and a target
/// between two such jumps may be missed by far; keeping every component that has a
/// nonzero coefficient makes the error follow the step closely, at some bytes.
pub(super) fn code(shape: &TileShape, fitted: &Fitted, rel_rmse: f64) -> Result<Coded> {
    let (transformed, curve) = transformed_enough(shape, fitted, rel_rmse);
    let (miss, coded) = rate_controlled(shape, fitted.values, &transformed, curve)?;
    if miss <= ACCEPTABLE_MISS {
        return Ok(coded);
    }
    let keeping_all = EstimateCurve::new(shape.bands, false);
    let (other_miss, other) = rate_controlled(shape, fitted.values, &transformed, keeping_all)?;
    Ok(if other_miss < miss { other } else { coded })
}

/// The tile on enough leading components: from twice those whose energy is above 1/64 of
/// the error budget (at least [`FIRST_CANDIDATES`]), doubled while the
/// estimate at the target keeps any of the last quarter of them (components come by
/// decreasing energy, and one that cannot pay for its loadings is followed by weaker
/// ones). Projecting and transforming every component was most of the encoder's time at
/// mid rates: presto_s2 at 5% kept 8 of 128. With the tile, the estimate (dropping
/// components) as the last check evaluated it, where rate control's first pass starts.
fn transformed_enough(
    shape: &TileShape,
    fitted: &Fitted,
    rel_rmse: f64,
) -> (Transformed, EstimateCurve) {
    let mut transformed = Transformed::new(shape, fitted, rel_rmse);
    let target = transformed.budget;
    // Kept components were about 1.4 times those of energy above 1/64 of the budget
    // on presto_s2 at 1–10%.
    let strong = fitted
        .basis
        .energies
        .iter()
        .filter(|&&e| e >= target / 64.0)
        .count();
    let mut candidates = shape.bands.min((2 * strong).max(FIRST_CANDIDATES));
    loop {
        transformed.extend(shape, fitted, candidates);
        let mut curve = EstimateCurve::new(shape.bands, true);
        if candidates == shape.bands {
            return (transformed, curve);
        }
        let (_, kept) = curve.step_for(&transformed, target);
        if kept.iter().all(|&k| k < candidates - candidates / 4) {
            return (transformed, curve);
        }
        candidates = shape.bands.min(2 * candidates);
    }
}

/// Codes `transformed` in passes along `curve` (its estimate, dropping components or not),
/// each correcting the budget by the error of what the decoder rebuilds; the pass nearest
/// the target and how far it is from it.
fn rate_controlled(
    shape: &TileShape,
    values: &[f64],
    transformed: &Transformed,
    mut curve: EstimateCurve,
) -> Result<(f64, Coded)> {
    let target = transformed.budget;
    let miss = |error: f64| match target {
        t if t > 0.0 => ((error / t).sqrt() - 1.0).abs(),
        _ => error,
    };
    let mut budget = target;
    let mut best: Option<(f64, Coded)> = None;
    let mut coded_already: Vec<(f64, Vec<usize>)> = Vec::new();
    for _ in 0..PASSES {
        let (step, kept) = curve.step_for(transformed, budget);
        // A corrected budget can land on a point already coded (the curve's nearest
        // evaluated point): coding it again would give the same bytes and error.
        if coded_already.iter().any(|(s, k)| *s == step && *k == kept) {
            break;
        }
        coded_already.push((step, kept.clone()));
        let (model, coded) = transformed.model(shape, step, &kept);
        let mut decoded = Vec::with_capacity(values.len());
        model.rebuild_from(&coded, shape, |pixel| decoded.extend_from_slice(pixel));
        let stats = LossStats::measure(values, &decoded, shape.bands);
        let error = stats.squared_error;
        let this_miss = miss(error);
        let done = this_miss < GOOD_ENOUGH || error <= 0.0;
        if best.as_ref().is_none_or(|(m, _)| this_miss < *m) {
            best = Some((this_miss, (model, decoded, stats)));
        }
        if done {
            break;
        }
        budget *= target / error;
    }
    Ok(best.expect("at least one pass"))
}
