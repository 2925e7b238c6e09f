//! The refinement of `klt` payload version 2 (docs/format.md §5.7.3): the transform's
//! reconstruction `x̂` moved, sample by sample, to within a near-lossless bound `E` of the
//! source (`--rel-rmse R --max-error E`).
//!
//! Why a correction lattice instead of re-coding the residual: the transform already holds
//! most of the tile, so `x − x̂` is small and nearly white; a sample already within `E`
//! gets correction 0, one that is not gets the nearest point of a lattice of step about
//! `2E` around `x̂`. The corrections are an integer tile, mostly 0 where `E` is above the
//! transform's typical error, coded losslessly by the codecs that exist (native for int8
//! and int16 corrections, float for int32), not by a new coder.
//!
//! Why the error never grows: a correction is only made where `x̂` misses the bound, and
//! it lands within it; every other sample keeps `x̂`. So per sample `|x − v| ≤ |x − x̂|`,
//! and the tile's relative RMSE is at most the transform's.
//!
//! Integer samples work in integer sample units with step `s = 2E + 1` (`E` at most the
//! type's range), as the native near-lossless codec does (§5.3.9):
//! `c = sign(e)·⌊(|e| + E)/s⌋` is 0 exactly when `|e| ≤ E` and leaves `|e − c·s| ≤ E`;
//! clamping to the type's range only moves the sample closer to the source.
//!
//! Float samples reuse the lattice idea of the float near-lossless path (§5.4.2 kind 5):
//! the band's step is `s = 2E − 8u`, `u` the sample type's spacing at `2m + 2E` with `m`
//! the band's largest `|x|` or `|x̂|` in the tile; then `c = round((x − x̂)/s)` and the
//! decoder's `fl(x̂ + c·s)` are within `s/2 + 3u < E` of `x` (the division, the product,
//! the sum and the rounding to the sample type each move it by at most `u`).
//! Every refined sample is still checked exactly ([`within`]); a sample that would miss
//! the bound (none in practice), a sample of a band whose bound is 0 or finer than the
//! samples' spacing, a nodata sample not rebuilt as nodata and a sample rebuilt as nodata
//! without being it are stored exactly instead, and listed.

use super::{as_sample_value, int_range, push_sample};
use crate::codec::float::near_lossless::{self as float_nl, within};
use crate::codec::native::{self, Bounds as IntBounds};
use crate::codec::{float, Effort, TileShape};
use crate::entropy::deflate;
use crate::entropy::varint::{put_gaps, put_u, Cursor};
use crate::error::{Error, Result};
use crate::sample::SampleType;

/// The caller's bound, per band, with the nodata values the sample type holds.
#[derive(Clone, Debug)]
pub(crate) enum RefineBounds {
    /// 8- or 16-bit integer samples: whole bounds in sample units (§5.3.9's).
    Int(IntBounds),
    /// float32/float64 samples: bounds in value units (§5.4.2 kind 5's).
    Float(float_nl::Bounds),
}

impl RefineBounds {
    /// Checks a decoded tile against its source: every sample within its band's bound,
    /// nodata exactly, nothing else decoded as nodata. Returns each band's largest error.
    pub(super) fn check(
        &self,
        shape: &TileShape,
        source: &[u8],
        decoded: &[u8],
    ) -> Result<Vec<f64>> {
        match self {
            RefineBounds::Int(b) => {
                let largest = native::check_near_lossless(shape, source, decoded, b)?;
                Ok(largest.into_iter().map(f64::from).collect())
            }
            RefineBounds::Float(b) => float_nl::check(shape, source, decoded, b),
        }
    }
}

/// Largest integer lattice step a payload may hold (`2E + 1` for `E` up to a 16-bit
/// type's range is at most 131071).
const MAX_INT_STEP: f64 = (1u32 << 17) as f64;

/// What payload versions 2 and 3 add after the planes or stream (§5.7.3, §5.7.5).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Refinement {
    /// Per band, the correction lattice's step (floats: 0, no lattice).
    steps: Vec<f64>,
    /// Per sample, the correction `c` (0 for a sample stored exactly).
    corrections: Corrections,
    /// The samples stored exactly: positions `pixel × bands + band`, ascending.
    exact: Vec<u64>,
    /// Their samples, little-endian, in the same order.
    exact_samples: Vec<u8>,
}

/// Every sample's correction, pixel-interleaved, kept in the narrowest type that holds
/// them all (a decoder holds them beside the tile: int8 corrections cost a byte a sample).
#[derive(Clone, Debug, PartialEq)]
struct Corrections {
    /// `None` when every correction is 0 (nothing is stored), else int8, int16 or int32.
    ty: Option<SampleType>,
    /// Little-endian corrections of type `ty` (empty for `None`).
    bytes: Vec<u8>,
}

impl Corrections {
    /// The corrections in the narrowest of int8, int16 and int32 that holds them.
    fn pack(values: &[i32]) -> Self {
        let (lo, hi) = values
            .iter()
            .fold((0, 0), |(lo, hi), &c| (c.min(lo), c.max(hi)));
        let ty = match (lo, hi) {
            (0, 0) => None,
            _ if lo >= -128 && hi <= 127 => Some(SampleType::I8),
            _ if lo >= -32768 && hi <= 32767 => Some(SampleType::I16),
            _ => Some(SampleType::I32),
        };
        let mut bytes = Vec::new();
        match ty {
            None => {}
            Some(SampleType::I32) => bytes.extend(values.iter().flat_map(|c| c.to_le_bytes())),
            Some(small) => small.extend_small_int_bytes(values, &mut bytes),
        }
        Corrections { ty, bytes }
    }

    /// The correction of sample `i` (`i` below the tile's sample count).
    fn get(&self, i: usize) -> i32 {
        let b = &self.bytes;
        match self.ty {
            None => 0,
            Some(SampleType::I8) => b[i] as i8 as i32,
            Some(SampleType::I16) => i16::from_le_bytes([b[2 * i], b[2 * i + 1]]) as i32,
            Some(_) => i32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]),
        }
    }
}

/// A sample refined by its correction as the decoder computes it (the values of the
/// sample type, as `f64`): `x̂` when `c = 0`; integers `clamp(x̂ + c·s)` in exact integer
/// arithmetic; floats `fl(x̂ + c·s)` in binary64 (product, then sum), then rounded to the
/// sample type.
fn refined(ty: SampleType, x_hat: f64, c: i32, step: f64) -> f64 {
    if c == 0 {
        return x_hat;
    }
    if ty.is_float() {
        return as_sample_value(ty, x_hat + c as f64 * step);
    }
    let (min, max) = int_range(ty);
    let v = x_hat as i64 + c as i64 * step as i64;
    (v as f64).clamp(min, max)
}

/// An integer band's bound as the lattice uses it: at most the type's range (a larger one
/// allows every value, as the range does).
fn int_bound(ty: SampleType, max_error: u32) -> i64 {
    let (min, max) = int_range(ty);
    i64::from(max_error).min((max - min) as i64)
}

/// The lattice step of a float band with bound `E` whose samples and reconstructions are
/// at most `m` in magnitude: `2E − 8u` with `u` the sample type's spacing at `2m + 2E`, or
/// `None` when that spacing is `2E / 16` or more (the bound is about as fine as the
/// samples: the band's samples are then stored exactly where the transform missed them).
fn float_step(ty: SampleType, max_error: f64, m: f64) -> Option<f64> {
    let reach = 2.0 * m + 2.0 * max_error;
    let representable = reach.is_finite() && (ty != SampleType::F32 || reach < f32::MAX as f64);
    if !(max_error > 0.0 && representable) {
        return None;
    }
    let u = float_nl::spacing(ty, reach);
    (2.0 * max_error > 16.0 * u).then_some(2.0 * max_error - 8.0 * u)
}

/// Per band, the lattice step: `2E + 1` for integers, [`float_step`] (0: none) for floats.
fn lattice_steps(
    shape: &TileShape,
    values: &[f64],
    decoded: &[f64],
    bounds: &RefineBounds,
) -> Vec<f64> {
    let (ty, bands) = (shape.sample_type, shape.bands);
    let magnitude = |band: usize| {
        let pairs = values.iter().zip(decoded).skip(band).step_by(bands);
        pairs
            .flat_map(|(&x, &y)| [x.abs(), y.abs()])
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    };
    (0..bands)
        .map(|band| match bounds {
            RefineBounds::Int(b) => 2.0 * int_bound(ty, b.max_error[band]) as f64 + 1.0,
            RefineBounds::Float(b) => {
                float_step(ty, b.max_error[band], magnitude(band)).unwrap_or(0.0)
            }
        })
        .collect()
}

/// The correction of an integer sample `x` rebuilt as `x_hat` (`None`: store it exactly,
/// because the lattice point would change whether it is nodata).
fn int_correction(
    ty: SampleType,
    bound: i64,
    nodata: Option<i32>,
    x: f64,
    x_hat: f64,
) -> Option<i32> {
    let step = 2 * bound + 1;
    let e = x as i64 - x_hat as i64;
    let c = (e.signum() * ((e.abs() + bound) / step)) as i32;
    let v = refined(ty, x_hat, c, step as f64);
    let nodata = nodata.map(f64::from);
    nodata.is_none_or(|n| (x == n) == (v == n)).then_some(c)
}

/// The correction of a float sample (`x_bits` its bits) rebuilt as `x_hat`, on a lattice
/// of step `step` (0: none) for bound `max_error` (`None`: store it exactly).
fn float_correction(
    ty: SampleType,
    (max_error, nodata): (f64, Option<f64>),
    step: f64,
    (x, x_bits): (f64, u64),
    x_hat: f64,
) -> Option<i32> {
    if max_error == 0.0 || float_nl::kept_exact(x, nodata) {
        return (float_bits(ty, x_hat) == x_bits).then_some(0);
    }
    let fine = |v: f64| within(x, v, max_error) && !float_nl::kept_exact(v, nodata);
    if fine(x_hat) {
        return Some(0);
    }
    let q = match step > 0.0 {
        true => ((x - x_hat) / step).round(),
        false => return None,
    };
    // Past an int32 correction (or an overflowed difference): stored exactly.
    if q.is_nan() || q.abs() > i32::MAX as f64 {
        return None;
    }
    let c = q as i32;
    fine(refined(ty, x_hat, c, step)).then_some(c)
}

/// The bits of a float sample type's value.
fn float_bits(ty: SampleType, v: f64) -> u64 {
    match ty {
        SampleType::F32 => (v as f32).to_bits() as u64,
        _ => v.to_bits(),
    }
}

/// The bits of every sample of a little-endian buffer, widened to `u64`.
fn sample_bits(ty: SampleType, bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks_exact(ty.size()).map(|b| {
        let mut raw = [0u8; 8];
        raw[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(raw)
    })
}

/// Computes the refinement of a tile: `source` its samples, `decoded` the transform's
/// reconstruction (the values of the sample type, pixel-interleaved).
pub(super) fn refine(
    shape: &TileShape,
    source: &[u8],
    decoded: &[f64],
    bounds: &RefineBounds,
) -> Refinement {
    let (ty, bands, size) = (shape.sample_type, shape.bands, shape.sample_type.size());
    let values = ty.values_f64(source);
    let steps = lattice_steps(shape, &values, decoded, bounds);
    let mut corrections = vec![0i32; values.len()];
    let (mut exact, mut exact_samples) = (Vec::new(), Vec::new());
    let samples = values.iter().zip(decoded).zip(sample_bits(ty, source));
    for (i, ((&x, &x_hat), bits)) in samples.enumerate() {
        let band = i % bands;
        let correction = match bounds {
            RefineBounds::Int(b) => {
                let bound = int_bound(ty, b.max_error[band]);
                int_correction(ty, bound, b.nodata[band], x, x_hat)
            }
            RefineBounds::Float(b) => {
                let bound = (b.max_error[band], b.nodata[band]);
                float_correction(ty, bound, steps[band], (x, bits), x_hat)
            }
        };
        match correction {
            Some(c) => corrections[i] = c,
            None => {
                exact.push(i as u64);
                exact_samples.extend_from_slice(&source[i * size..(i + 1) * size]);
            }
        }
    }
    Refinement {
        steps,
        corrections: Corrections::pack(&corrections),
        exact,
        exact_samples,
    }
}

fn corrections_shape(shape: &TileShape, ty: SampleType) -> TileShape {
    TileShape {
        sample_type: ty,
        ..*shape
    }
}

impl Refinement {
    /// §5.7.3: steps, the corrections' type and payload, the exact samples.
    pub(super) fn write(&self, shape: &TileShape, effort: Effort, out: &mut Vec<u8>) -> Result<()> {
        self.steps
            .iter()
            .for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
        match self.corrections.ty {
            None => out.push(0),
            Some(ty) => {
                out.push(ty as u8);
                let payload = write_corrections(
                    &corrections_shape(shape, ty),
                    &self.corrections.bytes,
                    effort,
                )?;
                put_u(out, payload.len() as u64);
                out.extend_from_slice(&payload);
            }
        }
        put_u(out, self.exact.len() as u64);
        if self.exact.is_empty() {
            return Ok(());
        }
        let mut block = Vec::with_capacity(self.exact.len() * 2 + self.exact_samples.len());
        put_gaps(&mut block, self.exact.iter().copied());
        block.extend_from_slice(&self.exact_samples);
        deflate::put_zlib_block(out, &block, 9)
    }

    /// Reads what [`Refinement::write`] wrote, to the end of the payload.
    pub(super) fn read(c: &mut Cursor, shape: &TileShape) -> Result<Refinement> {
        let ty = shape.sample_type;
        if !ty.is_float() && ty.small_int_range().is_none() {
            return Err(Error::corrupt(format!(
                "klt: a refinement (payload versions 2 and 3) refines 8/16-bit integer and float tiles, not {ty}"
            )));
        }
        let steps = read_steps(c, shape)?;
        let corrections = read_corrections(c, shape)?;
        if let Some(i) =
            (0..shape.samples()).find(|&i| corrections.get(i) != 0 && steps[i % shape.bands] == 0.0)
        {
            return Err(Error::corrupt(format!(
                "klt: a correction on band {} (sample {i}), whose refinement step is 0",
                i % shape.bands + 1
            )));
        }
        let samples = shape.samples() as u64;
        let (exact, exact_samples) = match c.bounded("exact sample count", samples)? {
            0 => (Vec::new(), Vec::new()),
            n => read_exact(c, n as usize, samples, shape.sample_type.size())?,
        };
        if c.pos != c.data.len() {
            return Err(Error::corrupt("klt: bytes after the exact samples"));
        }
        Ok(Refinement {
            steps,
            corrections,
            exact,
            exact_samples,
        })
    }

    /// Appends pixel `p`'s samples: its transform values `pixel` refined, or stored exactly.
    /// `next` is the index of the first exact sample not yet written.
    pub(super) fn push_pixel(
        &self,
        ty: SampleType,
        p: usize,
        pixel: &[f64],
        next: &mut usize,
        out: &mut Vec<u8>,
    ) {
        let (bands, size) = (pixel.len(), ty.size());
        for (band, &x_hat) in pixel.iter().enumerate() {
            let i = p * bands + band;
            if self.exact.get(*next) == Some(&(i as u64)) {
                out.extend_from_slice(&self.exact_samples[*next * size..(*next + 1) * size]);
                *next += 1;
                continue;
            }
            let v = refined(ty, x_hat, self.corrections.get(i), self.steps[band]);
            push_sample(ty, v, out);
        }
    }
}

/// The corrections' payload: a native tile for int8/int16, a float-codec tile for int32.
fn write_corrections(shape: &TileShape, bytes: &[u8], effort: Effort) -> Result<Vec<u8>> {
    if shape.sample_type == SampleType::I32 {
        return float::encode(shape, bytes, effort);
    }
    let lossless = IntBounds {
        max_error: vec![0; shape.bands],
        nodata: vec![None; shape.bands],
    };
    native::encode(shape, bytes, effort, &lossless)
}

/// The steps: `bands` finite f64, whole numbers from 1 to [`MAX_INT_STEP`] for integer
/// samples, values ≥ 0 for float samples.
fn read_steps(c: &mut Cursor, shape: &TileShape) -> Result<Vec<f64>> {
    let ty = shape.sample_type;
    let steps = super::read_floats(c, shape.bands, true, "refinement steps")?;
    let valid = |s: f64| match ty.is_float() {
        true => s >= 0.0,
        false => s.fract() == 0.0 && (1.0..=MAX_INT_STEP).contains(&s),
    };
    match steps.iter().find(|&&s| !valid(s)) {
        None => Ok(steps),
        Some(s) if ty.is_float() => Err(Error::corrupt(format!(
            "klt: refinement step {s} of a {ty} tile is negative"
        ))),
        Some(s) => Err(Error::corrupt(format!(
            "klt: refinement step {s} of a {ty} tile is not a whole number from 1 to {MAX_INT_STEP}"
        ))),
    }
}

/// The correction type byte and, unless it is 0, the corrections' payload.
fn read_corrections(c: &mut Cursor, shape: &TileShape) -> Result<Corrections> {
    let code = c.bytes(1, "correction type")?[0];
    let ty = match code {
        0 => {
            return Ok(Corrections {
                ty: None,
                bytes: Vec::new(),
            })
        }
        2 => SampleType::I8,
        4 => SampleType::I16,
        6 => SampleType::I32,
        _ => {
            return Err(Error::corrupt(format!(
                "klt: correction type {code} is not 0, 2 (int8), 4 (int16) or 6 (int32)"
            )))
        }
    };
    let left = (c.data.len() - c.pos) as u64;
    let length = c.bounded("correction payload length", left)? as usize;
    let payload = c.bytes(length, "correction payload")?;
    let cs = corrections_shape(shape, ty);
    let mut bytes = Vec::new();
    let decoded = match ty {
        SampleType::I32 => float::decode(&cs, payload, &mut bytes),
        _ => native::decode(&cs, payload, &mut bytes),
    };
    decoded.map_err(|e| e.context("klt: correction payload"))?;
    if bytes.len() != cs.bytes() {
        return Err(Error::corrupt(format!(
            "klt: the correction payload decodes to {} bytes, the tile's corrections are {}",
            bytes.len(),
            cs.bytes()
        )));
    }
    Ok(Corrections {
        ty: Some(ty),
        bytes,
    })
}

/// The exact samples' zlib block: `n` gaps, then `n` samples of `size` bytes.
fn read_exact(c: &mut Cursor, n: usize, samples: u64, size: usize) -> Result<(Vec<u64>, Vec<u8>)> {
    let left = (c.data.len() - c.pos) as u64;
    let length = c.bounded("exact samples length", left)? as usize;
    // Varints of values below 2^64 take at most 10 bytes.
    let cap = n.saturating_mul(10 + size);
    let raw = deflate::unzlib(c.bytes(length, "exact samples")?, cap, "klt: exact samples")?;
    let mut inner = Cursor::new(&raw, "klt");
    let mut exact = Vec::with_capacity(n);
    let mut next = 0u64;
    for _ in 0..n {
        let position = next.saturating_add(inner.bounded("exact sample gap", samples)?);
        if position >= samples {
            return Err(Error::corrupt(format!(
                "klt: exact sample {position} is outside the tile's {samples} samples"
            )));
        }
        exact.push(position);
        next = position + 1;
    }
    let bytes = inner.bytes(n * size, "exact sample values")?.to_vec();
    if inner.pos != raw.len() {
        return Err(Error::corrupt("klt: bytes after the exact sample values"));
    }
    Ok((exact, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_corrections_keep_the_bound_and_clamp_towards_the_source() {
        // uint8, E = 2: step 5; a sample within 2 keeps its correction 0.
        let ty = SampleType::U8;
        assert_eq!(refined(ty, 100.0, 1, 5.0), 105.0);
        assert_eq!(refined(ty, 253.0, 1, 5.0), 255.0, "clamped to the range");
        for e in -20i64..=20 {
            let c = int_correction(ty, 2, None, 120.0 + e as f64, 120.0).unwrap();
            assert_eq!(c == 0, e.abs() <= 2, "{e}");
            assert!((e - c as i64 * 5).abs() <= 2, "{e}");
        }
        // A bound beyond the range is the range: nothing needs a correction.
        assert_eq!(int_bound(ty, 1000), 255);
        assert_eq!(int_correction(ty, 255, None, 255.0, 0.0), Some(0));
        // A sample that would land on nodata (7 from 0: 0 + 1·5) is stored exactly.
        assert_eq!(int_correction(ty, 2, Some(5), 7.0, 0.0), None);
        assert_eq!(int_correction(ty, 2, Some(5), 8.0, 0.0), Some(2));
    }

    #[test]
    fn float_corrections_only_where_the_transform_misses() {
        let ty = SampleType::F32;
        let step = float_step(ty, 0.01, 3000.0).unwrap();
        let x = 2999.5f32 as f64;
        let sample = (x, (x as f32).to_bits() as u64);
        assert_eq!(
            float_correction(ty, (0.01, None), step, sample, x + 0.0078125),
            Some(0)
        );
        let c = float_correction(ty, (0.01, None), step, sample, x + 0.5).unwrap();
        assert!(c < 0 && within(x, refined(ty, x + 0.5, c, step), 0.01));
        // Bound 0: only a bit-identical reconstruction is kept.
        assert_eq!(float_correction(ty, (0.0, None), 0.0, sample, x), Some(0));
        assert_eq!(
            float_correction(ty, (0.0, None), 0.0, sample, x + 1.0),
            None
        );
    }

    #[test]
    fn float_steps_leave_room_for_the_roundings() {
        // float32 near 3000: spacing at 6000 + 0.02 is 2^-11.
        let s = float_step(SampleType::F32, 0.01, 3000.0).unwrap();
        assert_eq!(s, 0.02 - 8.0 * 2f64.powi(-11));
        assert_eq!(float_step(SampleType::F32, 1e-4, 3000.0), None);
        assert_eq!(float_step(SampleType::F32, 0.0, 1.0), None);
        assert!(float_step(SampleType::F64, 1e-9, 3000.0).is_some());
    }

    #[test]
    fn corrections_are_held_in_the_narrowest_type() {
        for (values, ty) in [
            (vec![0, 0], None),
            (vec![-128, 127], Some(SampleType::I8)),
            (vec![-129, 5], Some(SampleType::I16)),
            (vec![40000, -3], Some(SampleType::I32)),
        ] {
            let packed = Corrections::pack(&values);
            assert_eq!(packed.ty, ty);
            let back: Vec<i32> = (0..values.len()).map(|i| packed.get(i)).collect();
            assert_eq!(back, values);
        }
    }
}
