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
    /// A cache for a conversion that reads or writes a raster in tiles of `tile` pixels,
    /// row by row, over GDAL blocks of `block` pixels taking `block_bytes` (all bands) each
    /// and `block_row_bytes` per row of blocks. When the tiles cut through blocks, a block
    /// serves several tiles and the row of blocks has to stay cached until the next tile
    /// row; when blocks nest in tiles, a few blocks are enough. Within `batch_bytes` unless
    /// a row of blocks alone is larger (less would read every block once per tile).
    pub fn for_tiles(
        tile: (u32, u32),
        block: (usize, usize),
        block_bytes: usize,
        block_row_bytes: usize,
        batch_bytes: usize,
    ) -> Self {
        let nests = |tile: u32, block: usize| block > 0 && (tile as usize).is_multiple_of(block);
        let few_blocks = block_bytes.saturating_mul(4);
        let wanted = if nests(tile.0, block.0) && nests(tile.1, block.1) {
            few_blocks
        } else {
            block_row_bytes.saturating_add(few_blocks)
        };
        let most = batch_bytes.max(block_row_bytes.saturating_add(few_blocks));
        Self::set(wanted.clamp(MIN_CACHE_BYTES, most.max(MIN_CACHE_BYTES)))
    }

    /// [`StreamingCache::for_tiles`] for the blocks of band 1 of `ds`, whose pixels take
    /// `pixel_bytes` over all bands.
    pub fn for_dataset(
        ds: &gdal::Dataset,
        tile: (u32, u32),
        pixel_bytes: usize,
        batch_bytes: usize,
    ) -> Self {
        let (width, height) = ds.raster_size();
        let block = ds
            .rasterband(1)
            .map_or((width, 1), |band| band.block_size());
        let block = (
            block.0.clamp(1, width.max(1)),
            block.1.clamp(1, height.max(1)),
        );
        let block_bytes = block.0.saturating_mul(block.1).saturating_mul(pixel_bytes);
        let block_row_bytes = width.saturating_mul(block.1).saturating_mul(pixel_bytes);
        Self::for_tiles(tile, block, block_bytes, block_row_bytes, batch_bytes)
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
