//! Source → `.emb`: reads tile rows, encodes tiles in parallel, writes them in order.

use crate::atomic::Staging;
use crate::error::{CliError, Result};
use crate::progress::Progress;
use crate::sidecar;
use crate::source::RasterSource;
use geoembed_codec::codec::auto_candidates;
use geoembed_codec::container::{encode_block, EncodedBlock, Writer};
use geoembed_codec::transform::decorrelate;
use geoembed_codec::{CodecChoice, Effort, Header};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;

#[derive(Clone, Debug)]
pub struct EncodeOptions {
    pub codec: CodecChoice,
    pub effort: Effort,
    /// Tile edge in pixels; `None` picks 256 (smaller for very wide pixels).
    pub tile: Option<u32>,
    pub quiet: bool,
}

/// What was written, for the one-line summary and tests.
#[derive(Debug, Default)]
pub struct EncodeReport {
    pub raw_bytes: u64,
    pub samples: u64,
    pub file_bytes: u64,
    pub codecs: BTreeMap<&'static str, usize>,
}

/// Bytes of raw tile data a batch may hold before it is encoded: bounds memory.
const BATCH_BYTES: usize = 256 << 20;
/// Pixels sampled to fit the decorrelation (the seed harness uses the same cap).
const FIT_PIXELS: usize = 200_000;

fn default_tile(h: &Header) -> u32 {
    let px: usize = h.bands.len() * h.sample_type.size();
    let mut t = 256u32;
    // Keep a decoded tile under 128 MiB, so that hundreds-of-bands float rasters still
    // decode tile by tile in bounded memory.
    while t > 32 && (t as usize * t as usize * px) > 128 << 20 {
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
        (t, t)
    }
}

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
fn fit_decorrelation(
    src: &mut dyn RasterSource,
) -> Result<geoembed_codec::container::header::Decorrelation> {
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
    decorrelate::fit(h.sample_type, h.bands.len(), &sample)
        .map_err(|e| CliError::msg(format!("decorrelation fit: {e}")))
}

/// Cuts tile `tx` out of a strip of `rows` full-width rows.
fn cut_tile(strip: &[u8], width: usize, px: usize, x0: usize, tw: usize, rows: usize) -> Vec<u8> {
    let mut t = Vec::with_capacity(tw * rows * px);
    for r in 0..rows {
        let start = (r * width + x0) * px;
        t.extend_from_slice(&strip[start..start + tw * px]);
    }
    t
}

/// Encodes `src` into `sink` (any `Write + Seek`: a file, or memory for benchmarks).
pub fn encode_stream<W: Write + Seek>(
    src: &mut dyn RasterSource,
    sink: W,
    o: &EncodeOptions,
) -> Result<(W, EncodeReport)> {
    let mut header = src.header().clone();
    let (tw, th) = match o.tile {
        Some(t) => (t, t),
        None => default_tile_shape(&header),
    };
    header.tile_width = tw;
    header.tile_height = th;
    if let CodecChoice::Fixed(id) = o.codec {
        if let Some(why) = id.unsupported_reason(header.sample_type) {
            return Err(CliError::msg(format!("--codec {id}: {why}")));
        }
        if id.needs_decorrelation() && header.bands.len() < 2 {
            return Err(CliError::msg(format!(
                "--codec {id} needs at least two bands"
            )));
        }
    }
    header.info.push((
        "software".into(),
        format!("geoembed {}", env!("CARGO_PKG_VERSION")),
    ));
    if wants_decorrelation(&header, o) {
        header.decorrelation = Some(fit_decorrelation(src)?);
    }
    let mut writer = Writer::new(sink, header.clone()).map_err(|e| CliError::msg(e.to_string()))?;
    let mut report = EncodeReport::default();
    let progress = Progress::new(header.block_count(), "encoding", o.quiet);
    for plane in 0..header.plane_count() {
        let (ty, bands) = header
            .plane_layout(plane)
            .map_err(|e| CliError::msg(e.to_string()))?;
        let px = bands * ty.size();
        let width = header.width as usize;
        let strip_bytes = width * th as usize * px;
        let strips_per_batch = (BATCH_BYTES / strip_bytes.max(1)).max(1);
        let mut ty0 = 0;
        while ty0 < header.tiles_down() {
            let ty1 = (ty0 + strips_per_batch as u32).min(header.tiles_down());
            let mut jobs: Vec<(u32, u32, Vec<u8>)> = Vec::new();
            for tyi in ty0..ty1 {
                let (_, y0, _, rows) = header.tile_rect(0, tyi);
                let mut strip = vec![0u8; width * rows as usize * px];
                src.read_rows(plane, y0, rows, &mut strip)?;
                for tx in 0..header.tiles_across() {
                    let (x0, _, tw, _) = header.tile_rect(tx, tyi);
                    jobs.push((
                        tx,
                        tyi,
                        cut_tile(&strip, width, px, x0 as usize, tw as usize, rows as usize),
                    ));
                }
            }
            let encoded: Vec<Result<EncodedBlock>> = jobs
                .par_iter()
                .map(|(tx, tyi, data)| {
                    let r = encode_block(&header, plane, *tx, *tyi, data, o.codec, o.effort)
                        .map_err(|e| CliError::msg(e.to_string()));
                    progress.inc();
                    r
                })
                .collect();
            for ((tx, tyi, data), block) in jobs.iter().zip(encoded) {
                let block = block?;
                *report.codecs.entry(block.codec.name()).or_default() += 1;
                report.raw_bytes += data.len() as u64;
                report.samples += (data.len() / ty.size()) as u64;
                writer
                    .write_block(plane, *tx, *tyi, &block)
                    .map_err(|e| CliError::msg(e.to_string()))?;
            }
            ty0 = ty1;
        }
    }
    progress.finish();
    let sink = writer.finish().map_err(|e| CliError::msg(e.to_string()))?;
    Ok((sink, report))
}

/// Encodes `src` to the `.emb` file `out` (and its JSON sidecar), atomically.
pub fn encode_to_emb(
    src: &mut dyn RasterSource,
    out: &Path,
    o: &EncodeOptions,
) -> Result<EncodeReport> {
    let staging = Staging::new(out)?;
    let tmp = staging.path();
    let file = std::fs::File::create(&tmp).map_err(|e| CliError::io(out, e))?;
    let (buf, mut report) = encode_stream(src, BufWriter::with_capacity(1 << 20, file), o)
        .map_err(|e| CliError::file(out, e))?;
    let file = buf
        .into_inner()
        .map_err(|e| CliError::io(out, e.into_error()))?;
    file.sync_all().map_err(|e| CliError::io(out, e))?;
    drop(file);
    report.file_bytes = std::fs::metadata(&tmp)
        .map_err(|e| CliError::io(out, e))?
        .len();
    sidecar::write(&tmp, &staging_sidecar(&tmp), out)?;
    staging.commit()?;
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
        let shape = |w, h| default_tile_shape(&Header::new(w, h, 4, SampleType::F32));
        assert_eq!(shape(1000, 800), (256, 256));
        assert_eq!(shape(232_630, 1), (65_536, 1));
        assert_eq!(shape(3, 100_000), (3, 21_846));
        assert_eq!(shape(300, 10), (300, 10), "no longer than the raster");
        assert_eq!(
            shape(100, 100),
            (256, 256),
            "small rasters: one tile as before"
        );
    }
}
