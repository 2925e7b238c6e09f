//! `gdal_translate -of GeoEmbed`: GDAL's `CreateCopy` runs the same encoder as
//! `geoembed convert`, reading the source dataset GDAL hands us.

use crate::handle::cstring;
use crate::vsi::VsiFile;
use gdal::{Dataset, Metadata};
use geoembed::commands::convert::{parse_codec, parse_effort};
use geoembed::encode::{encode_stream, encode_to_emb, EncodeOptions};
use geoembed::gdal_read::{header_from_dataset, GdalSource};
use std::ffi::{c_char, c_void, CStr};
use std::path::Path;

/// The creation options (`-co KEY=VALUE`) the driver declares.
fn options(list: &[String]) -> Result<EncodeOptions, String> {
    let mut o = EncodeOptions {
        codec: parse_codec("auto").map_err(|e| e.to_string())?,
        effort: parse_effort("default").map_err(|e| e.to_string())?,
        tile: None,
        quiet: true,
    };
    for item in list {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        match k.to_ascii_uppercase().as_str() {
            "CODEC" => o.codec = parse_codec(v).map_err(|e| e.to_string())?,
            "EFFORT" => o.effort = parse_effort(v).map_err(|e| e.to_string())?,
            "TILE_SIZE" => {
                let t: u32 = v
                    .parse()
                    .ok()
                    .filter(|t| (16..=8192).contains(t))
                    .ok_or_else(|| {
                        format!("TILE_SIZE={v}: give a tile edge from 16 to 8192 pixels")
                    })?;
                o.tile = Some(t);
            }
            _ => {
                return Err(format!(
                    "{item}: unknown creation option (CODEC, EFFORT, TILE_SIZE)"
                ))
            }
        }
    }
    Ok(o)
}

/// # Safety
/// `src` is a live dataset handle owned by the caller; `options` is NULL or a CSL list.
pub unsafe fn create_copy(
    path: &str,
    src: gdal_sys::GDALDatasetH,
    options_list: *mut *mut c_char,
    progress: gdal_sys::GDALProgressFunc,
    progress_data: *mut c_void,
) -> Result<(), String> {
    let mut list = Vec::new();
    if !options_list.is_null() {
        let mut p = options_list;
        // SAFETY: a CSL list ends with NULL.
        while unsafe { !(*p).is_null() } {
            // SAFETY: `*p` is a non-NULL entry of the list: a NUL-terminated C string.
            list.push(unsafe { CStr::from_ptr(*p) }.to_string_lossy().into_owned());
            // SAFETY: `p` is not the terminating NULL yet, so `p + 1` is still in the list.
            p = unsafe { p.add(1) };
        }
    }
    let opts = options(&list).map_err(|e| format!("{path}: {e}"))?;
    let report = |f: f64| {
        if let Some(cb) = progress {
            let msg = cstring("");
            // SAFETY: GDAL's progress contract; a FALSE return asks us to stop.
            unsafe { cb(f, msg.as_ptr(), progress_data) != 0 }
        } else {
            true
        }
    };
    if !report(0.0) {
        return Err(format!("{path}: interrupted by the user"));
    }
    // SAFETY: src is live. The Dataset wrapper must never close it (the caller owns it), so
    // it is forgotten on every path below.
    let ds = unsafe { Dataset::from_c_dataset(src) };
    let name = ds.description().unwrap_or_default();
    let header = match header_from_dataset(&name, &ds) {
        Ok(h) => h,
        Err(e) => {
            std::mem::forget(ds);
            return Err(e.to_string());
        }
    };
    let mut s = GdalSource::from_parts(&name, ds, header);
    let written = if path.starts_with("/vsi") {
        // Virtual files: written in place (no rename there), without the sidecar.
        VsiFile::open(path, "wb")
            .map_err(|e| e.to_string())
            .and_then(|f| encode_stream(&mut s, f, &opts).map_err(|e| e.to_string()))
            .and_then(|(f, _)| f.close().map_err(|e| e.to_string()))
    } else {
        encode_to_emb(&mut s, Path::new(path), &opts)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    std::mem::forget(s.into_dataset());
    written?;
    report(1.0);
    Ok(())
}
