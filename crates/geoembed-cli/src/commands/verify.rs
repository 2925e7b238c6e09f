//! `geoembed verify FILE`: every tile decoded and every checksum checked; each bad tile is
//! named on its own line, then one error line counts them.

use crate::args::VerifyArgs;
use crate::progress_bar::TileProgressBar;
use geoembed::verify::verify_file_with_limits;
use geoembed::{Error, ErrorKind, Limits, Result};
use std::process::ExitCode;

pub fn run(a: &VerifyArgs, quiet: bool, limits: &Limits) -> Result<ExitCode> {
    let report = verify_file_with_limits(&a.file, &TileProgressBar::new(quiet), limits)?;
    if report.is_ok() {
        if !quiet {
            println!(
                "{}: OK, {} tiles decoded and all checksums match",
                a.file.display(),
                report.tiles
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    for b in &report.bad_tiles {
        eprintln!("{}: {b}", a.file.display());
    }
    let count = format!(
        "{} of {} tiles are corrupt",
        report.bad_tiles.len(),
        report.tiles
    );
    Err(Error::new(ErrorKind::Codec(geoembed_codec::ErrorKind::Checksum), count).at(&a.file))
}
