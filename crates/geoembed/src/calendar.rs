//! Dates in the proleptic Gregorian calendar as seconds since 1970-01-01 UTC, and CF time
//! units (`hours since 1900-01-01 00:00:00`). Two readers of the header's metadata need
//! them: the STAC sidecar's `datetime` (write/datetime.rs) and `info`'s band coordinates
//! (info/coordinates.rs); one implementation keeps their dates the same.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UTC instant split into its calendar fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Utc {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
}

impl Utc {
    /// The calendar fields of `secs` seconds since 1970-01-01 (inverse of
    /// [`days_from_civil`]).
    pub(crate) fn from_unix(secs: i64) -> Self {
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Utc {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day: doy - (153 * mp + 2) / 5 + 1,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }

    /// `YYYY-MM-DD`.
    pub(crate) fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// `YYYY-MM-DD[ T]HH:MM:SS` (`-` or `:` between the date's fields, as TIFF writes them; the
/// time, its minutes and seconds optional; a trailing `Z` or ` UTC`) as seconds since 1970.
pub(crate) fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('Z').trim_end_matches(" UTC");
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((d, t)) => (d, t.trim()),
        None => (text, ""),
    };
    let ymd: Vec<i64> = date
        .split(['-', ':'])
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [y, m, d] = ymd[..] else { return None };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut seconds_of_day = 0.0;
    if !time.is_empty() {
        let hms: Vec<f64> = time
            .split(':')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        if hms.len() > 3 {
            return None;
        }
        seconds_of_day = hms
            .iter()
            .zip([3600.0, 60.0, 1.0])
            .map(|(v, k)| v * k)
            .sum();
    }
    Some(days_from_civil(y, m, d) * 86_400 + seconds_of_day as i64)
}

/// A CF `UNIT since DATE`: seconds per unit and the epoch (seconds since 1970). Months and
/// years (of no fixed length) are `None`.
pub(crate) fn cf_units(units: &str) -> Option<(f64, i64)> {
    let (unit, since) = units.trim().split_once(" since ")?;
    let seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "seconds" | "second" | "secs" | "sec" | "s" => 1.0,
        "minutes" | "minute" | "mins" | "min" => 60.0,
        "hours" | "hour" | "hrs" | "hr" | "h" => 3600.0,
        "days" | "day" | "d" => 86_400.0,
        _ => return None,
    };
    Some((seconds, parse_timestamp(since)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_and_calendar_fields_agree() {
        for (y, m, d) in [(1900, 1, 1), (2000, 2, 29), (2019, 3, 1), (1583, 12, 31)] {
            let u = Utc::from_unix(days_from_civil(y, m, d) * 86_400);
            assert_eq!((u.year, u.month, u.day), (y, m, d));
        }
        let u = Utc::from_unix(-1);
        assert_eq!(
            (u.date(), u.hour, u.minute, u.second),
            ("1969-12-31".into(), 23, 59, 59)
        );
    }

    #[test]
    fn timestamps_and_cf_units() {
        assert_eq!(parse_timestamp("2019:03:01 00:00:00"), Some(1_551_398_400));
        assert_eq!(parse_timestamp("2019-03-01T00:01:30Z"), Some(1_551_398_490));
        assert_eq!(parse_timestamp("2019-03-01"), Some(1_551_398_400));
        assert_eq!(parse_timestamp("2019-13-01"), None);
        assert_eq!(
            cf_units("hours since 1970-01-01 00:00:00.0"),
            Some((3600.0, 0))
        );
        assert_eq!(cf_units("months since 2000-01-01"), None);
    }
}
