//! `geoembed info FILE [--json]`: what gdalinfo would say, plus the codec, size and ratio of
//! every tile.

use crate::cli::InfoArgs;
use crate::error::{CliError, Result};
use crate::gdal_util::{color_interp_name, pretty_wkt};
use geoembed_codec::codec::{CodecId, TileShape};
use geoembed_codec::format::header::{Dequantization, Header, MetadataDomain};
use geoembed_codec::format::writer::block_shape;
use geoembed_codec::format::{IndexEntry, Reader};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

struct TileRow {
    plane: usize,
    tx: u32,
    ty: u32,
    codec: String,
    bytes: u64,
    shape: TileShape,
}

impl TileRow {
    fn raw(&self) -> u64 {
        self.shape.bytes() as u64
    }
    fn ratio(&self) -> f64 {
        self.raw() as f64 / self.bytes.max(1) as f64
    }
    fn bits_per_sample(&self) -> f64 {
        8.0 * self.bytes as f64 / self.shape.samples() as f64
    }
}

fn tiles(h: &Header, entries: &[IndexEntry]) -> Vec<TileRow> {
    let mut out = Vec::new();
    for plane in 0..h.plane_count() {
        for ty in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                let e = &entries[h.block_index(plane, tx, ty) as usize];
                let codec = CodecId::from_code(e.codec)
                    .map(|c| c.name().to_string())
                    .unwrap_or_else(|_| format!("unknown({})", e.codec));
                let shape = block_shape(h, plane, tx, ty).expect("in grid");
                out.push(TileRow {
                    plane,
                    tx,
                    ty,
                    codec,
                    bytes: e.length,
                    shape,
                });
            }
        }
    }
    out
}

/// GDAL's data type names, so the text reads like gdalinfo's.
fn gdal_type_name(t: geoembed_codec::SampleType) -> &'static str {
    use geoembed_codec::SampleType::*;
    match t {
        U8 => "Byte",
        I8 => "Int8",
        U16 => "UInt16",
        I16 => "Int16",
        U32 => "UInt32",
        I32 => "Int32",
        F32 => "Float32",
        F64 => "Float64",
    }
}

fn write_domains(s: &mut String, indent: &str, d: &[MetadataDomain]) {
    for dom in d {
        if dom.name.is_empty() {
            let _ = writeln!(s, "{indent}Metadata:");
        } else {
            let _ = writeln!(s, "{indent}Metadata ({}):", dom.name);
        }
        for it in &dom.items {
            let _ = writeln!(s, "{indent}  {it}");
        }
    }
}

fn text(path: &str, h: &Header, rows: &[TileRow], file_len: u64) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Driver: EMB/geoembed multichannel raster (format 1.0)");
    let _ = writeln!(s, "Files: {path}");
    let _ = writeln!(s, "Size is {}, {}", h.width, h.height);
    if let Some(srs) = &h.georef.srs {
        let _ = writeln!(s, "Coordinate System is:\n{}", pretty_wkt(srs));
        if let Some(e) = srs.epsg {
            let _ = writeln!(s, "EPSG: {e}");
        }
        let m: Vec<String> = srs.axis_mapping.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(s, "Data axis to CRS axis mapping: {}", m.join(","));
    }
    if let Some(gt) = h.georef.geotransform {
        let _ = writeln!(s, "Origin = ({:.15},{:.15})", gt[0], gt[3]);
        let _ = writeln!(s, "Pixel Size = ({:.15},{:.15})", gt[1], gt[5]);
        if gt[2] != 0.0 || gt[4] != 0.0 {
            let _ = writeln!(
                s,
                "GeoTransform =\n  {}, {}, {}\n  {}, {}, {}",
                gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]
            );
        }
    }
    if !h.georef.gcps.is_empty() {
        if let Some(gs) = &h.georef.gcp_srs {
            let _ = writeln!(s, "GCP Projection =\n{}", pretty_wkt(gs));
        }
        for (i, g) in h.georef.gcps.iter().enumerate() {
            let _ = writeln!(
                s,
                "GCP[{i:3}]: Id={}, Info={}\n          ({},{}) -> ({},{},{})",
                g.id, g.info, g.pixel, g.line, g.x, g.y, g.z
            );
        }
    }
    write_domains(&mut s, "", &h.metadata);
    let _ = writeln!(
        s,
        "Tiling: {}x{} pixels, {} x {} tiles",
        h.tile_width,
        h.tile_height,
        h.tiles_across(),
        h.tiles_down()
    );
    match &h.dequantization {
        Some(Dequantization::PerPixelScale { aux_plane }) => {
            let _ = writeln!(
                s,
                "Dequantization: value = sample x {} (per-pixel scale plane)",
                h.aux_planes[*aux_plane as usize].name
            );
        }
        Some(Dequantization::PowerLaw { divisor, exponent }) => {
            let _ = writeln!(
                s,
                "Dequantization: value = sign(q) x (|q| / {divisor})^{exponent}"
            );
        }
        None => {}
    }
    for (i, a) in h.aux_planes.iter().enumerate() {
        let _ = writeln!(
            s,
            "Aux plane {i}: {} ({}, {} band(s)): {}",
            a.name, a.sample_type, a.bands, a.description
        );
    }
    if let Some(d) = &h.decorrelation {
        let _ = writeln!(
            s,
            "Decorrelation: {} group(s), fixed point 2^-{}",
            d.groups.len(),
            d.shift
        );
    }
    for (i, b) in h.bands.iter().enumerate() {
        let _ = writeln!(
            s,
            "Band {} Block={}x{} Type={}, ColorInterp={}",
            i + 1,
            h.tile_width,
            h.tile_height,
            gdal_type_name(h.sample_type),
            color_interp_name(b.color_interp)
        );
        if !b.description.is_empty() {
            let _ = writeln!(s, "  Description = {}", b.description);
        }
        if let Some(nd) = b.nodata {
            let _ = writeln!(s, "  NoData Value={nd}");
        }
        if b.scale.is_some() || b.offset.is_some() {
            let _ = writeln!(
                s,
                "  Offset: {},   Scale:{}",
                b.offset.unwrap_or(0.0),
                b.scale.unwrap_or(1.0)
            );
        }
        if !b.unit.is_empty() {
            let _ = writeln!(s, "  Unit Type: {}", b.unit);
        }
        write_domains(&mut s, "  ", &b.metadata);
        if let Some((_, entries)) = &b.color_table {
            let _ = writeln!(s, "  Color Table ({} entries)", entries.len());
        }
    }
    let _ = writeln!(s, "Tiles:");
    let _ = writeln!(
        s,
        "  {:>5} {:>5} {:>5} {:<20} {:>12} {:>12} {:>8} {:>11}",
        "plane", "tx", "ty", "codec", "bytes", "raw", "ratio", "bits/sample"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "  {:>5} {:>5} {:>5} {:<20} {:>12} {:>12} {:>8.3} {:>11.3}",
            r.plane,
            r.tx,
            r.ty,
            r.codec,
            r.bytes,
            r.raw(),
            r.ratio(),
            r.bits_per_sample()
        );
    }
    let raw: u64 = rows.iter().map(|r| r.raw()).sum();
    let samples: u64 = rows.iter().map(|r| r.shape.samples() as u64).sum();
    let mut by: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in rows {
        let e = by.entry(r.codec.as_str()).or_default();
        e.0 += 1;
        e.1 += r.bytes;
    }
    let _ = writeln!(
        s,
        "Summary: {raw} raw bytes in {file_len} bytes: ratio {:.3}, {:.3} bits/sample",
        raw as f64 / file_len as f64,
        8.0 * file_len as f64 / samples as f64
    );
    for (c, (n, b)) in by {
        let _ = writeln!(s, "  {c}: {n} tiles, {b} bytes");
    }
    s
}

fn domains_json(d: &[MetadataDomain]) -> Value {
    json!(d
        .iter()
        .map(|m| json!({"domain": m.name, "items": m.items}))
        .collect::<Vec<_>>())
}

fn to_json(path: &str, h: &Header, rows: &[TileRow], file_len: u64) -> Value {
    let raw: u64 = rows.iter().map(|r| r.raw()).sum();
    let samples: u64 = rows.iter().map(|r| r.shape.samples() as u64).sum();
    json!({
        "file": path,
        "format_version": "1.0",
        "size": [h.width, h.height],
        "data_type": h.sample_type.name(),
        "band_count": h.bands.len(),
        "tile_size": [h.tile_width, h.tile_height],
        "geotransform": h.georef.geotransform,
        "crs": h.georef.srs.as_ref().map(|s| json!({"wkt2": s.wkt, "epsg": s.epsg, "axis_mapping": s.axis_mapping})),
        "gcps": h.georef.gcps.iter().map(|g| json!({"id": g.id, "info": g.info, "pixel": g.pixel, "line": g.line, "x": g.x, "y": g.y, "z": g.z})).collect::<Vec<_>>(),
        "metadata": domains_json(&h.metadata),
        "aux_planes": h.aux_planes.iter().map(|a| json!({"name": a.name, "data_type": a.sample_type.name(), "bands": a.bands})).collect::<Vec<_>>(),
        "dequantization": h.dequantization.as_ref().map(|d| match d {
            Dequantization::PerPixelScale { aux_plane } => json!({"kind": "per_pixel_scale", "aux_plane": aux_plane}),
            Dequantization::PowerLaw { divisor, exponent } => json!({"kind": "power_law", "divisor": divisor, "exponent": exponent}),
        }),
        "decorrelation_groups": h.decorrelation.as_ref().map(|d| d.groups.len()),
        "bands": h.bands.iter().map(|b| json!({
            "description": b.description, "nodata": b.nodata, "scale": b.scale, "offset": b.offset,
            "color_interp": color_interp_name(b.color_interp), "unit": b.unit, "metadata": domains_json(&b.metadata),
            "color_table_entries": b.color_table.as_ref().map(|c| c.1.len()),
        })).collect::<Vec<_>>(),
        "tiles": rows.iter().map(|r| json!({
            "plane": r.plane, "tx": r.tx, "ty": r.ty, "codec": r.codec, "bytes": r.bytes, "raw_bytes": r.raw(),
            "ratio": r.ratio(), "bits_per_sample": r.bits_per_sample(),
        })).collect::<Vec<_>>(),
        "file_bytes": file_len,
        "raw_bytes": raw,
        "ratio": raw as f64 / file_len as f64,
        "bits_per_sample": 8.0 * file_len as f64 / samples as f64,
    })
}

pub fn run(a: &InfoArgs) -> Result<ExitCode> {
    let f = std::fs::File::open(&a.file).map_err(|e| CliError::io(&a.file, e))?;
    let r = Reader::open(std::io::BufReader::new(f)).map_err(|e| CliError::codec(&a.file, e))?;
    let h = r.header();
    let rows = tiles(h, r.entries());
    let path = a.file.display().to_string();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&path, h, &rows, r.file_len()))
                .expect("serialisable")
        );
    } else {
        print!("{}", text(&path, h, &rows, r.file_len()));
    }
    Ok(ExitCode::SUCCESS)
}
