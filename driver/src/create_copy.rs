//! `gdal_translate -of GeoEmbed`: GDAL's `CreateCopy` runs the library's encoder (the one
//! `geoembed convert` runs), reading the source dataset GDAL hands us. Creation options
//! are checked before any work and named as GDAL users write them; progress goes to
//! GDAL's `GDALProgressFunc` tile by tile, and its FALSE cancels the copy without output.

use crate::vsi::VsiFile;
use gdal::{Dataset, Metadata};
use geoembed::gdal::cstring;
use geoembed::read::gdal::{header_from_dataset, GdalSource};
use geoembed::{
    encode_stream, encode_to_emb, parse_codec, parse_effort, parse_max_error,
    parse_transform_target, EncodeOptions, Error, OptionKey, Progress, Result, TileSize,
};
use std::ffi::{c_char, c_void};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The creation options (`-co KEY=VALUE`) the driver declares, parsed by the library
/// (keys and values case-insensitive). `MAX_ERROR`, `REL_RMSE` and `QUALITY` are the CLI's
/// `--max-error`, `--rel-rmse` and `--quality`: nothing lossy unless one is given. `PIXELTYPE=SIGNEDBYTE` matters only to `Create`
/// (it makes the staged bands int8); a copy takes the sample type from its source.
/// The layout keys of a rasterio profile (`BLOCKXSIZE`, `BLOCKYSIZE`, `TILED`, `COMPRESS`,
/// `INTERLEAVE`, as a `.emb` reports them) are accepted, so `rasterio.open(out, "w",
/// **src.profile)` works: the larger block edge becomes the tile size.
pub fn options(list: &[String]) -> Result<EncodeOptions> {
    // GDAL's CreateCopy and Create replace an existing output, as gdal_translate users expect.
    let mut o = EncodeOptions {
        overwrite: true,
        ..EncodeOptions::default()
    };
    let mut block = None;
    let (mut rel_rmse, mut quality) = (None, None);
    for item in list {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let bad = |why: &str| Err(Error::invalid_option(OptionKey::CreationOption, item, why));
        let value = v.to_ascii_uppercase();
        match k.to_ascii_uppercase().as_str() {
            "CODEC" => o.codec = parse_codec(v)?,
            "EFFORT" => o.effort = parse_effort(v)?,
            "TILE_SIZE" => o.tile = Some(v.parse::<TileSize>()?),
            "MAX_ERROR" => o.max_error = parse_max_error(v)?,
            "REL_RMSE" => rel_rmse = Some(v),
            "QUALITY" => quality = Some(v),
            "PIXELTYPE" if ["SIGNEDBYTE", "DEFAULT"].contains(&value.as_str()) => {}
            "PIXELTYPE" => return bad("PIXELTYPE takes SIGNEDBYTE or DEFAULT"),
            "BLOCKXSIZE" | "BLOCKYSIZE" => {
                // A tile-size option is one square edge; a profile's unequal edges (blocks
                // clipped to a small raster, or the default tiling's sliver-free edges,
                // e.g. 256 x 267) take the larger.
                let edge = v.parse::<TileSize>()?;
                block = Some(block.map_or(edge, |b: TileSize| b.max(edge)));
            }
            "TILED" | "INTERLEAVE" => {}
            "COMPRESS" if ["DEFLATE", "NONE"].contains(&value.as_str()) => {}
            "COMPRESS" => return bad("a .emb is compressed losslessly by its codecs: use CODEC"),
            _ => return bad(
                "unknown creation option (CODEC, EFFORT, TILE_SIZE, MAX_ERROR, REL_RMSE, QUALITY, PIXELTYPE)",
            ),
        }
    }
    o.tile = o.tile.or(block);
    (o.rel_rmse, o.quality) = parse_transform_target(rel_rmse, quality)?;
    Ok(o)
}

/// The library's options named as GDAL's creation options: `creation option CODEC=foo`.
pub fn label_creation_option(e: Error) -> Error {
    e.label_option(|key, value| match key {
        OptionKey::Codec => format!("creation option CODEC={value}"),
        OptionKey::Effort => format!("creation option EFFORT={value}"),
        OptionKey::TileSize => format!("creation option TILE_SIZE={value}"),
        OptionKey::MaxError => format!("creation option MAX_ERROR={value}"),
        OptionKey::RelRmse => format!("creation option REL_RMSE={value}"),
        OptionKey::Quality => format!("creation option QUALITY={value}"),
        _ => format!("creation option {value}"),
    })
}

/// An error as GDAL reports it: labelled with the creation option, and the CLI's flags the
/// library's lossy-mode advice names (`give --rel-rmse R`, `--quality`, `--codec klt`) respelled as the
/// creation options a `gdal_translate` user types.
pub fn creation_error(e: Error) -> String {
    label_creation_option(e)
        .to_string()
        .replace("--rel-rmse R", "REL_RMSE=R")
        .replace("--rel-rmse", "REL_RMSE")
        .replace("--quality Q", "QUALITY=Q")
        .replace("--quality", "QUALITY")
        .replace("--max-error", "MAX_ERROR")
        .replace("--codec ", "CODEC=")
}

/// GDAL's progress callback, told the fraction of tiles done.
struct GdalProgress {
    callback: gdal_sys::GDALProgressFunc,
    data: *mut c_void,
    total: AtomicU64,
    done: AtomicU64,
}

// SAFETY: the library calls a `Progress` only from the thread that called the pipeline
// (documented on the trait), which is the thread GDAL called CreateCopy on: the callback
// and its data are never used from another thread.
unsafe impl Sync for GdalProgress {}

impl GdalProgress {
    /// Reports `fraction`; `false` if GDAL's callback asks to stop.
    fn report(&self, fraction: f64) -> bool {
        let Some(cb) = self.callback else {
            return true;
        };
        let msg = cstring("");
        // SAFETY: GDAL's progress contract: a live callback with its own data pointer.
        unsafe { cb(fraction.min(1.0), msg.as_ptr(), self.data) != 0 }
    }
}

impl Progress for GdalProgress {
    fn begin(&self, total_tiles: u64, _stage: &str) {
        self.total.store(total_tiles.max(1), Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
    }

    fn advance(&self, tiles: u64) -> ControlFlow<()> {
        let done = self.done.fetch_add(tiles, Ordering::Relaxed) + tiles;
        let fraction = done as f64 / self.total.load(Ordering::Relaxed) as f64;
        if self.report(fraction) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }

    fn finish(&self) {}
}

/// # Safety
/// `src` is a live dataset handle owned by the caller; `options` is NULL or a CSL list;
/// `progress` is NULL or GDAL's callback for `progress_data`.
pub unsafe fn create_copy(
    path: &str,
    src: gdal_sys::GDALDatasetH,
    options_list: *mut *mut c_char,
    progress: gdal_sys::GDALProgressFunc,
    progress_data: *mut c_void,
) -> Result<(), String> {
    // SAFETY: per this function's contract.
    let list = unsafe { geoembed::gdal::csl_to_vec(options_list) };
    let opts = options(&list).map_err(|e| creation_error(e.at(path)))?;
    let progress = GdalProgress {
        callback: progress,
        data: progress_data,
        total: AtomicU64::new(1),
        done: AtomicU64::new(0),
    };
    if !progress.report(0.0) {
        return Err(Error::cancelled().at(path).to_string());
    }
    // SAFETY: src is live. The Dataset wrapper must never close it (the caller owns it), so
    // it is forgotten on every path below.
    let ds = unsafe { Dataset::from_c_dataset(src) };
    let written = encode_dataset(path, ds, &opts, &progress);
    written.map_err(|e| creation_error(e.at(path)))?;
    progress.report(1.0);
    Ok(())
}

/// Encodes the borrowed dataset `ds` to `path`, then forgets `ds` (GDAL closes it).
fn encode_dataset(
    path: &str,
    ds: Dataset,
    opts: &EncodeOptions,
    progress: &GdalProgress,
) -> Result<()> {
    let name = ds.description().unwrap_or_default();
    let header = match header_from_dataset(&name, &ds) {
        Ok(h) => h,
        Err(e) => {
            std::mem::forget(ds);
            return Err(e);
        }
    };
    let mut src = GdalSource::from_parts(&name, ds, header);
    let written = if path.starts_with("/vsi") {
        // Virtual files: written in place (no rename there), without the sidecar, and
        // removed again if the copy fails or is cancelled.
        let r = VsiFile::open(path, "wb")
            .map_err(|e| Error::io(path, e))
            .and_then(|f| encode_stream(&mut src, f, opts, progress))
            .and_then(|(f, _)| f.close().map_err(|e| Error::io(path, e)));
        if r.is_err() {
            let cpath = cstring(path);
            // SAFETY: a valid path string; a missing file is not an error here.
            unsafe { gdal_sys::VSIUnlink(cpath.as_ptr()) };
        }
        r
    } else {
        encode_to_emb(&mut src, Path::new(path), opts, progress).map(|_| ())
    };
    std::mem::forget(src.into_dataset());
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(items: &[&str]) -> Result<EncodeOptions> {
        options(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_rasterio_profile_is_accepted_and_its_blocks_become_the_tiles() {
        let o = parse(&[
            "BLOCKXSIZE=128",
            "BLOCKYSIZE=128",
            "TILED=TRUE",
            "COMPRESS=DEFLATE",
            "INTERLEAVE=PIXEL",
        ])
        .unwrap();
        assert_eq!(o.tile.map(TileSize::get), Some(128));
        let o = parse(&["TILE_SIZE=64", "BLOCKXSIZE=128", "BLOCKYSIZE=128"]).unwrap();
        assert_eq!(o.tile.map(TileSize::get), Some(64), "TILE_SIZE wins");
        // The profile of a 256 x 200 raster with 256-pixel tiles (blocks clipped).
        let o = parse(&["BLOCKXSIZE=256", "BLOCKYSIZE=200"]).unwrap();
        assert_eq!(o.tile.map(TileSize::get), Some(256));
        let e = parse(&["COMPRESS=LZW"]).unwrap_err();
        assert_eq!(
            label_creation_option(e).to_string(),
            "creation option COMPRESS=LZW: a .emb is compressed losslessly by its codecs: use CODEC"
        );
    }

    #[test]
    fn lossy_options_parse_like_the_cli_and_name_themselves() {
        let o = parse(&[]).unwrap();
        assert!(
            o.max_error.is_empty() && o.rel_rmse.is_none(),
            "lossless by default"
        );
        assert_eq!(parse(&["MAX_ERROR=2"]).unwrap().max_error, vec![2.0]);
        assert_eq!(
            parse(&["max_error=0,2,2"]).unwrap().max_error,
            vec![0.0, 2.0, 2.0]
        );
        assert_eq!(parse(&["REL_RMSE=5%"]).unwrap().rel_rmse, Some(0.05));
        let o = parse(&["QUALITY=90"]).unwrap();
        assert_eq!((o.rel_rmse, o.quality), (Some(0.01), Some(90)));
        let e = parse(&["REL_RMSE=0.05", "QUALITY=90"]).unwrap_err();
        assert_eq!(
            creation_error(e),
            "creation option QUALITY=90: give QUALITY or REL_RMSE, not both (each sets the transform's target)"
        );
        let e = parse(&["QUALITY=0"]).unwrap_err();
        assert_eq!(
            creation_error(e),
            "creation option QUALITY=0: give a whole number from 1 (smallest file) to 100 (closest to the source)"
        );
        let e = parse(&["MAX_ERROR=-1"]).unwrap_err();
        assert_eq!(
            creation_error(e),
            "creation option MAX_ERROR=-1: give a non-negative number, or one per band separated by commas"
        );
        let e = parse(&["REL_RMSE=lots"]).unwrap_err();
        assert_eq!(
            creation_error(e),
            "creation option REL_RMSE=lots: give a fraction such as 0.05, or a percentage such as 5%"
        );
    }
}
