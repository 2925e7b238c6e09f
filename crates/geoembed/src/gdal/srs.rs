//! Coordinate reference systems between GDAL and the `.emb` header: WKT2 export with the
//! EPSG code and GDAL's axis mapping, import back into an owned OSR handle, the multi-line
//! form `info` prints, and the reprojection to longitude/latitude the STAC sidecar uses.

use super::{cstring, last_gdal_error, CStringList};
use crate::error::{Error, ErrorKind, Result};
use gdal::Dataset;
use gdal_sys::OGRSpatialReferenceH;
use geoembed_codec::Srs;
use std::ffi::{c_char, c_int, CStr};
use std::ptr;

/// Exports an SRS as single-line WKT2 (2019), its EPSG code when known, and its axis mapping.
///
/// # Safety
/// `srs` must be a valid, non-NULL OGRSpatialReferenceH.
pub unsafe fn srs_from_handle(srs: OGRSpatialReferenceH) -> Option<Srs> {
    let opts = CStringList::new(["FORMAT=WKT2_2019", "MULTILINE=NO"]);
    let mut wkt: *mut c_char = ptr::null_mut();
    // SAFETY: `srs` is valid (the caller's contract); OSR allocates `wkt`, which is copied
    // and freed with VSIFree as GDAL documents.
    let text = unsafe {
        if gdal_sys::OSRExportToWktEx(srs, &mut wkt, opts.as_ptr() as _)
            != gdal_sys::OGRErr::OGRERR_NONE
            || wkt.is_null()
        {
            return None;
        }
        let text = CStr::from_ptr(wkt).to_string_lossy().into_owned();
        gdal_sys::VSIFree(wkt as _);
        text
    };
    // SAFETY: as above, `srs` is valid.
    let epsg = unsafe { epsg_code(srs) };
    let mut n: c_int = 0;
    // SAFETY: OSR returns a pointer to `n` ints it owns, valid while `srs` lives; copied.
    let axis_mapping = unsafe {
        let m = gdal_sys::OSRGetDataAxisToSRSAxisMapping(srs, &mut n);
        if m.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(m, n as usize).to_vec()
        }
    };
    Some(Srs {
        wkt: text,
        epsg,
        axis_mapping,
    })
}

/// The EPSG code of `srs`: its authority code, or the one OSR identifies on a clone.
///
/// # Safety
/// `srs` must be a valid, non-NULL OGRSpatialReferenceH.
unsafe fn epsg_code(srs: OGRSpatialReferenceH) -> Option<u32> {
    let auth = |h: OGRSpatialReferenceH| -> Option<u32> {
        // SAFETY: `h` is `srs` or its clone, both valid here; OSR returns NUL-terminated
        // strings it owns (or NULL), read before any further OSR call.
        unsafe {
            let name = gdal_sys::OSRGetAuthorityName(h, ptr::null());
            if name.is_null()
                || !CStr::from_ptr(name)
                    .to_string_lossy()
                    .eq_ignore_ascii_case("EPSG")
            {
                return None;
            }
            let code = gdal_sys::OSRGetAuthorityCode(h, ptr::null());
            if code.is_null() {
                return None;
            }
            CStr::from_ptr(code).to_string_lossy().parse().ok()
        }
    };
    if let Some(c) = auth(srs) {
        return Some(c);
    }
    // Not labelled: let OSR try to identify it, on a clone so the stored WKT is untouched.
    // SAFETY: `srs` is valid; the clone is ours and destroyed before returning.
    unsafe {
        let clone = gdal_sys::OSRClone(srs);
        if clone.is_null() {
            return None;
        }
        let code = if gdal_sys::OSRAutoIdentifyEPSG(clone) == gdal_sys::OGRErr::OGRERR_NONE {
            auth(clone)
        } else {
            None
        };
        gdal_sys::OSRDestroySpatialReference(clone);
        code
    }
}

/// An owned OGRSpatialReferenceH built from a stored [`Srs`].
pub struct OwnedSrs(pub OGRSpatialReferenceH);

impl OwnedSrs {
    pub fn new(s: &Srs) -> Result<Self> {
        let wkt = cstring(&s.wkt);
        // SAFETY: creating and configuring a fresh SRS object we own.
        unsafe {
            let h = gdal_sys::OSRNewSpatialReference(ptr::null());
            if h.is_null() {
                return Err(Error::new(ErrorKind::Gdal, "OSRNewSpatialReference failed"));
            }
            let owned = OwnedSrs(h);
            let mut p = wkt.as_ptr() as *mut c_char;
            if gdal_sys::OSRImportFromWkt(h, &mut p) != gdal_sys::OGRErr::OGRERR_NONE {
                return Err(Error::new(
                    ErrorKind::Gdal,
                    format!("stored CRS is not valid WKT: {}", last_gdal_error()),
                ));
            }
            if !s.axis_mapping.is_empty() {
                gdal_sys::OSRSetDataAxisToSRSAxisMapping(
                    h,
                    s.axis_mapping.len() as c_int,
                    s.axis_mapping.as_ptr(),
                );
            }
            Ok(owned)
        }
    }
}

impl Drop for OwnedSrs {
    fn drop(&mut self) {
        // SAFETY: we own the handle.
        unsafe { gdal_sys::OSRRelease(self.0) }
    }
}

pub fn dataset_srs(ds: &Dataset) -> Option<Srs> {
    // SAFETY: the returned handle is owned by the dataset and valid while it lives.
    unsafe {
        let h = gdal_sys::GDALGetSpatialRef(ds.c_dataset());
        if h.is_null() {
            None
        } else {
            srs_from_handle(h)
        }
    }
}

pub fn set_srs(ds: &Dataset, srs: &Srs) -> Result<()> {
    let o = OwnedSrs::new(srs)?;
    // SAFETY: both handles are valid; GDAL clones the SRS.
    let err = unsafe { gdal_sys::GDALSetSpatialRef(ds.c_dataset(), o.0) };
    if err != gdal_sys::CPLErr::CE_None {
        return Err(Error::new(
            ErrorKind::Gdal,
            format!("cannot set the CRS: {}", last_gdal_error()),
        ));
    }
    Ok(())
}

/// Multi-line WKT2 for display (as gdalinfo prints it).
pub fn pretty_wkt(s: &Srs) -> String {
    let Ok(o) = OwnedSrs::new(s) else {
        return s.wkt.clone();
    };
    let opts = CStringList::new(["FORMAT=WKT2_2019", "MULTILINE=YES"]);
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: o.0 is valid; the result is freed with VSIFree.
    unsafe {
        if gdal_sys::OSRExportToWktEx(o.0, &mut out, opts.as_ptr() as _)
            != gdal_sys::OGRErr::OGRERR_NONE
            || out.is_null()
        {
            return s.wkt.clone();
        }
        let text = CStr::from_ptr(out).to_string_lossy().into_owned();
        gdal_sys::VSIFree(out as _);
        text
    }
}

/// Reprojects points of a stored CRS to longitude/latitude (EPSG:4326, x = longitude)
/// with GDAL's OSR: the STAC sidecar's bounding box.
#[derive(Clone, Copy, Debug, Default)]
pub struct GdalLonLat;

impl crate::write::sidecar::ToLonLat for GdalLonLat {
    fn to_lon_lat(&self, srs: &Srs, xs: &mut [f64], ys: &mut [f64]) -> bool {
        let Ok(src) = OwnedSrs::new(srs) else {
            return false;
        };
        // SAFETY: handles are created and destroyed here; both arrays have xs.len()
        // entries (the caller passes matching slices; checked below).
        unsafe {
            if xs.len() != ys.len() {
                return false;
            }
            let dst = gdal_sys::OSRNewSpatialReference(ptr::null());
            gdal_sys::OSRImportFromEPSG(dst, 4326);
            gdal_sys::OSRSetAxisMappingStrategy(
                dst,
                gdal_sys::OSRAxisMappingStrategy::OAMS_TRADITIONAL_GIS_ORDER,
            );
            let ct = gdal_sys::OCTNewCoordinateTransformation(src.0, dst);
            let ok = !ct.is_null()
                && gdal_sys::OCTTransform(
                    ct,
                    xs.len() as c_int,
                    xs.as_mut_ptr(),
                    ys.as_mut_ptr(),
                    ptr::null_mut(),
                ) != 0;
            if !ct.is_null() {
                gdal_sys::OCTDestroyCoordinateTransformation(ct);
            }
            gdal_sys::OSRRelease(dst);
            ok
        }
    }
}
