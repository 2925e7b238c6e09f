//! A source's bands as the physical values its dequantisation recipe defines (GeoTessera's
//! `float32(q) × scale`, AlphaEarth's power law), as float32 bands with no aux planes and
//! no recipe: what transform coding (`--rel-rmse`) fits and reconstructs.
//!
//! Why: a lossy transform of the int8 codes alone would ignore the scales, which weigh
//! every pixel differently; fitted on the values it spends its error where the values
//! are, and the decoded raster holds values directly (its codes no longer exist).

use super::RasterSource;
use crate::error::{Error, Result};
use geoembed_codec::{scale_plane, BandInfo, Header, SampleType};

/// `inner`'s bands, dequantised. Only plane 0 exists.
pub struct DequantisedSource<'a> {
    inner: &'a mut dyn RasterSource,
    header: Header,
    /// The inner plane holding the scales (1..), if the recipe has one.
    scales: Option<usize>,
}

impl<'a> DequantisedSource<'a> {
    /// Wraps a source whose header has a dequantisation recipe.
    pub fn new(inner: &'a mut dyn RasterSource) -> Self {
        let mut header = inner.header().clone();
        let scales = scale_plane(&header);
        header.sample_type = SampleType::F32;
        header.aux_planes.clear();
        header.dequantization = None;
        // The codes' nodata, scale and offset describe codes, not the values.
        for band in &mut header.bands {
            *band = BandInfo {
                nodata: None,
                scale: None,
                offset: None,
                ..std::mem::take(band)
            };
        }
        DequantisedSource {
            inner,
            header,
            scales,
        }
    }

    /// Rows of the inner plane `plane`, of the columns `columns`.
    fn inner_window(
        &mut self,
        plane: usize,
        columns: std::ops::Range<u32>,
        y0: u32,
        rows: u32,
    ) -> Result<Vec<u8>> {
        let (ty, bands) = self
            .inner
            .header()
            .plane_layout(plane)
            .map_err(|e| Error::from(e).context("dequantised source"))?;
        let mut out = vec![0u8; columns.len() * rows as usize * bands * ty.size()];
        self.inner.read_window(plane, columns, y0, rows, &mut out)?;
        Ok(out)
    }
}

impl RasterSource for DequantisedSource<'_> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn read_rows(&mut self, plane: usize, y0: u32, rows: u32, out: &mut [u8]) -> Result<()> {
        let width = self.header.width;
        self.read_window(plane, 0..width, y0, rows, out)
    }

    fn read_window(
        &mut self,
        plane: usize,
        columns: std::ops::Range<u32>,
        y0: u32,
        rows: u32,
        out: &mut [u8],
    ) -> Result<()> {
        assert_eq!(plane, 0, "a dequantised source has no aux planes");
        let codes = self.inner_window(0, columns.clone(), y0, rows)?;
        let scales = match self.scales {
            Some(p) => Some(self.inner_window(p, columns, y0, rows)?),
            None => None,
        };
        let mut values = Vec::new();
        geoembed_codec::dequantize(self.inner.header(), &codes, scales.as_deref(), &mut values)
            .map_err(|e| Error::from(e).context("dequantising the source"))?;
        for (dst, v) in out.chunks_exact_mut(4).zip(values) {
            dst.copy_from_slice(&v.to_le_bytes());
        }
        Ok(())
    }

    fn kind(&self) -> String {
        format!("{} (dequantised)", self.inner.kind())
    }

    fn prepare_streaming(&mut self, tile: (u32, u32), batch_bytes: usize) {
        self.inner.prepare_streaming(tile, batch_bytes);
    }

    fn reads_windows(&self) -> bool {
        self.inner.reads_windows()
    }
}
