//! Windowed reads: which tiles a rectangle of a plane touches, and how the part of a decoded
//! tile that lies in it lands in a caller's buffer, for any subset of bands, band- or
//! pixel-interleaved.
//!
//! Every reader that serves windows (the Python package, the converter, the GDAL plugin) asks
//! the same two questions; answering them once keeps their bounds checks and layouts equal.

use super::header::Header;
use crate::error::{Error, Result};

/// A rectangle of pixels: columns `x .. x + width`, rows `y .. y + height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First column.
    pub x: u32,
    /// First row.
    pub y: u32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

/// How a window's samples are laid out in the caller's buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Interleave {
    /// Band-sequential `(band, row, column)`, as GDAL's and rasterio's `read` return.
    #[default]
    Band,
    /// Pixel-interleaved `(row, column, band)`, as GeoTessera's `.npy` tiles and the
    /// container's own tiles are.
    Pixel,
}

impl Window {
    /// The whole raster.
    pub fn full(header: &Header) -> Self {
        Window {
            x: 0,
            y: 0,
            width: header.width,
            height: header.height,
        }
    }

    /// Pixels in the window.
    pub fn pixels(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Checks that the window is non-empty and inside the raster.
    pub fn check(&self, header: &Header) -> Result<()> {
        let fits =
            |start: u32, len: u32, size: u32| start.checked_add(len).is_some_and(|end| end <= size);
        if self.width == 0 || self.height == 0 {
            return Err(Error::invalid(format!(
                "window {}x{} at ({}, {}) is empty",
                self.width, self.height, self.x, self.y
            )));
        }
        if !fits(self.x, self.width, header.width) || !fits(self.y, self.height, header.height) {
            return Err(Error::invalid(format!(
                "window {}x{} at column {}, row {} lies outside the {}x{} raster",
                self.width, self.height, self.x, self.y, header.width, header.height
            )));
        }
        Ok(())
    }

    /// The tiles `(tx, ty)` the window touches, row by row (index order, so a reader
    /// fetching their payloads in this order reads the file forwards).
    pub fn tiles(&self, header: &Header) -> Vec<(u32, u32)> {
        let (tile_w, tile_h) = (header.tile_width, header.tile_height);
        let columns = self.x / tile_w..=(self.x + self.width - 1) / tile_w;
        let rows = self.y / tile_h..=(self.y + self.height - 1) / tile_h;
        rows.flat_map(|ty| columns.clone().map(move |tx| (tx, ty)))
            .collect()
    }
}

/// Where a window's samples go: the window, which bands of the plane (0-based, any order,
/// repeats allowed), and the layout of the caller's buffer.
#[derive(Clone, Debug)]
pub struct WindowLayout<'a> {
    /// The rectangle read.
    pub window: Window,
    /// The plane's bands to copy, in output order.
    pub bands: &'a [usize],
    /// The buffer's layout.
    pub interleave: Interleave,
}

impl WindowLayout<'_> {
    /// Bytes the caller's buffer must hold for samples of `sample_size` bytes.
    pub fn buffer_len(&self, sample_size: usize) -> usize {
        self.window.pixels() * self.bands.len() * sample_size
    }

    /// Copies the part of decoded tile `(tx, ty)` (pixel-interleaved, `plane_bands` bands of
    /// `sample_size` bytes, as [`crate::decode_block`] returns it) that lies inside the
    /// window into `out`, a buffer of [`WindowLayout::buffer_len`] bytes.
    pub fn copy_tile(
        &self,
        header: &Header,
        (tx, ty): (u32, u32),
        tile: &[u8],
        plane_bands: usize,
        sample_size: usize,
        out: &mut [u8],
    ) {
        let (tile_x, tile_y, tile_w, tile_h) = header.tile_rect(tx, ty);
        let win = self.window;
        let x_start = win.x.max(tile_x);
        let x_end = (win.x + win.width).min(tile_x + tile_w);
        let y_start = win.y.max(tile_y);
        let y_end = (win.y + win.height).min(tile_y + tile_h);
        if x_start >= x_end || y_start >= y_end {
            return;
        }
        let pixel_bytes = plane_bands * sample_size;
        let run = (x_end - x_start) as usize;
        for y in y_start..y_end {
            let tile_row = (y - tile_y) as usize * tile_w as usize;
            let src_start = (tile_row + (x_start - tile_x) as usize) * pixel_bytes;
            let src = &tile[src_start..src_start + run * pixel_bytes];
            let out_row = (y - win.y) as usize * win.width as usize + (x_start - win.x) as usize;
            self.copy_run(src, out_row, run, plane_bands, sample_size, out);
        }
    }

    /// Copies `run` pixels of one tile row, starting at output pixel `out_pixel`.
    fn copy_run(
        &self,
        src: &[u8],
        out_pixel: usize,
        run: usize,
        plane_bands: usize,
        sample_size: usize,
        out: &mut [u8],
    ) {
        let pixel_bytes = plane_bands * sample_size;
        match self.interleave {
            Interleave::Pixel => {
                let out_pixel_bytes = self.bands.len() * sample_size;
                let dst =
                    &mut out[out_pixel * out_pixel_bytes..(out_pixel + run) * out_pixel_bytes];
                if self.is_all_bands(plane_bands) {
                    dst.copy_from_slice(src);
                    return;
                }
                for (dst_px, src_px) in dst
                    .chunks_exact_mut(out_pixel_bytes)
                    .zip(src.chunks_exact(pixel_bytes))
                {
                    for (slot, &band) in dst_px.chunks_exact_mut(sample_size).zip(self.bands) {
                        slot.copy_from_slice(&src_px[band * sample_size..(band + 1) * sample_size]);
                    }
                }
            }
            Interleave::Band => {
                let plane_len = self.window.pixels() * sample_size;
                for (k, &band) in self.bands.iter().enumerate() {
                    let start = k * plane_len + out_pixel * sample_size;
                    let dst = &mut out[start..start + run * sample_size];
                    let samples = src[band * sample_size..].chunks(pixel_bytes);
                    for (slot, sample) in dst.chunks_exact_mut(sample_size).zip(samples) {
                        slot.copy_from_slice(&sample[..sample_size]);
                    }
                }
            }
        }
    }

    fn is_all_bands(&self, plane_bands: usize) -> bool {
        self.bands.len() == plane_bands && self.bands.iter().enumerate().all(|(i, &b)| i == b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleType;

    /// A 5x3 raster of 2 bands, 2x2 tiles; sample value = 100*band + 10*row + column.
    fn raster() -> (Header, Vec<Vec<u8>>) {
        let mut h = Header::new(5, 3, 2, SampleType::U8);
        h.tile_width = 2;
        h.tile_height = 2;
        let mut tiles = Vec::new();
        for ty in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                let (x0, y0, w, hh) = h.tile_rect(tx, ty);
                let mut t = Vec::new();
                for y in y0..y0 + hh {
                    for x in x0..x0 + w {
                        for b in 0..2 {
                            t.push((100 * b + 10 * y + x) as u8);
                        }
                    }
                }
                tiles.push(t);
            }
        }
        (h, tiles)
    }

    fn read(window: Window, bands: &[usize], interleave: Interleave) -> Vec<u8> {
        let (h, tiles) = raster();
        let layout = WindowLayout {
            window,
            bands,
            interleave,
        };
        let mut out = vec![0u8; layout.buffer_len(1)];
        for (tx, ty) in window.tiles(&h) {
            let tile = &tiles[(ty * h.tiles_across() + tx) as usize];
            layout.copy_tile(&h, (tx, ty), tile, 2, 1, &mut out);
        }
        out
    }

    #[test]
    fn windows_across_tiles_in_both_layouts_and_band_orders() {
        let w = Window {
            x: 1,
            y: 1,
            width: 3,
            height: 2,
        };
        assert_eq!(
            read(w, &[1, 0], Interleave::Band),
            vec![111, 112, 113, 121, 122, 123, 11, 12, 13, 21, 22, 23]
        );
        assert_eq!(
            read(w, &[0, 1], Interleave::Pixel),
            vec![11, 111, 12, 112, 13, 113, 21, 121, 22, 122, 23, 123]
        );
        assert_eq!(
            read(w, &[1], Interleave::Pixel),
            vec![111, 112, 113, 121, 122, 123]
        );
    }

    #[test]
    fn tiles_and_bounds() {
        let (h, _) = raster();
        let w = Window {
            x: 1,
            y: 1,
            width: 3,
            height: 2,
        };
        assert_eq!(w.tiles(&h), vec![(0, 0), (1, 0), (0, 1), (1, 1)]);
        assert!(w.check(&h).is_ok());
        let outside = Window { x: 4, ..w };
        assert_eq!(
            outside.check(&h).unwrap_err().to_string(),
            "window 3x2 at column 4, row 1 lies outside the 5x3 raster"
        );
        let empty = Window { width: 0, ..w };
        assert!(empty.check(&h).is_err());
        let huge = Window { x: u32::MAX, ..w };
        assert!(huge.check(&h).is_err(), "no overflow on x + width");
    }
}
