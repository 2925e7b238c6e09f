//! `.emb` → any GDAL format, bit for bit, or dequantised to float32. The output is
//! staged and renamed into place: it appears whole or not at all.

use crate::dequantize::{dequantize_strip, no_recipe};
use crate::error::{Error, OptionKey, Result};
use crate::gdal as gdal_util;
use crate::metadata::metadata_value;
use crate::options::DecodeOptions;
use crate::progress::{Progress, Stage};
use crate::read::emb::tiles_in_flight;
use crate::read::{EmbFile, TileRegion};
use crate::write::gdal as gdal_write;
use crate::write::staging::{check_output_file, Staging};
use gdal::{Dataset, Driver};
use geoembed_codec::{Dequantization, Header, SampleType};
use std::path::{Path, PathBuf};

/// What a decode wrote, for the one-line summary.
#[derive(Clone, Debug, Default)]
pub struct DecodeReport {
    /// Bytes of the samples written (before the output format's compression).
    pub raw_bytes: u64,
    /// The files written (the output, and companions such as GeoTessera's scales).
    pub outputs: Vec<PathBuf>,
}

/// Writes the `.emb` at `input` to `out`: GeoTessera's layout for a `.npy` name, else the
/// GDAL format `o.format` or the one of `out`'s extension.
pub fn decode_to_file(
    input: &Path,
    out: &Path,
    o: &DecodeOptions,
    progress: &dyn Progress,
) -> Result<DecodeReport> {
    if o.format.is_none() && crate::write::tessera::is_npy_name(out) {
        if !o.creation_options.is_empty() {
            return Err(Error::invalid_option(
                OptionKey::CreationOption,
                &o.creation_options[0],
                "a .npy output takes no creation options",
            ));
        }
        return crate::write::tessera::decode_to_npy(input, out, o, progress);
    }
    decode_to_gdal(input, out, o, progress)
}

/// How the output gets written: straight through the format's driver, or (drivers without
/// `Create`, and netCDF with extra dimensions) as a GeoTIFF first, then `CreateCopy`.
struct OutputPlan {
    driver: Driver,
    /// The sample type written (float32 when dequantising).
    sample_type: SampleType,
    direct: bool,
    options: Vec<String>,
}

/// Checks that the format can take this file before any work starts.
fn plan_output(h: &Header, out: &Path, o: &DecodeOptions) -> Result<OutputPlan> {
    let sample_type = if o.dequantize {
        SampleType::F32
    } else {
        h.sample_type
    };
    let driver = gdal_write::output_driver(out, o.format.as_deref())?;
    if let Some(why) = gdal_write::lossy_reason(&driver, &o.creation_options) {
        if !o.allow_lossy {
            return Err(
                Error::invalid_option(OptionKey::LossyOutput, driver.short_name(), why).at(out),
            );
        }
    }
    let signed_bytes = gdal_write::creation_options(&driver, SampleType::I8, h.tile_width, &[], 1)
        .iter()
        .any(|s| s == "PIXELTYPE=SIGNEDBYTE");
    if sample_type == SampleType::I8 && !signed_bytes {
        let why = format!(
            "GDAL {} (3.6) cannot store int8 samples; write GeoTIFF instead or dequantise",
            driver.short_name()
        );
        return Err(Error::unsupported(out, why));
    }
    // netCDF rebuilds time/level dimensions (NETCDF_DIM_EXTRA, per-band NETCDF_DIM_*) only
    // in CreateCopy; Create would flatten them into Band1..BandN variables.
    let extra_dims = metadata_value(&h.metadata, "", "NETCDF_DIM_EXTRA").is_some();
    let direct =
        gdal_write::can_create(&driver) && !(driver.short_name() == "netCDF" && extra_dims);
    if !direct && !gdal_write::can_create_copy(&driver) {
        let why = format!("GDAL driver {} cannot write files", driver.short_name());
        return Err(Error::unsupported(out, why));
    }
    let options = gdal_write::creation_options(
        &driver,
        sample_type,
        h.tile_width,
        &o.creation_options,
        o.threads,
    );
    Ok(OutputPlan {
        driver,
        sample_type,
        direct,
        options,
    })
}

/// Checks what can be checked before any work (the output path, the input's declared
/// sizes against the limits, a recipe when dequantising) and opens the input.
pub(crate) fn open_for_decode(
    input: &Path,
    out: &Path,
    o: &DecodeOptions,
) -> Result<(EmbFile, Header)> {
    check_output_file(out, o.overwrite)?;
    let emb = EmbFile::open_with_limits(input, &o.limits)?;
    let h = emb.reader().header().clone();
    if o.dequantize && h.dequantization.is_none() {
        return Err(no_recipe().at(input));
    }
    Ok((emb, h))
}

/// Writes the `.emb` at `input` to `out` in a GDAL format, reporting every tile decoded to
/// `progress`. Options are checked before any work; errors name `out`, never the staged
/// file GDAL writes.
pub fn decode_to_gdal(
    input: &Path,
    out: &Path,
    o: &DecodeOptions,
    progress: &dyn Progress,
) -> Result<DecodeReport> {
    let (mut emb, h) = open_for_decode(input, out, o)?;
    let plan = plan_output(&h, out, o)?;
    let staging = Staging::new(out, o.overwrite)?;
    let report =
        write_staged(&mut emb, &plan, &staging, out, o, progress).map_err(|e| staging.redact(e))?;
    staging.commit()?;
    Ok(report)
}

/// Writes the output into `staging`: straight, or as a GeoTIFF then `CreateCopy`.
fn write_staged(
    emb: &mut EmbFile,
    plan: &OutputPlan,
    staging: &Staging,
    out: &Path,
    o: &DecodeOptions,
    progress: &dyn Progress,
) -> Result<DecodeReport> {
    let h = emb.reader().header().clone();
    gdal_util::take_gdal_failures();
    let gtiff = gdal::DriverManager::get_driver_by_name("GTiff")?;
    let first_path = if plan.direct {
        staging.path()
    } else {
        let mut p = staging.path().into_os_string();
        p.push(".stage.tif");
        PathBuf::from(p)
    };
    let (first_driver, first_opts) = if plan.direct {
        (&plan.driver, plan.options.clone())
    } else {
        let opts =
            gdal_write::creation_options(&gtiff, plan.sample_type, h.tile_width, &[], o.threads);
        (&gtiff, opts)
    };
    let mut ds = gdal_write::create(
        first_driver,
        &first_path,
        &h,
        plan.sample_type,
        h.bands.len(),
        &first_opts,
    )?;
    gdal_write::apply_header(&mut ds, &h, o.dequantize).map_err(|e| e.at(out))?;
    let pixel_bytes = h.bands.len() * plan.sample_type.size();
    let tile = (h.tile_width.min(h.width), h.tile_height.min(h.height));
    let _cache = gdal_util::StreamingCache::for_dataset(&ds, tile, pixel_bytes, o.batch_bytes);
    let target = Target {
        ds: &ds,
        dequantize: o.dequantize,
        sample_type: plan.sample_type,
        out,
    };
    write_samples(emb, &target, o.batch_bytes, progress)?;
    let finished = |e: gdal::errors::GdalError| {
        Error::gdal(out, format!("GDAL could not finish writing: {e}")).with_source(e)
    };
    ds.flush_cache().map_err(finished)?;
    if plan.direct {
        ds.close().map_err(finished)?;
    } else {
        gdal_write::create_copy(&plan.driver, &ds, &staging.path(), &plan.options)?;
        drop(ds);
        let _ = gtiff.delete(&first_path);
    }
    if !o.dequantize {
        gdal_write::restore_exact_nodata(&staging.path(), &h)?;
    }
    // GDAL 3.6 reports some write errors (a full disk while flushing) only to its handler.
    if let Some(first) = gdal_util::take_gdal_failures().into_iter().next() {
        return Err(Error::gdal(
            out,
            format!("GDAL could not write it: {first}"),
        ));
    }
    let raw_bytes =
        h.width as u64 * h.height as u64 * (h.bands.len() * plan.sample_type.size()) as u64;
    Ok(DecodeReport {
        raw_bytes,
        outputs: vec![out.to_path_buf()],
    })
}

/// Where decoded samples go.
struct Target<'a> {
    ds: &'a Dataset,
    dequantize: bool,
    /// The sample type written (float32 when dequantising).
    sample_type: SampleType,
    out: &'a Path,
}

/// Decodes every tile of the bands (and the scale plane when dequantising) region by
/// region and writes it to the target.
fn write_samples(
    emb: &mut EmbFile,
    target: &Target,
    batch_bytes: usize,
    progress: &dyn Progress,
) -> Result<()> {
    let h = emb.reader().header().clone();
    let bands = h.bands.len();
    let scale_plane = match (&h.dequantization, target.dequantize) {
        (Some(Dequantization::PerPixelScale { aux_plane }), true) => Some(*aux_plane as usize + 1),
        _ => None,
    };
    let total = h.tiles_per_plane() * if scale_plane.is_some() { 2 } else { 1 };
    let stage = Stage::begin(progress, total, "decoding");
    // Every buffer a pixel of a region costs: its samples, its scales, its output values.
    let plane_bytes = |p: usize| h.plane_layout(p).map_or(0, |(t, n)| t.size() * n);
    let mut pixel_bytes = plane_bytes(0);
    if target.dequantize {
        pixel_bytes += scale_plane.map_or(0, plane_bytes) + bands * target.sample_type.size();
    }
    let in_flight = tiles_in_flight(&h, 0, batch_bytes);
    for region in TileRegion::batches(&h, pixel_bytes, batch_bytes) {
        let strips = emb.decode_region(0, &region, &stage, in_flight)?;
        let scales = match scale_plane {
            Some(p) => {
                let bands = Some(strips.as_slice());
                Some(emb.decode_region_given_bands(p, &region, &stage, in_flight, bands)?)
            }
            None => None,
        };
        let columns = region.pixel_columns(&h);
        for (i, strip) in strips.into_iter().enumerate() {
            let (_, y0, _, rows) = h.tile_rect(0, region.rows.start + i as u32);
            let mut data = if target.dequantize {
                dequantize_strip(&h, &strip, scales.as_ref().map(|s| s[i].as_slice()))?
            } else {
                strip
            };
            let rows = y0 as usize..(y0 + rows) as usize;
            let (ds, ty) = (target.ds, target.sample_type);
            gdal_util::raster_io_window(ds, true, ty, bands, columns.clone(), rows, &mut data)
                .map_err(|e| e.at(target.out))?;
        }
    }
    Ok(())
}
