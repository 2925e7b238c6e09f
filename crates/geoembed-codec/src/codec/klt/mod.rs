//! The `klt` codec (id 10, docs/format.md §5.7): LOSSY transform coding of many-band tiles
//! to a target relative RMSE `R = ||x − x̂|| / ||x||` over the tile.
//!
//! Why: embeddings and hyperspectral cubes are highly redundant across bands; a lossless
//! codec must code every band's noise, while a rotation onto the tile's principal
//! components ([`basis`]) leaves a few strong components and many weak ones. Each kept
//! component is then coded as a wavelet image ([`wavelet_coded`], payload version 3):
//! one dead-zone step over every coefficient spends bits only where the error budget
//! needs them. Versions 1 and 2 (quantised planes through the native codec) are still read.
//!
//! The decoder back-projects in binary64 in a fixed order (component by component, band
//! by band) and rounds once to the tile's sample type, so every reader rebuilds the same
//! samples; the encoder measures its error ([`quality`]) on exactly those samples.
//!
//! With a near-lossless bound beside the target, the transform's samples are then refined
//! ([`refine`]) so that every one is within the bound: the transform codes most of the
//! tile, a correction tile the samples it missed by more than the bound (version 3 with
//! its refined flag set, or version 2 from earlier writers).

mod basis;
mod coefficients;
mod pixel_block;
mod quality;
mod refine;
mod step_search;
mod wavelet;
mod wavelet_coded;

use super::native;
use super::{Effort, TileShape};
use crate::entropy::varint::Cursor;
use crate::error::{Error, Result};
use crate::sample::SampleType;
use basis::Basis;
pub use quality::LossStats;
pub(crate) use refine::RefineBounds;
use refine::Refinement;
use wavelet_coded::WaveletModel;

/// Payload version of tiles coded to a target alone with natively coded planes (docs/
/// format.md §5.7.1; read, no longer written).
const VERSION: u8 = 1;
/// Payload version 1 refined to a near-lossless bound (docs/format.md §5.7.3; read).
pub(crate) const VERSION_REFINED: u8 = 2;
/// Payload version of wavelet-coded components (docs/format.md §5.7.5), refined or not.
pub(crate) const VERSION_WAVELET: u8 = wavelet_coded::VERSION;
/// Fewest bands the transform is used for: with one band there is nothing to rotate.
pub const MIN_BANDS: usize = 2;

/// A tile as the decoder rebuilds it, and how far it is from the values it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct KltTile {
    /// The decoded samples (what the tile's `raw_crc` covers).
    pub samples: Vec<u8>,
    /// Errors and cosine similarities against the source values.
    pub stats: LossStats,
    /// A tile refined to a near-lossless bound: per band, the largest `|x − x̂|` (empty:
    /// the tile has no refinement).
    pub max_error: Vec<f64>,
}

/// What the payload holds besides the planes.
#[derive(Clone, Debug)]
struct Model {
    means: Vec<f64>,
    steps: Vec<f64>,
    /// `steps.len() × bands` loadings, component-major.
    basis: Vec<f32>,
}

/// Why a tile of `shape` cannot be coded to `rel_rmse`, before any work.
pub fn check_request(bands: usize, rel_rmse: f64) -> Result<()> {
    if !(rel_rmse > 0.0 && rel_rmse < 1.0) {
        return Err(Error::invalid(format!(
            "a relative RMSE target must be above 0 and below 1 (0.05 is 5%), not {rel_rmse}"
        )));
    }
    if bands < MIN_BANDS {
        return Err(Error::invalid(format!(
            "the klt transform needs at least {MIN_BANDS} bands to rotate; this raster has {bands}"
        )));
    }
    Ok(())
}

/// Encodes a tile so that its relative RMSE is `rel_rmse` (within about 1% where the
/// tile allows it; a tile whose every component fits the budget is coded as its means),
/// and with `bounds`, refines it so that every sample is within its band's bound
/// ([`encode_refined`]); either way the payload is version 3.
pub(super) fn encode(
    shape: &TileShape,
    samples: &[u8],
    effort: Effort,
    rel_rmse: f64,
    bounds: Option<&RefineBounds>,
) -> Result<(Vec<u8>, KltTile)> {
    check_request(shape.bands, rel_rmse)?;
    let values = shape.sample_type.values_f64(samples);
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "klt: the tile holds NaN or infinite values, which a transform cannot represent; \
             convert it losslessly",
        ));
    }
    let fitted = Fitted::new(shape, &values);
    if let Some(bounds) = bounds {
        return encode_refined(shape, samples, &fitted, (effort, rel_rmse), bounds);
    }
    let (model, decoded, stats) = wavelet_coded::code(shape, &fitted, rel_rmse)?;
    let mut payload = Vec::new();
    model.write(shape.bands, false, &mut payload);
    let mut out = Vec::with_capacity(samples.len());
    decoded
        .iter()
        .for_each(|&v| push_sample(shape.sample_type, v, &mut out));
    Ok((
        payload,
        KltTile {
            samples: out,
            stats,
            max_error: Vec::new(),
        },
    ))
}

/// Transform targets a refined tile tries at each effort: `R`, then each half the last.
fn refined_targets(effort: Effort) -> usize {
    match effort {
        Effort::Fast => 1,
        Effort::Default => 3,
        Effort::Max => 4,
    }
}

/// The transform's reconstruction refined to `bounds` ([`refine`]).
///
/// Why it may code the transform closer than the target: the bound, not the target, sets
/// what the corrections cost. Where a transform at `R` misses the bound often, one at
/// `R/2` costs less than the corrections it saves (the real Presto crop's int8 codes
/// within 2 at 5%: 26.7 kB at `R`, 14.3 kB at `R/2`); where the bound is loose, `R` is
/// smallest. Targets `R`, `R/2`, ... are tried ([`refined_targets`]) until the payload
/// stops shrinking, and the smallest is kept: its relative RMSE is at most its target's
/// (the refinement moves no sample away from the source), so at most `R`'s.
fn encode_refined(
    shape: &TileShape,
    samples: &[u8],
    fitted: &Fitted,
    (effort, rel_rmse): (Effort, f64),
    bounds: &RefineBounds,
) -> Result<(Vec<u8>, KltTile)> {
    let refined_at = |target: f64| {
        let (model, decoded, _) = wavelet_coded::code(shape, fitted, target)?;
        let refinement = refine::refine(shape, samples, &decoded, bounds);
        let mut payload = Vec::new();
        model.write(shape.bands, true, &mut payload);
        refinement.write(shape, effort, &mut payload)?;
        Ok::<_, Error>(payload)
    };
    let mut best = refined_at(rel_rmse)?;
    let mut target = rel_rmse;
    for _ in 1..refined_targets(effort) {
        target /= 2.0;
        let payload = refined_at(target)?;
        if payload.len() >= best.len() {
            break;
        }
        best = payload;
    }
    checked(shape, samples, fitted.values, best, bounds)
}

/// A version-2 payload decoded again, every sample checked against the source and the
/// bound, and its figures measured on what the decoder rebuilds.
fn checked(
    shape: &TileShape,
    samples: &[u8],
    values: &[f64],
    payload: Vec<u8>,
    bounds: &RefineBounds,
) -> Result<(Vec<u8>, KltTile)> {
    let mut out = Vec::with_capacity(samples.len());
    decode(shape, &payload, &mut out)?;
    let max_error = bounds.check(shape, samples, &out)?;
    let rebuilt = shape.sample_type.values_f64(&out);
    let stats = LossStats::measure(values, &rebuilt, shape.bands);
    Ok((
        payload,
        KltTile {
            samples: out,
            stats,
            max_error,
        },
    ))
}

/// A tile's values with their basis: fitted once, however many targets rate control is
/// then asked for.
struct Fitted<'a> {
    values: &'a [f64],
    basis: Basis,
}

impl<'a> Fitted<'a> {
    fn new(shape: &TileShape, values: &'a [f64]) -> Self {
        let basis = basis::fit(values, shape.bands);
        Fitted { values, basis }
    }
}

/// Back-projects `x̂_b = μ_b + Σ_k y_k · V[k][b]` in binary64, `k` ascending, with
/// `component(p, k)` the value `y_k` of pixel `p` (a few pixels at a time, each summed as
/// alone), then each value as the sample type holds it; calls `emit` with every pixel's
/// values in order.
fn back_project(
    means: &[f64],
    loadings: &[f64],
    kept: usize,
    shape: &TileShape,
    component: impl Fn(usize, usize) -> f64,
    mut emit: impl FnMut(&[f64]),
) {
    let bands = shape.bands;
    let pixels = shape.pixels();
    let mut block = vec![0.0; pixel_block::PIXELS * bands];
    // Per component, the coefficients of the block's pixels.
    let mut coefficients = vec![[0.0; pixel_block::PIXELS]; kept];
    for first in (0..pixels).step_by(pixel_block::PIXELS) {
        let count = pixel_block::PIXELS.min(pixels - first);
        for (k, block_coefficients) in coefficients.iter_mut().enumerate() {
            for (i, c) in block_coefficients.iter_mut().enumerate() {
                *c = if i < count {
                    component(first + i, k)
                } else {
                    0.0
                };
            }
        }
        pixel_block::accumulate(means, &coefficients, loadings, count, &mut block);
        for pixel in block.chunks_exact_mut(bands).take(count) {
            pixel
                .iter_mut()
                .for_each(|v| *v = as_sample_value(shape.sample_type, *v));
            emit(pixel);
        }
    }
}

/// Version 1's rebuild: `y_k = q_k · Δ_k` (docs/format.md §5.7.1).
fn rebuild(model: &Model, planes: &[i32], shape: &TileShape, emit: impl FnMut(&[f64])) {
    let kept = model.steps.len();
    let loadings: Vec<f64> = model.basis.iter().map(|&v| v as f64).collect();
    let component = |p: usize, k: usize| planes[p * kept + k] as f64 * model.steps[k];
    back_project(&model.means, &loadings, kept, shape, component, emit);
}

/// The range of an integer sample type, as binary64.
fn int_range(ty: SampleType) -> (f64, f64) {
    match ty {
        SampleType::U8 => (0.0, u8::MAX as f64),
        SampleType::I8 => (i8::MIN as f64, i8::MAX as f64),
        SampleType::U16 => (0.0, u16::MAX as f64),
        SampleType::I16 => (i16::MIN as f64, i16::MAX as f64),
        SampleType::U32 => (0.0, u32::MAX as f64),
        SampleType::I32 => (i32::MIN as f64, i32::MAX as f64),
        SampleType::F32 | SampleType::F64 => (f64::NEG_INFINITY, f64::INFINITY),
    }
}

/// `v` as a sample of `ty` holds it: rounded to nearest (binary32: ties to even; integers:
/// ties away from zero, then clamped to the type's range).
fn as_sample_value(ty: SampleType, v: f64) -> f64 {
    match ty {
        SampleType::F64 => v,
        SampleType::F32 => v as f32 as f64,
        _ => {
            let (min, max) = int_range(ty);
            v.round().clamp(min, max)
        }
    }
}

/// Appends `v` (a value of `ty`, see [`as_sample_value`]) as a little-endian sample.
fn push_sample(ty: SampleType, v: f64, out: &mut Vec<u8>) {
    match ty {
        SampleType::U8 => out.push(v as u8),
        SampleType::I8 => out.push(v as i8 as u8),
        SampleType::U16 => out.extend_from_slice(&(v as u16).to_le_bytes()),
        SampleType::I16 => out.extend_from_slice(&(v as i16).to_le_bytes()),
        SampleType::U32 => out.extend_from_slice(&(v as u32).to_le_bytes()),
        SampleType::I32 => out.extend_from_slice(&(v as i32).to_le_bytes()),
        SampleType::F32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
        SampleType::F64 => out.extend_from_slice(&v.to_le_bytes()),
    }
}

fn planes_shape(shape: &TileShape, kept: usize, sample_type: SampleType) -> TileShape {
    TileShape {
        bands: kept,
        sample_type,
        ..*shape
    }
}

/// `n` little-endian binary64 (`wide`) or binary32 values, each finite.
fn read_floats(c: &mut Cursor, n: usize, wide: bool, field: &str) -> Result<Vec<f64>> {
    let size = if wide { 8 } else { 4 };
    let bytes = c.bytes(n.saturating_mul(size), field)?;
    let values: Vec<f64> = bytes
        .chunks_exact(size)
        .map(|b| match wide {
            true => f64::from_le_bytes(b.try_into().expect("8 bytes")),
            false => f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
        })
        .collect();
    match values.iter().all(|v| v.is_finite()) {
        true => Ok(values),
        false => Err(Error::corrupt(format!(
            "klt: {field} holds a non-finite value"
        ))),
    }
}

/// Reads the model (§5.7.1) of a tile of `bands` bands.
fn read_model(c: &mut Cursor, bands: usize) -> Result<Model> {
    let stored = c.u("band count")?;
    if stored != bands as u64 {
        return Err(Error::corrupt(format!(
            "klt: {stored} bands for a tile of {bands}"
        )));
    }
    let kept = c.bounded("kept components", bands as u64)? as usize;
    let means = read_floats(c, bands, true, "means")?;
    let steps = read_floats(c, kept, true, "steps")?;
    if steps.iter().any(|&s| s <= 0.0) {
        return Err(Error::corrupt("klt: a step is not positive"));
    }
    let basis = read_floats(c, kept * bands, false, "basis")?;
    let basis = basis.into_iter().map(|v| v as f32).collect();
    Ok(Model {
        means,
        steps,
        basis,
    })
}

/// Reads the planes: a sample type code, then a native payload of `kept` bands, the rest
/// of the payload (version 1) or of the length that precedes it (`sized`, version 2).
fn read_planes(c: &mut Cursor, shape: &TileShape, kept: usize, sized: bool) -> Result<Vec<i32>> {
    if kept == 0 {
        return match sized || c.pos == c.data.len() {
            true => Ok(Vec::new()),
            false => Err(Error::corrupt("klt: bytes after a tile without components")),
        };
    }
    let code = c.bytes(1, "plane type")?[0];
    let ty = match SampleType::from_code(code) {
        Ok(ty @ (SampleType::I8 | SampleType::I16)) => ty,
        _ => {
            return Err(Error::corrupt(format!(
                "klt: plane type {code} is not int8 or int16"
            )))
        }
    };
    let native_payload = match sized {
        true => {
            let left = (c.data.len() - c.pos) as u64;
            let length = c.bounded("plane payload length", left)? as usize;
            c.bytes(length, "plane payload")?
        }
        false => &c.data[c.pos..],
    };
    let mut bytes = Vec::new();
    native::decode(&planes_shape(shape, kept, ty), native_payload, &mut bytes)?;
    let mut planes = vec![0i32; shape.pixels() * kept];
    ty.small_int_values(&bytes, &mut planes);
    Ok(planes)
}

/// Decodes a tile, appending exactly `shape.bytes()` bytes to `out`.
pub(super) fn decode(shape: &TileShape, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut c = Cursor::new(payload, "klt");
    let version = c.bytes(1, "version")?[0];
    if version == VERSION_WAVELET {
        return decode_wavelet(&mut c, shape, out);
    }
    if version != VERSION && version != VERSION_REFINED {
        return Err(Error::unsupported(format!(
            "klt payload version {version}; this build reads {VERSION} to {VERSION_WAVELET}"
        )));
    }
    let refined = version == VERSION_REFINED;
    let model = read_model(&mut c, shape.bands)?;
    let planes = read_planes(&mut c, shape, model.steps.len(), refined)?;
    let ty = shape.sample_type;
    if !refined {
        out.reserve(shape.bytes());
        rebuild(&model, &planes, shape, |pixel| {
            pixel.iter().for_each(|&v| push_sample(ty, v, out))
        });
        return Ok(());
    }
    let refinement = Refinement::read(&mut c, shape)?;
    out.reserve(shape.bytes());
    let (mut p, mut next) = (0, 0);
    rebuild(&model, &planes, shape, |pixel| {
        refinement.push_pixel(ty, p, pixel, &mut next, out);
        p += 1;
    });
    Ok(())
}

/// Decodes a version-3 payload (docs/format.md §5.7.5) after its version byte.
fn decode_wavelet(c: &mut Cursor, shape: &TileShape, out: &mut Vec<u8>) -> Result<()> {
    let (model, refined) = WaveletModel::read(c, shape.bands)?;
    let ty = shape.sample_type;
    out.reserve(shape.bytes());
    if !refined {
        if c.pos != c.data.len() {
            return Err(Error::corrupt("klt: bytes after the stream"));
        }
        return model.rebuild(shape, |pixel| {
            pixel.iter().for_each(|&v| push_sample(ty, v, out))
        });
    }
    let refinement = Refinement::read(c, shape)?;
    let (mut p, mut next) = (0, 0);
    model.rebuild(shape, |pixel| {
        refinement.push_pixel(ty, p, pixel, &mut next, out);
        p += 1;
    })
}
