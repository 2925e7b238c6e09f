//! `geoembed tiles IN OUTDIR`: an XYZ pyramid of 256-pixel PNG tiles in Web Mercator
//! (EPSG:3857, the Google/OSM tiling), warped by GDAL from the RGBA view of the raster.
//! Each zoom level is one warp of the whole view onto that level's tile-aligned grid
//! (bilinear at the finest level, averaging above it), then cut into tiles; fully
//! transparent tiles are not written.

use crate::atomic::{check_overwrite, Staging};
use crate::cli::TilesArgs;
use crate::error::{CliError, Result};
use crate::rgba_dataset::{mem_rgba, warp_to_mem, write_png};
use crate::view::render;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use std::process::ExitCode;

const TILE: usize = 256;
/// Circumference of the Web Mercator sphere: the width of zoom level 0, in metres.
const WORLD: f64 = 40_075_016.685_578_49;
/// Largest warped level, in pixels per side, before asking for fewer zoom levels.
const MAX_LEVEL_PX: usize = 16_384;

/// The raster's footprint in EPSG:3857: (xmin, ymin, xmax, ymax), from points along its
/// edges (a projected outline bends).
fn mercator_bounds(gt: &[f64; 6], w: usize, h: usize, wkt: &str) -> Result<[f64; 4]> {
    let msg =
        |e: gdal::errors::GdalError| CliError::msg(format!("cannot reproject to EPSG:3857: {e}"));
    let mut src = SpatialRef::from_wkt(wkt).map_err(msg)?;
    src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut dst = SpatialRef::from_epsg(3857).map_err(msg)?;
    dst.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let t = CoordTransform::new(&src, &dst).map_err(msg)?;
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
    t.transform_coords(&mut xs, &mut ys, &mut []).map_err(msg)?;
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
fn default_zooms(b: &[f64; 4], w: usize, h: usize) -> (u32, u32) {
    let (dx, dy) = (b[2] - b[0], b[3] - b[1]);
    let res = (dx / w as f64).min(dy / h as f64).max(1e-3);
    let zmax = ((WORLD / (TILE as f64 * res)).log2().ceil()).clamp(0.0, 22.0) as u32;
    let zmin = ((WORLD / dx.max(dy).max(1e-3)).log2().floor()).clamp(0.0, zmax as f64) as u32;
    (zmin, zmax)
}

fn parse_zooms(s: &str) -> Result<(u32, u32)> {
    let bad = || {
        CliError::msg(format!(
            "--zoom {s}: give MIN-MAX (e.g. 8-14) or one level, 0 to 22"
        ))
    };
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (u32, u32) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a > b || b > 22 {
        return Err(bad());
    }
    Ok((a, b))
}

pub fn run(a: &TilesArgs, quiet: bool) -> Result<ExitCode> {
    check_overwrite(&a.outdir, a.overwrite)?;
    let input = &a.view.input;
    let v = render(input, &a.view.kind()?)?;
    let (Some(gt), Some(srs)) = (v.georef.geotransform, v.georef.srs.as_ref()) else {
        return Err(CliError::file(
            input,
            "has no geotransform and CRS; web map tiles need both",
        ));
    };
    let bounds = mercator_bounds(&gt, v.width, v.height, &srs.wkt)?;
    let (zmin, zmax) = match &a.zoom {
        Some(z) => parse_zooms(z)?,
        None => default_zooms(&bounds, v.width, v.height),
    };
    let src = mem_rgba(v.width, v.height, &v.rgba, Some(&v.georef))?;
    let staging = Staging::new(&a.outdir)?;
    let root = staging.path();
    let mut written = 0usize;
    for z in zmin..=zmax {
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
        let (cols, rows) = ((x1 - x0 + 1) as usize, (y1 - y0 + 1) as usize);
        if cols * TILE > MAX_LEVEL_PX || rows * TILE > MAX_LEVEL_PX {
            return Err(CliError::msg(format!(
                "zoom {z} needs {cols} x {rows} tiles; choose a smaller range with --zoom (now {zmin}-{zmax})"
            )));
        }
        let te = [
            -WORLD / 2.0 + x0 as f64 * size,
            WORLD / 2.0 - (y1 + 1) as f64 * size,
            -WORLD / 2.0 + (x1 + 1) as f64 * size,
            WORLD / 2.0 - y0 as f64 * size,
        ];
        let args: Vec<String> = [
            "-of",
            "MEM",
            "-t_srs",
            "EPSG:3857",
            "-srcalpha",
            "-dstalpha",
            "-r",
            if z == zmax { "bilinear" } else { "average" },
            "-te",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(te.iter().map(|v| format!("{v:.6}")))
        .chain([
            "-ts".to_string(),
            (cols * TILE).to_string(),
            (rows * TILE).to_string(),
        ])
        .collect();
        let level = warp_to_mem(&src, &args)?;
        let (w, h) = (cols * TILE, rows * TILE);
        let mut planes = Vec::new();
        for b in 1..=4 {
            let band = level
                .rasterband(b)
                .map_err(|e| CliError::msg(e.to_string()))?;
            let buf = band
                .read_as::<u8>((0, 0), (w, h), (w, h), None)
                .map_err(|e| CliError::msg(e.to_string()))?;
            planes.push(buf.into_shape_and_vec().1);
        }
        for ty in 0..rows {
            for tx in 0..cols {
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
                if !opaque {
                    continue;
                }
                let dir = root.join(z.to_string()).join((x0 + tx as u64).to_string());
                std::fs::create_dir_all(&dir).map_err(|e| CliError::io(&dir, e))?;
                let tile = mem_rgba(TILE, TILE, &rgba, None)?;
                write_png(&tile, &dir.join(format!("{}.png", y0 + ty as u64)))?;
                written += 1;
            }
        }
    }
    if written == 0 {
        return Err(CliError::file(
            input,
            "every pixel is nodata: no tiles to write",
        ));
    }
    if a.overwrite && a.outdir.exists() {
        std::fs::remove_dir_all(&a.outdir).map_err(|e| CliError::io(&a.outdir, e))?;
    }
    staging.commit()?;
    let abs = std::fs::canonicalize(&a.outdir).unwrap_or_else(|_| a.outdir.clone());
    let url = format!("file://{}/{{z}}/{{x}}/{{y}}.png", abs.display());
    // QGIS: Layer > Add Layer > Add XYZ Layer, or paste this URI into
    // iface.addRasterLayer(uri, name, "wms") in the Python console.
    let qgis = format!("type=xyz&url={url}&zmin={zmin}&zmax={zmax}");
    std::fs::write(abs.join("qgis_xyz_uri.txt"), format!("{qgis}\n"))
        .map_err(|e| CliError::io(&a.outdir, e))?;
    if !quiet {
        eprintln!(
            "{input} -> {}: {written} tiles, zoom {zmin}-{zmax}; red = {}, green = {}, blue = {}",
            a.outdir.display(),
            v.channels[0],
            v.channels[1],
            v.channels[2]
        );
    }
    println!("{qgis}");
    Ok(ExitCode::SUCCESS)
}
