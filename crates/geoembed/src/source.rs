//! Where samples come from when writing a `.emb`: any GDAL raster, a GeoTessera tile, or
//! another `.emb`. Every source hands out rows of a plane, pixel-interleaved.

use crate::error::Result;
use geoembed_codec::Header;

pub trait RasterSource {
    /// The header the output will carry (grid, bands, georeferencing, metadata).
    fn header(&self) -> &Header;
    /// Reads rows `[y0, y0 + rows)` of `plane` (0 = bands, 1.. = aux planes), every column,
    /// pixel-interleaved little-endian samples, into `out` (exactly sized).
    fn read_rows(&mut self, plane: usize, y0: u32, rows: u32, out: &mut [u8]) -> Result<()>;
    /// What the source is, for messages and provenance ("GTiff", "GeoTessera npy", ...).
    fn kind(&self) -> String;
}
