//! Source → `.emb`: reads tile rows, encodes tiles in parallel, writes them in order.
//! [`encode_to_emb`] writes a file (staged, with its sidecar, renamed into place);
//! [`encode_stream`] any `Write + Seek` (memory for benchmarks, GDAL's `/vsimem/`).

use crate::error::{Error, Result};
use crate::options::EncodeOptions;
use crate::progress::{Progress, Stage};
use crate::read::dequantised::DequantisedSource;
use crate::read::{RasterSource, TileRegion};
use crate::write::sidecar::{self, ToLonLat};
use crate::write::staging::{check_output_file, Staging};
use geoembed_codec::{
    achieved_figures, auto_candidates, can_code_from_bands, encode_block_given_bands,
    encode_block_with, fit_decorrelation, BlockSettings, CodecChoice, Decorrelation, EncodedBlock,
    Header, LossStats, NearLossless, TransformLoss, Writer,
};
use std::collections::BTreeMap;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;

/// What was written, for the one-line summary and tests.
#[derive(Clone, Debug, Default)]
pub struct EncodeReport {
    /// Bytes of samples encoded (all planes).
    pub raw_bytes: u64,
    pub samples: u64,
    /// Size of the `.emb` (0 from [`encode_stream`], which cannot tell).
    pub file_bytes: u64,
    /// Tiles per codec chosen.
    pub codecs: BTreeMap<&'static str, usize>,
    /// Near-lossless files: the bound per band and the largest error measured per band
    /// (`None`: the file is lossless).
    pub near_lossless: Option<NearLossless>,
    /// Transform-coded files: the target and what was achieved over every tile (`None`:
    /// the file is not transform-coded).
    pub transform: Option<TransformLoss>,
}

/// Pixels sampled to fit the decorrelation (the seed harness uses the same cap).
const FIT_PIXELS: usize = 200_000;

/// Default tile edges: rasters of few bands (DEMs, climate grids, RGB) get 512-pixel tiles,
/// as GDAL's cloud-optimised GeoTIFFs do, many-band ones 256. On few bands every tile's
/// predictors are fitted on a sample of about the same size whatever the tile's, so larger
/// tiles spend less time fitting per pixel and model more context: against 256, the SRTM
/// and topotoolbox DEMs, ERA-Interim, tmmx and Landsat RGB were 0-3% smaller and encoded up
/// to 1.5x faster (N44W072 21 -> 32 MB/s; docs/benchmarks.md). Many-band rasters keep 256:
/// their tiles are already 8 MB and more, and their codecs were tuned on them.
const FEW_BANDS_TILE: u32 = 512;
const MANY_BANDS_TILE: u32 = 256;
/// Bands from which a raster counts as many-band (as the native codec counts them).
const MANY_BANDS: usize = 8;

fn default_tile(h: &Header) -> u32 {
    let px: usize = h.bands.len() * h.sample_type.size();
    let mut t = match h.bands.len() < MANY_BANDS {
        true => FEW_BANDS_TILE,
        false => MANY_BANDS_TILE,
    };
    // Keep a decoded tile under 128 MiB, so that hundreds-of-bands float rasters still
    // decode tile by tile in bounded memory.
    while t > 32 && (t as u64 * t as u64 * px as u64) > MAX_DEFAULT_TILE_BYTES {
        t /= 2;
    }
    t
}

/// The default tile: square, except for rasters thinner than a tile (profiles, tables of
/// values, a single row of samples), whose tiles keep about as many pixels as a square
/// one by growing along the long side, so that a tile still holds enough context to model.
fn default_tile_shape(h: &Header) -> (u32, u32) {
    let t = default_tile(h);
    let area = t as u64 * t as u64;
    let long = |short: u32, long: u32| (area.div_ceil(short as u64).min(long as u64) as u32).max(t);
    if h.height < t && h.width > t {
        (long(h.height, h.width), h.height)
    } else if h.width < t && h.height > t {
        (h.width, long(h.width, h.height))
    } else {
        let px = (h.bands.len() * h.sample_type.size()) as u64;
        let (tw, th) = (without_sliver(h.width, t), without_sliver(h.height, t));
        if tw as u64 * th as u64 * px <= MAX_DEFAULT_TILE_BYTES {
            (tw, th)
        } else {
            (t, t)
        }
    }
}

/// Largest decoded tile the default tiling makes (see [`default_tile`]).
const MAX_DEFAULT_TILE_BYTES: u64 = 128 << 20;

/// The tile edge along a side of `length` pixels: `t`, or longer when `t` would leave a
/// thin last tile: `length` cut into round(length / t) equal tiles when those are longer
/// than `t`. A 300-pixel side is one 300-pixel tile instead of 256 + 44: the sliver's
/// predictors are fitted on a few columns and stored once more (2% of a 300 x 300 x 128
/// embedding tile, measured on the Presto tile).
fn without_sliver(length: u32, t: u32) -> u32 {
    let tiles = ((length + t / 2) / t).max(1);
    length.div_ceil(tiles).max(t)
}

/// Whether the codec choice can use the file-level band decorrelation.
fn wants_decorrelation(h: &Header, o: &EncodeOptions) -> bool {
    let ty = h.sample_type;
    if h.bands.len() < 2 || ty.is_float() || ty.size() > 2 {
        return false;
    }
    match o.codec {
        CodecChoice::Fixed(id) => id.needs_decorrelation(),
        CodecChoice::Auto => auto_candidates(ty, h.bands.len(), o.effort, true)
            .iter()
            .any(|c| c.needs_decorrelation()),
    }
}

/// Fits the file-level decorrelation on a strided sample of rows and pixels.
fn fit_file_decorrelation(src: &mut dyn RasterSource) -> Result<Decorrelation> {
    let h = src.header().clone();
    let (w, hgt) = (h.width as usize, h.height as usize);
    let px = h.bands.len() * h.sample_type.size();
    let rows_wanted = hgt.min(64);
    let per_row = (FIT_PIXELS / rows_wanted).max(1);
    let step = w.div_ceil(per_row).max(1);
    let mut sample = Vec::new();
    let mut row = vec![0u8; w * px];
    for i in 0..rows_wanted {
        let y = (i * hgt + hgt / 2) / rows_wanted;
        src.read_rows(0, y as u32, 1, &mut row)?;
        for x in (0..w).step_by(step) {
            sample.extend_from_slice(&row[x * px..(x + 1) * px]);
        }
    }
    fit_decorrelation(h.sample_type, h.bands.len(), &sample)
        .map_err(|e| Error::from(e).context("decorrelation fit"))
}

/// Cuts the tile starting `x0` bytes into each row out of a strip of `rows` rows of
/// `row_bytes`.
fn cut_tile(
    strip: &[u8],
    row_bytes: usize,
    x0: usize,
    tile_row_bytes: usize,
    rows: usize,
) -> Vec<u8> {
    let mut t = Vec::with_capacity(tile_row_bytes * rows);
    for r in 0..rows {
        let start = r * row_bytes + x0;
        t.extend_from_slice(&strip[start..start + tile_row_bytes]);
    }
    t
}

/// The header the output carries: the source's, with the tiling, the software and, when
/// a codec will use it, the decorrelation fitted on the source.
fn output_header(src: &mut dyn RasterSource, o: &EncodeOptions) -> Result<Header> {
    let mut header = src.header().clone();
    o.validate(&header)?;
    let (tw, th) = match o.tile {
        Some(t) => (t.get(), t.get()),
        None => default_tile_shape(&header),
    };
    header.tile_width = tw;
    header.tile_height = th;
    header.near_lossless = o.near_lossless(header.bands.len());
    header.transform_loss = o.transform_loss();
    header.info.push((
        "software".into(),
        format!("geoembed {}", env!("CARGO_PKG_VERSION")),
    ));
    if wants_decorrelation(&header, o) {
        header.decorrelation = Some(fit_file_decorrelation(src)?);
    }
    Ok(header)
}

/// One tile to encode: its position and samples, and plane 0's samples of the tile when
/// an aux plane may be coded from them.
struct TileJob {
    tx: u32,
    ty: u32,
    samples: Vec<u8>,
    bands: Option<Vec<u8>>,
}

impl TileJob {
    /// Encodes the tile of `plane`: from the bands when the job carries them.
    fn encode(&self, header: &Header, plane: usize, o: &EncodeOptions) -> Result<EncodedBlock> {
        let settings = BlockSettings {
            effort: o.effort,
            recipe: o.recipe,
        };
        let (tx, ty, samples) = (self.tx, self.ty, &self.samples);
        Ok(match &self.bands {
            Some(bands) => {
                let block = (plane, tx, ty);
                encode_block_given_bands(header, block, samples, bands, o.codec, settings)?
            }
            None => encode_block_with(header, plane, tx, ty, samples, o.codec, settings)?,
        })
    }
}

/// Reads the tiles of `region` of `plane`, with plane 0's tiles beside them when the plane
/// may be coded from the bands (`from_bands`).
fn read_jobs(
    src: &mut dyn RasterSource,
    header: &Header,
    plane: usize,
    region: &TileRegion,
    from_bands: bool,
) -> Result<Vec<TileJob>> {
    let px = plane_pixel_bytes(header, plane)?;
    let mut jobs = read_tiles(src, header, plane, px, region)?;
    if from_bands {
        let bands_px = plane_pixel_bytes(header, 0)?;
        let bands = read_tiles(src, header, 0, bands_px, region)?;
        for (job, bands_job) in jobs.iter_mut().zip(bands) {
            job.bands = Some(bands_job.samples);
        }
    }
    Ok(jobs)
}

/// Bytes of one pixel of `plane`.
fn plane_pixel_bytes(header: &Header, plane: usize) -> Result<usize> {
    let (ty, bands) = header.plane_layout(plane)?;
    Ok(bands * ty.size())
}

/// Reads the tiles of `region` of `plane`: tile by tile from a source that reads windows,
/// else one tile row at a time (as wide as the region) cut into tiles.
fn read_tiles(
    src: &mut dyn RasterSource,
    header: &Header,
    plane: usize,
    px: usize,
    region: &TileRegion,
) -> Result<Vec<TileJob>> {
    if src.reads_windows() {
        let mut jobs = Vec::new();
        for (tx, ty) in region.tiles() {
            let (x0, y0, tw, rows) = header.tile_rect(tx, ty);
            let mut samples = vec![0u8; tw as usize * rows as usize * px];
            src.read_window(plane, x0..x0 + tw, y0, rows, &mut samples)?;
            jobs.push(TileJob {
                tx,
                ty,
                samples,
                bands: None,
            });
        }
        return Ok(jobs);
    }
    let columns = region.pixel_columns(header);
    let row_bytes = columns.len() * px;
    let mut jobs = Vec::new();
    for ty in region.rows.clone() {
        let (_, y0, _, rows) = header.tile_rect(0, ty);
        let mut strip = vec![0u8; row_bytes * rows as usize];
        let window = columns.start as u32..columns.end as u32;
        src.read_window(plane, window, y0, rows, &mut strip)?;
        for tx in region.columns.clone() {
            let (x0, _, tw, _) = header.tile_rect(tx, ty);
            let start = (x0 as usize - columns.start) * px;
            let samples = cut_tile(&strip, row_bytes, start, tw as usize * px, rows as usize);
            jobs.push(TileJob {
                tx,
                ty,
                samples,
                bands: None,
            });
        }
    }
    Ok(jobs)
}

/// Encodes `src` into `sink` (any `Write + Seek`: a file, or memory for benchmarks),
/// reporting every tile to `progress`. Options are checked before anything is read.
pub fn encode_stream<W: Write + Seek>(
    src: &mut dyn RasterSource,
    sink: W,
    o: &EncodeOptions,
    progress: &dyn Progress,
) -> Result<(W, EncodeReport)> {
    // Transform coding fits and rebuilds values: a recipe's codes are dequantised first.
    if o.rel_rmse.is_some() && src.header().dequantization.is_some() {
        return encode_tiles(&mut DequantisedSource::new(src), sink, o, progress);
    }
    encode_tiles(src, sink, o, progress)
}

/// [`encode_stream`] of a source as it is.
fn encode_tiles<W: Write + Seek>(
    src: &mut dyn RasterSource,
    sink: W,
    o: &EncodeOptions,
    progress: &dyn Progress,
) -> Result<(W, EncodeReport)> {
    let header = output_header(src, o)?;
    src.prepare_streaming((header.tile_width, header.tile_height), o.batch_bytes);
    let mut writer = Writer::new(sink, header.clone())?;
    // Every band starts at 0: exact tiles (constant, raw) report no error.
    let near_lossless = header.near_lossless.clone().map(|n| NearLossless {
        achieved: vec![Some(0.0); n.max_error.len()],
        ..n
    });
    let mut report = EncodeReport {
        near_lossless,
        transform: header.transform_loss.clone(),
        ..EncodeReport::default()
    };
    // Only lossy transforms report a loss; the statistics hold 512 KB of histogram, which
    // took a tenth of a small lossless raster's encode to zero.
    let mut loss: Option<LossStats> = None;
    let stage = Stage::begin(progress, header.block_count(), "encoding");
    for plane in 0..header.plane_count() {
        let (ty, _) = header.plane_layout(plane)?;
        // An aux scale plane may be coded from the bands: their tiles are read beside it,
        // and count in the batch's memory.
        let from_bands = o.codec == CodecChoice::Auto && can_code_from_bands(&header, plane);
        let bands_px = match from_bands {
            true => plane_pixel_bytes(&header, 0)?,
            false => 0,
        };
        let batch_px = plane_pixel_bytes(&header, plane)? + bands_px;
        for region in TileRegion::batches(&header, batch_px, o.batch_bytes) {
            let jobs = read_jobs(src, &header, plane, &region, from_bands)?;
            let positions: Vec<(u32, u32, usize)> =
                jobs.iter().map(|j| (j.tx, j.ty, j.samples.len())).collect();
            let encoded = stage.run_parallel(jobs, |j| j.encode(&header, plane, o))?;
            for ((tx, tyi, raw), block) in positions.into_iter().zip(encoded) {
                *report.codecs.entry(block.codec.name()).or_default() += 1;
                report.raw_bytes += raw as u64;
                report.samples += (raw / ty.size()) as u64;
                if let Some(tile_loss) = block.loss.as_ref().filter(|_| plane == 0) {
                    loss.get_or_insert_with(LossStats::default).merge(tile_loss);
                }
                if let Some(n) = report.near_lossless.as_mut().filter(|_| plane == 0) {
                    for (achieved, &e) in n.achieved.iter_mut().zip(&block.max_error) {
                        *achieved = Some(achieved.unwrap_or(0.0).max(e));
                    }
                }
                writer.write_block(plane, tx, tyi, &block)?;
            }
        }
    }
    let sink = writer.finish()?;
    if let Some(t) = report.transform.as_mut() {
        t.achieved = Some(achieved_figures(&loss.unwrap_or_default()));
    }
    Ok((sink, report))
}

/// Encodes `src` to the `.emb` file `out` and its STAC sidecar `out.json`, atomically:
/// nothing appears at `out` unless everything was written. The sidecar's bounding box
/// uses this build's reprojection ([`sidecar::default_lon_lat`]).
pub fn encode_to_emb(
    src: &mut dyn RasterSource,
    out: &Path,
    o: &EncodeOptions,
    progress: &dyn Progress,
) -> Result<EncodeReport> {
    encode_to_emb_with(src, out, o, progress, sidecar::default_lon_lat())
}

/// [`encode_to_emb`] with the caller's reprojection for the sidecar's bounding box (none:
/// no bounding box).
pub fn encode_to_emb_with(
    src: &mut dyn RasterSource,
    out: &Path,
    o: &EncodeOptions,
    progress: &dyn Progress,
    lon_lat: Option<&dyn ToLonLat>,
) -> Result<EncodeReport> {
    check_output_file(out, o.overwrite)?;
    o.validate(src.header())?;
    let staging = Staging::new(out, o.overwrite)?;
    let report =
        write_staged(src, &staging, out, o, progress, lon_lat).map_err(|e| staging.redact(e))?;
    staging.commit()?;
    Ok(report)
}

/// The `.emb` and its sidecar, written into `staging`.
fn write_staged(
    src: &mut dyn RasterSource,
    staging: &Staging,
    out: &Path,
    o: &EncodeOptions,
    progress: &dyn Progress,
    lon_lat: Option<&dyn ToLonLat>,
) -> Result<EncodeReport> {
    let tmp = staging.path();
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(out, e))?;
    let sink = BufWriter::with_capacity(1 << 20, file);
    let (buf, mut report) = encode_stream(src, sink, o, progress).map_err(|e| e.at(out))?;
    let file = buf
        .into_inner()
        .map_err(|e| Error::io(out, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(out, e))?;
    drop(file);
    report.file_bytes = std::fs::metadata(&tmp)
        .map_err(|e| Error::io(out, e))?
        .len();
    sidecar::write(&tmp, &staging_sidecar(&tmp), out, lon_lat)?;
    Ok(report)
}

/// The sidecar's staged path: `OUT.emb.json` beside the staged `OUT.emb`.
fn staging_sidecar(tmp: &Path) -> std::path::PathBuf {
    let mut s = tmp.as_os_str().to_owned();
    s.push(".json");
    s.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoembed_codec::SampleType;

    #[test]
    fn thin_rasters_get_long_tiles_of_about_a_square_tiles_pixels() {
        // Eight bands: 256-pixel tiles.
        let shape = |w, h| default_tile_shape(&Header::new(w, h, 8, SampleType::F32));
        assert_eq!(shape(1024, 768), (256, 256));
        // No sliver: 800 rows are three tiles of 267, not 3 x 256 + 32.
        assert_eq!(shape(1000, 800), (256, 267));
        assert_eq!(shape(232_630, 1), (65_536, 1));
        assert_eq!(shape(3, 100_000), (3, 21_846));
        assert_eq!(shape(300, 10), (300, 10), "no longer than the raster");
        assert_eq!(
            shape(100, 100),
            (256, 256),
            "small rasters: one tile as before"
        );
        assert_eq!(shape(300, 300), (300, 300), "one tile, not 256 + 44");
        assert_eq!(shape(600, 383), (300, 383));
    }

    #[test]
    fn rasters_of_few_bands_get_512_pixel_tiles() {
        let shape = |w, h, bands| default_tile_shape(&Header::new(w, h, bands, SampleType::I16));
        assert_eq!(shape(10_240, 10_240, 1), (512, 512));
        assert_eq!(shape(10_240, 10_240, 7), (512, 512));
        assert_eq!(shape(10_240, 10_240, 8), (256, 256));
        // An SRTM tile: 1201 = 2 x 601 rather than 2 x 512 + 177.
        assert_eq!(shape(1201, 1201, 1), (601, 601));
        assert_eq!(shape(600, 600, 3), (600, 600), "one tile, not 512 + 88");
        assert_eq!(
            shape(300_000, 2, 1),
            (131_072, 2),
            "thin: a 512² tile's pixels"
        );
        let wide = |w, h| default_tile_shape(&Header::new(w, h, 600, SampleType::F32));
        // 600 float bands: 128-pixel tiles (under 128 MiB decoded), 150 without the sliver.
        assert_eq!(wide(300, 300), (150, 150));
    }
}
