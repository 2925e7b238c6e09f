//! GeoTessera tiles as a [`RasterSource`]: an int8 `.npy` embedding (H, W, C), its float32
//! `_scales.npy` (H, W) or (H, W, C), and the georeferencing, which GeoTessera ships as a
//! landmask GeoTIFF (read through GDAL with the `gdal` feature) or a caller supplies. The
//! scales become an aux plane and the header records the TESSERA dequantisation recipe
//! `value = q × scale`.

use crate::error::{Error, Result};
use crate::read::{Npy, RasterSource};
use geoembed_codec::{
    AuxPlane, BandInfo, Dequantization, Georef, Header, MetadataDomain, SampleType,
};
use std::path::Path;

pub struct TesseraSource {
    emb: Npy,
    scales: Npy,
    header: Header,
}

impl TesseraSource {
    /// Opens the tile `npy` with its `scales`; `georef` (CRS and geotransform, e.g. read
    /// from the landmask by the caller) is the output's, or none.
    pub fn open(npy: &Path, scales: &Path, georef: Option<Georef>) -> Result<Self> {
        let emb = Npy::open(npy)?;
        if emb.sample_type != SampleType::I8 || emb.shape.len() != 3 {
            return Err(Error::unsupported(
                npy,
                format!(
                    "expected a GeoTessera int8 array of shape (H, W, C), found {} {:?}",
                    emb.sample_type, emb.shape
                ),
            ));
        }
        let (h, w, c) = (emb.shape[0], emb.shape[1], emb.shape[2]);
        let sc = Npy::open(scales)?;
        if sc.sample_type != SampleType::F32 {
            return Err(Error::unsupported(
                scales,
                format!("expected float32 scales, found {}", sc.sample_type),
            ));
        }
        let scale_bands = match sc.shape.as_slice() {
            [sh, sw] if (*sh, *sw) == (h, w) => 1,
            [sh, sw, 1] if (*sh, *sw) == (h, w) => 1,
            [sh, sw, sc_] if (*sh, *sw, *sc_) == (h, w, c) => c,
            other => {
                return Err(Error::unsupported(
                    scales,
                    format!("scales shape {other:?} does not match the embedding {:?}; expected ({h}, {w}) or ({h}, {w}, {c})", emb.shape),
                ))
            }
        };
        if w == 0 || h == 0 || c == 0 {
            return Err(Error::unsupported(
                npy,
                format!("empty embedding array {:?}", emb.shape),
            ));
        }
        let mut header = Header::new(w as u32, h as u32, c, SampleType::I8);
        for (i, b) in header.bands.iter_mut().enumerate() {
            *b = BandInfo {
                description: format!("embedding dimension {}", i + 1),
                ..Default::default()
            };
        }
        header.aux_planes.push(AuxPlane {
            name: "scales".into(),
            sample_type: SampleType::F32,
            bands: scale_bands as u32,
            description: "GeoTessera per-pixel dequantisation scale: value = int8 sample x scale"
                .into(),
        });
        header.dequantization = Some(Dequantization::PerPixelScale { aux_plane: 0 });
        if let Some(g) = georef {
            header.georef = g;
        }
        let fname = |p: &Path| {
            p.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let mut items = vec![
            format!("GEOTESSERA_EMBEDDING={}", fname(npy)),
            format!("GEOTESSERA_SCALES={}", fname(scales)),
        ];
        // GeoTessera keeps a year's tiles under a directory named after it; the STAC
        // sidecar takes its time range from this.
        let absolute = std::path::absolute(npy).unwrap_or_else(|_| npy.to_path_buf());
        if let Some(year) = crate::write::datetime::year_in_path(&absolute) {
            items.push(format!("GEOTESSERA_YEAR={year}"));
        }
        header.metadata.push(MetadataDomain {
            name: String::new(),
            items,
        });
        header
            .info
            .push(("source_driver".into(), "GeoTessera npy".into()));
        Ok(TesseraSource {
            emb,
            scales: sc,
            header,
        })
    }
}

impl TesseraSource {
    /// Opens the tile with the georeferencing of its `landmask` raster, which must have
    /// the tile's size (needs the `gdal` feature).
    pub fn open_with_landmask(npy: &Path, scales: &Path, landmask: Option<&Path>) -> Result<Self> {
        let mut tile = Self::open(npy, scales, None)?;
        if let Some(mask) = landmask {
            tile.header.georef = landmask_georef(mask, tile.header.width, tile.header.height)?;
        }
        Ok(tile)
    }
}

#[cfg(feature = "gdal")]
fn landmask_georef(mask: &Path, w: u32, h: u32) -> Result<Georef> {
    let name = mask.to_string_lossy();
    let ds = crate::read::gdal::open_dataset(&name)?;
    let (gw, gh) = ds.raster_size();
    if (gw, gh) != (w as usize, h as usize) {
        return Err(Error::unsupported(
            mask,
            format!("landmask is {gw}x{gh} pixels but the embedding is {w}x{h}; it cannot georeference this tile"),
        ));
    }
    Ok(crate::read::gdal::header_from_dataset(&name, &ds)?.georef)
}

#[cfg(not(feature = "gdal"))]
fn landmask_georef(mask: &Path, _w: u32, _h: u32) -> Result<Georef> {
    Err(Error::unsupported(
        mask,
        "reading a landmask needs GDAL, which this build of geoembed lacks; pass the georeferencing instead",
    ))
}

impl RasterSource for TesseraSource {
    fn header(&self) -> &Header {
        &self.header
    }

    fn read_rows(&mut self, plane: usize, y0: u32, rows: u32, out: &mut [u8]) -> Result<()> {
        let (ty, bands) = self
            .header
            .plane_layout(plane)
            .map_err(|e| Error::codec(&self.emb.path, e))?;
        let row = self.header.width as u64 * bands as u64 * ty.size() as u64;
        assert_eq!(
            out.len() as u64,
            rows as u64 * row,
            "caller sizes the buffer"
        );
        let src = if plane == 0 {
            &mut self.emb
        } else {
            &mut self.scales
        };
        src.read_at(y0 as u64 * row, out)
    }

    fn kind(&self) -> String {
        "GeoTessera npy".into()
    }
}
