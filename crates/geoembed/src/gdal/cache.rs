//! GDAL's block cache sized for one pass. By default GDAL may cache 5% of the machine's
//! RAM of raster blocks, which a conversion that reads (or writes) every block once only
//! fills: peak memory then grows with the raster up to that size (1.5 GB for a 2 GB raster
//! on a 32 GB machine). A conversion needs only the blocks of the strip at hand.

/// Sets GDAL's block cache limit for as long as it lives, then restores the previous one.
/// The limit is process-wide: a program converting one raster at a time (the CLI, a
/// library call) owns it for the duration of that conversion.
pub struct StreamingCache {
    previous: i64,
}

/// Least cache a conversion keeps: GDAL's drivers need some room for their own blocks
/// (a GeoTIFF's strip of tiles, netCDF chunks) beyond the strip we ask for.
const MIN_CACHE_BYTES: usize = 32 << 20;

impl StreamingCache {
    /// A cache for strips of `strip_bytes` over blocks whose rows take `block_row_bytes`,
    /// within the conversion's `batch_bytes` unless one block row alone is larger (then it
    /// holds that row and a strip: less would read every block once per strip).
    pub fn for_strips(strip_bytes: usize, block_row_bytes: usize, batch_bytes: usize) -> Self {
        let wanted = strip_bytes
            .saturating_mul(2)
            .saturating_add(block_row_bytes);
        let most = batch_bytes.max(block_row_bytes.saturating_add(strip_bytes));
        Self::set(wanted.clamp(MIN_CACHE_BYTES, most.max(MIN_CACHE_BYTES)))
    }

    /// A cache of `bytes`.
    pub fn set(bytes: usize) -> Self {
        // SAFETY: plain setters and getters of a process-wide integer.
        let previous = unsafe {
            let previous = gdal_sys::GDALGetCacheMax64();
            gdal_sys::GDALSetCacheMax64(i64::try_from(bytes).unwrap_or(i64::MAX));
            previous
        };
        StreamingCache { previous }
    }

    /// The limit now in force, in bytes.
    pub fn current() -> i64 {
        // SAFETY: a plain getter.
        unsafe { gdal_sys::GDALGetCacheMax64() }
    }
}

impl Drop for StreamingCache {
    fn drop(&mut self) {
        // SAFETY: a plain setter.
        unsafe { gdal_sys::GDALSetCacheMax64(self.previous) };
    }
}
