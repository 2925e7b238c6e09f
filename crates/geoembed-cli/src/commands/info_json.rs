//! `geoembed info --json`: the same facts as the text, as one JSON document (stable keys,
//! for scripts and tests).

use geoembed::gdal::color_interp_name;
use geoembed::info::{band_coordinates, FileInfo};
use geoembed_codec::{Dequantization, Header, MetadataDomain};
use serde_json::{json, Value};

fn domains_json(d: &[MetadataDomain]) -> Value {
    json!(d
        .iter()
        .map(|m| json!({"domain": m.name, "items": m.items}))
        .collect::<Vec<_>>())
}

fn georef_json(h: &Header) -> Value {
    json!({
        "geotransform": h.georef.geotransform,
        "crs": h.georef.srs.as_ref().map(|s| json!({"wkt2": s.wkt, "epsg": s.epsg, "axis_mapping": s.axis_mapping})),
        "gcps": h.georef.gcps.iter().map(|g| json!({"id": g.id, "info": g.info, "pixel": g.pixel, "line": g.line, "x": g.x, "y": g.y, "z": g.z})).collect::<Vec<_>>(),
    })
}

fn bands_json(h: &Header) -> Value {
    json!(h.bands.iter().map(|b| json!({
        "description": b.description, "coordinates": band_coordinates(h, b), "nodata": b.nodata, "scale": b.scale, "offset": b.offset,
        "color_interp": color_interp_name(b.color_interp), "unit": b.unit, "metadata": domains_json(&b.metadata),
        "color_table_entries": b.color_table.as_ref().map(|c| c.1.len()),
    })).collect::<Vec<_>>())
}

fn tiles_json(info: &FileInfo) -> Value {
    json!(info.tiles.iter().map(|t| json!({
        "plane": t.plane, "tx": t.tx, "ty": t.ty, "codec": t.codec, "bytes": t.bytes, "raw_bytes": t.raw_bytes(),
        "ratio": t.ratio(), "bits_per_sample": t.bits_per_sample(),
        "choices": (!t.choices.is_empty()).then_some(&t.choices),
    })).collect::<Vec<_>>())
}

pub fn to_json(info: &FileInfo) -> Value {
    let h = &info.header;
    let georef = georef_json(h);
    json!({
        "file": info.path.display().to_string(),
        "format_version": "1.0",
        "size": [h.width, h.height],
        "data_type": h.sample_type.name(),
        "band_count": h.bands.len(),
        "tile_size": [h.tile_width, h.tile_height],
        "geotransform": georef["geotransform"],
        "crs": georef["crs"],
        "gcps": georef["gcps"],
        "metadata": domains_json(&h.metadata),
        "aux_planes": h.aux_planes.iter().map(|a| json!({"name": a.name, "data_type": a.sample_type.name(), "bands": a.bands})).collect::<Vec<_>>(),
        "dequantization": h.dequantization.as_ref().map(|d| match d {
            Dequantization::PerPixelScale { aux_plane } => json!({"kind": "per_pixel_scale", "aux_plane": aux_plane}),
            Dequantization::PowerLaw { divisor, exponent } => json!({"kind": "power_law", "divisor": divisor, "exponent": exponent}),
        }),
        "decorrelation_groups": h.decorrelation.as_ref().map(|d| d.groups.len()),
        "bands": bands_json(h),
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
