//! Physical values from quantised samples, following a `.emb` header's dequantisation
//! recipe: GeoTessera's `q × scale` (float32 arithmetic, as its numpy does) or a power law.
//! No GDAL: the decoder uses it, and so can a Python binding returning float32 arrays.

use crate::error::{Error, ErrorKind, OptionKey, Result};
use geoembed_codec::{Dequantization, Header};

/// Physical float32 values (little-endian bytes) of a strip of plane 0. `scales` is the
/// same rows of the scale plane when the recipe is a per-pixel scale.
pub fn dequantize_strip(h: &Header, strip: &[u8], scales: Option<&[u8]>) -> Result<Vec<u8>> {
    let bands = h.bands.len();
    let q = h.sample_type.values_f64(strip);
    let mut out = Vec::with_capacity(q.len() * 4);
    match &h.dequantization {
        Some(Dequantization::PerPixelScale { aux_plane }) => {
            let scale_bands = h.aux_planes[*aux_plane as usize].bands as usize;
            let scales = scales.ok_or_else(|| {
                Error::new(
                    ErrorKind::Other,
                    "the scale plane's rows are needed to dequantise",
                )
            })?;
            let s: Vec<f32> = scales
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            for (i, v) in q.iter().enumerate() {
                let (p, b) = (i / bands, i % bands);
                let sc = if scale_bands == 1 {
                    s[p]
                } else {
                    s[p * bands + b]
                };
                out.extend_from_slice(&((*v as f32) * sc).to_le_bytes());
            }
        }
        Some(Dequantization::PowerLaw { divisor, exponent }) => {
            for (i, v) in q.iter().enumerate() {
                let nd = h.bands[i % bands].nodata;
                let x = if nd == Some(*v) {
                    f32::NAN
                } else {
                    (v.signum() * (v.abs() / divisor).powf(*exponent)) as f32
                };
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        None => return Err(no_recipe()),
    }
    Ok(out)
}

/// The error for dequantising a file whose samples are already values.
pub fn no_recipe() -> Error {
    Error::invalid_option(
        OptionKey::Dequantize,
        "",
        "the file has no dequantisation recipe (its samples are already values)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoembed_codec::{AuxPlane, SampleType};

    #[test]
    fn per_pixel_scales_multiply_in_float32() {
        let mut h = Header::new(2, 1, 2, SampleType::I8);
        h.aux_planes.push(AuxPlane {
            name: "scales".into(),
            sample_type: SampleType::F32,
            bands: 1,
            description: String::new(),
        });
        h.dequantization = Some(Dequantization::PerPixelScale { aux_plane: 0 });
        let q = [1u8, 0xFF, 2, 3]; // pixel 0: 1, -1; pixel 1: 2, 3
        let scales: Vec<u8> = [0.5f32, 0.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let out = dequantize_strip(&h, &q, Some(&scales)).unwrap();
        let v: Vec<f32> = out
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(v, [0.5, -0.5, 0.5, 0.75]);
        let plain = Header::new(2, 1, 2, SampleType::I8);
        let e = dequantize_strip(&plain, &q, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption(OptionKey::Dequantize));
    }
}
