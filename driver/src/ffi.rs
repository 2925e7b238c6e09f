//! The C ABI of `shim/geoembed_driver.h`. Every entry point catches panics: a bug or a
//! hostile file becomes a GDAL error, never a crash of gdalinfo or QGIS.
//!
//! All of these are `unsafe`: their pointer contract (live handles from `geoembed_open`,
//! NUL-terminated strings, writable out-pointers, one thread per handle at a time) is the
//! one stated in the C header, which is where their callers read it.
#![allow(clippy::missing_safety_doc)]

use crate::handle::{CSrs, Handle};
use crate::open_options::OpenOptions;
use crate::view::{parse_name, View};
use crate::vsi::VsiFile;
use gdal_sys::{GDALDatasetH, GDALProgressFunc, GDAL_GCP};
use geoembed::gdal::cstring;
use geoembed_codec::{Reader, MAGIC};
use std::ffi::{c_char, c_double, c_int, c_short, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// Runs `f`, turning a panic into `fallback`.
fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn set_err(err: *mut *mut c_char, msg: String) {
    if !err.is_null() {
        // SAFETY: the caller passes a writable pointer; it frees with geoembed_free_string.
        unsafe { *err = cstring(&msg).into_raw() };
    }
}

/// Borrows the handle.
///
/// # Safety
/// `h` comes from geoembed_open and is not closed.
unsafe fn handle<'a>(h: *const Handle) -> &'a Handle {
    // SAFETY: the caller's contract above: a live handle from geoembed_open.
    unsafe { &*h }
}

fn band(h: &Handle, band: c_int) -> Option<&crate::handle::CBand> {
    (band >= 1)
        .then(|| h.bands.get(band as usize - 1))
        .flatten()
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_identify(head: *const u8, len: c_int) -> c_int {
    guard(0, || {
        if head.is_null() || (len as usize) < MAGIC.len() {
            return 0;
        }
        // SAFETY: GDAL's header buffer holds `len` bytes.
        let head = unsafe { std::slice::from_raw_parts(head, MAGIC.len()) };
        (head == MAGIC) as c_int
    })
}

/// Opens the dataset `name` (a file, or `EMB:"file":plane` for an aux plane) with its
/// open options.
/// Sizes GDAL keeps in `int`: a file within raised limits may still not fit them.
fn check_gdal_sizes(h: &geoembed_codec::Header) -> Result<(), String> {
    let too_big = [
        ("width", h.width as u64),
        ("height", h.height as u64),
        ("band count", h.bands.len() as u64),
    ]
    .into_iter()
    .find(|(_, v)| *v > i32::MAX as u64);
    match too_big {
        Some((what, v)) => Err(format!("{what} {v} is more than GDAL can address")),
        None => Ok(()),
    }
}

fn open_handle(name: &str, options: &[String]) -> Result<Handle, String> {
    let (file, part) = parse_name(name);
    let options = OpenOptions::parse(options).map_err(|e| format!("{name}: {e}"))?;
    let f = VsiFile::open(&file, "rb").map_err(|e| format!("{file}: {e}"))?;
    let reader = Reader::open_with_limits(f, options.limits).map_err(|e| format!("{file}: {e}"))?;
    check_gdal_sizes(reader.header()).map_err(|e| format!("{file}: {e}"))?;
    let view = View::choose(reader.header(), part.as_deref(), options.dequantize)
        .map_err(|e| format!("{file}: {e}"))?;
    Ok(Handle::new(reader, &file, view, &options))
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_open(
    path: *const c_char,
    open_options: *mut *mut c_char,
    err: *mut *mut c_char,
) -> *mut Handle {
    let r = catch_unwind(|| {
        // SAFETY: GDAL passes a NUL-terminated file name and a CSL list (or NULL).
        let (name, options) = unsafe {
            (
                CStr::from_ptr(path).to_string_lossy().into_owned(),
                geoembed::gdal::csl_to_vec(open_options),
            )
        };
        open_handle(&name, &options).map(|h| Box::into_raw(Box::new(h)))
    });
    match r {
        Ok(Ok(h)) => h,
        Ok(Err(msg)) => {
            set_err(err, msg);
            ptr::null_mut()
        }
        Err(p) => {
            set_err(err, format!("GeoEmbed driver bug: {}", panic_message(p)));
            ptr::null_mut()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_close(h: *mut Handle) {
    if !h.is_null() {
        // SAFETY: h came from Box::into_raw in geoembed_open and is closed once.
        guard((), || drop(unsafe { Box::from_raw(h) }));
    }
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_free_string(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: s came from CString::into_raw.
        drop(unsafe { CString::from_raw(s) });
    }
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_file_name(h: *const Handle) -> *const c_char {
    // SAFETY: a live handle.
    guard(ptr::null(), || unsafe { handle(h) }.file_name.as_ptr())
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_view_name(h: *const Handle) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: a live handle (the shim's contract for every call with `h`).
        unsafe { handle(h) }
            .view_name
            .as_ref()
            .map_or(ptr::null(), |n| n.as_ptr())
    })
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_shape(
    h: *const Handle,
    width: *mut c_int,
    height: *mut c_int,
    bands: *mut c_int,
    gdal_type: *mut c_int,
    tile_width: *mut c_int,
    tile_height: *mut c_int,
) {
    // SAFETY: a live handle and writable out-pointers, per the header.
    guard((), || unsafe {
        let h = handle(h);
        let hd = &h.header;
        *width = hd.width as c_int;
        *height = hd.height as c_int;
        *bands = hd.bands.len() as c_int;
        *gdal_type = h.gdal_type;
        // GDAL allocates whole blocks: a tile wider than the raster (2^31 - 1 pixels on a
        // 100-pixel raster) is shown as the raster's width, which is all it decodes to.
        *tile_width = hd.tile_width.min(hd.width) as c_int;
        *tile_height = hd.tile_height.min(hd.height) as c_int;
    })
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_geotransform(h: *const Handle, gt: *mut c_double) -> c_int {
    // SAFETY: a live handle; gt has room for six doubles.
    guard(0, || unsafe {
        match handle(h).header.georef.geotransform {
            Some(g) => {
                ptr::copy_nonoverlapping(g.as_ptr(), gt, 6);
                1
            }
            None => 0,
        }
    })
}

fn srs_out(s: &Option<CSrs>, axis: *mut *const c_int, naxis: *mut c_int) -> *const c_char {
    match s {
        Some(s) => {
            // SAFETY: writable out-pointers, per the header.
            unsafe {
                *axis = s.axis.as_ptr();
                *naxis = s.axis.len() as c_int;
            }
            s.wkt.as_ptr()
        }
        None => ptr::null(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_srs_wkt(
    h: *const Handle,
    axis: *mut *const c_int,
    naxis: *mut c_int,
) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: a live handle.
        srs_out(&unsafe { handle(h) }.srs, axis, naxis)
    })
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_gcp_srs_wkt(
    h: *const Handle,
    axis: *mut *const c_int,
    naxis: *mut c_int,
) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: a live handle.
        srs_out(&unsafe { handle(h) }.gcp_srs, axis, naxis)
    })
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_gcp_count(h: *const Handle) -> c_int {
    // SAFETY: a live handle.
    guard(0, || unsafe { handle(h) }.gcps.list.len() as c_int)
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_gcps(h: *const Handle) -> *const GDAL_GCP {
    // SAFETY: a live handle.
    guard(ptr::null(), || unsafe { handle(h) }.gcps.list.as_ptr())
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_metadata(
    h: *const Handle,
    band_no: c_int,
    i: c_int,
    name: *mut *const c_char,
) -> *mut *mut c_char {
    guard(ptr::null_mut(), || {
        // SAFETY: a live handle.
        let h = unsafe { handle(h) };
        let list = if band_no == 0 {
            Some(&h.metadata)
        } else {
            band(h, band_no).map(|b| &b.metadata)
        };
        match list.and_then(|l| l.get(usize::try_from(i).ok()?)) {
            Some((n, items)) => {
                // SAFETY: a writable out-pointer, per the header.
                unsafe { *name = n.as_ptr() };
                items.as_ptr()
            }
            None => ptr::null_mut(),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_band_description(h: *const Handle, b: c_int) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: a live handle.
        band(unsafe { handle(h) }, b).map_or(ptr::null(), |b| b.description.as_ptr())
    })
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_band_unit(h: *const Handle, b: c_int) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: a live handle.
        band(unsafe { handle(h) }, b).map_or(ptr::null(), |b| b.unit.as_ptr())
    })
}

fn optional(
    h: *const Handle,
    b: c_int,
    v: *mut c_double,
    pick: fn(&crate::handle::CBand) -> Option<f64>,
) -> c_int {
    guard(0, || {
        // SAFETY: a live handle.
        match band(unsafe { handle(h) }, b).and_then(pick) {
            Some(x) => {
                // SAFETY: a writable out-pointer.
                unsafe { *v = x };
                1
            }
            None => 0,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_band_nodata(
    h: *const Handle,
    b: c_int,
    v: *mut c_double,
) -> c_int {
    optional(h, b, v, |b| b.info.nodata)
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_band_scale(
    h: *const Handle,
    b: c_int,
    v: *mut c_double,
) -> c_int {
    optional(h, b, v, |b| b.info.scale)
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_band_offset(
    h: *const Handle,
    b: c_int,
    v: *mut c_double,
) -> c_int {
    optional(h, b, v, |b| b.info.offset)
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_band_color_interp(h: *const Handle, b: c_int) -> c_int {
    guard(0, || {
        // SAFETY: a live handle.
        band(unsafe { handle(h) }, b).map_or(0, |b| b.info.color_interp as c_int)
    })
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_band_color_table(
    h: *const Handle,
    b: c_int,
    interp: *mut c_int,
    entries: *mut *const c_short,
) -> c_int {
    guard(0, || {
        // SAFETY: a live handle.
        let Some(b) = band(unsafe { handle(h) }, b) else {
            return 0;
        };
        match &b.info.color_table {
            Some((pi, e)) => {
                // SAFETY: writable out-pointers.
                unsafe {
                    *interp = *pi as c_int;
                    *entries = b.color_table.as_ptr();
                }
                e.len() as c_int
            }
            None => 0,
        }
    })
}

/// What the tile entry points return: the samples' pointer with the tile's size written to
/// `w` and `hgt`, or null with the error (or the caught panic) kept for
/// `geoembed_last_error`.
///
/// # Safety
/// `w` and `hgt` must be writable.
unsafe fn hand_out_tile(
    h: &mut Handle,
    r: std::thread::Result<Result<(*const c_void, u32, u32), String>>,
    w: *mut c_int,
    hgt: *mut c_int,
) -> *const c_void {
    match r {
        Ok(Ok((p, tw, th))) => {
            // SAFETY: writable out-pointers (this function's contract).
            unsafe {
                *w = tw as c_int;
                *hgt = th as c_int;
            }
            p
        }
        Ok(Err(msg)) => {
            h.last_error = cstring(&msg);
            ptr::null()
        }
        Err(p) => {
            h.last_error = cstring(&format!("GeoEmbed driver bug: {}", panic_message(p)));
            ptr::null()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_tile(
    h: *mut Handle,
    tx: c_int,
    ty: c_int,
    keep: c_int,
    w: *mut c_int,
    hgt: *mut c_int,
) -> *const c_void {
    // SAFETY: a live handle used by one thread at a time (GDAL's dataset contract).
    let h = unsafe { &mut *h };
    let r = catch_unwind(AssertUnwindSafe(|| {
        let (tx, ty) = (u32::try_from(tx), u32::try_from(ty));
        let (Ok(tx), Ok(ty)) = (tx, ty) else {
            return Err("negative tile position".to_string());
        };
        // Decoding first also checks that the tile exists.
        let p = h
            .tile(tx, ty, keep != 0)
            .map_err(|e| e.to_string())?
            .as_ptr() as *const c_void;
        let (_, _, tw, th) = h.header.tile_rect(tx, ty);
        Ok((p, tw, th))
    }));
    // SAFETY: the caller's out-pointers, writable.
    unsafe { hand_out_tile(h, r, w, hgt) }
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_tile_rows(
    h: *mut Handle,
    tx: c_int,
    ty: c_int,
    from: c_int,
    to: c_int,
    w: *mut c_int,
    hgt: *mut c_int,
) -> *const c_void {
    // SAFETY: a live handle used by one thread at a time (GDAL's dataset contract).
    let h = unsafe { &mut *h };
    let r = catch_unwind(AssertUnwindSafe(|| {
        let numbers = [tx, ty, from, to].map(u32::try_from);
        let [Ok(tx), Ok(ty), Ok(from), Ok(to)] = numbers else {
            return Err("negative tile position or row".to_string());
        };
        let (_, _, tw, th) = h.header.tile_rect(tx, ty);
        if from >= to || to > th {
            return Err(format!("rows {from}..{to} of a tile of {th} rows"));
        }
        // Decoding first also checks that the tile exists.
        let p = h
            .tile_rows(tx, ty, from as usize, to as usize)
            .map_err(|e| e.to_string())?
            .as_ptr() as *const c_void;
        Ok((p, tw, th))
    }));
    // SAFETY: the caller's out-pointers, writable.
    unsafe { hand_out_tile(h, r, w, hgt) }
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_last_error(h: *const Handle) -> *const c_char {
    // SAFETY: a live handle.
    guard(ptr::null(), || unsafe { handle(h) }.last_error.as_ptr())
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_create_copy(
    path: *const c_char,
    src: GDALDatasetH,
    options: *mut *mut c_char,
    progress: GDALProgressFunc,
    progress_data: *mut c_void,
    err: *mut *mut c_char,
) -> c_int {
    let r = catch_unwind(|| {
        // SAFETY: GDAL passes a NUL-terminated name, a live source and a CSL list.
        let name = unsafe { CStr::from_ptr(path) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: `src` and `options` come from GDAL as create_copy requires them.
        unsafe { crate::create_copy::create_copy(&name, src, options, progress, progress_data) }
    });
    match r {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            set_err(err, msg);
            1
        }
        Err(p) => {
            set_err(err, format!("GeoEmbed driver bug: {}", panic_message(p)));
            1
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_create_stage(
    path: *const c_char,
    options: *mut *mut c_char,
    err: *mut *mut c_char,
) -> *mut c_char {
    let r = catch_unwind(|| {
        // SAFETY: GDAL passes a NUL-terminated name and a CSL list (or NULL).
        let (name, list) = unsafe {
            (
                CStr::from_ptr(path).to_string_lossy().into_owned(),
                geoembed::gdal::csl_to_vec(options),
            )
        };
        crate::create::stage(&name, &list)
    });
    match r {
        Ok(Ok(staged)) => cstring(&staged).into_raw(),
        Ok(Err(msg)) => {
            set_err(err, msg);
            ptr::null_mut()
        }
        Err(p) => {
            set_err(err, format!("GeoEmbed driver bug: {}", panic_message(p)));
            ptr::null_mut()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn geoembed_create_unstage(stage_path: *const c_char) {
    guard((), || {
        // SAFETY: a NUL-terminated path from geoembed_create_stage.
        let staged = unsafe { CStr::from_ptr(stage_path) }.to_string_lossy();
        crate::create::unstage(&staged);
    })
}
