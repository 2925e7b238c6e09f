//! The scales predicted from the codes: the `dequant` codec's scale model 1 (format §5.5.1)
//! and the `scales-from-codes` codec of aux scale planes (§5.8) store the same section,
//! three coefficients and a part of residuals (§5.5.1's "parts"). GeoTessera's scale is the largest
//! magnitude of a LayerNorm-ed vector over 127, and LayerNorm fixes the vector's norm: the
//! codes (`x ≈ q·s`) then say most of what the scale is, `s ≈ a/√Σq² + b/Σ|q| + c` with
//! three coefficients fitted per tile. What the prediction leaves — the difference of the
//! scale's and the prediction's order-preserving words, a small int32 — is a smoother and
//! smaller plane than the scales themselves (about 17 instead of 19-20 bits on Presto
//! embeddings), coded by the float codec's integer path.
//!
//! The prediction uses only IEEE-754 operations that every machine rounds the same way (a
//! square root, divisions, products and sums in binary64, in a fixed order, then one
//! rounding to binary32), and the difference wraps: any scale, even one the model predicts
//! badly, comes back bit for bit.

use super::part::{decode_part, encode_part, read_part};
use super::{CodecParams, TileShape};
use crate::entropy::varint::Cursor;
use crate::error::Result;
use crate::sample::SampleType;
use nalgebra::{Matrix3, Vector3};

/// What the model reads of a pixel's codes: `(1/√Σq², 1/Σ|q|)`.
pub(crate) type Features = (f64, f64);

/// The [`Features`] of a pixel's codes, both 0 for a pixel of zero codes.
#[inline]
pub(crate) fn features(codes: &[i32]) -> Features {
    let (mut squares, mut magnitudes) = (0i64, 0i64);
    for &q in codes {
        squares += q as i64 * q as i64;
        magnitudes += q.unsigned_abs() as i64;
    }
    if magnitudes == 0 {
        return (0.0, 0.0);
    }
    (1.0 / (squares as f64).sqrt(), 1.0 / magnitudes as f64)
}

/// The [`Features`] of every pixel of `codes`, `codes_per_pixel` codes each.
pub(crate) fn pixel_features(codes: &[i32], codes_per_pixel: usize) -> Vec<Features> {
    codes.chunks_exact(codes_per_pixel).map(features).collect()
}

/// The model's three coefficients, as the payload stores them (f64 bits).
#[derive(Clone, Copy, Debug, PartialEq)]
struct ScaleModel {
    coefficients: [f64; 3],
}

impl ScaleModel {
    /// Least-squares coefficients on the pixels `use_pixel` admits (float32 scales).
    fn fit(features: &[Features], scales: &[u64], use_pixel: impl Fn(usize) -> bool) -> ScaleModel {
        let (mut gram, mut rhs) = (Matrix3::<f64>::zeros(), Vector3::<f64>::zeros());
        for (p, &(f1, f2)) in features.iter().enumerate() {
            let scale = f32::from_bits(scales[p] as u32) as f64;
            if !use_pixel(p) || !scale.is_finite() || scale <= 0.0 {
                continue;
            }
            let row = Vector3::new(f1, f2, 1.0);
            gram += row * row.transpose();
            rhs += row * scale;
        }
        let coefficients = gram
            .try_inverse()
            .map(|inverse| inverse * rhs)
            .filter(|c| c.iter().all(|v| v.is_finite()))
            .map_or([0.0; 3], |c| [c[0], c[1], c[2]]);
        ScaleModel { coefficients }
    }

    /// The predicted scale's order-preserving word (§2.1's float word) for a pixel.
    #[inline]
    fn predicted_word(&self, (f1, f2): Features) -> u32 {
        let [a, b, c] = self.coefficients;
        let predicted = (a * f1 + b * f2 + c) as f32;
        SampleType::F32.to_word(predicted.to_bits() as u64) as u32
    }

    /// The residual plane: each scale's word minus its prediction's, wrapping (int32).
    fn residuals(&self, features: &[Features], scales: &[u64]) -> Vec<u32> {
        features
            .iter()
            .zip(scales)
            .map(|(&pixel, &scale)| {
                let word = SampleType::F32.to_word(scale) as u32;
                word.wrapping_sub(self.predicted_word(pixel))
            })
            .collect()
    }

    /// The scale bits of a pixel from its features and its residual.
    #[inline]
    fn scale(&self, pixel: Features, residual: u32) -> u64 {
        let word = self.predicted_word(pixel).wrapping_add(residual);
        SampleType::F32.from_word(word as u64)
    }
}

/// The predicted-scales section of a tile of `shape` (one scale per pixel, float32
/// `scale_bits`) given its pixels' [`Features`]: the model fitted on the pixels
/// `use_pixel` admits, as `3 × f64` coefficients, then the residuals as an int32 part.
pub(crate) fn encode_predicted_scales(
    shape: &TileShape,
    features: &[Features],
    scale_bits: &[u64],
    use_pixel: impl Fn(usize) -> bool,
    params: &CodecParams,
) -> Result<Vec<u8>> {
    let model = ScaleModel::fit(features, scale_bits, use_pixel);
    let mut section = Vec::new();
    for c in model.coefficients {
        section.extend_from_slice(&c.to_bits().to_le_bytes());
    }
    let residuals = model.residuals(features, scale_bits);
    let bytes: Vec<u8> = residuals.iter().flat_map(|r| r.to_le_bytes()).collect();
    encode_part(shape, 1, SampleType::I32, &bytes, params, &mut section)?;
    Ok(section)
}

/// The section's three coefficients `a`, `b`, `c` (binary64 bits, little-endian).
pub(crate) fn read_coefficients(cursor: &mut Cursor) -> Result<[f64; 3]> {
    let raw = cursor.bytes(24, "scale model coefficients")?;
    let coefficient = |i: usize| {
        f64::from_bits(u64::from_le_bytes(
            raw[8 * i..8 * i + 8].try_into().expect("8 bytes"),
        ))
    };
    Ok([coefficient(0), coefficient(1), coefficient(2)])
}

/// Reads a predicted-scales section (coefficients, residual part) and rebuilds the scale
/// plane of a tile of `shape` from its pixels' [`Features`]: float32 samples,
/// little-endian.
pub(crate) fn decode_predicted_scales(
    shape: &TileShape,
    cursor: &mut Cursor,
    features: &[Features],
) -> Result<Vec<u8>> {
    let model = ScaleModel {
        coefficients: read_coefficients(cursor)?,
    };
    let (codec, payload) = read_part(cursor, "scale residuals")?;
    let residuals = decode_part(shape, 1, SampleType::I32, codec, payload)?;
    Ok(features
        .iter()
        .zip(residuals.chunks_exact(4))
        .flat_map(|(&pixel, r)| {
            let residual = u32::from_le_bytes(r.try_into().expect("4 bytes"));
            (model.scale(pixel, residual) as u32).to_le_bytes()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_come_back_bit_for_bit_whatever_the_model() {
        let codes = [127, -3, 5, 0, 0, 0, -127, 64, 1];
        let scales = [0.031_4f32, 0.0, 1e-40]
            .map(|s| s.to_bits() as u64)
            .to_vec();
        for model in [
            ScaleModel::fit(&pixel_features(&codes, 3), &scales, |_| true),
            ScaleModel {
                coefficients: [f64::MAX, -1e300, f64::MIN_POSITIVE],
            },
        ] {
            let features = pixel_features(&codes, 3);
            let residuals = model.residuals(&features, &scales);
            for (p, (&residual, &scale)) in residuals.iter().zip(&scales).enumerate() {
                assert_eq!(model.scale(features[p], residual), scale);
            }
        }
    }
}
