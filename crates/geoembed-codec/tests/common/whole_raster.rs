//! Whole rasters through the public writer, tile by tile: what the near-lossless tests (of
//! integers and floats) need to write a fixture with a header's tiling and bounds.

use geoembed_codec::{encode_block, CodecChoice, Effort, Header, Writer};
use std::io::Cursor;

/// Pixel-interleaved samples of tile `(tx, ty)` cut from the whole pixel-interleaved raster.
pub fn tile(h: &Header, raster: &[u8], tx: u32, ty: u32) -> Vec<u8> {
    let px = h.bands.len() * h.sample_type.size();
    let (x0, y0, w, rows) = h.tile_rect(tx, ty);
    let row_bytes = h.width as usize * px;
    (y0..y0 + rows)
        .flat_map(|y| {
            let start = y as usize * row_bytes + x0 as usize * px;
            raster[start..start + w as usize * px].to_vec()
        })
        .collect()
}

/// Writes `raster` as a `.emb` with `choice` and `effort` (the tiling and the bounds are
/// in `h`).
pub fn write(h: &Header, raster: &[u8], choice: CodecChoice, effort: Effort) -> Vec<u8> {
    let mut writer = Writer::new(Cursor::new(Vec::new()), h.clone()).unwrap();
    for ty in 0..h.tiles_down() {
        for tx in 0..h.tiles_across() {
            let samples = tile(h, raster, tx, ty);
            let block = encode_block(h, 0, tx, ty, &samples, choice, effort).unwrap();
            writer.write_block(0, tx, ty, &block).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}
