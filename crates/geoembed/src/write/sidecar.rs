//! The human-readable JSON sidecar `OUT.emb.json`: a STAC 1.0 Item (projection and raster
//! extensions) describing the file, valid against their JSON schemas (the tests check it
//! with pystac and the schemas). Readers of `.emb` never need it; people and catalogues do.
//! Its `datetime` comes from the source's metadata ([`super::datetime`]).
//!
//! Its bounding box is in longitude/latitude, which needs a reprojection: a [`ToLonLat`]
//! supplied by the caller (GDAL's OSR with the `gdal` feature, pyproj from Python); without
//! one, `bbox` and `geometry` are left out (`geometry: null`, as STAC allows).

use crate::error::{Error, Result};
use geoembed_codec::{CodecId, Dequantization, Header, MetadataDomain, Reader, Srs};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Reprojects points from a stored CRS to longitude/latitude (EPSG:4326, x = longitude),
/// in place; `false` if it cannot.
pub trait ToLonLat: Sync {
    fn to_lon_lat(&self, srs: &Srs, xs: &mut [f64], ys: &mut [f64]) -> bool;
}

/// The reprojection this build has: GDAL's with the `gdal` feature, else none.
pub fn default_lon_lat() -> Option<&'static dyn ToLonLat> {
    #[cfg(feature = "gdal")]
    return Some(&crate::gdal::GdalLonLat);
    #[cfg(not(feature = "gdal"))]
    return None;
}

/// Corners of the raster in lon/lat, when georeferenced and reprojectable.
fn wgs84_bbox(h: &Header, lon_lat: &dyn ToLonLat) -> Option<[f64; 4]> {
    let gt = h.georef.geotransform?;
    let srs = h.georef.srs.as_ref()?;
    let (w, hh) = (h.width as f64, h.height as f64);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    // Edges sampled, not just corners: projected rasters bulge in lon/lat.
    for i in 0..=8 {
        let f = i as f64 / 8.0;
        for (px, py) in [(f * w, 0.0), (f * w, hh), (0.0, f * hh), (w, f * hh)] {
            xs.push(gt[0] + px * gt[1] + py * gt[2]);
            ys.push(gt[3] + px * gt[4] + py * gt[5]);
        }
    }
    if !lon_lat.to_lon_lat(srs, &mut xs, &mut ys) || xs.iter().chain(&ys).any(|v| !v.is_finite()) {
        return None;
    }
    let min = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    Some([min(&xs), min(&ys), max(&xs), max(&ys)])
}

fn domains_json(d: &[MetadataDomain]) -> Value {
    let mut m = Map::new();
    for dom in d {
        let mut items = Map::new();
        for it in &dom.items {
            let (k, v) = MetadataDomain::split_item(it);
            items.insert(k.to_string(), Value::String(v.to_string()));
        }
        m.insert(
            if dom.name.is_empty() {
                "default".into()
            } else {
                dom.name.clone()
            },
            Value::Object(items),
        );
    }
    Value::Object(m)
}

fn num(v: f64) -> Value {
    // JSON has no NaN/Inf: STAC's raster extension spells them as strings.
    if v.is_nan() {
        json!("nan")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        json!(v)
    }
}

/// Builds the sidecar for the `.emb` at `emb` (reading back its header and index);
/// `href` is the file name the item points to.
pub fn build(emb: &Path, href: &str, lon_lat: Option<&dyn ToLonLat>) -> Result<Value> {
    let f = std::fs::File::open(emb).map_err(|e| Error::io(emb, e))?;
    let r = Reader::open(std::io::BufReader::new(f)).map_err(|e| Error::codec(emb, e))?;
    let h = r.header();
    let id = Path::new(href)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut item = json!({
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
        ],
        "id": id,
        "geometry": Value::Null,
        "properties": Value::Object(properties(&r)),
        "links": [],
        "assets": {
            "data": {
                "href": format!("./{href}"),
                "type": "application/x-geoembed",
                "title": "geoembed multichannel raster",
                "roles": ["data"],
                "raster:bands": raster_bands(h),
            }
        }
    });
    if let Some([x0, y0, x1, y1]) = lon_lat.and_then(|t| wgs84_bbox(h, t)) {
        item["bbox"] = json!([x0, y0, x1, y1]);
        item["geometry"] = json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]});
    }
    Ok(item)
}

/// The item's properties: projection, tiling, codecs and sizes, recipes, metadata.
fn properties<R: std::io::Read + std::io::Seek>(r: &Reader<R>) -> Map<String, Value> {
    let h = r.header();
    let mut codecs: BTreeMap<String, u64> = BTreeMap::new();
    for e in r.entries() {
        let name = CodecId::from_code(e.codec)
            .map(|c| c.name().to_string())
            .unwrap_or_else(|_| format!("id {}", e.codec));
        *codecs.entry(name).or_default() += 1;
    }
    let raw: u64 = (0..h.plane_count())
        .filter_map(|p| h.plane_layout(p).ok())
        .map(|(t, b)| h.width as u64 * h.height as u64 * b as u64 * t.size() as u64)
        .sum();
    let mut props = super::datetime::properties(h);
    props.extend(projection_properties(h));
    let (major, minor) = r.format_version();
    props.insert(
        "geoembed:format_version".into(),
        json!(format!("{major}.{minor}")),
    );
    props.insert(
        "geoembed:tile_size".into(),
        json!([h.tile_width, h.tile_height]),
    );
    props.insert("geoembed:codecs".into(), json!(codecs));
    props.insert("geoembed:raw_bytes".into(), json!(raw));
    props.insert("geoembed:file_bytes".into(), json!(r.file_len()));
    props.insert(
        "geoembed:ratio".into(),
        json!(raw as f64 / r.file_len() as f64),
    );
    if let Some(d) = &h.dequantization {
        props.insert("geoembed:dequantization".into(), dequantization_json(h, d));
    }
    props.extend(compression_properties(h));
    if !h.aux_planes.is_empty() {
        props.insert(
            "geoembed:aux_planes".into(),
            json!(h.aux_planes.iter().map(|a| json!({"name": a.name, "data_type": a.sample_type.name(), "bands": a.bands, "description": a.description})).collect::<Vec<_>>()),
        );
    }
    if !h.metadata.is_empty() {
        props.insert("geoembed:metadata".into(), domains_json(&h.metadata));
    }
    props
}

/// Near-lossless bounds or errors (value units) as JSON numbers: whole ones as integers
/// (`2`, as integer rasters always wrote them), others as they are (`0.01`), `None` as
/// null.
pub fn errors_json(values: impl IntoIterator<Item = Option<f64>>) -> Value {
    let number = |e: f64| {
        if e.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&e) {
            json!(e as u64)
        } else {
            json!(e)
        }
    };
    values.into_iter().map(|v| v.map(number)).collect()
}

/// Whether the samples are the source's: `geoembed:compression` is `lossless`,
/// `near-lossless` (with the bound and the achieved error per band) or `transform` (with
/// the target and the achieved figures, and the bound and achieved error per band when the
/// tiles were refined to one).
fn compression_properties(h: &Header) -> Map<String, Value> {
    let mut props = Map::new();
    let mode = match (&h.transform_loss, &h.near_lossless) {
        (Some(_), _) => "transform",
        (None, Some(_)) => "near-lossless",
        (None, None) => "lossless",
    };
    props.insert("geoembed:compression".into(), json!(mode));
    if let Some(t) = &h.transform_loss {
        props.insert("geoembed:rel_rmse".into(), json!(t.target_rel_rmse));
        props.insert("geoembed:achieved".into(), transform_achieved_json(t));
    }
    if let Some(n) = &h.near_lossless {
        let bounds = n.max_error.iter().map(|&e| Some(e));
        props.insert("geoembed:max_error".into(), errors_json(bounds));
        let achieved = errors_json(n.achieved.iter().copied());
        props.insert("geoembed:achieved_max_error".into(), achieved);
    }
    props
}

/// What a transform-coded file reached (`null` when not recorded).
pub fn transform_achieved_json(t: &geoembed_codec::TransformLoss) -> Value {
    match t.achieved {
        Some(a) => json!({
            "rel_rmse": a.rel_rmse,
            "max_abs_error": a.max_abs_error,
            "mean_cosine": a.mean_cosine,
            "p01_cosine": a.p01_cosine,
        }),
        None => Value::Null,
    }
}

/// STAC's projection extension: shape, CRS, affine transform (and how many GCPs).
fn projection_properties(h: &Header) -> Map<String, Value> {
    let mut props = Map::new();
    props.insert("proj:shape".into(), json!([h.height, h.width]));
    if let Some(s) = &h.georef.srs {
        props.insert("proj:epsg".into(), s.epsg.map_or(Value::Null, |e| json!(e)));
        props.insert("proj:wkt2".into(), json!(s.wkt));
    }
    if let Some(gt) = h.georef.geotransform {
        props.insert(
            "proj:transform".into(),
            json!([gt[1], gt[2], gt[0], gt[4], gt[5], gt[3], 0.0, 0.0, 1.0]),
        );
    }
    if !h.georef.gcps.is_empty() {
        props.insert("geoembed:gcp_count".into(), json!(h.georef.gcps.len()));
    }
    props
}

fn dequantization_json(h: &Header, d: &Dequantization) -> Value {
    match d {
        Dequantization::PerPixelScale { aux_plane } => json!({
            "kind": "per_pixel_scale",
            "formula": "value = sample * scale",
            "scale_plane": h.aux_planes[*aux_plane as usize].name,
        }),
        Dequantization::PowerLaw { divisor, exponent } => json!({
            "kind": "power_law",
            "formula": "value = sign(q) * (|q| / divisor) ^ exponent",
            "divisor": divisor, "exponent": exponent,
        }),
    }
}

/// STAC's raster extension: one entry per band.
fn raster_bands(h: &Header) -> Vec<Value> {
    h.bands
        .iter()
        .map(|b| {
            let mut m = Map::new();
            m.insert("data_type".into(), json!(h.sample_type.name()));
            if !b.description.is_empty() {
                m.insert("description".into(), json!(b.description));
            }
            if let Some(v) = b.nodata {
                m.insert("nodata".into(), num(v));
            }
            if let Some(v) = b.scale {
                m.insert("scale".into(), num(v));
            }
            if let Some(v) = b.offset {
                m.insert("offset".into(), num(v));
            }
            if !b.unit.is_empty() {
                m.insert("unit".into(), json!(b.unit));
            }
            if !b.metadata.is_empty() {
                m.insert("geoembed:metadata".into(), domains_json(&b.metadata));
            }
            Value::Object(m)
        })
        .collect()
}

/// Writes the sidecar of the staged `.emb` at `emb` to `json_path`; `final_emb` is the
/// name the `.emb` will have (the sidecar refers to it relatively).
pub fn write(
    emb: &Path,
    json_path: &Path,
    final_emb: &Path,
    lon_lat: Option<&dyn ToLonLat>,
) -> Result<()> {
    let href = final_emb
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let v = build(emb, &href, lon_lat)?;
    let text = serde_json::to_string_pretty(&v).expect("JSON values serialise") + "\n";
    std::fs::write(json_path, text).map_err(|e| Error::io(json_path, e))
}
