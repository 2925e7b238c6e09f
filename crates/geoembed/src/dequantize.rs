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
