//! Writing a raster with GDAL (any format with `-of`), copying georeferencing and metadata
//! from a `.emb` header so that GDAL reports the same thing it reported for the source.

use crate::error::{Error, ErrorKind, OptionKey, Result};
use crate::gdal::{self as gdal_util, cstring, last_gdal_error, CStringList};
use gdal::{Dataset, DriverManager, Metadata};
use geoembed_codec::{Header, SampleType};
use std::path::Path;
use std::ptr;

/// Finds the output driver: `-of NAME`, else the one GDAL associates with the file's
/// extension. A name GDAL cannot place is refused (writing a GeoTIFF under a `.xyz` name
/// would hide the mistake).
pub fn output_driver(path: &Path, format: Option<&str>) -> Result<gdal::Driver> {
    if let Some(f) = format {
        return DriverManager::get_driver_by_name(f).map_err(|_| {
            Error::invalid_option(OptionKey::Format, f, "GDAL has no driver of that name")
        });
    }
    let refuse = |what: String| {
        Error::unsupported(
            path,
            format!("GDAL has no raster format for {what}; use .tif, .nc, .vrt, .npy (GeoTessera) or another extension GDAL writes, or name the format"),
        )
    };
    // GDAL matches a name without an extension to drivers without one (FIT, ...).
    let Some(extension) = path.extension() else {
        return Err(refuse("a name without an extension".into()));
    };
    let name = path.to_string_lossy();
    DriverManager::get_output_driver_for_dataset_name(name.as_ref(), gdal::DriverType::Raster)
        .ok_or_else(|| refuse(format!("the extension .{}", extension.to_string_lossy())))
}

/// The value of creation option `key` (case-insensitive), if given.
fn creation_option<'a>(options: &'a [String], key: &str) -> Option<&'a str> {
    options.iter().rev().find_map(|o| {
        let (k, v) = o.split_once('=')?;
        k.eq_ignore_ascii_case(key).then_some(v)
    })
}

fn is_yes(value: Option<&str>) -> bool {
    value.is_some_and(|v| ["YES", "TRUE", "ON", "1"].contains(&v.to_ascii_uppercase().as_str()))
}

/// Why writing with `driver` and these creation options loses information (JPEG, lossy
/// WebP or JPEG 2000, a GeoTIFF compressed with JPEG or lossy WebP/LERC), if it does.
pub fn lossy_reason(driver: &gdal::Driver, options: &[String]) -> Option<String> {
    let name = driver.short_name();
    let lossy = match name.as_str() {
        "JPEG" => true,
        "WEBP" => !is_yes(creation_option(options, "LOSSLESS")),
        "JP2OpenJPEG" => !is_yes(creation_option(options, "REVERSIBLE")),
        "GTiff" | "COG" => {
            match creation_option(options, "COMPRESS").map(str::to_ascii_uppercase) {
                Some(c) if c == "JPEG" => true,
                Some(c) if c == "WEBP" => !is_yes(creation_option(options, "WEBP_LOSSLESS")),
                Some(c) if c.starts_with("LERC") => creation_option(options, "MAX_Z_ERROR")
                    .and_then(|v| v.parse::<f64>().ok())
                    .is_some_and(|e| e > 0.0),
                _ => false,
            }
        }
        _ => false,
    };
    lossy.then(|| format!("{name} as configured is lossy, so the output would not be bit-exact"))
}

fn driver_item(d: &gdal::Driver, key: &str) -> Option<String> {
    d.metadata_item(key, "")
}

pub fn can_create(d: &gdal::Driver) -> bool {
    driver_item(d, "DCAP_CREATE").is_some()
}

pub fn can_create_copy(d: &gdal::Driver) -> bool {
    driver_item(d, "DCAP_CREATECOPY").is_some()
}

/// Creation options: ours (tiled DEFLATE for GeoTIFF, SIGNEDBYTE for int8), then the
/// user's `-co KEY=VALUE`, which win.
pub fn creation_options(
    d: &gdal::Driver,
    ty: SampleType,
    tile: u32,
    user: &[String],
    threads: usize,
) -> Vec<String> {
    let mut opts: Vec<String> = Vec::new();
    let list = driver_item(d, "DMD_CREATIONOPTIONLIST").unwrap_or_default();
    if d.short_name() == "GTiff" {
        let t = (tile.max(16) / 16 * 16).min(4096);
        opts.extend([
            "TILED=YES".to_string(),
            format!("BLOCKXSIZE={t}"),
            format!("BLOCKYSIZE={t}"),
            "COMPRESS=DEFLATE".into(),
            format!("PREDICTOR={}", if ty.is_float() { 3 } else { 2 }),
            "BIGTIFF=IF_SAFER".into(),
            format!("NUM_THREADS={threads}"),
        ]);
    }
    if ty == SampleType::I8 && list.contains("PIXELTYPE") {
        opts.push("PIXELTYPE=SIGNEDBYTE".into());
    }
    for u in user {
        let key = u.split('=').next().unwrap_or("").to_ascii_uppercase();
        opts.retain(|o| o.split('=').next().unwrap_or("").to_ascii_uppercase() != key);
        opts.push(u.clone());
    }
    opts
}

/// Creates an empty dataset of the header's grid.
pub fn create(
    d: &gdal::Driver,
    path: &Path,
    h: &Header,
    ty: SampleType,
    bands: usize,
    opts: &[String],
) -> Result<Dataset> {
    let cpath = cstring(&path.to_string_lossy());
    let copts = CStringList::new(opts);
    // SAFETY: all strings outlive the call; GDAL returns an owned dataset handle or NULL.
    let h_ds = unsafe {
        gdal_sys::GDALCreate(
            d.c_driver(),
            cpath.as_ptr(),
            h.width as i32,
            h.height as i32,
            bands as i32,
            gdal_util::gdal_type(ty),
            copts.as_ptr(),
        )
    };
    if h_ds.is_null() {
        return Err(Error::gdal(
            path,
            format!(
                "GDAL {} cannot create it: {}",
                d.short_name(),
                last_gdal_error()
            ),
        ));
    }
    // SAFETY: h_ds is a fresh, owned dataset handle.
    Ok(unsafe { Dataset::from_c_dataset(h_ds) })
}

/// Copies georeferencing, dataset metadata and band descriptions from the header.
/// `dequantized` drops what no longer applies once samples are physical values.
pub fn apply_header(ds: &mut Dataset, h: &Header, dequantized: bool) -> Result<()> {
    let c = ds.c_dataset();
    if let Some(gt) = h.georef.geotransform {
        let mut gt = gt;
        // SAFETY: gt holds six coefficients.
        if unsafe { gdal_sys::GDALSetGeoTransform(c, gt.as_mut_ptr()) } != gdal_sys::CPLErr::CE_None
        {
            return Err(Error::new(
                ErrorKind::Gdal,
                format!("cannot set the geotransform: {}", last_gdal_error()),
            ));
        }
    }
    if let Some(s) = &h.georef.srs {
        gdal_util::set_srs(ds, s)?;
    }
    if !h.georef.gcps.is_empty() {
        gdal_util::set_gcps(ds, &h.georef.gcps, h.georef.gcp_srs.as_ref())?;
    }
    // SAFETY: `c` is the live handle of `ds`.
    unsafe { gdal_util::set_metadata_domains(c as _, &h.metadata)? };
    for (i, b) in h.bands.iter().enumerate() {
        let band = ds.rasterband(i + 1)?;
        // SAFETY: the handle is only used while `band` (and `ds`) lives.
        let hb = unsafe { band.c_rasterband() };
        // SAFETY: hb is a valid band of ds; strings outlive the calls.
        unsafe {
            if !b.description.is_empty() {
                gdal_sys::GDALSetDescription(hb as _, cstring(&b.description).as_ptr());
            }
            if let Some(nd) = b.nodata {
                let nd = if dequantized && h.dequantization.is_some() {
                    f64::NAN
                } else {
                    nd
                };
                gdal_sys::GDALSetRasterNoDataValue(hb, nd);
            }
            if !dequantized {
                if let Some(s) = b.scale {
                    gdal_sys::GDALSetRasterScale(hb, s);
                }
                if let Some(o) = b.offset {
                    gdal_sys::GDALSetRasterOffset(hb, o);
                }
            }
            if b.color_interp != 0 {
                gdal_sys::GDALSetRasterColorInterpretation(hb, b.color_interp as _);
            }
            if !b.unit.is_empty() {
                gdal_sys::GDALSetRasterUnitType(hb, cstring(&b.unit).as_ptr());
            }
            if let (Some((interp, entries)), false) = (&b.color_table, dequantized) {
                let ct = gdal_sys::GDALCreateColorTable(*interp as _);
                for (k, e) in entries.iter().enumerate() {
                    let ce = gdal_sys::GDALColorEntry {
                        c1: e[0],
                        c2: e[1],
                        c3: e[2],
                        c4: e[3],
                    };
                    gdal_sys::GDALSetColorEntry(ct, k as i32, &ce);
                }
                gdal_sys::GDALSetRasterColorTable(hb, ct);
                gdal_sys::GDALDestroyColorTable(ct);
            }
        }
        // SAFETY: `hb` is a live band of `ds`.
        unsafe { gdal_util::set_metadata_domains(hb as _, &b.metadata)? };
    }
    Ok(())
}

/// `CreateCopy` of `src` to `dest` with a driver that cannot `Create`.
pub fn create_copy(d: &gdal::Driver, src: &Dataset, dest: &Path, opts: &[String]) -> Result<()> {
    let cpath = cstring(&dest.to_string_lossy());
    let copts = CStringList::new(opts);
    // SAFETY: handles are valid; strings outlive the call; the result is closed at once.
    unsafe {
        let h = gdal_sys::GDALCreateCopy(
            d.c_driver(),
            cpath.as_ptr(),
            src.c_dataset(),
            1,
            copts.as_ptr(),
            None,
            ptr::null_mut(),
        );
        if h.is_null() {
            return Err(Error::gdal(
                dest,
                format!(
                    "GDAL {} CreateCopy failed: {}",
                    d.short_name(),
                    last_gdal_error()
                ),
            ));
        }
        gdal_sys::GDALClose(h);
    }
    Ok(())
}

/// Sets again, on the finished file opened read-only, every band nodata the format did not
/// keep exactly: GeoTIFF stores a Float32 band's nodata as a float (-88.8888 comes back as
/// -88.88880157470703), and a read-only dataset keeps the exact double in its `.aux.xml`,
/// as `gdal_translate` does.
pub fn restore_exact_nodata(path: &Path, h: &Header) -> Result<()> {
    if h.bands.iter().all(|b| b.nodata.is_none()) {
        return Ok(());
    }
    // A format GDAL writes but cannot read back keeps what it wrote.
    let Ok(ds) = Dataset::open(path) else {
        return Ok(());
    };
    for (i, want) in h.bands.iter().enumerate() {
        let Some(want) = want.nodata else { continue };
        let band = ds.rasterband(i + 1)?;
        // SAFETY: the handle is used only while `band` (and `ds`) lives.
        let hb = unsafe { band.c_rasterband() };
        let mut ok = 0;
        // SAFETY: hb is a live band of ds.
        let got = unsafe { gdal_sys::GDALGetRasterNoDataValue(hb, &mut ok) };
        if ok == 0 || got.to_bits() != want.to_bits() {
            // SAFETY: as above; on a read-only dataset GDAL keeps the value in its PAM file.
            unsafe { gdal_sys::GDALSetRasterNoDataValue(hb, want) };
        }
    }
    Ok(())
}
