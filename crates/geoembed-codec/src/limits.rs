//! Limits against hostile or corrupt input: a reader refuses a file whose declared sizes
//! exceed them before allocating anything.

/// Upper bounds a reader enforces. The defaults accept any raster a GDAL workflow produces
/// in practice while keeping a corrupt header from requesting terabytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Widest raster, in pixels.
    pub max_width: u32,
    /// Tallest raster, in pixels.
    pub max_height: u32,
    /// Most bands.
    pub max_bands: u32,
    /// Largest header (metadata, decorrelation coefficients) in bytes.
    pub max_header_bytes: u32,
    /// Largest decoded tile in bytes.
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
            max_header_bytes: 256 << 20,
            max_tile_bytes: 2 << 30,
            max_blocks: 1 << 28,
        }
    }
}
