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
mod palette;
mod predictive;
mod predictor;
mod residuals;
mod specials;

use super::{Effort, TileShape};
use crate::entropy::varint::Cursor;
use crate::error::{Error, Result};
use crate::sample::SampleType;

const VERSION: u8 = 1;

/// A band's samples as little-endian bits (one u64 per sample).
type Band = Vec<u64>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Transform {
    Predictive = 0,
    BytePlanes = 1,
    Gridfour = 2,
    Lz = 3,
}

impl Transform {
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

fn bands_of(shape: &TileShape, samples: &[u8]) -> Vec<Band> {
    let (k, nb) = (shape.sample_type.size(), shape.bands);
    let mut bands = vec![Vec::with_capacity(shape.pixels()); nb];
    let mut buf = [0u8; 8];
    for px in samples.chunks_exact(k * nb) {
        for (b, s) in px.chunks_exact(k).enumerate() {
            buf[..k].copy_from_slice(s);
            bands[b].push(u64::from_le_bytes(buf));
        }
    }
    bands
}

/// Encodes a tile with every transform the effort allows, keeping the smallest.
pub fn encode(shape: &TileShape, samples: &[u8], effort: Effort) -> Result<Vec<u8>> {
    let bands = bands_of(shape, samples);
    let mut transforms = vec![Transform::Predictive];
    if effort != Effort::Fast {
        transforms.push(Transform::BytePlanes);
        if shape.sample_type.is_float() {
            transforms.push(Transform::Gridfour);
        }
        transforms.push(Transform::Lz);
    }
    let mut best: Option<Vec<u8>> = None;
    for t in transforms {
        let out = encode_one(shape, samples, &bands, effort, t)?;
        if best.as_ref().is_none_or(|b| out.len() < b.len()) {
            best = Some(out);
        }
    }
    Ok(best.expect("one transform"))
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
    encode_one(shape, samples, &bands_of(shape, samples), effort, t)
}

fn encode_one(
    shape: &TileShape,
    samples: &[u8],
    bands: &[Band],
    effort: Effort,
    t: Transform,
) -> Result<Vec<u8>> {
    let (ty, w) = (shape.sample_type, shape.width);
    let mut out = vec![VERSION, t as u8];
    match t {
        Transform::Predictive => predictive::encode(ty, w, bands, effort, &mut out)?,
        Transform::BytePlanes => byte_planes::encode(ty, w, bands, effort, &mut out)?,
        Transform::Gridfour => gridfour::encode(ty, w, bands, effort, &mut out)?,
        Transform::Lz => lz::encode(samples, effort, &mut out)?,
    }
    Ok(out)
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
    let t = transform_of(payload)
        .ok_or_else(|| Error::corrupt("float: payload names no known transform"))?;
    let mut r = Cursor::new(payload, "float");
    r.bytes(2, "float payload header")?;
    let bands = match t {
        Transform::Predictive => predictive::describe(
            shape.sample_type,
            shape.width,
            shape.height,
            shape.bands,
            &mut r,
        )?,
        _ => Vec::new(),
    };
    Ok((t, bands))
}

/// Decodes a tile, appending its pixel-interleaved samples to `out`.
pub fn decode(shape: &TileShape, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let ty = shape.sample_type;
    if !supports(ty) {
        return Err(Error::corrupt(format!("float codec cannot hold {ty}")));
    }
    let mut r = Cursor::new(payload, "float");
    let head = r.bytes(2, "float payload header")?;
    if head[0] != VERSION {
        return Err(Error::unsupported(format!(
            "float payload version {} (this build reads {VERSION})",
            head[0]
        )));
    }
    let (w, h, nb) = (shape.width, shape.height, shape.bands);
    let bands = match transform_of(payload) {
        Some(Transform::Predictive) => predictive::decode(ty, w, h, nb, &mut r)?,
        Some(Transform::BytePlanes) => byte_planes::decode(ty, w, h, nb, &mut r)?,
        Some(Transform::Gridfour) => gridfour::decode(ty, w, h, nb, &mut r)?,
        Some(Transform::Lz) => return lz::decode(&payload[2..], shape.bytes(), out),
        None => {
            return Err(Error::corrupt(format!(
                "float: unknown transform {}",
                head[1]
            )))
        }
    };
    let (k, start) = (ty.size(), out.len());
    out.resize(start + shape.bytes(), 0);
    let dst = &mut out[start..];
    let stride = nb * k;
    for (b, band) in bands.iter().enumerate() {
        for (px, &v) in dst[b * k..].chunks_mut(stride).zip(band) {
            px[..k].copy_from_slice(&v.to_le_bytes()[..k]);
        }
    }
    Ok(())
}
