//! Limits against hostile or corrupt input: a reader refuses a file whose declared sizes
//! exceed them before allocating anything, with a [`crate::ErrorKind::LimitExceeded`] error
//! that names the field, its value and the limit (by the key that raises it).
//!
//! A `.emb` may come from anywhere (a URL typed into QGIS, a bucket, an e-mail), and a Rust
//! allocation failure aborts the whole process, plugin host included. The limits therefore
//! bound every size a file can make a reader allocate: the decoded tile (so a 152-byte file
//! cannot decode to gigabytes), the header and the number of strings in it, the index, the
//! band and aux plane counts. Front ends set them by key ([`Limits::set`]): the CLI's
//! `--limit KEY=VALUE`, the GDAL plugin's `-oo KEY=VALUE`, Python's keyword arguments.

use crate::error::{Error, Result};

/// Upper bounds a reader enforces. The defaults accept any raster a GDAL workflow produces
/// in practice (geoembed's encoder never writes a tile above 128 MiB) while keeping a
/// corrupt or hostile header from requesting more than a few hundred megabytes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Widest raster, in pixels.
    pub max_width: u32,
    /// Tallest raster, in pixels.
    pub max_height: u32,
    /// Most bands, of the raster and of each aux plane.
    pub max_bands: u32,
    /// Most aux planes (planes beside the bands, such as GeoTessera's scales).
    pub max_aux_planes: u32,
    /// Largest header (metadata, decorrelation coefficients) in bytes.
    pub max_header_bytes: u32,
    /// Most strings and records in the header: metadata domains and items, GCPs, colour
    /// table entries, provenance entries. Each costs far more in memory than its 4 bytes on
    /// disk, so the header's byte limit alone does not bound what it costs to hold.
    pub max_metadata_items: u32,
    /// Largest decoded tile in bytes (one block of one plane, as clipped to the raster).
    pub max_tile_bytes: u64,
    /// Most blocks (tiles × planes) in the index.
    pub max_blocks: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_width: 1 << 24,
            max_height: 1 << 24,
            max_bands: 1 << 16,
            max_aux_planes: 16,
            max_header_bytes: 32 << 20,
            max_metadata_items: 1 << 20,
            max_tile_bytes: 128 << 20,
            max_blocks: 1 << 22,
        }
    }
}

impl Limits {
    /// The keys [`Limits::set`] accepts, in the order of the fields.
    pub const KEYS: [&'static str; 8] = [
        "max_width",
        "max_height",
        "max_bands",
        "max_aux_planes",
        "max_header_bytes",
        "max_metadata_items",
        "max_tile_bytes",
        "max_blocks",
    ];

    /// Sets the limit called `key` (one of [`Limits::KEYS`], ASCII case ignored, so GDAL's
    /// `MAX_TILE_BYTES` works) from text: a whole number, optionally with a binary suffix
    /// `K`, `M`, `G` or `T` (`512M` = 512 MiB). The error says what is wrong with the value
    /// or key; callers name the option it came from.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let number = parse_byte_size(value)
            .ok_or_else(|| Error::invalid("give a whole number, optionally with K, M, G or T"))?;
        let narrow =
            |n: u64| u32::try_from(n).map_err(|_| Error::invalid(format!("at most {}", u32::MAX)));
        match key.to_ascii_lowercase().as_str() {
            "max_width" => self.max_width = narrow(number)?,
            "max_height" => self.max_height = narrow(number)?,
            "max_bands" => self.max_bands = narrow(number)?,
            "max_aux_planes" => self.max_aux_planes = narrow(number)?,
            "max_header_bytes" => self.max_header_bytes = narrow(number)?,
            "max_metadata_items" => self.max_metadata_items = narrow(number)?,
            "max_tile_bytes" => self.max_tile_bytes = number,
            "max_blocks" => self.max_blocks = number,
            _ => {
                return Err(Error::invalid(format!(
                    "unknown limit '{key}'; choose one of {}",
                    Self::KEYS.join(", ")
                )))
            }
        }
        Ok(())
    }

    /// Sets limits from `KEY=VALUE` items (as [`Limits::set`] parses them).
    pub fn with_items<S: AsRef<str>>(mut self, items: impl IntoIterator<Item = S>) -> Result<Self> {
        for item in items {
            let item = item.as_ref();
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| Error::invalid(format!("limit '{item}': write it as KEY=VALUE")))?;
            self.set(key.trim(), value.trim())
                .map_err(|e| e.context(format_args!("limit {item}")))?;
        }
        Ok(self)
    }
}

/// A byte count as people write it: `1234`, `512K`, `256M`, `2G`, `1T` (binary multiples;
/// `KiB`/`MB` spellings accepted); `None` for anything else or an overflow.
pub fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    let shift = match suffix.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_set_by_key_with_binary_suffixes() {
        let limits = Limits::default()
            .with_items(["MAX_TILE_BYTES=512M", "max_blocks = 1000", "max_bands=2K"])
            .unwrap();
        assert_eq!(limits.max_tile_bytes, 512 << 20);
        assert_eq!(limits.max_blocks, 1000);
        assert_eq!(limits.max_bands, 2048);
        let mut l = Limits::default();
        assert_eq!(
            l.set("max_tiles", "3").unwrap_err().to_string(),
            "unknown limit 'max_tiles'; choose one of max_width, max_height, max_bands, \
             max_aux_planes, max_header_bytes, max_metadata_items, max_tile_bytes, max_blocks"
        );
        assert_eq!(
            l.set("max_width", "8G").unwrap_err().to_string(),
            "at most 4294967295"
        );
        assert_eq!(
            Limits::default()
                .with_items(["max_width=8G"])
                .unwrap_err()
                .to_string(),
            "limit max_width=8G: at most 4294967295"
        );
        assert!(l.set("max_tile_bytes", "lots").is_err());
        assert!(l.set("max_tile_bytes", "99999999999T").is_err(), "overflow");
        assert!(Limits::default().with_items(["max_width"]).is_err());
    }
}
