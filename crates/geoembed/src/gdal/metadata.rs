//! GDAL metadata domains of a dataset or band, read and written as `.emb` header domains
//! (the `gdal` crate reads one domain at a time and cannot list them).

use super::{cstring, last_gdal_error, CStringList};
use crate::error::{Error, ErrorKind, Result};
use gdal_sys::GDALMajorObjectH;
use geoembed_codec::MetadataDomain;
use std::ffi::{c_char, CStr};

/// Domains that describe how the *source file* stores pixels (compression, interleave,
/// block layout) or GDAL's derived views, not the data: they are not copied.
pub const SKIPPED_DOMAINS: [&str; 3] = ["IMAGE_STRUCTURE", "DERIVED_SUBDATASETS", "SUBDATASETS"];

/// Copies a NULL-terminated C string list.
///
/// # Safety
/// `list` must be NULL or a valid CSL list.
pub unsafe fn csl_to_vec(list: *mut *mut c_char) -> Vec<String> {
    let mut out = Vec::new();
    if list.is_null() {
        return out;
    }
    let mut p = list;
    // SAFETY: the caller passes a valid CSL list: every pointer up to the terminating NULL
    // is a NUL-terminated C string, so reading and advancing stop inside the list.
    unsafe {
        while !(*p).is_null() {
            out.push(CStr::from_ptr(*p).to_string_lossy().into_owned());
            p = p.add(1);
        }
    }
    out
}

/// All metadata domains of a dataset or band, except [`SKIPPED_DOMAINS`], with their items.
///
/// # Safety
/// `obj` must be a live GDAL dataset or band handle.
pub unsafe fn metadata_domains(obj: GDALMajorObjectH) -> Vec<MetadataDomain> {
    // SAFETY: obj is a live GDAL major object; the domain list is owned by us and freed.
    let names = unsafe {
        let list = gdal_sys::GDALGetMetadataDomainList(obj);
        let v = csl_to_vec(list);
        gdal_sys::CSLDestroy(list);
        v
    };
    let mut domains = Vec::new();
    let mut names = names;
    // The default domain first, then the rest in GDAL's order: a stable layout.
    if let Some(i) = names.iter().position(|n| n.is_empty()) {
        let d = names.remove(i);
        names.insert(0, d);
    }
    for name in names {
        if SKIPPED_DOMAINS.contains(&name.as_str()) {
            continue;
        }
        let c = cstring(&name);
        // SAFETY: GDALGetMetadata returns a list owned by the object; we only copy it.
        let items = unsafe { csl_to_vec(gdal_sys::GDALGetMetadata(obj, c.as_ptr())) };
        if !items.is_empty() {
            domains.push(MetadataDomain { name, items });
        }
    }
    domains
}

/// Sets each domain's items on a dataset or band.
///
/// # Safety
/// `obj` must be a live GDAL dataset or band handle.
pub unsafe fn set_metadata_domains(
    obj: GDALMajorObjectH,
    domains: &[MetadataDomain],
) -> Result<()> {
    for d in domains {
        let items = CStringList::new(&d.items);
        let name = cstring(&d.name);
        // SAFETY: items is a NULL-terminated list of valid C strings that outlive the call;
        // GDAL copies them.
        let err = unsafe { gdal_sys::GDALSetMetadata(obj, items.as_ptr(), name.as_ptr()) };
        if err != gdal_sys::CPLErr::CE_None {
            return Err(Error::new(
                ErrorKind::Gdal,
                format!(
                    "cannot set metadata domain {:?}: {}",
                    d.name,
                    last_gdal_error()
                ),
            ));
        }
    }
    Ok(())
}
