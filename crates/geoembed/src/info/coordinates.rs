//! Where a band sits along the source's non-spatial dimensions, in words: the netCDF
//! extra dimensions (time, level) with CF times decoded to ISO dates, or a GRIB message's
//! element and valid time. `info` shows it per band; the metadata itself is GDAL's.

use crate::metadata::metadata_value;
use geoembed_codec::{BandInfo, Header, MetadataDomain};

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
