//! How far a decoded raster is from its source, in the figures a transform-coded file's
//! `loss` chunk records and `geoembed info` reports: relative RMSE, largest absolute error,
//! mean and 1st-percentile per-pixel cosine similarity. The measurement is the codec
//! crate's [`LossStats`], the one the `klt` codec's rate control measures every tile with
//! ([`achieved_figures`] turns it into the recorded figures), so a benchmark of any lossy
//! mode reports the same quantities, computed the same way, as `info` does for `klt` files.

use crate::error::{Error, ErrorKind, Result};
use geoembed_codec::{achieved_figures, scale_plane, Header, LossStats, TransformAchieved};

/// Rows measured at once: bounds the `f64` copies at any raster size.
const ROWS_PER_BATCH_SAMPLES: usize = 1 << 20;

/// A raster held in memory: its header and one pixel-interleaved buffer per plane (the
/// bands, then each aux plane), as [`crate::MemSource`] holds it.
pub type PlanesRef<'a> = (&'a Header, &'a [Vec<u8>]);

/// The values of rows `y0..y1` of plane 0: dequantised (float32 arithmetic, as every
/// reader computes them) when the header has a recipe, else the samples themselves.
fn row_values(h: &Header, planes: &[Vec<u8>], y0: usize, y1: usize) -> Result<Vec<f64>> {
    let row = |plane: usize| -> Result<&[u8]> {
        let (ty, bands) = h.plane_layout(plane).map_err(|e| codec_error(&e))?;
        let bytes = h.width as usize * bands * ty.size();
        planes
            .get(plane)
            .and_then(|p| p.get(y0 * bytes..y1 * bytes))
            .ok_or_else(|| Error::new(ErrorKind::Other, format!("plane {plane} is short")))
    };
    let samples = row(0)?;
    if h.dequantization.is_none() {
        return Ok(h.sample_type.values_f64(samples));
    }
    let scales = scale_plane(h).map(row).transpose()?;
    let mut values = Vec::new();
    geoembed_codec::dequantize(h, samples, scales, &mut values).map_err(|e| codec_error(&e))?;
    Ok(values.into_iter().map(f64::from).collect())
}

fn codec_error(e: &geoembed_codec::Error) -> Error {
    Error::new(ErrorKind::Other, e.to_string())
}

/// Measures `decoded` against `source` over plane 0, pixel by pixel: the values each stands
/// for (dequantised when its header has a recipe, so a GeoTessera tile's int8 codes and a
/// transform-coded file's float32 values compare as values). Both must have the same width,
/// height and band count.
pub fn measure_fidelity(source: PlanesRef, decoded: PlanesRef) -> Result<TransformAchieved> {
    let (hs, hd) = (source.0, decoded.0);
    let bands = hs.bands.len();
    if (hs.width, hs.height, bands) != (hd.width, hd.height, hd.bands.len()) {
        return Err(Error::new(
            ErrorKind::Other,
            format!(
                "cannot compare a {}x{}x{bands} raster with a {}x{}x{} one",
                hs.width,
                hs.height,
                hd.width,
                hd.height,
                hd.bands.len()
            ),
        ));
    }
    let per_row = (hs.width as usize * bands).max(1);
    let batch = (ROWS_PER_BATCH_SAMPLES / per_row).max(1);
    let mut stats = LossStats::default();
    let height = hs.height as usize;
    for y0 in (0..height).step_by(batch) {
        let y1 = (y0 + batch).min(height);
        let x = row_values(hs, source.1, y0, y1)?;
        let y = row_values(hd, decoded.1, y0, y1)?;
        stats.merge(&LossStats::measure(&x, &y, bands));
    }
    Ok(achieved_figures(&stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoembed_codec::SampleType;

    #[test]
    fn measures_plane_0_in_batches_like_the_codec() {
        let h = Header::new(3, 2, 2, SampleType::I16);
        let bytes = |v: &[i16]| v.iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>();
        let x = [3i16, 4, 1, 0, 5, 5, -2, 2, 0, 0, 7, 1];
        let mut y = x;
        y[2] = 0;
        y[3] = 1;
        let source = vec![bytes(&x)];
        let decoded = vec![bytes(&y)];
        let figures = measure_fidelity((&h, &source), (&h, &decoded)).unwrap();
        let xs: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let ys: Vec<f64> = y.iter().map(|&v| v as f64).collect();
        assert_eq!(figures, achieved_figures(&LossStats::measure(&xs, &ys, 2)));
        assert_eq!(figures.max_abs_error, 1.0);
        let exact = measure_fidelity((&h, &source), (&h, &source)).unwrap();
        assert_eq!((exact.rel_rmse, exact.mean_cosine), (0.0, 1.0));
    }
}
