//! The range-coded stream of a wavelet `klt` tile (payload version 3, docs/format.md
//! §5.7.6): the quantised band means, the quantised loadings of the kept components, and
//! every kept component's quantised wavelet coefficients.
//!
//! Why these contexts: a coefficient is likely zero where its already-coded neighbours in
//! the same subband, its parent one level coarser and the same position in the components
//! before it are zero (edges and textures line up across scales and across components of
//! the same scene), so the zero flag and the magnitude's exponent are coded in a context of
//! the subband's level, the neighbourhood's activity and that running cross-component
//! magnitude. Subbands that quantise to nothing cost one flag.

use super::wavelet::{self, Subband};
use crate::entropy::binary::{BitModel, MagnitudeModel, RangeDecoder, RangeEncoder};
use crate::error::{Error, Result};

/// Level classes: the low band, the finest level, the next, and everything coarser.
const LEVEL_CLASSES: usize = 4;
/// Activity classes: `min(bit length of the neighbourhood's weighted magnitudes, 11)`.
const ACTIVITY_CLASSES: usize = 12;
/// Cross-component classes: `min(bit length of the running magnitude, 3)`.
const ACROSS_CLASSES: usize = 4;
const CONTEXTS: usize = LEVEL_CLASSES * ACTIVITY_CLASSES * ACROSS_CLASSES;
/// Largest magnitude of a quantised coefficient, mean or loading.
pub(super) const MAX_MAGNITUDE: u32 = (1 << 30) - 1;

/// A zero flag and a magnitude model: how one context codes a signed integer.
#[derive(Clone, Debug, Default)]
struct SignedModel {
    zero: BitModel,
    magnitude: MagnitudeModel,
}

/// The tile's planes: `kept` components of `height × width` coefficients, component-major,
/// each in the wavelet's Mallat layout.
#[derive(Clone, Copy, Debug)]
pub(super) struct PlaneShape {
    pub height: usize,
    pub width: usize,
    pub levels: u8,
}

/// Every adaptive model of one stream, in the state both ends share.
struct Models {
    means: SignedModel,
    loadings: SignedModel,
    coefficients: Vec<SignedModel>,
    /// Per subband index (coding order), whether the subband has a nonzero coefficient.
    subband_used: Vec<BitModel>,
}

impl Models {
    fn new(levels: u8) -> Self {
        Models {
            means: SignedModel::default(),
            loadings: SignedModel::default(),
            coefficients: vec![SignedModel::default(); CONTEXTS],
            subband_used: vec![BitModel::default(); 3 * levels as usize + 1],
        }
    }
}

fn bit_length(v: u64) -> usize {
    (64 - v.leading_zeros()) as usize
}

/// The parent of each subband: the same orientation one level coarser (none for the low
/// band and the coarsest details), as an index into the coding order.
fn parents(bands: &[Subband]) -> Vec<Option<usize>> {
    bands
        .iter()
        .map(|b| {
            bands.iter().position(|p| {
                b.orientation != 0 && p.orientation == b.orientation && p.level == b.level + 1
            })
        })
        .collect()
}

/// Where a coefficient's context comes from: the magnitudes coded so far in this plane,
/// and the running magnitude over earlier components.
struct Neighbourhood<'a> {
    magnitudes: &'a [u32],
    running: &'a [u32],
    width: usize,
}

impl Neighbourhood<'_> {
    fn at(&self, y: usize, x: usize) -> u64 {
        self.magnitudes[y * self.width + x] as u64
    }

    /// The context of the coefficient at `(y, x)` of `band` (docs/format.md §5.7.6).
    fn context(&self, band: &Subband, parent: Option<&Subband>, y: usize, x: usize) -> usize {
        let r = band.rect;
        let mut activity = 0u64;
        if y > r.y0 {
            activity += 4 * self.at(y - 1, x);
            if x > r.x0 {
                activity += 2 * self.at(y - 1, x - 1);
            }
            if x + 1 < r.x1 {
                activity += 2 * self.at(y - 1, x + 1);
            }
            if y > r.y0 + 1 {
                activity += self.at(y - 2, x);
            }
        }
        if x > r.x0 {
            activity += 4 * self.at(y, x - 1);
            if x > r.x0 + 1 {
                activity += self.at(y, x - 2);
            }
        }
        if let Some(p) = parent.map(|p| p.rect).filter(|p| !p.is_empty()) {
            let py = p.y0 + ((y - r.y0) / 2).min(p.y1 - p.y0 - 1);
            let px = p.x0 + ((x - r.x0) / 2).min(p.x1 - p.x0 - 1);
            activity += 2 * self.at(py, px);
        }
        let level = match band.orientation {
            0 => 0,
            _ => (1 + band.level as usize).min(LEVEL_CLASSES - 1),
        };
        let activity = bit_length(activity).min(ACTIVITY_CLASSES - 1);
        let across = bit_length(self.running[y * self.width + x] as u64).min(ACROSS_CLASSES - 1);
        (level * ACTIVITY_CLASSES + activity) * ACROSS_CLASSES + across
    }
}

/// After a component: `running = (running + 2|q|) / 2`, saturating.
fn update_running(running: &mut [u32], magnitudes: &[u32]) {
    for (r, &m) in running.iter_mut().zip(magnitudes) {
        *r = ((*r as u64 + 2 * m as u64) / 2).min(u32::MAX as u64) as u32;
    }
}

/// Codes the means (as differences from the previous band's), the loadings and the
/// planes (`kept × height × width`, component-major).
pub(super) fn encode(
    means: &[i64],
    loadings: &[i32],
    planes: &mut [i32],
    shape: PlaneShape,
    choices: Option<&RateDistortion>,
) -> Vec<u8> {
    let mut models = Models::new(shape.levels);
    let mut coder = RangeEncoder::default();
    let mut previous = 0i64;
    for &m in means {
        let delta = (m - previous) as i32;
        coder.signed(&mut models.means.zero, &mut models.means.magnitude, delta);
        previous = m;
    }
    for &l in loadings {
        coder.signed(&mut models.loadings.zero, &mut models.loadings.magnitude, l);
    }
    let bands = wavelet::subbands(shape.height, shape.width, shape.levels);
    let parents = parents(&bands);
    let pixels = shape.height * shape.width;
    let mut running = vec![0u32; pixels];
    let mut magnitudes = vec![0u32; pixels];
    for (component, plane) in planes.chunks_exact_mut(pixels.max(1)).enumerate() {
        for (m, q) in magnitudes.iter_mut().zip(plane.iter()) {
            *m = q.unsigned_abs();
        }
        for (i, band) in bands.iter().enumerate() {
            let r = band.rect;
            let used = (r.y0..r.y1).any(|y| {
                plane[y * shape.width + r.x0..y * shape.width + r.x1]
                    .iter()
                    .any(|&q| q != 0)
            });
            coder.bit(&mut models.subband_used[i], used);
            if !used {
                continue;
            }
            let parent = parents[i].map(|p| &bands[p]);
            for y in r.y0..r.y1 {
                for x in r.x0..r.x1 {
                    let at = y * shape.width + x;
                    let around = Neighbourhood {
                        magnitudes: &magnitudes,
                        running: &running,
                        width: shape.width,
                    };
                    let model = &mut models.coefficients[around.context(band, parent, y, x)];
                    let value = match choices {
                        Some(rd) => rd.cheaper(component, at, plane[at], model),
                        None => plane[at],
                    };
                    coder.signed(&mut model.zero, &mut model.magnitude, value);
                    if value != plane[at] {
                        plane[at] = value;
                        magnitudes[at] = value.unsigned_abs();
                    }
                }
            }
        }
        update_running(&mut running, &magnitudes);
    }
    coder.finish()
}

/// The encoder's licence to code a magnitude one step nearer 0 (a ±1 as 0) where that
/// lowers `distortion + λ · bits`, with the bits the adaptive models would spend right
/// there (greedy rate–distortion optimised quantisation). The decoder needs nothing of it:
/// it reads the values coded.
pub(super) struct RateDistortion<'a> {
    /// The unquantised coefficients of each kept component (value units: `step` is one).
    pub coefficients: Vec<&'a [f64]>,
    pub step: f64,
    /// The squared synthesis gain of each position of a plane.
    pub gains: &'a [f64],
    /// Where a magnitude `m ≥ 1` decodes: `m − offset` steps.
    pub offset: f64,
    /// Squared error (in steps²) a bit is worth.
    pub lambda: f64,
}

impl RateDistortion<'_> {
    /// `value`, or the magnitude one step nearer 0 where that costs less.
    fn cheaper(&self, component: usize, at: usize, value: i32, model: &SignedModel) -> i32 {
        let magnitude = value.unsigned_abs();
        if magnitude == 0 {
            return value;
        }
        let ratio = self.coefficients[component][at].abs() / self.step;
        let squared_error = |m: u32| {
            let rebuilt = if m == 0 { 0.0 } else { m as f64 - self.offset };
            (ratio - rebuilt) * (ratio - rebuilt)
        };
        let error_added =
            self.gains[at] * (squared_error(magnitude - 1) - squared_error(magnitude));
        // Only what differs between the two codings is costed: the zero flag and sign
        // for a ±1, the magnitude's bits otherwise.
        let bits_saved = match magnitude {
            1 => model.zero.cost(true) + 1.0 + model.magnitude.cost(1) - model.zero.cost(false),
            _ => model.magnitude.cost_over_one_less(magnitude),
        };
        if error_added < self.lambda * bits_saved {
            value.signum() * (magnitude as i32 - 1)
        } else {
            value
        }
    }
}

/// What [`decode`] rebuilds.
pub(super) struct Decoded {
    pub means: Vec<i64>,
    pub loadings: Vec<i32>,
    pub planes: Vec<i32>,
}

fn checked_magnitude(v: i32, field: &str) -> Result<i32> {
    match v.unsigned_abs() <= MAX_MAGNITUDE {
        true => Ok(v),
        false => Err(Error::corrupt(format!("klt: a {field} exceeds 2^30 − 1"))),
    }
}

/// Decodes `bands` means, `kept × bands` loadings and `kept` planes.
pub(super) fn decode(data: &[u8], bands: usize, kept: usize, shape: PlaneShape) -> Result<Decoded> {
    let mut models = Models::new(shape.levels);
    let mut coder = RangeDecoder::new(data);
    let mut means = Vec::with_capacity(bands);
    let mut previous = 0i64;
    for _ in 0..bands {
        let delta = coder.signed(&mut models.means.zero, &mut models.means.magnitude);
        previous += checked_magnitude(delta, "mean difference")? as i64;
        means.push(previous);
    }
    let mut loadings = Vec::with_capacity(kept * bands);
    for _ in 0..kept * bands {
        let l = coder.signed(&mut models.loadings.zero, &mut models.loadings.magnitude);
        loadings.push(checked_magnitude(l, "loading")?);
    }
    let bands_of_plane = wavelet::subbands(shape.height, shape.width, shape.levels);
    let parents = parents(&bands_of_plane);
    let pixels = shape.height * shape.width;
    let mut planes = vec![0i32; kept * pixels];
    let mut running = vec![0u32; pixels];
    let mut magnitudes = vec![0u32; pixels];
    for plane in planes.chunks_exact_mut(pixels.max(1)) {
        magnitudes.iter_mut().for_each(|m| *m = 0);
        for (i, band) in bands_of_plane.iter().enumerate() {
            if !coder.bit(&mut models.subband_used[i]) {
                continue;
            }
            let parent = parents[i].map(|p| &bands_of_plane[p]);
            let r = band.rect;
            for y in r.y0..r.y1 {
                for x in r.x0..r.x1 {
                    let around = Neighbourhood {
                        magnitudes: &magnitudes,
                        running: &running,
                        width: shape.width,
                    };
                    let model = &mut models.coefficients[around.context(band, parent, y, x)];
                    let q = checked_magnitude(
                        coder.signed(&mut model.zero, &mut model.magnitude),
                        "coefficient",
                    )?;
                    plane[y * shape.width + x] = q;
                    magnitudes[y * shape.width + x] = q.unsigned_abs();
                }
            }
        }
        update_running(&mut running, &magnitudes);
    }
    coder.finish("klt")?;
    Ok(Decoded {
        means,
        loadings,
        planes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_values_the_coder_lowers_are_what_the_decoder_reads() {
        let shape = PlaneShape {
            height: 24,
            width: 20,
            levels: 2,
        };
        let pixels = shape.height * shape.width;
        // Two components: scattered ±1s (most dear to code alone) among larger values.
        let coefficients: Vec<f64> = (0..2 * pixels)
            .map(|i| match i % 13 {
                0 => 0.65,
                5 => -0.9,
                7 => 3.3,
                _ => 0.1,
            })
            .collect();
        let step = 1.0;
        let quantised: Vec<i32> = coefficients
            .iter()
            .map(|&c| match c.abs() {
                a if a < 0.6 => 0,
                a => (c.signum() * (a + 0.55).floor()) as i32,
            })
            .collect();
        let choices = RateDistortion {
            coefficients: coefficients.chunks_exact(pixels).collect(),
            step,
            gains: &vec![1.0; pixels],
            offset: 16.0 / 256.0,
            lambda: 0.1155,
        };
        let (means, loadings) = (vec![3i64, -2], vec![100, -50, 25, 12]);
        let mut planes = quantised.clone();
        let stream = encode(&means, &loadings, &mut planes, shape, Some(&choices));
        let zeroed = quantised
            .iter()
            .zip(&planes)
            .filter(|(q, p)| q != p)
            .count();
        assert!(zeroed > 0, "no ±1 was worth zeroing");
        assert!(quantised
            .iter()
            .zip(&planes)
            .all(|(&q, &p)| p == q || (q.abs() == 1 && p == 0)));
        let decoded = decode(&stream, 2, 2, shape).unwrap();
        assert_eq!(decoded.planes, planes);
        assert_eq!((decoded.means, decoded.loadings), (means, loadings));
        let mut unchanged = quantised.clone();
        let plain = encode(&[3, -2], &[100, -50, 25, 12], &mut unchanged, shape, None);
        assert_eq!(unchanged, quantised);
        assert!(
            stream.len() < plain.len(),
            "{} {}",
            stream.len(),
            plain.len()
        );
    }
}
