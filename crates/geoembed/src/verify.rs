//! Checks a whole `.emb`: reads every payload, checks its CRC, decodes it and checks the
//! decoded samples' CRC. Reports every bad tile, not just the first.

use crate::error::{Error, Result};
use crate::options::DEFAULT_BATCH_BYTES;
use crate::progress::{Progress, Stage};
use crate::read::emb::tiles_in_flight;
use geoembed_codec::{decode_block_payloads_into, Header, Limits, Reader};
use std::io::BufReader;
use std::path::Path;

/// The outcome of [`verify_file`].
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// Tiles (blocks of every plane) checked.
    pub tiles: u64,
    /// One message per bad tile, naming it ("tile (1, 1): payload checksum mismatch").
    pub bad_tiles: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.bad_tiles.is_empty()
    }
}

/// Verifies every tile of the `.emb` at `path`. A file whose preamble, index or header is
/// unreadable is an error; bad tiles are listed in the report.
pub fn verify_file(path: &Path, progress: &dyn Progress) -> Result<VerifyReport> {
    verify_file_with_limits(path, progress, &Limits::default())
}

/// [`verify_file`] within `limits`.
pub fn verify_file_with_limits(
    path: &Path,
    progress: &dyn Progress,
    limits: &Limits,
) -> Result<VerifyReport> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let src = BufReader::with_capacity(1 << 20, f);
    let mut r = Reader::open_with_limits(src, *limits).map_err(|e| Error::codec(path, e))?;
    let h = r.header().clone();
    let stage = Stage::begin(progress, h.block_count(), "verifying");
    let mut report = VerifyReport::default();
    for plane in 0..h.plane_count() {
        for (tx0, ty) in waves(&h, plane) {
            // A wave of one tile row: payloads read in file order, decoded in parallel.
            let wave_len = tiles_in_flight(&h, plane, DEFAULT_BATCH_BYTES).min(WAVE_TILES as usize);
            let wave = tx0..(tx0 + wave_len as u32).min(h.tiles_across());
            let mut row = Vec::new();
            for tx in wave.clone() {
                match r.read_block_payloads(plane, tx, ty) {
                    Ok(p) => row.push((tx, p)),
                    Err(e) => {
                        stage.advance(1)?;
                        report.bad_tiles.push(e.to_string())
                    }
                }
            }
            let entries = r.entries();
            let checked = stage.run_parallel(row, |(tx, payloads)| {
                let mut samples = Vec::new();
                let decoded =
                    decode_block_payloads_into(&h, entries, plane, tx, ty, &payloads, &mut samples);
                Ok(decoded.err())
            })?;
            report
                .bad_tiles
                .extend(checked.into_iter().flatten().map(|e| e.to_string()));
            report.tiles += wave.len() as u64;
        }
    }
    Ok(report)
}

/// Tiles read and decoded at once: enough for every core, few enough that a file of
/// huge payloads is never read a whole tile row at a time (fewer for huge tiles).
const WAVE_TILES: u32 = 32;

/// The first tile column and the tile row of every wave of `plane`, in file order.
fn waves(h: &Header, plane: usize) -> impl Iterator<Item = (u32, u32)> {
    let across = h.tiles_across();
    let step = tiles_in_flight(h, plane, DEFAULT_BATCH_BYTES).min(WAVE_TILES as usize);
    (0..h.tiles_down()).flat_map(move |ty| (0..across).step_by(step).map(move |tx| (tx, ty)))
}
