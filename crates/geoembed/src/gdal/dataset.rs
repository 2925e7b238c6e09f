//! Dataset-level helpers the `gdal` crate lacks: GCPs with their SRS, and multi-band
//! RasterIO of whole rows with pixel-interleaved spacing (one call for every band).

use super::srs::{srs_from_handle, OwnedSrs};
use super::{cstring, last_gdal_error};
use crate::error::{Error, ErrorKind, Result};
use gdal::Dataset;
use gdal_sys::{GDALDataType, GDALRWFlag};
use geoembed_codec::{Gcp, SampleType, Srs};
use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;

pub fn dataset_gcps(ds: &Dataset) -> (Vec<Gcp>, Option<Srs>) {
    // SAFETY: GCP array and SRS are owned by the dataset; we copy them.
    unsafe {
        let n = gdal_sys::GDALGetGCPCount(ds.c_dataset());
        if n <= 0 {
            return (Vec::new(), None);
        }
        let p = gdal_sys::GDALGetGCPs(ds.c_dataset());
        let s = |c: *mut c_char| {
            if c.is_null() {
                String::new()
            } else {
                CStr::from_ptr(c).to_string_lossy().into_owned()
            }
        };
        let gcps = std::slice::from_raw_parts(p, n as usize)
            .iter()
            .map(|g| Gcp {
                id: s(g.pszId),
                info: s(g.pszInfo),
                pixel: g.dfGCPPixel,
                line: g.dfGCPLine,
                x: g.dfGCPX,
                y: g.dfGCPY,
                z: g.dfGCPZ,
            })
            .collect();
        let h = gdal_sys::GDALGetGCPSpatialRef(ds.c_dataset());
        (
            gcps,
            if h.is_null() {
                None
            } else {
                srs_from_handle(h)
            },
        )
    }
}

pub fn set_gcps(ds: &Dataset, gcps: &[Gcp], srs: Option<&Srs>) -> Result<()> {
    let ids: Vec<CString> = gcps.iter().map(|g| cstring(&g.id)).collect();
    let infos: Vec<CString> = gcps.iter().map(|g| cstring(&g.info)).collect();
    let raw: Vec<gdal_sys::GDAL_GCP> = gcps
        .iter()
        .enumerate()
        .map(|(i, g)| gdal_sys::GDAL_GCP {
            pszId: ids[i].as_ptr() as *mut c_char,
            pszInfo: infos[i].as_ptr() as *mut c_char,
            dfGCPPixel: g.pixel,
            dfGCPLine: g.line,
            dfGCPX: g.x,
            dfGCPY: g.y,
            dfGCPZ: g.z,
        })
        .collect();
    let owned = srs.map(OwnedSrs::new).transpose()?;
    // SAFETY: raw and the strings it points to outlive the call; GDAL copies them.
    let err = unsafe {
        gdal_sys::GDALSetGCPs2(
            ds.c_dataset(),
            raw.len() as c_int,
            raw.as_ptr(),
            owned.as_ref().map_or(ptr::null_mut(), |o| o.0),
        )
    };
    if err != gdal_sys::CPLErr::CE_None {
        return Err(Error::new(
            ErrorKind::Gdal,
            format!("cannot set GCPs: {}", last_gdal_error()),
        ));
    }
    Ok(())
}

pub fn gdal_type(ty: SampleType) -> GDALDataType::Type {
    match ty {
        // GDAL 3.6 has no Int8 type: signed bytes are Byte + PIXELTYPE=SIGNEDBYTE.
        SampleType::U8 | SampleType::I8 => GDALDataType::GDT_Byte,
        SampleType::U16 => GDALDataType::GDT_UInt16,
        SampleType::I16 => GDALDataType::GDT_Int16,
        SampleType::U32 => GDALDataType::GDT_UInt32,
        SampleType::I32 => GDALDataType::GDT_Int32,
        SampleType::F32 => GDALDataType::GDT_Float32,
        SampleType::F64 => GDALDataType::GDT_Float64,
    }
}

/// Reads or writes `rows` of all bands as pixel-interleaved samples in `buf`.
pub fn raster_io(
    ds: &Dataset,
    write: bool,
    ty: SampleType,
    bands: usize,
    width: usize,
    rows: std::ops::Range<usize>,
    buf: &mut [u8],
) -> Result<()> {
    raster_io_window(ds, write, ty, bands, 0..width, rows, buf)
}

/// Reads or writes the window `columns` × `rows` of all bands as pixel-interleaved
/// samples in `buf` (a conversion of a raster too wide for whole rows goes by windows).
pub fn raster_io_window(
    ds: &Dataset,
    write: bool,
    ty: SampleType,
    bands: usize,
    columns: std::ops::Range<usize>,
    rows: std::ops::Range<usize>,
    buf: &mut [u8],
) -> Result<()> {
    let (x0, width) = (columns.start, columns.len());
    let (y0, n_rows) = (rows.start, rows.len());
    assert_eq!(
        buf.len(),
        width * n_rows * bands * ty.size(),
        "buffer sized for the window"
    );
    let size = ty.size() as i64;
    let mut band_map: Vec<c_int> = (1..=bands as c_int).collect();
    // SAFETY: buf holds n_rows*width*bands*size bytes (asserted above), the band map
    // lists existing bands, and the spacing describes exactly that buffer.
    let err = unsafe {
        gdal_sys::GDALDatasetRasterIOEx(
            ds.c_dataset(),
            if write {
                GDALRWFlag::GF_Write
            } else {
                GDALRWFlag::GF_Read
            },
            x0 as c_int,
            y0 as c_int,
            width as c_int,
            n_rows as c_int,
            buf.as_mut_ptr() as _,
            width as c_int,
            n_rows as c_int,
            gdal_type(ty),
            bands as c_int,
            band_map.as_mut_ptr(),
            size * bands as i64,
            size * bands as i64 * width as i64,
            size,
            ptr::null_mut(),
        )
    };
    if err != gdal_sys::CPLErr::CE_None {
        return Err(Error::new(
            ErrorKind::Gdal,
            format!(
                "GDAL could not {} rows {y0}..{} (columns {x0}..{}): {}",
                if write { "write" } else { "read" },
                rows.end,
                columns.end,
                last_gdal_error()
            ),
        ));
    }
    Ok(())
}
