//! RGBA pictures as GDAL in-memory datasets (so GDAL can warp and resample them) and PNG
//! output through GDAL's PNG driver.

use crate::error::{Error, ErrorKind, Result};
use crate::gdal::{self as gdal_util, cstring, last_gdal_error, CStringList};
use gdal::{Dataset, DriverManager};
use geoembed_codec::Georef;
use std::path::Path;

/// A 4-band Byte MEM dataset holding `rgba` (pixel-interleaved), band 4 flagged as alpha,
/// with `georef` if given.
pub fn mem_rgba(
    width: usize,
    height: usize,
    rgba: &[u8],
    georef: Option<&Georef>,
) -> Result<Dataset> {
    let drv = DriverManager::get_driver_by_name("MEM")?;
    let ds = drv
        .create_with_band_type::<u8, _>("", width, height, 4)
        .map_err(|e| {
            Error::new(
                ErrorKind::Gdal,
                format!("cannot create a {width} x {height} picture: {e}"),
            )
        })?;
    let mut plane = vec![0u8; width * height];
    for b in 0..4 {
        for (d, s) in plane.iter_mut().zip(rgba.chunks_exact(4)) {
            *d = s[b];
        }
        let mut band = ds.rasterband(b + 1)?;
        let mut buf = gdal::raster::Buffer::new((width, height), std::mem::take(&mut plane));
        band.write((0, 0), (width, height), &mut buf)?;
        plane = buf.into_shape_and_vec().1;
        let interp = [
            gdal_sys::GDALColorInterp::GCI_RedBand,
            gdal_sys::GDALColorInterp::GCI_GreenBand,
            gdal_sys::GDALColorInterp::GCI_BlueBand,
            gdal_sys::GDALColorInterp::GCI_AlphaBand,
        ][b];
        // SAFETY: the band belongs to the live dataset.
        unsafe { gdal_sys::GDALSetRasterColorInterpretation(band.c_rasterband(), interp) };
    }
    if let Some(g) = georef {
        if let Some(mut gt) = g.geotransform {
            // SAFETY: six coefficients.
            unsafe { gdal_sys::GDALSetGeoTransform(ds.c_dataset(), gt.as_mut_ptr()) };
        }
        if let Some(s) = &g.srs {
            gdal_util::set_srs(&ds, s)?;
        }
    }
    Ok(ds)
}

/// Writes `ds` as PNG to `path` (GDAL's PNG driver; alpha kept).
pub fn write_png(ds: &Dataset, path: &Path) -> Result<()> {
    let drv = DriverManager::get_driver_by_name("PNG")?;
    let name = cstring(&path.to_string_lossy());
    // SAFETY: valid handles and strings; the result is closed at once.
    unsafe {
        let h = gdal_sys::GDALCreateCopy(
            drv.c_driver(),
            name.as_ptr(),
            ds.c_dataset(),
            0,
            std::ptr::null_mut(),
            None,
            std::ptr::null_mut(),
        );
        if h.is_null() {
            return Err(Error::gdal(
                path,
                format!("cannot write PNG: {}", last_gdal_error()),
            ));
        }
        gdal_sys::GDALClose(h);
    }
    // The PNG driver leaves a .aux.xml beside the file when the source has georeferencing.
    let mut aux = path.as_os_str().to_owned();
    aux.push(".aux.xml");
    let _ = std::fs::remove_file(aux);
    Ok(())
}

/// Runs GDAL's warper (`gdalwarp` command-line options) from `src` into a MEM dataset.
pub fn warp_to_mem(src: &Dataset, args: &[String]) -> Result<Dataset> {
    let argv = CStringList::new(args);
    let empty = cstring("");
    // SAFETY: argv is a NULL-terminated list of live strings; options freed after use; the
    // source handle is live; the returned dataset is owned by the caller.
    unsafe {
        let opts = gdal_sys::GDALWarpAppOptionsNew(argv.as_ptr(), std::ptr::null_mut());
        if opts.is_null() {
            return Err(Error::new(
                ErrorKind::Gdal,
                format!("bad warp options {args:?}: {}", last_gdal_error()),
            ));
        }
        gdal_sys::GDALWarpAppOptionsSetQuiet(opts, 1);
        let mut srcs = [src.c_dataset()];
        let mut usage = 0;
        let h = gdal_sys::GDALWarp(
            empty.as_ptr(),
            std::ptr::null_mut(),
            1,
            srcs.as_mut_ptr(),
            opts,
            &mut usage,
        );
        gdal_sys::GDALWarpAppOptionsFree(opts);
        if h.is_null() {
            return Err(Error::new(
                ErrorKind::Gdal,
                format!("GDAL warp failed: {}", last_gdal_error()),
            ));
        }
        Ok(Dataset::from_c_dataset(h))
    }
}
