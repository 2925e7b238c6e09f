//! `.emb` → any GDAL format, bit for bit, or dequantised to float32 with `--dequantize`.

use crate::atomic::Staging;
use crate::emb_file::EmbFile;
use crate::error::{CliError, Result};
use crate::gdal_read::metadata_value;
use crate::gdal_util;
use crate::gdal_write;
use crate::progress::Progress;
use geoembed_codec::container::header::{Dequantization, Header};
use geoembed_codec::SampleType;
use std::path::Path;

#[derive(Clone, Debug, Default)]
pub struct DecodeOptions {
    pub format: Option<String>,
    pub creation_options: Vec<String>,
    pub dequantize: bool,
    pub threads: usize,
    pub quiet: bool,
}

/// Samples as f64 (for dequantisation).
fn values(ty: SampleType, bytes: &[u8]) -> Vec<f64> {
    let n = ty.size();
    bytes
        .chunks_exact(n)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(c);
            let v = u64::from_le_bytes(b);
            match ty {
                SampleType::U8 => v as u8 as f64,
                SampleType::I8 => v as u8 as i8 as f64,
                SampleType::U16 => v as u16 as f64,
                SampleType::I16 => v as u16 as i16 as f64,
                SampleType::U32 => v as u32 as f64,
                SampleType::I32 => v as u32 as i32 as f64,
                SampleType::F32 => f32::from_bits(v as u32) as f64,
                SampleType::F64 => f64::from_bits(v),
            }
        })
        .collect()
}

/// Physical float32 values of a strip of plane 0, following the header's recipe.
fn dequantize_strip(h: &Header, strip: &[u8], scales: Option<&[u8]>) -> Result<Vec<u8>> {
    let bands = h.bands.len();
    let mut out = Vec::with_capacity(strip.len() / h.sample_type.size() * 4);
    match &h.dequantization {
        Some(Dequantization::PerPixelScale { aux_plane }) => {
            let scale_bands = h.aux_planes[*aux_plane as usize].bands as usize;
            let q = values(h.sample_type, strip);
            let s: Vec<f32> = scales
                .expect("scale strip decoded")
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
                // float32 arithmetic, as GeoTessera's numpy does: q.astype(float32) * scale.
                out.extend_from_slice(&((*v as f32) * sc).to_le_bytes());
            }
        }
        Some(Dequantization::PowerLaw { divisor, exponent }) => {
            let q = values(h.sample_type, strip);
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
        None => {
            return Err(CliError::msg(
                "--dequantize: this file has no dequantisation recipe",
            ))
        }
    }
    Ok(out)
}

pub fn decode_to_gdal(input: &Path, out: &Path, o: &DecodeOptions) -> Result<()> {
    let mut emb = EmbFile::open(input)?;
    let h = emb.reader().header().clone();
    if o.dequantize && h.dequantization.is_none() {
        return Err(CliError::file(
            input,
            "--dequantize: the file has no dequantisation recipe (its samples are already values)",
        ));
    }
    let ty = if o.dequantize {
        SampleType::F32
    } else {
        h.sample_type
    };
    let driver = gdal_write::output_driver(out, o.format.as_deref())?;
    if ty == SampleType::I8
        && !gdal_write::creation_options(&driver, ty, h.tile_width, &[], 1)
            .iter()
            .any(|s| s == "PIXELTYPE=SIGNEDBYTE")
    {
        return Err(CliError::file(
            out,
            format!("GDAL {} (3.6) cannot store int8 samples; write GeoTIFF instead or use --dequantize", driver.short_name()),
        ));
    }
    // netCDF rebuilds time/level dimensions (NETCDF_DIM_EXTRA, per-band NETCDF_DIM_*) only
    // in CreateCopy; Create would flatten them into Band1..BandN variables.
    let extra_dims = metadata_value(&h.metadata, "", "NETCDF_DIM_EXTRA").is_some();
    let direct =
        gdal_write::can_create(&driver) && !(driver.short_name() == "netCDF" && extra_dims);
    if !direct && !gdal_write::can_create_copy(&driver) {
        return Err(CliError::file(
            out,
            format!("GDAL driver {} cannot write files", driver.short_name()),
        ));
    }
    let staging = Staging::new(out)?;
    gdal_util::take_gdal_failures();
    let opts =
        gdal_write::creation_options(&driver, ty, h.tile_width, &o.creation_options, o.threads);
    // Drivers without Create get a GeoTIFF first, then CreateCopy.
    let gtiff = gdal::DriverManager::get_driver_by_name("GTiff").expect("GTiff is built in");
    let (first_driver, first_path, first_opts) = if direct {
        (&driver, staging.path(), opts.clone())
    } else {
        let mut p = staging.path().into_os_string();
        p.push(".stage.tif");
        (
            &gtiff,
            p.into(),
            gdal_write::creation_options(&gtiff, ty, h.tile_width, &[], o.threads),
        )
    };
    let bands = h.bands.len();
    let mut ds = gdal_write::create(first_driver, &first_path, &h, ty, bands, &first_opts)?;
    gdal_write::apply_header(&mut ds, &h, o.dequantize).map_err(|e| CliError::file(out, e))?;
    let scale_plane = match (&h.dequantization, o.dequantize) {
        (Some(Dequantization::PerPixelScale { aux_plane }), true) => Some(*aux_plane as usize + 1),
        _ => None,
    };
    let total = h.tiles_per_plane() * if scale_plane.is_some() { 2 } else { 1 };
    let progress = Progress::new(total, "decoding", o.quiet);
    let px = bands * h.sample_type.size();
    let batch =
        ((256usize << 20) / (h.width as usize * h.tile_height as usize * px).max(1)).max(1) as u32;
    let mut ty0 = 0;
    while ty0 < h.tiles_down() {
        let ty1 = (ty0 + batch).min(h.tiles_down());
        let strips = emb.decode_strips(0, ty0, ty1, &progress)?;
        let scales = match scale_plane {
            Some(p) => Some(emb.decode_strips(p, ty0, ty1, &progress)?),
            None => None,
        };
        for (i, strip) in strips.into_iter().enumerate() {
            let tyi = ty0 + i as u32;
            let (_, y0, _, rows) = h.tile_rect(0, tyi);
            let mut data = if o.dequantize {
                dequantize_strip(&h, &strip, scales.as_ref().map(|s| s[i].as_slice()))?
            } else {
                strip
            };
            gdal_util::raster_io(
                &ds,
                true,
                ty,
                bands,
                h.width as usize,
                y0 as usize..y0 as usize + rows as usize,
                &mut data,
            )
            .map_err(|e| CliError::file(out, e))?;
        }
        ty0 = ty1;
    }
    progress.finish();
    ds.flush_cache()
        .map_err(|e| CliError::file(out, format!("GDAL could not finish writing: {e}")))?;
    if !direct {
        gdal_write::create_copy(&driver, &ds, &staging.path(), &opts)?;
        drop(ds);
        let _ = gtiff.delete(&first_path);
    } else {
        ds.close()
            .map_err(|e| CliError::file(out, format!("GDAL could not finish writing: {e}")))?;
    }
    // GDAL 3.6 reports some write errors (a full disk while flushing) only to its handler.
    if let Some(first) = gdal_util::take_gdal_failures().into_iter().next() {
        return Err(CliError::file(
            out,
            format!("GDAL could not write it: {first}"),
        ));
    }
    staging.commit()
}
