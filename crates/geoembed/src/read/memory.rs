//! A raster held in memory: what `bench` measures codecs on, and what a Python binding
//! hands over from NumPy arrays.

use crate::error::{Error, ErrorKind, Result};
use crate::read::{Npy, RasterSource};
use geoembed_codec::Header;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct MemSource {
    pub header: Header,
    /// One buffer per plane, pixel-interleaved rows.
    pub planes: Vec<Vec<u8>>,
}

impl MemSource {
    /// A raster from its header and one pixel-interleaved buffer per plane (the bands, then
    /// each aux plane), checked against the header's grid and types.
    pub fn new(header: Header, planes: Vec<Vec<u8>>) -> Result<Self> {
        if planes.len() != header.plane_count() {
            return Err(Error::new(
                ErrorKind::UnsupportedInput,
                format!(
                    "the header describes {} plane(s) but {} buffer(s) were given",
                    header.plane_count(),
                    planes.len()
                ),
            ));
        }
        for (p, buf) in planes.iter().enumerate() {
            let want = plane_bytes(&header, p)?;
            if buf.len() != want {
                return Err(Error::new(
                    ErrorKind::UnsupportedInput,
                    format!(
                        "plane {p} holds {} bytes; its grid and type need {want}",
                        buf.len()
                    ),
                ));
            }
        }
        Ok(MemSource { header, planes })
    }

    /// Reads every plane of `src` into memory.
    pub fn load(src: &mut dyn RasterSource) -> Result<Self> {
        let header = src.header().clone();
        let mut planes = Vec::new();
        for p in 0..header.plane_count() {
            let mut buf = vec![0u8; plane_bytes(&header, p)?];
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
                return Err(Error::unsupported(
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

    /// Bytes of samples over all planes.
    pub fn raw_bytes(&self) -> usize {
        self.planes.iter().map(Vec::len).sum()
    }
}

/// Bytes of one whole plane of `header`.
fn plane_bytes(header: &Header, plane: usize) -> Result<usize> {
    let (ty, bands) = header
        .plane_layout(plane)
        .map_err(|e| Error::codec("<memory>", e))?;
    Ok(header.width as usize * header.height as usize * bands * ty.size())
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
