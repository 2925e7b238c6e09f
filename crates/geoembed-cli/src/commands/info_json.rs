//! `geoembed info --json`: what `gdalinfo -json` reports for the file through the GDAL
//! plugin (same keys, same shape, computed by GDAL itself), plus everything geoembed knows
//! beyond it under one `geoembed` key: tiling, codecs and sizes per tile and plane, aux
//! planes, the dequantisation recipe, per-band coordinates.

use geoembed::info::gdalinfo::{gdal_compression, gdalinfo_json, reversibility, subdatasets};
use geoembed::info::{band_coordinates, FileInfo};
use geoembed::write::sidecar::errors_json;
use geoembed::Result;
use geoembed_codec::{Dequantization, Header};
use serde_json::{json, Value};

fn tiles_json(info: &FileInfo) -> Value {
    json!(info.tiles.iter().map(|t| json!({
        "plane": t.plane, "tx": t.tx, "ty": t.ty, "codec": t.codec, "bytes": t.bytes, "raw_bytes": t.raw_bytes(),
        "ratio": t.ratio(), "bits_per_sample": t.bits_per_sample(),
        "choices": (!t.choices.is_empty()).then_some(&t.choices),
    })).collect::<Vec<_>>())
}

/// Whether the bands are the source's: mode `lossless`, `near-lossless` with the bound
/// and the achieved largest error per band, or `transform` with the target and the
/// achieved figures (and, for tiles refined to a bound, the bound and the achieved largest
/// error per band).
fn compression_json(h: &Header) -> Value {
    let bound = h.near_lossless.as_ref().map(|n| {
        (
            errors_json(n.max_error.iter().map(|&e| Some(e))),
            errors_json(n.achieved.iter().copied()),
        )
    });
    if let Some(t) = &h.transform_loss {
        let mut j = json!({
            "mode": "transform",
            "rel_rmse": t.target_rel_rmse,
            // The quality whose mapping gives exactly this target (derived; the file
            // records the target only), else null.
            "quality": geoembed::quality_of_rel_rmse(t.target_rel_rmse),
            "achieved": geoembed::write::sidecar::transform_achieved_json(t),
        });
        if let Some((max_error, achieved)) = bound {
            j["max_error"] = max_error;
            j["achieved_max_error"] = achieved;
        }
        return j;
    }
    match bound {
        Some((max_error, achieved)) => json!({
            "mode": "near-lossless",
            "max_error": max_error,
            "achieved_max_error": achieved,
        }),
        None => json!({"mode": "lossless"}),
    }
}

/// geoembed's own facts about the file.
fn geoembed_json(info: &FileInfo) -> Value {
    let h = &info.header;
    json!({
        "format_version": format!("{}.{}", info.format_version.0, info.format_version.1),
        "data_type": h.sample_type.name(),
        "band_count": h.bands.len(),
        "tile_size": [h.tile_width, h.tile_height],
        "aux_planes": h.aux_planes.iter().map(|a| json!({"name": a.name, "data_type": a.sample_type.name(), "bands": a.bands, "description": a.description})).collect::<Vec<_>>(),
        "dequantization": h.dequantization.as_ref().map(|d| match d {
            Dequantization::PerPixelScale { aux_plane } => json!({"kind": "per_pixel_scale", "aux_plane": aux_plane}),
            Dequantization::PowerLaw { divisor, exponent } => json!({"kind": "power_law", "divisor": divisor, "exponent": exponent}),
        }),
        "decorrelation_groups": h.decorrelation.as_ref().map(|d| d.groups.len()),
        "compression": compression_json(h),
        "info": h.info.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "bands": h.bands.iter().map(|b| json!({"coordinates": band_coordinates(h, b)})).collect::<Vec<_>>(),
        "tiles": tiles_json(info),
        "planes": info.plane_shares().into_iter().map(|p| json!({
            "plane": p.plane, "name": p.name, "bytes": p.bytes, "share_of_file": p.share_of_file,
            "bits_per_sample": p.bits_per_sample,
        })).collect::<Vec<_>>(),
        "dequant_scales": info.dequant_scales().map(|s| json!({
            "bytes": s.bytes, "share_of_file": s.share_of_file, "bits_per_value": s.bits_per_value,
        })),
        "file_bytes": info.file_bytes,
        "raw_bytes": info.raw_bytes(),
        "ratio": info.ratio(),
        "bits_per_sample": info.bits_per_sample(),
    })
}

/// The domains the plugin adds to the dataset's metadata.
fn plugin_domains(info: &FileInfo, h: &Header) -> Vec<(&'static str, Vec<(String, String)>)> {
    let band_tiles = info.tiles.iter().filter(|t| t.plane == 0);
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    for t in band_tiles {
        *counts.entry(t.codec.as_str()).or_default() += 1;
    }
    let listed: Vec<String> = counts.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    let mut structure = vec![
        (
            "COMPRESSION".to_string(),
            gdal_compression(counts.keys().copied()).to_string(),
        ),
        ("INTERLEAVE".into(), "PIXEL".into()),
        ("GEOEMBED_TILE_CODECS".into(), listed.join(",")),
    ];
    structure.extend(reversibility(h, 0));
    let name = info.path.display().to_string();
    vec![
        ("IMAGE_STRUCTURE", structure),
        ("SUBDATASETS", subdatasets(&name, h)),
    ]
}

pub fn to_json(info: &FileInfo) -> Result<Value> {
    let h = &info.header;
    let mut j = gdalinfo_json(&info.path, h, &plugin_domains(info, h))?;
    j["geoembed"] = geoembed_json(info);
    Ok(j)
}
