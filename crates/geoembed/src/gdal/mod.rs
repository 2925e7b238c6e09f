//! Small safe helpers over gdal-sys for what the `gdal` crate does not expose (metadata
//! domain lists, WKT2 with axis mapping, GCPs, multi-band RasterIO), and GDAL's error
//! handler: failures are collected for our messages, warnings go to the caller's sink.

mod cache;
mod dataset;
mod metadata;
mod srs;

pub use cache::StreamingCache;
pub use dataset::{dataset_gcps, gdal_type, raster_io, raster_io_window, set_gcps};
pub use metadata::{csl_to_vec, metadata_domains, set_metadata_domains, SKIPPED_DOMAINS};
pub use srs::{dataset_srs, pretty_wkt, set_srs, srs_from_handle, GdalLonLat, OwnedSrs};

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::{Mutex, OnceLock};

/// A C string for GDAL; interior NULs (which C cannot carry) are dropped.
pub fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).expect("NULs removed")
}

/// A NULL-terminated `char **` list (GDAL's CSL: options, metadata items, argv) that
/// owns its strings, so the pointers stay valid as long as the list lives.
pub struct CStringList {
    _owned: Vec<CString>,
    ptrs: Vec<*mut c_char>,
}

impl CStringList {
    pub fn new<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Self {
        let owned: Vec<CString> = items.into_iter().map(|s| cstring(s.as_ref())).collect();
        let mut ptrs: Vec<*mut c_char> = owned.iter().map(|c| c.as_ptr() as *mut c_char).collect();
        ptrs.push(std::ptr::null_mut());
        CStringList {
            _owned: owned,
            ptrs,
        }
    }

    /// The list as GDAL takes it; GDAL functions that take `char **` only read it.
    pub fn as_ptr(&self) -> *mut *mut c_char {
        self.ptrs.as_ptr() as *mut *mut c_char
    }
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

/// GDAL's name of a colour interpretation code ("Gray", "Red", ...).
pub fn color_interp_name(code: u16) -> String {
    // SAFETY: returns a static string.
    unsafe { CStr::from_ptr(gdal_sys::GDALGetColorInterpretationName(code as _)) }
        .to_string_lossy()
        .into_owned()
}

static GDAL_FAILURES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Where GDAL's warnings go: set once by the program (the CLI prints them unless quiet).
pub type WarningSink = Box<dyn Fn(&str) + Send + Sync>;
static WARNING_SINK: OnceLock<WarningSink> = OnceLock::new();

extern "C" fn error_handler(class: gdal_sys::CPLErr::Type, _code: c_int, msg: *const c_char) {
    // SAFETY: GDAL passes a valid NUL-terminated message.
    let text = unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned();
    if class >= gdal_sys::CPLErr::CE_Failure {
        if let Ok(mut v) = GDAL_FAILURES.lock() {
            v.push(text);
        }
    } else if class == gdal_sys::CPLErr::CE_Warning {
        if let Some(sink) = WARNING_SINK.get() {
            sink(&text);
        }
    }
}

/// Routes GDAL's messages through us, for a program that owns the process (not a plugin
/// inside someone else's GDAL): failures are collected (some GDAL 3.6 calls, such as
/// closing a dataset, report errors only this way), warnings go to `warnings`. The first
/// sink installed stays.
pub fn install_error_handler(warnings: WarningSink) {
    let _ = WARNING_SINK.set(warnings);
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
