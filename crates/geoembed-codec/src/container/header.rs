//! The `.emb` header: everything about the raster except its samples.
//!
//! On disk the header is a sequence of chunks (see `docs/format.md`); this module holds the
//! in-memory model. Field names follow GDAL's vocabulary so that a GDAL round trip is a
//! field-by-field copy.

use crate::error::{Error, Result};
use crate::sample::SampleType;
pub use crate::transform::decorrelate::{Decorrelation, DecorrelationGroup};

/// One GDAL metadata domain: its name (`""` is the default domain) and its items exactly as
/// GDAL holds them (`KEY=VALUE` strings; `xml:` domains hold whole documents).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetadataDomain {
    /// The domain's name; `""` is GDAL's default domain.
    pub name: String,
    /// `KEY=VALUE` items, or one whole document in an `xml:` domain.
    pub items: Vec<String>,
}

impl MetadataDomain {
    /// Splits an item into key and value the way GDAL's `CPLParseNameValue` does (first
    /// `=` or `:`); items without a separator have an empty key.
    pub fn split_item(item: &str) -> (&str, &str) {
        match item.find(['=', ':']) {
            Some(i) => (&item[..i], &item[i + 1..]),
            None => ("", item),
        }
    }
}

/// A colour table entry as GDAL stores it (c1..c4 = red, green, blue, alpha for RGB tables).
pub type ColorEntry = [i16; 4];

/// Per-band description, mirroring `GDALRasterBand`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BandInfo {
    /// GDAL's band description.
    pub description: String,
    /// The nodata value, if the band has one.
    pub nodata: Option<f64>,
    /// GDAL's scale: physical value = stored × scale + offset.
    pub scale: Option<f64>,
    /// GDAL's offset (see `scale`).
    pub offset: Option<f64>,
    /// GDAL `GDALColorInterp` code (0 = undefined, 1 = gray, 3 = red, ...).
    pub color_interp: u16,
    /// Unit of the physical values (`m`, `K`, ...).
    pub unit: String,
    /// The band's GDAL metadata domains.
    pub metadata: Vec<MetadataDomain>,
    /// GDAL palette interpretation code and entries, if the band has a colour table.
    pub color_table: Option<(u16, Vec<ColorEntry>)>,
}

/// A spatial reference: WKT2 as GDAL's OSR exports it, the EPSG code when one is known,
/// and GDAL's data-axis-to-SRS-axis mapping (so axis order survives a round trip).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Srs {
    /// WKT2 as GDAL's OSR exports it.
    pub wkt: String,
    /// The EPSG code, when one is known.
    pub epsg: Option<u32>,
    /// GDAL's data-axis-to-SRS-axis mapping.
    pub axis_mapping: Vec<i32>,
}

/// A ground control point (GDAL `GDAL_GCP`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gcp {
    /// Identifier, often a number.
    pub id: String,
    /// Free-form description.
    pub info: String,
    /// Column in the raster (pixel units).
    pub pixel: f64,
    /// Row in the raster (pixel units).
    pub line: f64,
    /// Georeferenced X (easting, longitude).
    pub x: f64,
    /// Georeferenced Y (northing, latitude).
    pub y: f64,
    /// Elevation.
    pub z: f64,
}

/// Georeferencing: an affine geotransform, or GCPs with their own SRS, or neither.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Georef {
    /// GDAL's affine geotransform (origin, pixel size, rotation).
    pub geotransform: Option<[f64; 6]>,
    /// The SRS of the geotransform.
    pub srs: Option<Srs>,
    /// Ground control points, if the raster is georeferenced by them.
    pub gcps: Vec<Gcp>,
    /// The SRS of the GCPs.
    pub gcp_srs: Option<Srs>,
}

/// A per-pixel auxiliary plane stored beside the bands (e.g. TESSERA's float32 scales). It
/// is tiled on the same grid as the bands and has its own sample type.
#[derive(Clone, Debug, PartialEq)]
pub struct AuxPlane {
    /// Short identifier (`scales`).
    pub name: String,
    /// Type of the plane's samples.
    pub sample_type: SampleType,
    /// Samples per pixel.
    pub bands: u32,
    /// What the plane holds, for people.
    pub description: String,
}

/// How to turn stored integers into physical values without guessing.
#[derive(Clone, Debug, PartialEq)]
pub enum Dequantization {
    /// TESSERA / GeoTessera: `value = q * scale`, with `scale` read from an aux plane that
    /// has either one band (one scale per pixel) or one band per data band.
    PerPixelScale {
        /// Index of the aux plane holding the scales.
        aux_plane: u32,
    },
    /// AlphaEarth-style power law: `value = sign(q) * (|q| / divisor)^exponent`; samples
    /// equal to the band's nodata map to NaN.
    PowerLaw {
        /// Divides `|q|` before the power.
        divisor: f64,
        /// The power applied to `|q| / divisor`.
        exponent: f64,
    },
}

/// Near-lossless bands: every decoded sample of band `b` is within `max_error[b]` of the
/// sample the file was written from (nodata samples exactly). Written only when some bound
/// is nonzero; a file without it is lossless. Bounds are in the samples' value units:
/// whole numbers for integer samples, any finite value for floats (0.01 m on a DEM).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NearLossless {
    /// Per band, the largest absolute error the writer was asked to keep (0: exact).
    pub max_error: Vec<f64>,
    /// Per band, the largest absolute error the writer measured over every tile (`None`:
    /// not recorded, as while the file is being written).
    pub achieved: Vec<Option<f64>>,
}

impl NearLossless {
    /// The same bound for every one of `bands` bands.
    pub fn uniform(bands: usize, max_error: f64) -> Self {
        NearLossless {
            max_error: vec![max_error; bands],
            achieved: vec![None; bands],
        }
    }

    /// Whether any band may differ from its source.
    pub fn is_lossy(&self) -> bool {
        self.max_error.iter().any(|&e| e > 0.0)
    }
}

/// LOSSY transform coding (the `klt` codec): every tile was coded to a target relative RMSE
/// `||x − x̂|| / ||x||` against the values it was written from (for integer codes with a
/// per-pixel scale: the dequantised values). Written with the achieved figures once every
/// tile is written; a file without it and without [`NearLossless`] is lossless.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransformLoss {
    /// The relative RMSE the writer was asked for.
    pub target_rel_rmse: f64,
    /// What the writer measured over every tile (`None`: not recorded).
    pub achieved: Option<TransformAchieved>,
}

/// The fidelity a transform-coded file reached, over all its bands and pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TransformAchieved {
    /// `||x − x̂|| / ||x||` over the whole raster.
    pub rel_rmse: f64,
    /// Largest `|x − x̂|` of any sample.
    pub max_abs_error: f64,
    /// Mean over the pixels of the cosine similarity of `x̂` to `x` (the band vectors).
    pub mean_cosine: f64,
    /// 1st percentile of the per-pixel cosine similarity (99% of pixels are at or above).
    pub p01_cosine: f64,
}

/// Everything a reader needs besides the samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// Raster columns.
    pub width: u32,
    /// Raster rows.
    pub height: u32,
    /// Type of every band's samples.
    pub sample_type: SampleType,
    /// Tile columns (the last tile column may be narrower).
    pub tile_width: u32,
    /// Tile rows (the last tile row may be shorter).
    pub tile_height: u32,
    /// One entry per band.
    pub bands: Vec<BandInfo>,
    /// Per-pixel planes stored beside the bands.
    pub aux_planes: Vec<AuxPlane>,
    /// Geotransform or GCPs, and their SRS.
    pub georef: Georef,
    /// Dataset-level GDAL metadata domains.
    pub metadata: Vec<MetadataDomain>,
    /// How stored integers become physical values, if they are quantised.
    pub dequantization: Option<Dequantization>,
    /// The file-level band decorrelation the `decorrelate+` codecs use.
    pub decorrelation: Option<Decorrelation>,
    /// Near-lossless coding of the bands, if the file is not lossless; beside
    /// `transform_loss`, the bound the transform-coded tiles were refined to.
    pub near_lossless: Option<NearLossless>,
    /// Transform coding of the bands to a relative RMSE, if the file is not lossless.
    pub transform_loss: Option<TransformLoss>,
    /// Free-form provenance (creating software, source driver...). Not needed to decode.
    pub info: Vec<(String, String)>,
}

impl Header {
    /// A header with `bands` default bands and no georeferencing.
    pub fn new(width: u32, height: u32, bands: usize, sample_type: SampleType) -> Self {
        Header {
            width,
            height,
            sample_type,
            tile_width: 256,
            tile_height: 256,
            bands: vec![BandInfo::default(); bands],
            aux_planes: Vec::new(),
            georef: Georef::default(),
            metadata: Vec::new(),
            dequantization: None,
            decorrelation: None,
            near_lossless: None,
            transform_loss: None,
            info: Vec::new(),
        }
    }

    /// Number of bands.
    pub fn band_count(&self) -> usize {
        self.bands.len()
    }

    /// Number of tile columns.
    pub fn tiles_across(&self) -> u32 {
        self.width.div_ceil(self.tile_width)
    }

    /// Number of tile rows.
    pub fn tiles_down(&self) -> u32 {
        self.height.div_ceil(self.tile_height)
    }

    /// Tiles in one plane.
    pub fn tiles_per_plane(&self) -> u64 {
        self.tiles_across() as u64 * self.tiles_down() as u64
    }

    /// Planes: 0 holds the bands, 1.. the aux planes.
    pub fn plane_count(&self) -> usize {
        1 + self.aux_planes.len()
    }

    /// Blocks in the tile index: tiles × planes (saturating: a grid this large is refused
    /// by the writer and by every limit, never wrapped into a small count).
    pub fn block_count(&self) -> u64 {
        self.tiles_per_plane()
            .saturating_mul(self.plane_count() as u64)
    }

    /// Sample type and band count of a plane.
    pub fn plane_layout(&self, plane: usize) -> Result<(SampleType, usize)> {
        if plane == 0 {
            Ok((self.sample_type, self.bands.len()))
        } else {
            let a = self.aux_planes.get(plane - 1).ok_or_else(|| {
                Error::invalid(format!(
                    "plane {plane} does not exist (file has {})",
                    self.plane_count()
                ))
            })?;
            Ok((a.sample_type, a.bands as usize))
        }
    }

    /// Pixel rectangle `(x0, y0, width, height)` of tile `(tx, ty)`; edge tiles are clipped
    /// to the raster (they are stored at their clipped size, never padded).
    pub fn tile_rect(&self, tx: u32, ty: u32) -> (u32, u32, u32, u32) {
        let x0 = tx * self.tile_width;
        let y0 = ty * self.tile_height;
        (
            x0,
            y0,
            self.tile_width.min(self.width - x0),
            self.tile_height.min(self.height - y0),
        )
    }

    /// Index of a block in the tile index: plane-major, then tile rows, then tile columns.
    pub fn block_index(&self, plane: usize, tx: u32, ty: u32) -> u64 {
        plane as u64 * self.tiles_per_plane() + ty as u64 * self.tiles_across() as u64 + tx as u64
    }

    /// A bound per band, and nonzero bounds only where a codec can keep them: whole
    /// numbers below 2^32 for integers (8/16-bit: the native codec; 32-bit, format 1.5: the
    /// float codec), finite ones for floats (the float codec).
    fn validate_near_lossless(&self, n: &NearLossless) -> Result<()> {
        let bands = self.bands.len();
        if n.max_error.len() != bands || n.achieved.len() != bands {
            return Err(Error::invalid(format!(
                "near-lossless bounds for {} bands, the raster has {bands}",
                n.max_error.len()
            )));
        }
        let ty = self.sample_type;
        let whole = |e: f64| e.fract() == 0.0 && e <= u32::MAX as f64;
        for (b, &e) in n.max_error.iter().enumerate() {
            if !(e.is_finite() && e >= 0.0) || (!ty.is_float() && !whole(e)) {
                return Err(Error::invalid(format!(
                    "band {}: near-lossless bound {e} is not {} (the raster is {ty})",
                    b + 1,
                    if ty.is_float() {
                        "a finite value >= 0"
                    } else {
                        "a whole number from 0 to 4294967295"
                    }
                )));
            }
        }
        Ok(())
    }

    /// A target the `klt` codec can code to (beside near-lossless bounds, the tiles are
    /// refined to them, §5.7.3).
    fn validate_transform_loss(&self, t: &TransformLoss) -> Result<()> {
        crate::codec::check_klt_request(self.bands.len(), t.target_rel_rmse)
    }

    /// Checks the invariants a writer must respect and a reader may rely on.
    pub fn validate(&self) -> Result<()> {
        if self.width == 0 || self.height == 0 {
            return Err(Error::invalid(format!(
                "raster size {}x{} is empty",
                self.width, self.height
            )));
        }
        if self.bands.is_empty() {
            return Err(Error::invalid("raster has no bands"));
        }
        if self.tile_width == 0 || self.tile_height == 0 {
            return Err(Error::invalid("tile size must be at least 1x1"));
        }
        for (i, a) in self.aux_planes.iter().enumerate() {
            if a.bands == 0 {
                return Err(Error::invalid(format!(
                    "aux plane {i} ({}) has no bands",
                    a.name
                )));
            }
        }
        if self.plane_count() > 255 {
            return Err(Error::invalid("at most 254 aux planes"));
        }
        if let Some(Dequantization::PerPixelScale { aux_plane }) = &self.dequantization {
            let a = self.aux_planes.get(*aux_plane as usize).ok_or_else(|| {
                Error::invalid(format!(
                    "dequantization refers to missing aux plane {aux_plane}"
                ))
            })?;
            if a.bands != 1 && a.bands as usize != self.bands.len() {
                return Err(Error::invalid(format!(
                    "scale plane {} has {} bands; it needs 1 or {} (one per band)",
                    a.name,
                    a.bands,
                    self.bands.len()
                )));
            }
        }
        if let Some(d) = &self.decorrelation {
            d.validate(self.bands.len(), self.sample_type)?;
        }
        if let Some(n) = &self.near_lossless {
            self.validate_near_lossless(n)?;
        }
        if let Some(t) = &self.transform_loss {
            self.validate_transform_loss(t)?;
            let ty = self.sample_type;
            if ty.is_32_bit_integer() && self.near_lossless.as_ref().is_some_and(|n| n.is_lossy()) {
                return Err(Error::invalid(format!(
                    "a transform refined to a near-lossless bound needs 8- or 16-bit integer \
                     or float samples (klt cannot refine {ty} samples); this raster is {ty}"
                )));
            }
        }
        Ok(())
    }
}
