//! GeoTessera tiles as a [`RasterSource`]: an int8 `.npy` embedding (H, W, C), its float32
//! `_scales.npy` (H, W) or (H, W, C), and a landmask GeoTIFF that only supplies the
//! georeferencing. The scales become an aux plane and the header records the TESSERA
//! dequantisation recipe `value = q × scale`.

use crate::error::{CliError, Result};
use crate::gdal_read;
use crate::npy::Npy;
use crate::source::RasterSource;
use geoembed_codec::container::header::{
    AuxPlane, BandInfo, Dequantization, Header, MetadataDomain,
};
use geoembed_codec::SampleType;
use std::path::Path;

pub struct TesseraSource {
    emb: Npy,
    scales: Npy,
    header: Header,
}

impl TesseraSource {
    pub fn open(npy: &Path, scales: &Path, georef: Option<&Path>) -> Result<Self> {
        let emb = Npy::open(npy)?;
        if emb.sample_type != SampleType::I8 || emb.shape.len() != 3 {
            return Err(CliError::file(
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
            return Err(CliError::file(
                scales,
                format!("expected float32 scales, found {}", sc.sample_type),
            ));
        }
        let scale_bands = match sc.shape.as_slice() {
            [sh, sw] if (*sh, *sw) == (h, w) => 1,
            [sh, sw, 1] if (*sh, *sw) == (h, w) => 1,
            [sh, sw, sc_] if (*sh, *sw, *sc_) == (h, w, c) => c,
            other => {
                return Err(CliError::file(
                    scales,
                    format!("scales shape {other:?} does not match the embedding {:?}; expected ({h}, {w}) or ({h}, {w}, {c})", emb.shape),
                ))
            }
        };
        if w == 0 || h == 0 || c == 0 {
            return Err(CliError::file(
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
            let ds = gdal_read::open_dataset(&g.to_string_lossy())?;
            let (gw, gh) = ds.raster_size();
            if (gw, gh) != (w, h) {
                return Err(CliError::file(
                    g,
                    format!("landmask is {gw}x{gh} pixels but the embedding is {w}x{h}; it cannot georeference this tile"),
                ));
            }
            let src = gdal_read::header_from_dataset(&g.to_string_lossy(), &ds)?;
            header.georef = src.georef;
        }
        let fname = |p: &Path| {
            p.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        header.metadata.push(MetadataDomain {
            name: String::new(),
            items: vec![
                format!("GEOTESSERA_EMBEDDING={}", fname(npy)),
                format!("GEOTESSERA_SCALES={}", fname(scales)),
            ],
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

impl RasterSource for TesseraSource {
    fn header(&self) -> &Header {
        &self.header
    }

    fn read_rows(&mut self, plane: usize, y0: u32, rows: u32, out: &mut [u8]) -> Result<()> {
        let (ty, bands) = self
            .header
            .plane_layout(plane)
            .map_err(|e| CliError::msg(e.to_string()))?;
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
