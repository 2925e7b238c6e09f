//! A raster held in memory: what `bench` measures codecs on.

use crate::error::{CliError, Result};
use crate::npy::Npy;
use crate::source::RasterSource;
use geoembed_codec::Header;
use std::path::Path;

pub struct MemSource {
    pub header: Header,
    /// One buffer per plane, pixel-interleaved rows.
    pub planes: Vec<Vec<u8>>,
}

impl MemSource {
    /// Reads every plane of `src` into memory.
    pub fn load(src: &mut dyn RasterSource) -> Result<Self> {
        let header = src.header().clone();
        let mut planes = Vec::new();
        for p in 0..header.plane_count() {
            let (ty, bands) = header
                .plane_layout(p)
                .map_err(|e| CliError::msg(e.to_string()))?;
            let mut buf =
                vec![0u8; header.width as usize * header.height as usize * bands * ty.size()];
            src.read_rows(p, 0, header.height, &mut buf)?;
            planes.push(buf);
        }
        Ok(MemSource { header, planes })
    }

    /// A plain `.npy` array of shape (H, W) or (H, W, C), no georeferencing.
    pub fn from_npy(path: &Path) -> Result<Self> {
        let mut n = Npy::open(path)?;
        let (h, w, c) = match n.shape.as_slice() {
            [h, w] => (*h, *w, 1),
            [h, w, c] => (*h, *w, *c),
            s => {
                return Err(CliError::file(
                    path,
                    format!("expected an (H, W) or (H, W, C) array, found shape {s:?}"),
                ))
            }
        };
        let mut buf = vec![0u8; h * w * c * n.sample_type.size()];
        n.read_at(0, &mut buf)?;
        Ok(MemSource {
            header: Header::new(w as u32, h as u32, c, n.sample_type),
            planes: vec![buf],
        })
    }

    pub fn raw_bytes(&self) -> usize {
        self.planes.iter().map(Vec::len).sum()
    }
}

impl RasterSource for MemSource {
    fn header(&self) -> &Header {
        &self.header
    }

    fn read_rows(&mut self, plane: usize, y0: u32, rows: u32, out: &mut [u8]) -> Result<()> {
        let row = self.planes[plane].len() / self.header.height as usize;
        let start = y0 as usize * row;
        out.copy_from_slice(&self.planes[plane][start..start + rows as usize * row]);
        Ok(())
    }

    fn kind(&self) -> String {
        "memory".into()
    }
}
