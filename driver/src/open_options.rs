//! The open options the driver declares (`-oo KEY=VALUE`, rasterio's keyword arguments,
//! QGIS's "open options"), parsed once when a dataset opens. GDAL itself warns about keys
//! a driver does not declare, so keys unknown here are left alone.

use geoembed_codec::Limits;

/// Open options as the handle uses them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// `DEQUANTIZE=YES`: present physical float32 values by the file's recipe.
    pub dequantize: bool,
    /// `TILE_CACHE_MB=N`: budget of the driver's own decoded-tile cache; `None` takes
    /// GDAL's block cache size (`GDAL_CACHEMAX`).
    pub tile_cache_bytes: Option<usize>,
    /// The reader limits (`MAX_TILE_BYTES=512M`, ...; see `Limits::KEYS`).
    pub limits: Limits,
}

/// GDAL's spellings of a boolean option value (`CPLTestBool`).
fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_uppercase().as_str() {
        "YES" | "TRUE" | "ON" | "1" => Ok(true),
        "NO" | "FALSE" | "OFF" | "0" => Ok(false),
        _ => Err(format!("open option {key}={value}: give YES or NO")),
    }
}

impl OpenOptions {
    /// Parses `KEY=VALUE` items (keys case-insensitive, as GDAL's `CSLFetchNameValue`).
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut options = OpenOptions::default();
        for item in items {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            match key.to_ascii_uppercase().as_str() {
                "DEQUANTIZE" => options.dequantize = parse_bool(key, value)?,
                "TILE_CACHE_MB" => {
                    let mb = value
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|mb| *mb > 0)
                        .ok_or_else(|| {
                            format!("open option {key}={value}: give a whole number of megabytes")
                        })?;
                    options.tile_cache_bytes = Some(mb.saturating_mul(1 << 20));
                }
                upper if Limits::KEYS.iter().any(|k| k.eq_ignore_ascii_case(upper)) => {
                    options
                        .limits
                        .set(key, value)
                        .map_err(|e| format!("open option {item}: {e}"))?;
                }
                _ => {}
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(items: &[&str]) -> Result<OpenOptions, String> {
        OpenOptions::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options_parse_case_insensitively_and_name_bad_values() {
        assert_eq!(parse(&[]).unwrap(), OpenOptions::default());
        let o = parse(&["dequantize=yes", "TILE_CACHE_MB=16", "OTHER=1"]).unwrap();
        assert!(o.dequantize);
        assert_eq!(o.tile_cache_bytes, Some(16 << 20));
        assert_eq!(
            parse(&["DEQUANTIZE=maybe"]).unwrap_err(),
            "open option DEQUANTIZE=maybe: give YES or NO"
        );
        assert_eq!(
            parse(&["TILE_CACHE_MB=0"]).unwrap_err(),
            "open option TILE_CACHE_MB=0: give a whole number of megabytes"
        );
    }
}
