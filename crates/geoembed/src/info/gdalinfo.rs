//! What `gdalinfo -json` says about a `.emb` (read through the GDAL plugin), computed
//! without the plugin: the header is mapped onto an in-memory VRT dataset with bands but no
//! pixels, and GDAL's own `GDALInfo()` describes it. So the keys, their shape and the
//! derived values (corner coordinates, WGS84 extent, STAC fields) are GDAL's by
//! construction; only the names of the file and driver, the block size and the storage
//! metadata (`IMAGE_STRUCTURE`) are set to what the plugin reports.

use crate::error::{Error, ErrorKind, Result};
use crate::gdal::CStringList;
use crate::write::gdal as gdal_write;
use geoembed_codec::{Header, NearLossless, SampleType, TransformLoss};
use serde_json::{json, Value};
use std::ffi::CStr;
use std::path::Path;

/// The GDAL plugin's names, as `gdalinfo` reports them.
pub const DRIVER_SHORT_NAME: &str = "GeoEmbed";
pub const DRIVER_LONG_NAME: &str = "geoembed multichannel raster (.emb)";

/// `gdalinfo -json` of the `.emb` at `path` with header `h`; `domains` are the dataset
/// domains the plugin adds (`IMAGE_STRUCTURE`, `SUBDATASETS`), as `(name, items)`.
pub fn gdalinfo_json(
    path: &Path,
    h: &Header,
    domains: &[(&str, Vec<(String, String)>)],
) -> Result<Value> {
    let vrt = gdal::DriverManager::get_driver_by_name("VRT")?;
    let mut ds = gdal_write::create(&vrt, Path::new(""), h, h.sample_type, h.bands.len(), &[])?;
    gdal_write::apply_header(&mut ds, h, false)?;
    let args = CStringList::new(["-json"]);
    // SAFETY: the options list outlives the call; GDALInfo returns an owned C string (or
    // NULL), freed below; the dataset is live.
    let text = unsafe {
        let options = gdal_sys::GDALInfoOptionsNew(args.as_ptr(), std::ptr::null_mut());
        let out = gdal_sys::GDALInfo(ds.c_dataset(), options);
        gdal_sys::GDALInfoOptionsFree(options);
        if out.is_null() {
            return Err(Error::new(ErrorKind::Gdal, "GDALInfo failed").at(path));
        }
        let text = CStr::from_ptr(out).to_string_lossy().into_owned();
        gdal_sys::VSIFree(out.cast());
        text
    };
    let mut j: Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(ErrorKind::Gdal, format!("GDALInfo JSON: {e}")).at(path))?;
    let name = path.display().to_string();
    j["description"] = json!(name);
    j["driverShortName"] = json!(DRIVER_SHORT_NAME);
    j["driverLongName"] = json!(DRIVER_LONG_NAME);
    j["files"] = json!([name]);
    let metadata = j
        .as_object_mut()
        .expect("an object")
        .entry("metadata")
        .or_insert_with(|| json!({}));
    for (domain, items) in domains.iter().filter(|(_, items)| !items.is_empty()) {
        metadata[*domain] = items.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    }
    for (band, info) in j["bands"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .zip(&h.bands)
    {
        // As the plugin reports it: a tile larger than the raster is a raster-sized block.
        band["block"] = json!([h.tile_width.min(h.width), h.tile_height.min(h.height)]);
        // A VRT band without sources has a minimum and maximum; the plugin's bands only
        // those their metadata states (GDAL reads STATISTICS_MINIMUM/MAXIMUM).
        let stated = |key: &str| crate::metadata::metadata_value(&info.metadata, "", key).is_some();
        if let Some(band) = band.as_object_mut() {
            if !stated("STATISTICS_MINIMUM") {
                band.remove("min");
            }
            if !stated("STATISTICS_MAXIMUM") {
                band.remove("max");
            }
        }
        if h.sample_type == SampleType::I8 {
            band["metadata"]["IMAGE_STRUCTURE"] = json!({"PIXELTYPE": "SIGNEDBYTE"});
        }
    }
    Ok(j)
}

/// The GDAL compression name of a file whose tiles use `codecs` (names), as the plugin
/// reports it in `IMAGE_STRUCTURE`. GDAL clients parse it into a fixed list (rasterio's
/// `Compression` enum fails on any other word), so it names the GDAL compression a faithful
/// copy uses rather than geoembed's own codecs: NONE when every tile is stored raw, else
/// DEFLATE (lossless; what `geoembed convert` and a rasterio profile round trip write).
pub fn gdal_compression<'a>(mut codecs: impl Iterator<Item = &'a str>) -> &'static str {
    if codecs.all(|c| c == geoembed_codec::CodecId::Raw.name()) {
        "NONE"
    } else {
        "DEFLATE"
    }
}

/// GDAL's `COMPRESSION_REVERSIBILITY` of plane `plane` (`LOSSY` for the bands of a
/// near-lossless or transform-coded file, else `LOSSLESS`), and for lossy bands geoembed's
/// bounds and achieved errors per band (`GEOEMBED_MAX_ERROR=2,2,0`) and the transform's
/// target and figures, as `IMAGE_STRUCTURE` items.
pub fn reversibility(h: &Header, plane: usize) -> Vec<(String, String)> {
    let bound = h.near_lossless.as_ref().filter(|_| plane == 0);
    if let Some(t) = h.transform_loss.as_ref().filter(|_| plane == 0) {
        let mut items = transform_reversibility(t);
        items.extend(bound.map(bound_items).into_iter().flatten());
        return items;
    }
    let Some(n) = bound else {
        return vec![("COMPRESSION_REVERSIBILITY".into(), "LOSSLESS".into())];
    };
    let mut items = vec![
        ("COMPRESSION_REVERSIBILITY".into(), "LOSSY".into()),
        ("GEOEMBED_LOSSY_MODE".into(), "near-lossless".into()),
    ];
    items.extend(bound_items(n));
    items
}

/// The bound and the largest error measured, per band (`GEOEMBED_MAX_ERROR=2,2,0`,
/// `GEOEMBED_ACHIEVED_MAX_ERROR=2,1,0`): of a near-lossless file, or of the refinement of a
/// transform-coded one.
fn bound_items(n: &NearLossless) -> [(String, String); 2] {
    let list = |values: Vec<String>| values.join(",");
    let achieved = n.achieved.iter().map(|a| match a {
        Some(e) => e.to_string(),
        None => "unknown".into(),
    });
    [
        (
            "GEOEMBED_MAX_ERROR".into(),
            list(n.max_error.iter().map(f64::to_string).collect()),
        ),
        (
            "GEOEMBED_ACHIEVED_MAX_ERROR".into(),
            list(achieved.collect()),
        ),
    ]
}

/// A transform-coded file's bands: `LOSSY`, the target and the achieved figures
/// (`GEOEMBED_REL_RMSE=0.05`, `GEOEMBED_ACHIEVED_REL_RMSE=...`).
fn transform_reversibility(t: &TransformLoss) -> Vec<(String, String)> {
    let mut items = vec![
        ("COMPRESSION_REVERSIBILITY".into(), "LOSSY".into()),
        ("GEOEMBED_LOSSY_MODE".into(), "transform".into()),
        ("GEOEMBED_REL_RMSE".into(), t.target_rel_rmse.to_string()),
    ];
    if let Some(a) = t.achieved {
        items.extend([
            ("GEOEMBED_ACHIEVED_REL_RMSE".into(), a.rel_rmse.to_string()),
            ("GEOEMBED_MAX_ABS_ERROR".into(), a.max_abs_error.to_string()),
            ("GEOEMBED_MEAN_COSINE".into(), a.mean_cosine.to_string()),
            ("GEOEMBED_P01_COSINE".into(), a.p01_cosine.to_string()),
        ]);
    }
    items
}

/// The GDAL subdataset name of aux plane `plane` of `file`: `EMB:"file":plane`.
pub fn subdataset_name(file: &str, plane: &str) -> String {
    format!("EMB:\"{file}\":{plane}")
}

/// The `SUBDATASETS` domain of a file: one per aux plane.
pub fn subdatasets(file: &str, h: &Header) -> Vec<(String, String)> {
    let mut items = Vec::new();
    for (i, a) in h.aux_planes.iter().enumerate() {
        let n = i + 1;
        items.push((
            format!("SUBDATASET_{n}_NAME"),
            subdataset_name(file, &a.name),
        ));
        items.push((
            format!("SUBDATASET_{n}_DESC"),
            format!(
                "[{}x{}x{}] {} ({})",
                a.bands,
                h.height,
                h.width,
                a.name,
                a.sample_type.name()
            ),
        ));
    }
    items
}
