//! Where a band sits along the source's non-spatial dimensions, in words: the netCDF
//! extra dimensions (time, level) with CF times decoded to ISO dates, or a GRIB message's
//! element and valid time. `info` shows it per band; the metadata itself is GDAL's.

use crate::calendar::{cf_units, days_from_civil, Utc};
use crate::metadata::metadata_value;
use geoembed_codec::{BandInfo, Header, MetadataDomain};

/// "YYYY-MM-DDTHH:MMZ" (seconds only when not zero) for seconds since 1970-01-01 UTC,
/// proleptic Gregorian calendar.
fn iso_utc(secs: i64) -> String {
    let t = Utc::from_unix(secs);
    let (date, hh, mm, ss) = (t.date(), t.hour, t.minute, t.second);
    if ss == 0 {
        format!("{date}T{hh:02}:{mm:02}Z")
    } else {
        format!("{date}T{hh:02}:{mm:02}:{ss:02}Z")
    }
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
    let (step, epoch) = cf_units(units)?;
    // Before 1583 the standard calendar is Julian, which these dates are not.
    if epoch < days_from_civil(1583, 1, 1) * 86_400 && !proleptic {
        return None;
    }
    let t = epoch as f64 + value.trim().parse::<f64>().ok()? * step;
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
