//! Checks a whole `.emb`: reads every payload, checks its CRC, decodes it and checks the
//! decoded samples' CRC. Reports every bad tile, not just the first.

use crate::error::{Error, Result};
use crate::progress::{Progress, Stage};
use geoembed_codec::{decode_block, Reader};
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
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r =
        Reader::open(BufReader::with_capacity(1 << 20, f)).map_err(|e| Error::codec(path, e))?;
    let h = r.header().clone();
    let stage = Stage::begin(progress, h.block_count(), "verifying");
    let mut report = VerifyReport::default();
    for plane in 0..h.plane_count() {
        for ty in 0..h.tiles_down() {
            // One tile row at a time: payloads read in file order, decoded in parallel.
            let mut row = Vec::new();
            for tx in 0..h.tiles_across() {
                match r.read_payload(plane, tx, ty) {
                    Ok(p) => row.push((tx, p)),
                    Err(e) => {
                        stage.advance(1)?;
                        report.bad_tiles.push(e.to_string())
                    }
                }
            }
            let entries = r.entries();
            let checked = stage.run_parallel(row, |(tx, payload)| {
                let e = &entries[h.block_index(plane, tx, ty) as usize];
                Ok(decode_block(&h, plane, tx, ty, e, &payload).err())
            })?;
            report
                .bad_tiles
                .extend(checked.into_iter().flatten().map(|e| e.to_string()));
            report.tiles += h.tiles_across() as u64;
        }
    }
    Ok(report)
}
