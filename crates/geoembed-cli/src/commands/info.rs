//! `geoembed info FILE [--json]`: what gdalinfo would say, plus the codec, size and ratio of
//! every tile. The library gathers it ([`FileInfo`]); this file words it as text.

use super::info_json;
use crate::args::InfoArgs;
use geoembed::gdal::{color_interp_name, pretty_wkt};
use geoembed::info::{band_coordinates, FileInfo};
use geoembed::metadata::geolocation_arrays;
use geoembed::{Limits, Result};
use geoembed_codec::{
    BandInfo, Dequantization, Header, MetadataDomain, NearLossless, SampleType, TransformLoss,
};
use std::fmt::Write as _;
use std::process::ExitCode;

pub fn run(a: &InfoArgs, limits: &Limits) -> Result<ExitCode> {
    let info = FileInfo::read_with_limits(&a.file, limits)?;
    if a.json {
        let text = serde_json::to_string_pretty(&info_json::to_json(&info)?).expect("serialisable");
        println!("{text}");
    } else {
        print!("{}", text(&info));
    }
    Ok(ExitCode::SUCCESS)
}

/// GDAL's data type names, so the text reads like gdalinfo's.
fn gdal_type_name(t: SampleType) -> &'static str {
    match t {
        SampleType::U8 => "Byte",
        SampleType::I8 => "Int8",
        SampleType::U16 => "UInt16",
        SampleType::I16 => "Int16",
        SampleType::U32 => "UInt32",
        SampleType::I32 => "Int32",
        SampleType::F32 => "Float32",
        SampleType::F64 => "Float64",
    }
}

fn text(info: &FileInfo) -> String {
    let h = &info.header;
    let mut s = String::new();
    let (major, minor) = info.format_version;
    let _ = writeln!(
        s,
        "Driver: EMB/geoembed multichannel raster (format {major}.{minor})"
    );
    let _ = writeln!(s, "Files: {}", info.path.display());
    let _ = writeln!(s, "Size is {}, {}", h.width, h.height);
    write_georef(&mut s, h);
    write_domains(&mut s, "", &h.metadata);
    write_structure(&mut s, h);
    for (i, b) in h.bands.iter().enumerate() {
        write_band(&mut s, h, i + 1, b);
    }
    write_tiles(&mut s, info);
    s
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

/// CRS, geolocation arrays, geotransform and GCPs, as gdalinfo prints them.
fn write_georef(s: &mut String, h: &Header) {
    if let Some(srs) = &h.georef.srs {
        let _ = writeln!(s, "Coordinate System is:\n{}", pretty_wkt(srs));
        if let Some(e) = srs.epsg {
            let _ = writeln!(s, "EPSG: {e}");
        }
        let m: Vec<String> = srs.axis_mapping.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(s, "Data axis to CRS axis mapping: {}", m.join(","));
    }
    if let Some((x, y)) = geolocation_arrays(h) {
        let _ = writeln!(
            s,
            "No affine geotransform; geolocation arrays: X_DATASET={x}, Y_DATASET={y} (GEOLOCATION metadata below; the arrays are not in this file)"
        );
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
}

/// Whether the bands decode to the source's samples: `Compression: lossless`, the
/// near-lossless bound and the largest error the writer measured (per band when they
/// vary), or the transform's target and figures (and the bound its tiles were refined to).
fn write_compression(s: &mut String, h: &Header) {
    if let Some(t) = &h.transform_loss {
        write_transform(s, t);
        if let Some(n) = &h.near_lossless {
            let (bound, achieved) = bound_and_achieved(n);
            let _ = writeln!(
                s,
                "  Refined to a bound: every sample within {bound} of the source, achieved \
                 {achieved}"
            );
        }
        return;
    }
    let Some(n) = &h.near_lossless else {
        let _ = writeln!(s, "Compression: lossless");
        return;
    };
    let (bound, achieved) = bound_and_achieved(n);
    let _ = writeln!(
        s,
        "Compression: near-lossless (LOSSY): max abs error {bound}, achieved {achieved}; \
         nodata samples exact"
    );
}

/// `Compression: transform (LOSSY): target rel-RMSE R (= --quality Q), achieved ...`.
fn write_transform(s: &mut String, t: &TransformLoss) {
    let _ = write!(
        s,
        "Compression: transform (LOSSY): target rel-RMSE {}",
        t.target_rel_rmse
    );
    // The target a --quality maps to: name the quality (derived, not stored).
    if let Some(q) = geoembed::quality_of_rel_rmse(t.target_rel_rmse) {
        let _ = write!(s, " (= --quality {q})");
    }
    let _ = match t.achieved {
        Some(a) => writeln!(
            s,
            ", achieved {:.5}; max abs error {}, per-pixel cosine mean {:.6}, 1st percentile {:.6}",
            a.rel_rmse, a.max_abs_error, a.mean_cosine, a.p01_cosine
        ),
        None => writeln!(s, ", achieved unknown"),
    };
}

/// A bound and the largest error measured: one number when every band has it, else the
/// list and `(per band)`.
fn bound_and_achieved(n: &NearLossless) -> (String, String) {
    let per_band = |values: Vec<String>| match values.iter().all(|v| *v == values[0]) {
        true => values[0].clone(),
        false => format!("{} (per band)", values.join(",")),
    };
    let bound = per_band(n.max_error.iter().map(f64::to_string).collect());
    let achieved = n.achieved.iter().map(|a| match a {
        Some(e) => e.to_string(),
        None => "unknown".into(),
    });
    (bound, per_band(achieved.collect()))
}

/// Tiling, dequantisation recipe, aux planes, decorrelation.
fn write_structure(s: &mut String, h: &Header) {
    let _ = writeln!(
        s,
        "Tiling: {}x{} pixels, {} x {} tiles",
        h.tile_width,
        h.tile_height,
        h.tiles_across(),
        h.tiles_down()
    );
    write_compression(s, h);
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
}

fn write_band(s: &mut String, h: &Header, number: usize, b: &BandInfo) {
    let _ = writeln!(
        s,
        "Band {number} Block={}x{} Type={}, ColorInterp={}",
        h.tile_width,
        h.tile_height,
        gdal_type_name(h.sample_type),
        color_interp_name(b.color_interp)
    );
    if !b.description.is_empty() {
        let _ = writeln!(s, "  Description = {}", b.description);
    }
    if let Some(c) = band_coordinates(h, b) {
        let _ = writeln!(s, "  Coordinates: {c}");
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
    write_domains(s, "  ", &b.metadata);
    if let Some((_, entries)) = &b.color_table {
        let _ = writeln!(s, "  Color Table ({} entries)", entries.len());
    }
}

/// The tile table, then totals per codec and per plane.
fn write_tiles(s: &mut String, info: &FileInfo) {
    let _ = writeln!(s, "Tiles:");
    let _ = writeln!(
        s,
        "  {:>5} {:>5} {:>5} {:<20} {:>12} {:>12} {:>8} {:>11}  choices",
        "plane", "tx", "ty", "codec", "bytes", "raw", "ratio", "bits/sample"
    );
    for t in &info.tiles {
        let _ = writeln!(
            s,
            "  {:>5} {:>5} {:>5} {:<20} {:>12} {:>12} {:>8.3} {:>11.3}  {}",
            t.plane,
            t.tx,
            t.ty,
            t.codec,
            t.bytes,
            t.raw_bytes(),
            t.ratio(),
            t.bits_per_sample(),
            t.choices
        );
    }
    let _ = writeln!(
        s,
        "Summary: {} raw bytes in {} bytes: ratio {:.3}, {:.3} bits/sample",
        info.raw_bytes(),
        info.file_bytes,
        info.ratio(),
        info.bits_per_sample()
    );
    for (c, (n, b)) in info.codec_totals() {
        let _ = writeln!(s, "  {c}: {n} tiles, {b} bytes");
    }
    for p in info.plane_shares() {
        let _ = writeln!(
            s,
            "  plane {} ({}): {} bytes, {:.1}% of the file, {:.2} bits/sample",
            p.plane,
            p.name,
            p.bytes,
            100.0 * p.share_of_file,
            p.bits_per_sample
        );
    }
    if let Some(scales) = info.dequant_scales() {
        let _ = writeln!(
            s,
            "  scales inside dequant tiles: {} bytes, {:.1}% of the file, {:.2} bits/scale",
            scales.bytes,
            100.0 * scales.share_of_file,
            scales.bits_per_value
        );
    }
}
