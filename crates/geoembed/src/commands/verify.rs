//! `geoembed verify FILE`: reads every payload, checks its CRC, decodes it and checks the
//! decoded samples' CRC. Reports every bad tile, not just the first.

use crate::cli::VerifyArgs;
use crate::error::{CliError, Result};
use crate::progress::Progress;
use geoembed_codec::container::reader::decode_block;
use geoembed_codec::container::Reader;
use rayon::prelude::*;
use std::io::BufReader;
use std::process::ExitCode;

pub fn run(a: &VerifyArgs, quiet: bool) -> Result<ExitCode> {
    let f = std::fs::File::open(&a.file).map_err(|e| CliError::io(&a.file, e))?;
    let mut r = Reader::open(BufReader::with_capacity(1 << 20, f))
        .map_err(|e| CliError::codec(&a.file, e))?;
    let h = r.header().clone();
    let progress = Progress::new(h.block_count(), "verifying", quiet);
    let mut bad = Vec::new();
    let mut blocks = 0u64;
    for plane in 0..h.plane_count() {
        for ty in 0..h.tiles_down() {
            // One tile row at a time: payloads read in file order, decoded in parallel.
            let mut row = Vec::new();
            for tx in 0..h.tiles_across() {
                match r.read_payload(plane, tx, ty) {
                    Ok(p) => row.push((tx, p)),
                    Err(e) => {
                        progress.inc();
                        bad.push(e.to_string())
                    }
                }
            }
            let entries = r.entries();
            let errs: Vec<String> = row
                .par_iter()
                .filter_map(|(tx, p)| {
                    let e = &entries[h.block_index(plane, *tx, ty) as usize];
                    let res = decode_block(&h, plane, *tx, ty, e, p);
                    progress.inc();
                    res.err().map(|err| err.to_string())
                })
                .collect();
            bad.extend(errs);
            blocks += h.tiles_across() as u64;
        }
    }
    progress.finish();
    if bad.is_empty() {
        if !quiet {
            println!(
                "{}: OK, {blocks} tiles decoded and all checksums match",
                a.file.display()
            );
        }
        Ok(ExitCode::SUCCESS)
    } else {
        for b in &bad {
            eprintln!("{}: {b}", a.file.display());
        }
        Err(CliError::file(
            &a.file,
            format!("{} of {blocks} tiles are corrupt", bad.len()),
        ))
    }
}
