//! Physical values from quantised samples, following a `.emb` header's dequantisation
//! recipe: GeoTessera's `q × scale` (float32 arithmetic, as its numpy does) or a power law,
//! as strips of little-endian bytes for GDAL outputs. The arithmetic lives in the codec
//! crate, so every reader produces the same bits.

use crate::error::{Error, ErrorKind, OptionKey, Result};
use geoembed_codec::Header;

/// Physical float32 values (little-endian bytes) of a strip of plane 0. `scales` is the
/// same rows of the scale plane when the recipe is a per-pixel scale. The arithmetic is the
/// codec crate's ([`geoembed_codec::dequantize`]), shared with the plugin and Python.
pub fn dequantize_strip(h: &Header, strip: &[u8], scales: Option<&[u8]>) -> Result<Vec<u8>> {
    if h.dequantization.is_none() {
        return Err(no_recipe());
    }
    let mut values = Vec::new();
    geoembed_codec::dequantize(h, strip, scales, &mut values)
        .map_err(|e| Error::new(ErrorKind::Other, e.to_string()))?;
    Ok(values.iter().flat_map(|v| v.to_le_bytes()).collect())
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
    use geoembed_codec::{AuxPlane, Dequantization, SampleType};

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
