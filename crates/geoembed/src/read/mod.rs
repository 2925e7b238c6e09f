//! Where samples come from when writing a `.emb`: any GDAL raster, a GeoTessera tile,
//! another `.emb`, or memory. Every source hands out rows of a plane, pixel-interleaved;
//! [`open_input`] picks the source for an input name the way `geoembed convert` does.

pub mod dequantised;
pub mod emb;
#[cfg(feature = "gdal")]
pub mod gdal;
pub mod memory;
pub mod npy;
pub mod tessera;
pub mod view;

pub use emb::{is_emb, EmbFile, TileRegion};
pub use memory::MemSource;
pub use npy::Npy;
pub use tessera::TesseraSource;

use crate::error::{Error, Result};
use geoembed_codec::{Header, Limits};
use std::fmt;
use std::path::Path;

pub trait RasterSource {
    /// The header the output will carry (grid, bands, georeferencing, metadata).
    fn header(&self) -> &Header;
    /// Reads rows `[y0, y0 + rows)` of `plane` (0 = bands, 1.. = aux planes), every column,
    /// pixel-interleaved little-endian samples, into `out` (exactly sized).
    fn read_rows(&mut self, plane: usize, y0: u32, rows: u32, out: &mut [u8]) -> Result<()>;
    /// Reads columns `columns` of rows `[y0, y0 + rows)` of `plane`, pixel-interleaved,
    /// into `out` (exactly sized): how a raster too wide for whole rows is read. Sources
    /// that can read windows directly (GDAL) override this; the default reads whole rows.
    fn read_window(
        &mut self,
        plane: usize,
        columns: std::ops::Range<u32>,
        y0: u32,
        rows: u32,
        out: &mut [u8],
    ) -> Result<()> {
        let (ty, bands) = self
            .header()
            .plane_layout(plane)
            .map_err(|e| Error::from(e).context("read_window"))?;
        let px = bands * ty.size();
        let width = self.header().width as usize;
        if columns.start == 0 && columns.end as usize == width {
            return self.read_rows(plane, y0, rows, out);
        }
        let mut full = vec![0u8; width * rows as usize * px];
        self.read_rows(plane, y0, rows, &mut full)?;
        let (start, len) = (columns.start as usize * px, columns.len() * px);
        for (dst, row) in out.chunks_exact_mut(len).zip(full.chunks_exact(width * px)) {
            dst.copy_from_slice(&row[start..start + len]);
        }
        Ok(())
    }
    /// What the source is, for messages and provenance ("GTiff", "GeoTessera npy", ...).
    fn kind(&self) -> String;
    /// Called once before the source is read from top to bottom in tiles of `tile` pixels,
    /// with `batch_bytes` the conversion's memory budget: a source with a cache of its own
    /// (GDAL's block cache) sizes it for one pass, until it is dropped.
    fn prepare_streaming(&mut self, _tile: (u32, u32), _batch_bytes: usize) {}
    /// Whether [`RasterSource::read_window`] reads a window without reading whole rows: the
    /// encoder then reads tile by tile, holding no strip beside the tiles.
    fn reads_windows(&self) -> bool {
        false
    }
}

/// What an input name is, judged from its content and extension (extensions can lie about
/// `.emb`, so that is read from the magic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A `.emb` file.
    Emb,
    /// A `.npy` array: a GeoTessera tile (with its scales) or, for benchmarks, a bare array.
    Npy,
    /// Anything else: a GDAL dataset name (a path, `NETCDF:"f.nc":var`, `/vsizip/...`).
    Gdal,
}

pub fn input_kind(name: &str) -> InputKind {
    let p = Path::new(name);
    if p.is_file() && is_emb(p) {
        InputKind::Emb
    } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy")) {
        InputKind::Npy
    } else {
        InputKind::Gdal
    }
}

/// A GeoTessera tile's companions.
#[derive(Clone, Copy, Debug, Default)]
pub struct TesseraInput<'a> {
    /// The float32 per-pixel scales `.npy` (required for a `.npy` input).
    pub scales: Option<&'a Path>,
    /// A raster (the tile's landmask) whose CRS and geotransform the tile takes.
    pub landmask: Option<&'a Path>,
}

/// Something worth telling the user about an input that was opened anyway.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A GeoTessera tile opened without a landmask: the output has no CRS or geotransform.
    NoGeoreference,
    /// A curvilinear grid: its GEOLOCATION metadata is kept, but the lon/lat arrays it
    /// names stay in the source file.
    GeolocationArraysNotCopied {
        x_dataset: String,
        y_dataset: String,
    },
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::NoGeoreference => f.write_str("no landmask given: the output will have no CRS or geotransform"),
            Notice::GeolocationArraysNotCopied { x_dataset, y_dataset } => write!(
                f,
                "no affine geotransform; its GEOLOCATION metadata is kept (X_DATASET={x_dataset}, Y_DATASET={y_dataset}), but the lon/lat arrays it names are not copied: they stay in the source file"
            ),
        }
    }
}

/// An input opened as a source, with what the user should hear about it.
pub struct OpenedInput {
    pub source: Box<dyn RasterSource>,
    pub notices: Vec<Notice>,
}

/// Opens `name` as a source: a `.emb`, a GeoTessera `.npy` tile with its scales (and
/// landmask), or any GDAL raster. Companions given to an input that takes none are an
/// error rather than silently ignored.
pub fn open_input(name: &str, tessera: TesseraInput) -> Result<OpenedInput> {
    open_input_with_limits(name, tessera, &Limits::default())
}

/// [`open_input`] with the limits a `.emb` input is read within.
pub fn open_input_with_limits(
    name: &str,
    tessera: TesseraInput,
    limits: &Limits,
) -> Result<OpenedInput> {
    let path = Path::new(name);
    let kind = input_kind(name);
    if kind != InputKind::Npy && (tessera.scales.is_some() || tessera.landmask.is_some()) {
        return Err(Error::unsupported(
            path,
            "scales and a landmask apply to GeoTessera .npy tiles only",
        ));
    }
    let mut notices = Vec::new();
    let source: Box<dyn RasterSource> = match kind {
        InputKind::Emb => Box::new(EmbFile::open_with_limits(path, limits)?),
        InputKind::Npy => {
            let scales = tessera.scales.ok_or_else(|| {
                Error::unsupported(
                    path,
                    "a GeoTessera .npy tile needs its scales (TILE_scales.npy)",
                )
            })?;
            if tessera.landmask.is_none() {
                notices.push(Notice::NoGeoreference);
            }
            Box::new(TesseraSource::open_with_landmask(
                path,
                scales,
                tessera.landmask,
            )?)
        }
        InputKind::Gdal => open_gdal(name, &mut notices)?,
    };
    Ok(OpenedInput { source, notices })
}

/// Opens `name` as a plain raster, without companions: a `.emb`, a bare `.npy` array
/// (H, W) or (H, W, C) with no georeferencing, or any GDAL raster. What `preview`, `tiles`
/// and `bench` read.
pub fn open_raster(name: &str) -> Result<Box<dyn RasterSource>> {
    open_raster_with_limits(name, &Limits::default())
}

/// [`open_raster`] with the limits a `.emb` is read within.
pub fn open_raster_with_limits(name: &str, limits: &Limits) -> Result<Box<dyn RasterSource>> {
    match input_kind(name) {
        InputKind::Emb => Ok(Box::new(EmbFile::open_with_limits(
            Path::new(name),
            limits,
        )?)),
        InputKind::Npy => Ok(Box::new(MemSource::from_npy(Path::new(name))?)),
        InputKind::Gdal => open_gdal(name, &mut Vec::new()),
    }
}

#[cfg(feature = "gdal")]
fn open_gdal(name: &str, notices: &mut Vec<Notice>) -> Result<Box<dyn RasterSource>> {
    let src = gdal::GdalSource::open(name)?;
    if let Some((x_dataset, y_dataset)) = crate::metadata::geolocation_arrays(src.header()) {
        notices.push(Notice::GeolocationArraysNotCopied {
            x_dataset,
            y_dataset,
        });
    }
    Ok(Box::new(src))
}

#[cfg(not(feature = "gdal"))]
fn open_gdal(name: &str, _notices: &mut Vec<Notice>) -> Result<Box<dyn RasterSource>> {
    Err(Error::unsupported(
        name,
        "not a .emb or .npy file, and this build of geoembed has no GDAL to read other rasters",
    ))
}
