//! `geoembed info FILE [--json]`: what gdalinfo would say, plus the codec, size and ratio of
//! every tile.

use crate::cli::InfoArgs;
use crate::error::{CliError, Result};
use crate::gdal_read::{geolocation_arrays, metadata_value};
use crate::gdal_util::{color_interp_name, pretty_wkt};
use geoembed_codec::codec::{float, CodecId, TileShape};
use geoembed_codec::container::header::{BandInfo, Dequantization, Header, MetadataDomain};
use geoembed_codec::container::writer::block_shape;
use geoembed_codec::container::{IndexEntry, Reader};
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
    /// For float-codec tiles: the transform and the per-band choices, condensed.
    detail: String,
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
                    detail: String::new(),
                });
            }
        }
    }
    out
}

/// Float-codec tiles whose choices `info` reads (each costs a payload read).
const MAX_DESCRIBED: usize = 1024;

/// Fills in what the float codec chose for (up to [`MAX_DESCRIBED`]) float tiles: the
/// transform, then each distinct band choice with its count ("k/1e4 LS5 x1").
fn describe_float_tiles<R: std::io::Read + std::io::Seek>(r: &mut Reader<R>, rows: &mut [TileRow]) {
    let float = CodecId::Float.name();
    for row in rows
        .iter_mut()
        .filter(|t| t.codec == float)
        .take(MAX_DESCRIBED)
    {
        let Ok(payload) = r.read_payload(row.plane, row.tx, row.ty) else {
            row.detail = "unreadable payload".into();
            continue;
        };
        row.detail = match float::summarize(&row.shape, &payload) {
            Ok((t, bands)) => {
                let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                for b in bands {
                    // Lattice offsets differ band by band; the step is what describes it.
                    let key = match b.find("+k*") {
                        Some(i) => b[i + 1..].to_string(),
                        None => b,
                    };
                    *counts.entry(key).or_default() += 1;
                }
                let mut parts: Vec<(usize, String)> =
                    counts.into_iter().map(|(k, n)| (n, k)).collect();
                parts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                let mut d = t.name().to_string();
                for (n, k) in parts.iter().take(4) {
                    d += &format!("; {k} x{n}");
                }
                if parts.len() > 4 {
                    d += &format!("; {} more", parts.len() - 4);
                }
                d
            }
            Err(e) => format!("unreadable: {e}"),
        };
    }
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

/// "YYYY-MM-DDTHH:MMZ" (seconds only when not zero) for seconds since 1970-01-01 UTC,
/// proleptic Gregorian calendar.
fn iso_utc(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    if ss == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (inverse of the above).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A CF time coordinate ("hours since 1900-01-01 00:00:00.0", standard calendar) as an
/// ISO date; `None` for anything else (months/years, other calendars, time zones, pre-1583
/// dates where the standard calendar is Julian), which is then shown raw with its units.
fn cf_time(value: &str, units: &str, calendar: Option<&str>) -> Option<String> {
    let proleptic = match calendar.map(|c| c.trim().to_ascii_lowercase()) {
        None => false,
        Some(c) if c == "standard" || c == "gregorian" => false,
        Some(c) if c == "proleptic_gregorian" => true,
        Some(_) => return None,
    };
    let (unit, since) = units.trim().split_once(" since ")?;
    let step = match unit.trim().to_ascii_lowercase().as_str() {
        "seconds" | "second" | "secs" | "sec" | "s" => 1.0,
        "minutes" | "minute" | "mins" | "min" => 60.0,
        "hours" | "hour" | "hrs" | "hr" | "h" => 3600.0,
        "days" | "day" | "d" => 86_400.0,
        _ => return None,
    };
    let since = since.trim().trim_end_matches('Z').trim_end_matches(" UTC");
    let (date, time) = match since.split_once(['T', ' ']) {
        Some((d, t)) => (d, t.trim()),
        None => (since, ""),
    };
    let ymd: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [y, mo, d] = ymd[..] else { return None };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || (y < 1583 && !proleptic) {
        return None;
    }
    let mut secs_of_day = 0.0;
    if !time.is_empty() {
        let hms: Vec<f64> = time
            .split(':')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        if hms.is_empty() || hms.len() > 3 {
            return None;
        }
        secs_of_day = hms
            .iter()
            .zip([3600.0, 60.0, 1.0])
            .map(|(v, k)| v * k)
            .sum();
    }
    let t = days_from_civil(y, mo, d) as f64 * 86_400.0
        + secs_of_day
        + value.trim().parse::<f64>().ok()? * step;
    // Whole seconds only: a fraction would be silently rounded away.
    if !t.is_finite() || t.fract() != 0.0 || t.abs() > 1e14 {
        return None;
    }
    let iso = iso_utc(t as i64);
    (proleptic || iso.as_str() >= "1583").then_some(iso)
}

/// One short line naming a band's place along the source's non-spatial dimensions: the
/// netCDF extra dimensions (`NETCDF_DIM_<name>` band items, in `NETCDF_DIM_EXTRA` order, with
/// the dimension's units and CF times decoded) or a GRIB message's element and valid time.
pub fn band_coordinates(h: &Header, b: &BandInfo) -> Option<String> {
    let ds = |k: &str| metadata_value(&h.metadata, "", k);
    let band_items: Vec<(&str, &str)> = b
        .metadata
        .iter()
        .filter(|d| d.name.is_empty())
        .flat_map(|d| d.items.iter().map(|it| MetadataDomain::split_item(it)))
        .collect();
    let dims: Vec<(&str, &str)> = band_items
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("NETCDF_DIM_")?, *v)))
        .collect();
    if !dims.is_empty() {
        // NETCDF_DIM_EXTRA = {outer,...,inner}: the order in which bands step through them.
        let order: Vec<&str> = ds("NETCDF_DIM_EXTRA")
            .map(|e| {
                e.trim_matches(['{', '}'])
                    .split(',')
                    .map(str::trim)
                    .collect()
            })
            .unwrap_or_default();
        let mut dims = dims;
        dims.sort_by_key(|(n, _)| order.iter().position(|o| o == n).unwrap_or(usize::MAX));
        let parts: Vec<String> = dims
            .iter()
            .map(|(name, v)| {
                let units = ds(&format!("{name}#units")).filter(|u| !u.is_empty());
                let calendar = ds(&format!("{name}#calendar"));
                match units {
                    Some(u) => match cf_time(v, u, calendar) {
                        Some(t) => format!("{name}={t}"),
                        None => format!("{name}={v} {u}"),
                    },
                    None => format!("{name}={v}"),
                }
            })
            .collect();
        return Some(parts.join(", "));
    }
    let item = |k: &str| band_items.iter().find(|(key, _)| *key == k).map(|x| x.1);
    // GRIB times are seconds since 1970 UTC (older GDALs append " sec UTC").
    let secs = |k: &str| -> Option<i64> { item(k)?.split_whitespace().next()?.parse().ok() };
    let valid = secs("GRIB_VALID_TIME")?;
    let mut line = String::new();
    if let Some(e) = item("GRIB_ELEMENT") {
        line.push_str(e.trim());
        line.push_str(", ");
    }
    line.push_str(&format!("valid {}", iso_utc(valid)));
    if let Some(r) = secs("GRIB_REF_TIME").filter(|r| *r != valid) {
        let lead = valid - r;
        let lead = if lead % 3600 == 0 {
            format!("{:+}h", lead / 3600)
        } else {
            format!("{lead:+}s")
        };
        line.push_str(&format!(" (ref {} {lead})", iso_utc(r)));
    }
    Some(line)
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
        write_domains(&mut s, "  ", &b.metadata);
        if let Some((_, entries)) = &b.color_table {
            let _ = writeln!(s, "  Color Table ({} entries)", entries.len());
        }
    }
    let _ = writeln!(s, "Tiles:");
    let _ = writeln!(
        s,
        "  {:>5} {:>5} {:>5} {:<20} {:>12} {:>12} {:>8} {:>11}  choices",
        "plane", "tx", "ty", "codec", "bytes", "raw", "ratio", "bits/sample"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "  {:>5} {:>5} {:>5} {:<20} {:>12} {:>12} {:>8.3} {:>11.3}  {}",
            r.plane,
            r.tx,
            r.ty,
            r.codec,
            r.bytes,
            r.raw(),
            r.ratio(),
            r.bits_per_sample(),
            r.detail
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
    for (plane, name, bytes, share) in plane_shares(h, rows, file_len) {
        let _ = writeln!(
            s,
            "  plane {plane} ({name}): {bytes} bytes, {:.1}% of the file",
            100.0 * share
        );
    }
    s
}

/// Bytes of every plane (the bands, then each aux plane such as TESSERA's scales) and
/// their share of the file.
fn plane_shares(h: &Header, rows: &[TileRow], file_len: u64) -> Vec<(usize, String, u64, f64)> {
    (0..h.plane_count())
        .map(|p| {
            let name = if p == 0 {
                "bands".to_string()
            } else {
                h.aux_planes[p - 1].name.clone()
            };
            let bytes: u64 = rows.iter().filter(|r| r.plane == p).map(|r| r.bytes).sum();
            (p, name, bytes, bytes as f64 / file_len.max(1) as f64)
        })
        .collect()
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
            "description": b.description, "coordinates": band_coordinates(h, b), "nodata": b.nodata, "scale": b.scale, "offset": b.offset,
            "color_interp": color_interp_name(b.color_interp), "unit": b.unit, "metadata": domains_json(&b.metadata),
            "color_table_entries": b.color_table.as_ref().map(|c| c.1.len()),
        })).collect::<Vec<_>>(),
        "tiles": rows.iter().map(|r| json!({
            "plane": r.plane, "tx": r.tx, "ty": r.ty, "codec": r.codec, "bytes": r.bytes, "raw_bytes": r.raw(),
            "ratio": r.ratio(), "bits_per_sample": r.bits_per_sample(),
            "choices": (!r.detail.is_empty()).then_some(&r.detail),
        })).collect::<Vec<_>>(),
        "planes": plane_shares(h, rows, file_len).into_iter().map(|(p, name, bytes, share)| json!({
            "plane": p, "name": name, "bytes": bytes, "share_of_file": share,
        })).collect::<Vec<_>>(),
        "file_bytes": file_len,
        "raw_bytes": raw,
        "ratio": raw as f64 / file_len as f64,
        "bits_per_sample": 8.0 * file_len as f64 / samples as f64,
    })
}

pub fn run(a: &InfoArgs) -> Result<ExitCode> {
    let f = std::fs::File::open(&a.file).map_err(|e| CliError::io(&a.file, e))?;
    let mut r =
        Reader::open(std::io::BufReader::new(f)).map_err(|e| CliError::codec(&a.file, e))?;
    let mut rows = tiles(r.header(), r.entries());
    describe_float_tiles(&mut r, &mut rows);
    let h = r.header();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_utc_and_civil_days_agree() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00Z");
        assert_eq!(iso_utc(1_551_398_400), "2019-03-01T00:00Z");
        assert_eq!(
            iso_utc(1_551_398_400 + 3 * 3600 + 7),
            "2019-03-01T03:00:07Z"
        );
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
        for (y, m, d) in [(1900, 1, 1), (2000, 2, 29), (2019, 3, 1), (1583, 12, 31)] {
            let t = days_from_civil(y, m, d) * 86_400;
            assert_eq!(iso_utc(t), format!("{y:04}-{m:02}-{d:02}T00:00Z"));
        }
    }

    #[test]
    fn cf_times() {
        // ERA5 netCDF downloads: hours since 1900-01-01.
        let era5 = "hours since 1900-01-01 00:00:00.0";
        assert_eq!(
            cf_time("1043136", era5, None).as_deref(),
            Some("2019-01-01T00:00Z")
        );
        assert_eq!(
            cf_time("17917", "days since 1970-01-01", Some("standard")).as_deref(),
            Some("2019-01-21T00:00Z")
        );
        assert_eq!(
            cf_time("90", "seconds since 2019-03-01T00:00:00Z", None).as_deref(),
            Some("2019-03-01T00:01:30Z")
        );
        assert_eq!(cf_time("1", "months since 2000-01-01", None), None);
        assert_eq!(cf_time("1", "days since 2000-01-01", Some("noleap")), None);
        assert_eq!(cf_time("1", "days since 1000-01-01", None), None);
        assert_eq!(cf_time("0.5", "seconds since 2000-01-01", None), None);
        assert_eq!(cf_time("1", "millibars", None), None);
    }
}
