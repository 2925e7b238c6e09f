//! An XYZ pyramid of 256-pixel PNG tiles in Web Mercator (EPSG:3857, the Google/OSM
//! tiling), warped by GDAL from the RGBA view of a raster. Each zoom level is one warp of
//! the whole view onto that level's tile-aligned grid (bilinear at the finest level,
//! averaging above it), then cut into tiles; fully transparent tiles are not written. The
//! directory appears whole or not at all.

use crate::error::{Error, ErrorKind, OptionKey, Result};
use crate::progress::{Progress, Stage};
use crate::read::view::RgbaView;
use crate::write::rgba::{mem_rgba, warp_to_mem, write_png};
use crate::write::staging::Staging;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::Dataset;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

const TILE: usize = 256;
/// Circumference of the Web Mercator sphere: the width of zoom level 0, in metres.
const WORLD: f64 = 40_075_016.685_578_49;
/// Largest warped level, in pixels per side, before asking for fewer zoom levels.
const MAX_LEVEL_PX: usize = 16_384;
/// Deepest zoom level accepted.
const MAX_ZOOM: u32 = 22;

/// Zoom levels `min..=max`, parsed from `MIN-MAX` or one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoomRange {
    pub min: u32,
    pub max: u32,
}

impl FromStr for ZoomRange {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid_option(
                OptionKey::Zoom,
                s,
                format!("give MIN-MAX (e.g. 8-14) or one level, 0 to {MAX_ZOOM}"),
            )
        };
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let min: u32 = a.trim().parse().map_err(|_| bad())?;
        let max: u32 = b.trim().parse().map_err(|_| bad())?;
        if min > max || max > MAX_ZOOM {
            return Err(bad());
        }
        Ok(ZoomRange { min, max })
    }
}

impl fmt::Display for ZoomRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.min, self.max)
    }
}

/// What [`write_pyramid`] wrote.
#[derive(Clone, Debug)]
pub struct Pyramid {
    pub zoom: ZoomRange,
    pub tiles_written: usize,
    /// The URI that adds the pyramid to QGIS as an XYZ layer (also saved in
    /// `OUTDIR/qgis_xyz_uri.txt`).
    pub qgis_uri: String,
}

/// The raster's footprint in EPSG:3857: (xmin, ymin, xmax, ymax), from points along its
/// edges (a projected outline bends).
fn mercator_bounds(gt: &[f64; 6], w: usize, h: usize, wkt: &str) -> Result<[f64; 4]> {
    let why = |e: gdal::errors::GdalError| {
        Error::new(
            ErrorKind::Gdal,
            format!("cannot reproject to EPSG:3857: {e}"),
        )
        .with_source(e)
    };
    let mut src = SpatialRef::from_wkt(wkt).map_err(why)?;
    src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut dst = SpatialRef::from_epsg(3857).map_err(why)?;
    dst.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let t = CoordTransform::new(&src, &dst).map_err(why)?;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    const N: usize = 32;
    for i in 0..=N {
        let f = i as f64 / N as f64;
        for (px, py) in [
            (f * w as f64, 0.0),
            (f * w as f64, h as f64),
            (0.0, f * h as f64),
            (w as f64, f * h as f64),
        ] {
            xs.push(gt[0] + px * gt[1] + py * gt[2]);
            ys.push(gt[3] + px * gt[4] + py * gt[5]);
        }
    }
    t.transform_coords(&mut xs, &mut ys, &mut []).map_err(why)?;
    let lim = WORLD / 2.0;
    let clamp = |v: f64| v.clamp(-lim, lim);
    Ok([
        clamp(xs.iter().copied().fold(f64::INFINITY, f64::min)),
        clamp(ys.iter().copied().fold(f64::INFINITY, f64::min)),
        clamp(xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        clamp(ys.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
    ])
}

/// Default zoom range: from the level where the footprint fits one tile to the first
/// level whose pixels are at least as fine as the raster's.
fn default_zooms(b: &[f64; 4], w: usize, h: usize) -> ZoomRange {
    let (dx, dy) = (b[2] - b[0], b[3] - b[1]);
    let res = (dx / w as f64).min(dy / h as f64).max(1e-3);
    let max = ((WORLD / (TILE as f64 * res)).log2().ceil()).clamp(0.0, MAX_ZOOM as f64) as u32;
    let min = ((WORLD / dx.max(dy).max(1e-3)).log2().floor()).clamp(0.0, max as f64) as u32;
    ZoomRange { min, max }
}

/// The tiles of one zoom level that cover the footprint: first column and row, counts.
struct Level {
    z: u32,
    x0: u64,
    y0: u64,
    cols: usize,
    rows: usize,
}

impl Level {
    fn covering(z: u32, bounds: &[f64; 4]) -> Level {
        let n = 1u64 << z;
        let size = WORLD / n as f64;
        let col = |x: f64| (((x + WORLD / 2.0) / size).floor() as u64).min(n - 1);
        let row = |y: f64| (((WORLD / 2.0 - y) / size).floor() as u64).min(n - 1);
        let (x0, x1, y0, y1) = (
            col(bounds[0]),
            col(bounds[2]),
            row(bounds[3]),
            row(bounds[1]),
        );
        Level {
            z,
            x0,
            y0,
            cols: (x1 - x0 + 1) as usize,
            rows: (y1 - y0 + 1) as usize,
        }
    }

    /// gdalwarp options that put the view onto this level's tile-aligned grid.
    fn warp_args(&self, finest: bool) -> Vec<String> {
        let size = WORLD / (1u64 << self.z) as f64;
        let te = [
            -WORLD / 2.0 + self.x0 as f64 * size,
            WORLD / 2.0 - (self.y0 + self.rows as u64) as f64 * size,
            -WORLD / 2.0 + (self.x0 + self.cols as u64) as f64 * size,
            WORLD / 2.0 - self.y0 as f64 * size,
        ];
        let resampling = if finest { "bilinear" } else { "average" };
        [
            "-of",
            "MEM",
            "-t_srs",
            "EPSG:3857",
            "-srcalpha",
            "-dstalpha",
            "-r",
            resampling,
            "-te",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(te.iter().map(|v| format!("{v:.6}")))
        .chain([
            "-ts".to_string(),
            (self.cols * TILE).to_string(),
            (self.rows * TILE).to_string(),
        ])
        .collect()
    }
}

/// Writes the XYZ pyramid of `view` to `outdir` (`z/x/y.png`), replacing it if
/// `overwrite`; `zoom` defaults to the raster's own range. `name` (the raster's file) is
/// used in messages. Each zoom level is one step of `progress`.
pub fn write_pyramid(
    view: &RgbaView,
    name: &str,
    outdir: &Path,
    zoom: Option<ZoomRange>,
    overwrite: bool,
    progress: &dyn Progress,
) -> Result<Pyramid> {
    crate::write::staging::check_overwrite(outdir, overwrite)?;
    let (Some(gt), Some(srs)) = (view.georef.geotransform, view.georef.srs.as_ref()) else {
        return Err(Error::unsupported(
            name,
            "has no geotransform and CRS; web map tiles need both",
        ));
    };
    let bounds = mercator_bounds(&gt, view.width, view.height, &srs.wkt)?;
    let zoom = zoom.unwrap_or_else(|| default_zooms(&bounds, view.width, view.height));
    let levels: Vec<Level> = (zoom.min..=zoom.max)
        .map(|z| Level::covering(z, &bounds))
        .collect();
    if let Some(l) = levels
        .iter()
        .find(|l| l.cols.max(l.rows) * TILE > MAX_LEVEL_PX)
    {
        let why = format!(
            "zoom {} needs {} x {} tiles; choose a smaller range",
            l.z, l.cols, l.rows
        );
        return Err(Error::invalid_option(
            OptionKey::Zoom,
            zoom.to_string(),
            why,
        ));
    }
    let src = mem_rgba(view.width, view.height, &view.rgba, Some(&view.georef))?;
    let staging = Staging::new(outdir, overwrite)?;
    let stage = Stage::begin(progress, levels.len() as u64, "tiling");
    let mut tiles_written = 0;
    for level in &levels {
        tiles_written += write_level(&src, level, level.z == zoom.max, &staging.path())?;
        stage.advance(1)?;
    }
    if tiles_written == 0 {
        return Err(Error::unsupported(
            name,
            "every pixel is nodata: no tiles to write",
        ));
    }
    if overwrite && outdir.exists() {
        std::fs::remove_dir_all(outdir).map_err(|e| Error::io(outdir, e))?;
    }
    staging.commit()?;
    let qgis_uri = save_qgis_uri(outdir, zoom)?;
    Ok(Pyramid {
        zoom,
        tiles_written,
        qgis_uri,
    })
}

/// Warps one level and writes its non-empty tiles under `root`; returns how many.
fn write_level(src: &Dataset, level: &Level, finest: bool, root: &Path) -> Result<usize> {
    let warped = warp_to_mem(src, &level.warp_args(finest))?;
    let (w, h) = (level.cols * TILE, level.rows * TILE);
    let mut planes = Vec::new();
    for b in 1..=4 {
        let buf = warped
            .rasterband(b)?
            .read_as::<u8>((0, 0), (w, h), (w, h), None)?;
        planes.push(buf.into_shape_and_vec().1);
    }
    let mut written = 0;
    for ty in 0..level.rows {
        for tx in 0..level.cols {
            let Some(rgba) = cut_tile(&planes, w, tx, ty) else {
                continue;
            };
            let dir = tile_dir(root, level.z, level.x0 + tx as u64);
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let tile = mem_rgba(TILE, TILE, &rgba, None)?;
            write_png(&tile, &dir.join(format!("{}.png", level.y0 + ty as u64)))?;
            written += 1;
        }
    }
    Ok(written)
}

fn tile_dir(root: &Path, z: u32, x: u64) -> PathBuf {
    root.join(z.to_string()).join(x.to_string())
}

/// Tile (tx, ty) of a warped level (four planes `w` pixels wide) as RGBA, or `None` if
/// fully transparent.
fn cut_tile(planes: &[Vec<u8>], w: usize, tx: usize, ty: usize) -> Option<Vec<u8>> {
    let mut rgba = vec![0u8; TILE * TILE * 4];
    let mut opaque = false;
    for y in 0..TILE {
        for x in 0..TILE {
            let s = (ty * TILE + y) * w + tx * TILE + x;
            for c in 0..4 {
                rgba[(y * TILE + x) * 4 + c] = planes[c][s];
            }
            opaque |= planes[3][s] != 0;
        }
    }
    opaque.then_some(rgba)
}

/// Saves (and returns) the URI that adds the pyramid to QGIS as an XYZ layer: Layer > Add
/// Layer > Add XYZ Layer, or `iface.addRasterLayer(uri, name, "wms")` in its console.
fn save_qgis_uri(outdir: &Path, zoom: ZoomRange) -> Result<String> {
    let abs = std::fs::canonicalize(outdir).unwrap_or_else(|_| outdir.to_path_buf());
    let url = format!("file://{}/{{z}}/{{x}}/{{y}}.png", abs.display());
    let uri = format!("type=xyz&url={url}&zmin={}&zmax={}", zoom.min, zoom.max);
    std::fs::write(abs.join("qgis_xyz_uri.txt"), format!("{uri}\n"))
        .map_err(|e| Error::io(outdir, e))?;
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_ranges_parse_and_name_the_option() {
        assert_eq!(
            "8-14".parse::<ZoomRange>().unwrap(),
            ZoomRange { min: 8, max: 14 }
        );
        assert_eq!(
            "5".parse::<ZoomRange>().unwrap(),
            ZoomRange { min: 5, max: 5 }
        );
        let e = "9-3".parse::<ZoomRange>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption(OptionKey::Zoom));
        assert_eq!(
            e.to_string(),
            "zoom 9-3: give MIN-MAX (e.g. 8-14) or one level, 0 to 22"
        );
        assert!("0-23".parse::<ZoomRange>().is_err());
    }
}
