//! The `scales-from-codes` codec: an aux scale plane coded from the codes beside it.
//!
//! A GeoTessera tile stored as it is downloaded, int8 codes plus a float32 scale per pixel,
//! becomes a `.emb` whose bands are the codes and whose aux plane `scales` is the scale
//! plane. Coded on its own (the float codec) a Presto scale costs about 19.3 bits; but the
//! scale is the largest magnitude of a LayerNorm-ed vector over 127, so the pixel's codes
//! predict it to a fraction of a percent, which the `dequant` codec already exploits for
//! dequantised float tiles (scale model 1, `scale_model.rs`): about 16.8 bits. This codec
//! stores an aux plane's block as that same predicted-scales section, the decoder taking
//! the codes from plane 0's decoded block of the same tile. It is the one codec whose tile
//! depends on another block: the container decodes plane 0's block first and hands it over
//! ([`CodesTile`]); the codec alone cannot decode it. Byte layout: docs/format.md §5.8.

use super::part::read_part;
use super::scale_model::{
    decode_predicted_scales, encode_predicted_scales, features, read_coefficients, Features,
};
use super::{CodecId, CodecParams, Effort, TileShape};
use crate::entropy::varint::Cursor;
use crate::error::{Error, Result};
use crate::sample::SampleType;

/// The payload version this build writes and reads.
pub const VERSION: u8 = 1;

/// Plane 0's decoded block of the tile, whose codes predict the scales.
#[derive(Clone, Copy, Debug)]
pub struct CodesTile<'a> {
    /// The bands' sample type: an 8- or 16-bit integer.
    pub sample_type: SampleType,
    /// Codes per pixel (the file's band count).
    pub bands: usize,
    /// The decoded samples, pixel-interleaved, little-endian.
    pub samples: &'a [u8],
}

/// Whether a plane of `plane_bands` bands of `plane_type` can be coded from codes of
/// `codes_type`: a one-band float32 plane beside 8- or 16-bit integer bands.
pub fn applies(codes_type: SampleType, plane_type: SampleType, plane_bands: usize) -> bool {
    codes_type.small_int_range().is_some() && plane_type == SampleType::F32 && plane_bands == 1
}

/// The model's [`Features`] of every pixel of `codes`, checked to fit a plane of `shape`
/// (computed pixel by pixel: the codes are never held as integers all at once).
fn codes_features(shape: &TileShape, codes: &CodesTile) -> Result<Vec<Features>> {
    if !applies(codes.sample_type, shape.sample_type, shape.bands) || codes.bands == 0 {
        return Err(Error::invalid(format!(
            "scales-from-codes codes a one-band float32 plane from 8- or 16-bit integer \
             codes, not a {}-band {} plane from {}-band {} codes",
            shape.bands, shape.sample_type, codes.bands, codes.sample_type
        )));
    }
    let pixel_bytes = codes.bands * codes.sample_type.size();
    if codes.samples.len() != shape.pixels() * pixel_bytes {
        return Err(Error::invalid(format!(
            "scales-from-codes: the codes' tile has {} bytes, {} pixels of {} {} codes need {}",
            codes.samples.len(),
            shape.pixels(),
            codes.bands,
            codes.sample_type,
            shape.pixels() * pixel_bytes
        )));
    }
    let mut pixel = vec![0i32; codes.bands];
    Ok(codes
        .samples
        .chunks_exact(pixel_bytes)
        .map(|bytes| {
            codes.sample_type.small_int_values(bytes, &mut pixel);
            features(&pixel)
        })
        .collect())
}

/// Encodes a one-band float32 plane (`scales`, little-endian) from the tile's `codes`:
/// the version byte, then the predicted-scales section fitted on every pixel.
pub fn encode(
    shape: &TileShape,
    scales: &[u8],
    codes: &CodesTile,
    effort: Effort,
) -> Result<Vec<u8>> {
    let features = codes_features(shape, codes)?;
    if scales.len() != shape.bytes() {
        return Err(Error::invalid(format!(
            "scales-from-codes: the plane has {} bytes, the tile needs {}",
            scales.len(),
            shape.bytes()
        )));
    }
    let scale_bits: Vec<u64> = scales
        .chunks_exact(4)
        .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")) as u64)
        .collect();
    let params = CodecParams {
        effort,
        ..CodecParams::default()
    };
    let mut payload = vec![VERSION];
    payload.extend(encode_predicted_scales(
        shape,
        &features,
        &scale_bits,
        |_| true,
        &params,
    )?);
    Ok(payload)
}

/// Decodes a plane coded from `codes`, appending its samples to `out` (nothing is left
/// behind on error).
pub fn decode(
    shape: &TileShape,
    payload: &[u8],
    codes: &CodesTile,
    out: &mut Vec<u8>,
) -> Result<()> {
    let features = codes_features(shape, codes)?;
    let mut cursor = Cursor::new(payload, "scales-from-codes");
    read_version(&mut cursor)?;
    let scales = decode_predicted_scales(shape, &mut cursor, &features)?;
    if cursor.pos != payload.len() {
        return Err(Error::corrupt(
            "scales-from-codes: bytes after the scale residuals",
        ));
    }
    out.extend_from_slice(&scales);
    Ok(())
}

fn read_version(cursor: &mut Cursor) -> Result<()> {
    let version = cursor.bytes(1, "payload version")?[0];
    if version != VERSION {
        return Err(Error::unsupported(format!(
            "scales-from-codes payload version {version} (this build reads {VERSION})"
        )));
    }
    Ok(())
}

/// What a payload holds, for `geoembed info`.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The model's coefficients `a`, `b`, `c`: `s ≈ a/√Σq² + b/Σ|q| + c`.
    pub coefficients: [f64; 3],
    /// The residual part's codec and payload bytes.
    pub residuals: (CodecId, usize),
}

/// Reads a payload's [`Summary`] without decoding the residuals.
pub fn summarize(payload: &[u8]) -> Result<Summary> {
    let mut cursor = Cursor::new(payload, "scales-from-codes");
    read_version(&mut cursor)?;
    let coefficients = read_coefficients(&mut cursor)?;
    let (codec, part) = read_part(&mut cursor, "scale residuals")?;
    Ok(Summary {
        coefficients,
        residuals: (codec, part.len()),
    })
}
