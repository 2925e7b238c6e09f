//! Small safe helpers over gdal-sys for what the `gdal` crate does not expose: metadata
//! domain lists, WKT2 export with axis mapping, GCPs with their SRS, multi-band RasterIO
//! with pixel-interleaved spacing.

use crate::error::{CliError, Result};
use gdal::Dataset;
use gdal_sys::{GDALDataType, GDALMajorObjectH, GDALRWFlag, OGRSpatialReferenceH};
use geoembed_codec::container::header::{Gcp, MetadataDomain, Srs};
use geoembed_codec::SampleType;
use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;

/// Domains that describe how the *source file* stores pixels (compression, interleave,
/// block layout) or GDAL's derived views, not the data: they are not copied.
pub const SKIPPED_DOMAINS: [&str; 3] = ["IMAGE_STRUCTURE", "DERIVED_SUBDATASETS", "SUBDATASETS"];

pub fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).expect("NULs removed")
}

/// The text of the last GDAL error, for messages.
pub fn last_gdal_error() -> String {
    // SAFETY: CPLGetLastErrorMsg returns a pointer to a thread-local, NUL-terminated string.
    let msg = unsafe { CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) };
    let s = msg.to_string_lossy().trim().to_string();
    if s.is_empty() {
        "GDAL reported an error".into()
    } else {
        s
    }
}

/// Copies a NULL-terminated C string list.
///
/// # Safety
/// `list` must be NULL or a valid CSL list.
unsafe fn csl_to_vec(list: *mut *mut c_char) -> Vec<String> {
    let mut out = Vec::new();
    if list.is_null() {
        return out;
    }
    let mut p = list;
    // SAFETY: the caller passes a valid CSL list: every pointer up to the terminating NULL
    // is a NUL-terminated C string, so reading and advancing stops inside the list.
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
        let items: Vec<CString> = d.items.iter().map(|s| cstring(s)).collect();
        let mut ptrs: Vec<*mut c_char> = items.iter().map(|s| s.as_ptr() as *mut c_char).collect();
        ptrs.push(ptr::null_mut());
        let name = cstring(&d.name);
        // SAFETY: ptrs is a NULL-terminated list of valid C strings that outlive the call;
        // GDAL copies them.
        let err = unsafe { gdal_sys::GDALSetMetadata(obj, ptrs.as_ptr() as _, name.as_ptr()) };
        if err != gdal_sys::CPLErr::CE_None {
            return Err(CliError::msg(format!(
                "cannot set metadata domain {:?}: {}",
                d.name,
                last_gdal_error()
            )));
        }
    }
    Ok(())
}

/// Exports an SRS as single-line WKT2 (2019), its EPSG code when known, and its axis mapping.
///
/// # Safety
/// `srs` must be a valid, non-NULL OGRSpatialReferenceH.
pub unsafe fn srs_from_handle(srs: OGRSpatialReferenceH) -> Option<Srs> {
    let opts = [cstring("FORMAT=WKT2_2019"), cstring("MULTILINE=NO")];
    let mut opt_ptrs: Vec<*const c_char> = opts.iter().map(|s| s.as_ptr()).collect();
    opt_ptrs.push(ptr::null());
    let mut wkt: *mut c_char = ptr::null_mut();
    // SAFETY: the caller passes a valid SRS handle; `opt_ptrs` is a NULL-terminated list of
    // C strings that outlive the calls; GDAL returns a NUL-terminated WKT we own and free
    // once copied, and an axis mapping of `n` ints owned by the SRS, copied at once.
    let (text, epsg, axis_mapping) = unsafe {
        if gdal_sys::OSRExportToWktEx(srs, &mut wkt, opt_ptrs.as_ptr())
            != gdal_sys::OGRErr::OGRERR_NONE
            || wkt.is_null()
        {
            return None;
        }
        let text = CStr::from_ptr(wkt).to_string_lossy().into_owned();
        gdal_sys::VSIFree(wkt as _);
        let epsg = epsg_code(srs);
        let mut n: c_int = 0;
        let m = gdal_sys::OSRGetDataAxisToSRSAxisMapping(srs, &mut n);
        let axis_mapping = if m.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(m, n as usize).to_vec()
        };
        (text, epsg, axis_mapping)
    };
    Some(Srs {
        wkt: text,
        epsg,
        axis_mapping,
    })
}

/// The SRS's EPSG code: its authority code if it has one, else what OSR identifies.
///
/// # Safety
/// `srs` must be a valid, non-NULL OGRSpatialReferenceH.
unsafe fn epsg_code(srs: OGRSpatialReferenceH) -> Option<u32> {
    let auth = |h: OGRSpatialReferenceH| -> Option<u32> {
        // SAFETY: `h` is `srs` or a live clone of it; the authority name and code are NULL
        // or NUL-terminated strings owned by the SRS, copied before it changes.
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
    // SAFETY: `srs` is valid (caller); the clone is ours, checked for NULL, used while
    // alive and destroyed exactly once.
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
                return Err(CliError::msg("OSRNewSpatialReference failed"));
            }
            let owned = OwnedSrs(h);
            let mut p = wkt.as_ptr() as *mut c_char;
            if gdal_sys::OSRImportFromWkt(h, &mut p) != gdal_sys::OGRErr::OGRERR_NONE {
                return Err(CliError::msg(format!(
                    "stored CRS is not valid WKT: {}",
                    last_gdal_error()
                )));
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
        return Err(CliError::msg(format!(
            "cannot set GCPs: {}",
            last_gdal_error()
        )));
    }
    Ok(())
}

pub fn set_srs(ds: &Dataset, srs: &Srs) -> Result<()> {
    let o = OwnedSrs::new(srs)?;
    // SAFETY: both handles are valid; GDAL clones the SRS.
    let err = unsafe { gdal_sys::GDALSetSpatialRef(ds.c_dataset(), o.0) };
    if err != gdal_sys::CPLErr::CE_None {
        return Err(CliError::msg(format!(
            "cannot set the CRS: {}",
            last_gdal_error()
        )));
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
            0,
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
        return Err(CliError::msg(format!(
            "GDAL could not {} rows {y0}..{}: {}",
            if write { "write" } else { "read" },
            rows.end,
            last_gdal_error()
        )));
    }
    Ok(())
}

/// Multi-line WKT2 for display (as gdalinfo prints it).
pub fn pretty_wkt(s: &Srs) -> String {
    let Ok(o) = OwnedSrs::new(s) else {
        return s.wkt.clone();
    };
    let opts = [cstring("FORMAT=WKT2_2019"), cstring("MULTILINE=YES")];
    let mut ptrs: Vec<*const c_char> = opts.iter().map(|s| s.as_ptr()).collect();
    ptrs.push(ptr::null());
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: o.0 is valid; the result is freed with VSIFree.
    unsafe {
        if gdal_sys::OSRExportToWktEx(o.0, &mut out, ptrs.as_ptr()) != gdal_sys::OGRErr::OGRERR_NONE
            || out.is_null()
        {
            return s.wkt.clone();
        }
        let text = CStr::from_ptr(out).to_string_lossy().into_owned();
        gdal_sys::VSIFree(out as _);
        text
    }
}

/// GDAL's name of a colour interpretation code ("Gray", "Red", ...).
pub fn color_interp_name(code: u16) -> String {
    // SAFETY: returns a static string.
    unsafe { CStr::from_ptr(gdal_sys::GDALGetColorInterpretationName(code as _)) }
        .to_string_lossy()
        .into_owned()
}

static GDAL_FAILURES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
static GDAL_QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn error_handler(class: gdal_sys::CPLErr::Type, _code: c_int, msg: *const c_char) {
    // SAFETY: GDAL passes a valid NUL-terminated message.
    let text = unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned();
    if class >= gdal_sys::CPLErr::CE_Failure {
        if let Ok(mut v) = GDAL_FAILURES.lock() {
            v.push(text);
        }
    } else if class == gdal_sys::CPLErr::CE_Warning
        && !GDAL_QUIET.load(std::sync::atomic::Ordering::Relaxed)
    {
        eprintln!("geoembed: GDAL warning: {text}");
    }
}

/// Routes GDAL's messages through us: failures are collected (some GDAL 3.6 calls, such as
/// closing a dataset, report errors only this way), warnings go to stderr unless quiet.
pub fn install_error_handler(quiet: bool) {
    GDAL_QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: the handler is a plain function valid for the program's lifetime.
    unsafe {
        gdal_sys::CPLSetErrorHandler(Some(error_handler));
    }
}

/// GDAL failures reported since the last call.
pub fn take_gdal_failures() -> Vec<String> {
    GDAL_FAILURES
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
}
