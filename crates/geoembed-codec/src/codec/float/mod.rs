//! The float codec: lossless float32/float64 (and 16/32-bit integer) tiles. Four transforms
//! compete per tile and the smallest payload wins (its transform byte records the choice):
//!
//! * `predictive`: per band the best integer domain — cbloom's fmap, or the binary or
//!   decimal lattice the values really sit on (whole metres, centimetres, GRIB packing) —
//!   optionally in rank space (`palette`), a 2-D (and cross-band) predictor chosen or
//!   least-squares fitted per band, and the residuals of all bands through one
//!   context-modelled rANS coder;
//! * `byte_planes`: cbloom's fmap + predictor + bias + byte de-interleave + deflate;
//! * `gridfour`: Gridfour's sign / exponent / mantissa split + deflate;
//! * `lz`: zstd on the tile as it is, for rasters that repeat whole pixels.
//!
//! Bit exactness is by construction: every domain is checked per sample, and anything it
//! cannot rebuild (NaN payloads, ±Inf, −0.0, sentinels) is stored verbatim as a special.

mod band_planes;
mod byte_planes;
mod domain;
mod gridfour;
mod lz;
pub(crate) mod near_lossless;
mod palette;
mod predictive;
mod predictor;
mod residuals;
mod special_mask;
mod specials;
mod value_predictor;

use super::{Effort, TileShape};
use crate::entropy::varint::Cursor;
use crate::error::{Error, Result};
use crate::sample::SampleType;

/// Payload version 1; version 2 adds the value-space predictor (§5.4.4 kind 2), version 3
/// the near-lossless lattice (§5.4.2 kind 5), version 4 the context-coded specials mask
/// (§5.4.3b), each written only when a band uses it (and a version reads what the ones
/// before it add).
const VERSION: u8 = 1;
pub(super) const VERSION_SPECIALS_MASK: u8 = 4;

/// A band's samples as little-endian bits (one u64 per sample).
type Band = Vec<u64>;

/// The transform a float payload uses, recorded in its second byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Transform {
    /// Per-band integer domain, 2-D and cross-band prediction, context-modelled rANS.
    Predictive = 0,
    /// cbloom's fmap, a predictor, byte de-interleave, deflate.
    BytePlanes = 1,
    /// Gridfour's sign / exponent / mantissa split, deflate.
    Gridfour = 2,
    /// zstd on the samples as they are.
    Lz = 3,
}

impl Transform {
    /// The transform's name in `geoembed info`.
    pub fn name(self) -> &'static str {
        match self {
            Transform::Predictive => "predictive",
            Transform::BytePlanes => "byte-planes",
            Transform::Gridfour => "gridfour",
            Transform::Lz => "lz",
        }
    }
}

/// The sample types this codec holds.
pub fn supports(ty: SampleType) -> bool {
    matches!(
        ty,
        SampleType::F32
            | SampleType::F64
            | SampleType::I32
            | SampleType::U32
            | SampleType::I16
            | SampleType::U16
    )
}

/// The tile's samples band by band, each sample's bits in the low bits of a `u64`.
fn bands_of(shape: &TileShape, samples: &[u8]) -> Vec<Band> {
    match shape.sample_type.size() {
        1 => bands_of_size::<1>(shape.bands, samples),
        2 => bands_of_size::<2>(shape.bands, samples),
        4 => bands_of_size::<4>(shape.bands, samples),
        size => {
            debug_assert_eq!(size, 8);
            bands_of_size::<8>(shape.bands, samples)
        }
    }
}

/// [`bands_of`] for samples of `SIZE` bytes: a fixed size lets each sample be one load (the
/// generic copy through a buffer was 5% of the float codec's encode time on 16-bit grids).
fn bands_of_size<const SIZE: usize>(band_count: usize, samples: &[u8]) -> Vec<Band> {
    let pixels = samples.len() / (SIZE * band_count).max(1);
    let mut bands = vec![Vec::with_capacity(pixels); band_count];
    for pixel in samples.chunks_exact(SIZE * band_count) {
        for (band, sample) in bands.iter_mut().zip(pixel.chunks_exact(SIZE)) {
            let mut bytes = [0u8; 8];
            bytes[..SIZE].copy_from_slice(sample);
            band.push(u64::from_le_bytes(bytes));
        }
    }
    bands
}

/// Whether the float codec may beat the native codec on a 16-bit integer tile by more than
/// a trifle, judged from each band's distinct values: it wins on bands with nodata
/// sentinels far outside the data (ocean, voids) and on bands that use few of the integers
/// they span (re-packed NetCDF), and is within 1% of native elsewhere. `auto` then tries
/// it instead of native, at every effort.
pub(crate) fn may_win_on_small_ints(shape: &TileShape, samples: &[u8]) -> bool {
    let ty = shape.sample_type;
    if ty.size() != 2 || ty.is_float() {
        return false;
    }
    let pixels = shape.pixels();
    (0..shape.bands).any(|band| {
        // Which of the 65536 words the band uses (offset binary keeps numeric order).
        let mut used = vec![0u64; 1024];
        for pixel in samples.chunks_exact(2 * shape.bands) {
            let bits = u16::from_le_bytes([pixel[2 * band], pixel[2 * band + 1]]) as u64;
            let word = ty.to_word(bits) as usize;
            used[word / 64] |= 1 << (word % 64);
        }
        let words: Vec<f64> = (0..65536)
            .filter(|w| used[w / 64] & (1 << (w % 64)) != 0)
            .map(|w| w as f64)
            .collect();
        let (distinct, span) = (words.len(), words[words.len() - 1] - words[0]);
        let sparse = distinct * 4 <= pixels && span >= 2.0 * distinct as f64;
        sparse || !specials::sentinels(&words).is_empty()
    })
}

/// A quick estimate of the predictive transform's bits on an integer tile: per band the
/// best fixed predictor's residual bit lengths on about 1024 pixels, scaled to the band.
pub(crate) fn quick_estimate_bits(shape: &TileShape, samples: &[u8]) -> u64 {
    let mapper = domain::Domain::Int.mapper(shape.sample_type);
    let mut total = 0;
    let mut previous: Option<Vec<i64>> = None;
    for bits in bands_of(shape, samples) {
        let plane: Vec<i64> = bits
            .iter()
            .map(|&b| mapper.forward(b).expect("int"))
            .collect();
        let planes = predictor::Planes {
            cur: &plane,
            prev: previous.as_deref(),
            width: shape.width,
        };
        total += predictor::quick_cost(&planes, &[], 1024);
        previous = Some(plane);
    }
    total
}

/// Encodes a tile with the transforms the effort allows, keeping the smallest: the
/// predictive transform; LZ (not at `fast`) when a zstd level-1 pass comes near it; at
/// `max` byte planes and the Gridfour split too when the predictive payload is 12 bits a
/// sample or more (they rarely win elsewhere and cost as much again).
pub fn encode(shape: &TileShape, samples: &[u8], effort: Effort) -> Result<Vec<u8>> {
    encode_quantised(shape, samples, &[], effort)
}

/// [`encode`] of a tile quantised by [`near_lossless::quantise`]: `steps` (one per band, or
/// empty) names the lattice each band's samples sit on, which the predictive transform
/// codes in that lattice's domain. Every transform stays lossless on these samples.
pub(crate) fn encode_quantised(
    shape: &TileShape,
    samples: &[u8],
    steps: &[Option<f64>],
    effort: Effort,
) -> Result<Vec<u8>> {
    let bands = bands_of(shape, samples);
    let coded = TileEncoder {
        shape,
        samples,
        bands: &bands,
        steps,
        effort,
    };
    let mut best = coded.encode_one(Transform::Predictive)?;
    let mut transforms = Vec::new();
    // Bit-level transforms only where the predictor leaves most bits (noisy mantissas).
    let noisy = best.len() * 8 >= 12 * shape.samples();
    if effort == Effort::Max && noisy {
        transforms.push(Transform::BytePlanes);
        if shape.sample_type.is_float() {
            transforms.push(Transform::Gridfour);
        }
    }
    if effort != Effort::Fast && super::lz::worth_trying(samples, best.len()) {
        transforms.push(Transform::Lz);
    }
    for t in transforms {
        let out = coded.encode_one(t)?;
        if out.len() < best.len() {
            best = out;
        }
    }
    Ok(best)
}

/// Encodes a tile with one transform (tests and experiments; [`encode`] picks the best).
pub fn encode_with(
    shape: &TileShape,
    samples: &[u8],
    effort: Effort,
    t: Transform,
) -> Result<Vec<u8>> {
    if t == Transform::Gridfour && !shape.sample_type.is_float() {
        return Err(Error::invalid(format!(
            "the Gridfour split holds floats, not {}",
            shape.sample_type
        )));
    }
    let bands = bands_of(shape, samples);
    let coded = TileEncoder {
        shape,
        samples,
        bands: &bands,
        steps: &[],
        effort,
    };
    coded.encode_one(t)
}

/// A tile being encoded: its samples, as bands too, and their near-lossless lattices.
struct TileEncoder<'a> {
    shape: &'a TileShape,
    samples: &'a [u8],
    bands: &'a [Band],
    steps: &'a [Option<f64>],
    effort: Effort,
}

impl TileEncoder<'_> {
    fn encode_one(&self, t: Transform) -> Result<Vec<u8>> {
        let (sample_type, width, bands) = (self.shape.sample_type, self.shape.width, self.bands);
        let effort = self.effort;
        let mut out = vec![VERSION, t as u8];
        match t {
            Transform::Predictive => {
                out[0] =
                    predictive::encode(sample_type, width, bands, self.steps, effort, &mut out)?;
            }
            Transform::BytePlanes => {
                byte_planes::encode(sample_type, width, bands, effort, &mut out)?
            }
            Transform::Gridfour => gridfour::encode(sample_type, width, bands, effort, &mut out)?,
            Transform::Lz => lz::encode(self.samples, effort, &mut out)?,
        }
        Ok(out)
    }
}

/// The transform a payload used (for `geoembed info`).
pub fn transform_of(payload: &[u8]) -> Option<Transform> {
    match payload.get(1) {
        Some(0) => Some(Transform::Predictive),
        Some(1) => Some(Transform::BytePlanes),
        Some(2) => Some(Transform::Gridfour),
        Some(3) => Some(Transform::Lz),
        _ => None,
    }
}

/// What the encoder chose for a tile: the transform, and for the predictive transform each
/// band's domain, predictor and number of specials (`geoembed info` prints this).
pub fn summarize(shape: &TileShape, payload: &[u8]) -> Result<(Transform, Vec<String>)> {
    let transform = transform_of(payload)
        .ok_or_else(|| Error::corrupt("float: payload names no known transform"))?;
    let mut cursor = Cursor::new(payload, "float");
    cursor.bytes(2, "float payload header")?;
    let bands = match transform {
        Transform::Predictive => predictive::describe(
            shape.sample_type,
            shape.width,
            shape.height,
            shape.bands,
            payload[0],
            &mut cursor,
        )?,
        _ => Vec::new(),
    };
    Ok((transform, bands))
}

/// Decodes a tile, appending its pixel-interleaved samples to `out`.
pub(crate) fn decode(shape: &TileShape, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let ty = shape.sample_type;
    if !supports(ty) {
        return Err(Error::corrupt(format!("float codec cannot hold {ty}")));
    }
    let mut cursor = Cursor::new(payload, "float");
    let head = cursor.bytes(2, "float payload header")?;
    let version = head[0];
    if !(VERSION..=VERSION_SPECIALS_MASK).contains(&version) {
        return Err(Error::unsupported(format!(
            "float payload version {version} (this build reads {VERSION} to {VERSION_SPECIALS_MASK})"
        )));
    }
    let (width, height, band_count) = (shape.width, shape.height, shape.bands);
    let bands = match transform_of(payload) {
        Some(Transform::Predictive) => {
            predictive::decode(ty, width, height, band_count, version, &mut cursor)?
        }
        Some(Transform::BytePlanes) => {
            byte_planes::decode(ty, width, height, band_count, &mut cursor)?
        }
        Some(Transform::Gridfour) => gridfour::decode(ty, width, height, band_count, &mut cursor)?,
        Some(Transform::Lz) => return lz::decode(&payload[2..], shape.bytes(), out),
        None => {
            return Err(Error::corrupt(format!(
                "float: unknown transform {}",
                head[1]
            )))
        }
    };
    interleave(shape, &bands, out);
    Ok(())
}

/// Appends the bands' samples to `out`, pixel-interleaved (the inverse of `bands_of`).
fn interleave(shape: &TileShape, bands: &[Band], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + shape.bytes(), 0);
    let dst = &mut out[start..];
    match shape.sample_type.size() {
        1 => interleave_size::<1>(bands, dst),
        2 => interleave_size::<2>(bands, dst),
        4 => interleave_size::<4>(bands, dst),
        size => {
            debug_assert_eq!(size, 8);
            interleave_size::<8>(bands, dst)
        }
    }
}

/// [`interleave`] for samples of `SIZE` bytes into `dst`, the tile's bytes.
fn interleave_size<const SIZE: usize>(bands: &[Band], dst: &mut [u8]) {
    let stride = bands.len() * SIZE;
    for (b, band) in bands.iter().enumerate() {
        for (pixel, &v) in dst[b * SIZE..].chunks_mut(stride).zip(band) {
            pixel[..SIZE].copy_from_slice(&v.to_le_bytes()[..SIZE]);
        }
    }
}
