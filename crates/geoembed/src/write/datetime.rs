//! When the data of a `.emb` was taken, for its STAC sidecar. A STAC Item needs `datetime`,
//! or `datetime: null` with both `start_datetime` and `end_datetime`. The header's
//! metadata (copied from the source) says it, first match wins:
//!
//! 1. `TIFFTAG_DATETIME` (`YYYY:MM:DD HH:MM:SS`, read as UTC): `datetime`;
//! 2. netCDF time, `NETCDF_DIM_time` per band (or `NETCDF_DIM_time_VALUES`) with
//!    `time#units` such as `days since 1900-01-01` (standard calendars): one instant is
//!    `datetime`, several are a `start_datetime`/`end_datetime` range;
//! 3. GRIB's `GRIB_VALID_TIME` per band (seconds since 1970): likewise;
//! 4. GeoTessera's `GEOTESSERA_YEAR`: the whole year as a range.
//!
//! Otherwise `datetime` is the conversion time, and `geoembed:datetime_from` says so. The
//! conversion time is always `created` (`SOURCE_DATE_EPOCH`, when set, for reproducible
//! sidecars).

use crate::calendar::{cf_units, days_from_civil, parse_timestamp, Utc};
use crate::metadata::metadata_value;
use geoembed_codec::Header;
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// When the data was taken, as seconds since 1970 (UTC).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Taken {
    At(i64),
    Between(i64, i64),
}

/// RFC 3339 (UTC, whole seconds) of seconds since 1970.
pub fn rfc3339(secs: i64) -> String {
    let t = Utc::from_unix(secs);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        t.date(),
        t.hour,
        t.minute,
        t.second
    )
}

/// One instant, or the range of several.
fn span(times: &[i64]) -> Option<Taken> {
    let (lo, hi) = (*times.iter().min()?, *times.iter().max()?);
    Some(if lo == hi {
        Taken::At(lo)
    } else {
        Taken::Between(lo, hi)
    })
}

/// `{a,b,c}` lists as GDAL's netCDF driver writes them.
fn braced_numbers(text: &str) -> Vec<f64> {
    text.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn band_values<'a>(h: &'a Header, key: &str) -> Vec<&'a str> {
    h.bands
        .iter()
        .filter_map(|b| metadata_value(&b.metadata, "", key))
        .collect()
}

fn netcdf_time(h: &Header) -> Option<Taken> {
    let units = metadata_value(&h.metadata, "", "time#units")?;
    let calendar = metadata_value(&h.metadata, "", "time#calendar").unwrap_or("standard");
    if !["standard", "gregorian", "proleptic_gregorian"].contains(&calendar) {
        return None;
    }
    let (unit, epoch) = cf_units(units)?;
    let mut values: Vec<f64> = band_values(h, "NETCDF_DIM_time")
        .iter()
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    if values.is_empty() {
        values = braced_numbers(metadata_value(&h.metadata, "", "NETCDF_DIM_time_VALUES")?);
    }
    let times: Vec<i64> = values
        .iter()
        .map(|v| epoch + (v * unit).round() as i64)
        .collect();
    span(&times)
}

fn grib_time(h: &Header) -> Option<Taken> {
    let times: Vec<i64> = band_values(h, "GRIB_VALID_TIME")
        .iter()
        .filter_map(|v| v.split_whitespace().next()?.parse().ok())
        .collect();
    span(&times)
}

fn geotessera_year(h: &Header) -> Option<Taken> {
    let year: i64 = metadata_value(&h.metadata, "", "GEOTESSERA_YEAR")?
        .trim()
        .parse()
        .ok()?;
    let start = days_from_civil(year, 1, 1) * 86_400;
    Some(Taken::Between(
        start,
        days_from_civil(year + 1, 1, 1) * 86_400 - 1,
    ))
}

/// The conversion time: `SOURCE_DATE_EPOCH` if set, else now.
fn conversion_time() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        })
}

/// The STAC datetime properties of a header: `datetime` (or null with `start_datetime` and
/// `end_datetime`), `created`, and `geoembed:datetime_from` naming the source.
pub fn properties(h: &Header) -> Map<String, Value> {
    let tiff =
        || parse_timestamp(metadata_value(&h.metadata, "", "TIFFTAG_DATETIME")?).map(Taken::At);
    let found = [
        ("TIFFTAG_DATETIME", tiff()),
        ("NETCDF_DIM_time", netcdf_time(h)),
        ("GRIB_VALID_TIME", grib_time(h)),
        ("GEOTESSERA_YEAR", geotessera_year(h)),
    ]
    .into_iter()
    .find_map(|(from, taken)| Some((from, taken?)));
    let created = conversion_time();
    let (from, taken) = found.unwrap_or(("conversion time", Taken::At(created)));
    let mut props = Map::new();
    match taken {
        Taken::At(t) => {
            props.insert("datetime".into(), json!(rfc3339(t)));
        }
        Taken::Between(a, b) => {
            props.insert("datetime".into(), Value::Null);
            props.insert("start_datetime".into(), json!(rfc3339(a)));
            props.insert("end_datetime".into(), json!(rfc3339(b)));
        }
    }
    props.insert("created".into(), json!(rfc3339(created)));
    props.insert("geoembed:datetime_from".into(), json!(from));
    props
}

/// The year named by a directory above a GeoTessera tile (`.../2024/grid_.../x.npy`).
pub fn year_in_path(path: &std::path::Path) -> Option<u32> {
    path.ancestors().skip(1).find_map(|dir| {
        let name = dir.file_name()?.to_str()?;
        let year: u32 = name.parse().ok().filter(|_| name.len() == 4)?;
        (1900..=2200).contains(&year).then_some(year)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoembed_codec::{MetadataDomain, SampleType};

    fn header(items: &[&str], band_items: &[&[&str]]) -> Header {
        let mut h = Header::new(1, 1, band_items.len().max(1), SampleType::F32);
        h.metadata.push(MetadataDomain {
            name: String::new(),
            items: items.iter().map(|s| s.to_string()).collect(),
        });
        for (b, items) in h.bands.iter_mut().zip(band_items) {
            b.metadata.push(MetadataDomain {
                name: String::new(),
                items: items.iter().map(|s| s.to_string()).collect(),
            });
        }
        h
    }

    #[test]
    fn dates_round_trip_through_days() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_551_398_400), "2019-03-01T00:00:00Z");
        assert_eq!(rfc3339(-86_400), "1969-12-31T00:00:00Z");
        assert_eq!(parse_timestamp("2020:05:17 10:30:00"), Some(1_589_711_400));
        assert_eq!(parse_timestamp("1900-01-01"), Some(-2_208_988_800));
        assert_eq!(
            year_in_path("/d/2024/grid_0.15_52.05/t.npy".as_ref()),
            Some(2024)
        );
        assert_eq!(year_in_path("/d/grid/t.npy".as_ref()), None);
    }

    #[test]
    fn the_first_source_that_says_wins() {
        let p = properties(&header(&["TIFFTAG_DATETIME=2020:05:17 10:30:00"], &[]));
        assert_eq!(p["datetime"], "2020-05-17T10:30:00Z");
        assert_eq!(p["geoembed:datetime_from"], "TIFFTAG_DATETIME");
        let nc = header(
            &["time#units=days since 1900-01-01 00:00:00"],
            &[&["NETCDF_DIM_time=43484"], &["NETCDF_DIM_time=43485"]],
        );
        let p = properties(&nc);
        assert_eq!(p["datetime"], Value::Null);
        assert_eq!(p["start_datetime"], "2019-01-21T00:00:00Z");
        assert_eq!(p["end_datetime"], "2019-01-22T00:00:00Z");
        let grib = header(&[], &[&["GRIB_VALID_TIME=  1551398400 sec UTC"]]);
        assert_eq!(properties(&grib)["datetime"], "2019-03-01T00:00:00Z");
        let year = header(&["GEOTESSERA_YEAR=2024"], &[]);
        let p = properties(&year);
        assert_eq!(
            (&p["start_datetime"], &p["end_datetime"]),
            (
                &json!("2024-01-01T00:00:00Z"),
                &json!("2024-12-31T23:59:59Z")
            )
        );
        let none = properties(&header(&[], &[]));
        assert_eq!(none["datetime"], none["created"]);
        assert_eq!(none["geoembed:datetime_from"], "conversion time");
    }
}
