//! `.emb` → GeoTessera's layout, for an output named `OUT.npy`: `OUT.npy` (the bands as an
//! (H, W, C) array, C order, as `np.save` writes it), `OUT_scales.npy` (the per-pixel scale
//! plane, (H, W) or (H, W, C) float32) and `OUT_landmask.tif` (a one-band uint8 GeoTIFF with
//! the CRS and geotransform). A file made from a GeoTessera tile gives back its `.npy` and
//! scales byte for byte. The `.emb` keeps no landmask values: the mask is 1 where the pixel
//! has a usable scale (finite, non-zero), else 0. Files without a scale recipe give just
//! `OUT.npy`; with dequantisation, `OUT.npy` holds float32 values and there are no scales.
//! Everything is staged and renamed into place together.

use crate::decode::DecodeReport;
use crate::dequantize::dequantize_strip;
use crate::error::{Error, Result};
use crate::gdal as gdal_util;
use crate::options::DecodeOptions;
use crate::progress::{Progress, Stage};
use crate::read::{EmbFile, TileRegion};
use crate::write::gdal as gdal_write;
use crate::write::npy::NpyWriter;
use crate::write::staging::Staging;
use geoembed_codec::{scale_plane, Georef, Header, SampleType};
use std::path::{Path, PathBuf};

/// Whether an output name asks for GeoTessera's `.npy` layout.
pub fn is_npy_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// The scales and landmask files written beside `out` (`OUT_scales.npy`,
/// `OUT_landmask.tif`), whether or not a given file needs them.
pub fn companions(out: &Path) -> [PathBuf; 2] {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    [
        out.with_file_name(format!("{stem}_scales.npy")),
        out.with_file_name(format!("{stem}_landmask.tif")),
    ]
}

/// The outputs being written, in the staging directory.
struct Outputs {
    data: NpyWriter,
    scales: Option<NpyWriter>,
    /// One byte per pixel, filled row by row, when a landmask is written.
    mask: Option<Vec<u8>>,
}

impl Outputs {
    fn create(h: &Header, dir: &Path, out: &Path, dequantize: bool) -> Result<Self> {
        let name = |p: &Path| dir.join(p.file_name().expect("output has a file name"));
        let [scales_path, _] = companions(out);
        let (w, hgt, bands) = (h.width as usize, h.height as usize, h.bands.len());
        let ty = if dequantize {
            SampleType::F32
        } else {
            h.sample_type
        };
        let data = NpyWriter::create(&name(out), ty, &[hgt, w, bands])?;
        let plane = scale_plane(h);
        let scales = match (plane, dequantize) {
            (Some(p), false) => {
                let (sty, sbands) = h.plane_layout(p)?;
                let shape = match sbands {
                    1 => vec![hgt, w],
                    n => vec![hgt, w, n],
                };
                Some(NpyWriter::create(&name(&scales_path), sty, &shape)?)
            }
            _ => None,
        };
        let georeferenced = h.georef.geotransform.is_some() || h.georef.srs.is_some();
        let mask = (plane.is_some() && georeferenced).then(|| Vec::with_capacity(w * hgt));
        Ok(Outputs { data, scales, mask })
    }
}

/// 1 where a pixel's scales are all finite and non-zero.
fn mask_from_scales(scales: &[u8], scale_bands: usize, mask: &mut Vec<u8>) {
    for pixel in scales.chunks_exact(4 * scale_bands) {
        let usable = pixel.chunks_exact(4).all(|s| {
            let v = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            v.is_finite() && v != 0.0
        });
        mask.push(usable as u8);
    }
}

/// Writes the `.emb` at `input` in GeoTessera's layout at `out` (see the module doc).
pub fn decode_to_npy(
    input: &Path,
    out: &Path,
    o: &DecodeOptions,
    progress: &dyn Progress,
) -> Result<DecodeReport> {
    let (mut emb, h) = crate::decode::open_for_decode(input, out, o)?;
    let staging = Staging::new(out, o.overwrite)?;
    let dir = staging
        .path()
        .parent()
        .expect("staged in a directory")
        .to_path_buf();
    let mut outputs =
        Outputs::create(&h, &dir, out, o.dequantize).map_err(|e| staging.redact(e))?;
    write_rows(&mut emb, &h, &mut outputs, o, progress).map_err(|e| staging.redact(e))?;
    let mut written = vec![out.to_path_buf()];
    outputs.data.finish()?;
    if let Some(scales) = outputs.scales {
        scales.finish()?;
        written.push(companions(out)[0].clone());
    }
    if let Some(mask) = outputs.mask {
        let landmask = companions(out)[1].clone();
        let staged = dir.join(landmask.file_name().expect("a file name"));
        write_landmask(&staged, &h, &mask).map_err(|e| e.at(&landmask))?;
        written.push(landmask);
    }
    staging.commit()?;
    Ok(DecodeReport {
        raw_bytes: h.width as u64 * h.height as u64 * (h.bands.len() * h.sample_type.size()) as u64,
        outputs: written,
    })
}

/// Decodes every tile row (and the scale plane when one is written or applied) into the
/// outputs, batch by batch.
fn write_rows(
    emb: &mut EmbFile,
    h: &Header,
    outputs: &mut Outputs,
    o: &DecodeOptions,
    progress: &dyn Progress,
) -> Result<()> {
    let dequantize = o.dequantize;
    let plane = scale_plane(h);
    let scale_bands = match plane {
        Some(p) => h.plane_layout(p)?.1,
        None => 0,
    };
    let total = h.tiles_per_plane() * if plane.is_some() { 2 } else { 1 };
    let stage = Stage::begin(progress, total, "decoding");
    let px = h.bands.len() * h.sample_type.size();
    let batch =
        (o.batch_bytes / (h.width as usize * h.tile_height as usize * px).max(1)).max(1) as u32;
    let mut ty0 = 0;
    while ty0 < h.tiles_down() {
        let ty1 = (ty0 + batch).min(h.tiles_down());
        let strips = emb.decode_strips(0, ty0, ty1, &stage)?;
        // A scale plane coded from the codes takes them from the strips just decoded.
        let region = TileRegion {
            rows: ty0..ty1,
            columns: 0..h.tiles_across(),
        };
        let scales = match plane {
            Some(p) => {
                let bands = Some(strips.as_slice());
                Some(emb.decode_region_given_bands(p, &region, &stage, usize::MAX, bands)?)
            }
            None => None,
        };
        for (i, strip) in strips.into_iter().enumerate() {
            let scale_strip = scales.as_ref().map(|s| s[i].as_slice());
            if dequantize {
                outputs
                    .data
                    .write(&dequantize_strip(h, &strip, scale_strip)?)?;
            } else {
                outputs.data.write(&strip)?;
            }
            if let (Some(writer), Some(s)) = (outputs.scales.as_mut(), scale_strip) {
                writer.write(s)?;
            }
            if let (Some(mask), Some(s)) = (outputs.mask.as_mut(), scale_strip) {
                mask_from_scales(s, scale_bands, mask);
            }
        }
        ty0 = ty1;
    }
    Ok(())
}

/// The landmask GeoTIFF: uint8, one band, DEFLATE, with the header's CRS and geotransform.
fn write_landmask(path: &Path, h: &Header, mask: &[u8]) -> Result<()> {
    let gtiff = gdal::DriverManager::get_driver_by_name("GTiff")?;
    let mut georef_only = Header::new(h.width, h.height, 1, SampleType::U8);
    georef_only.georef = Georef {
        geotransform: h.georef.geotransform,
        srs: h.georef.srs.clone(),
        ..Default::default()
    };
    let opts = ["COMPRESS=DEFLATE".to_string()];
    let mut ds = gdal_write::create(&gtiff, path, &georef_only, SampleType::U8, 1, &opts)?;
    gdal_write::apply_header(&mut ds, &georef_only, false)?;
    let mut samples = mask.to_vec();
    gdal_util::raster_io(
        &ds,
        true,
        SampleType::U8,
        1,
        h.width as usize,
        0..h.height as usize,
        &mut samples,
    )?;
    ds.close()
        .map_err(|e| Error::gdal(path, format!("GDAL could not finish writing: {e}")))
}
