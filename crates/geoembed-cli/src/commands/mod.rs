//! The subcommands, and what they share: the worker pool, GDAL's warnings on stderr, and
//! the command line's names for the library's options.

mod bench;
mod bench_lossy;
mod convert;
mod info;
mod info_json;
mod preview;
mod tiles;
mod verify;

use crate::args::{Cli, Command};
use geoembed::{Error, ErrorKind, OptionKey, Result};
use std::process::ExitCode;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let limits = geoembed::parse_limits(&cli.limits)?;
    let threads = cli.threads.unwrap_or(0);
    // One pool for the whole run: tile encoding and decoding use it; 0 = all cores.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| {
            Error::new(
                ErrorKind::Other,
                format!("cannot start worker threads: {e}"),
            )
        })?;
    let threads = rayon::current_num_threads();
    let quiet = cli.quiet;
    geoembed::gdal::install_error_handler(Box::new(move |warning| {
        if !quiet {
            eprintln!(
                "geoembed: GDAL warning: {}",
                geoembed::error::bounded(warning)
            );
        }
    }));
    match cli.command {
        Command::Convert(a) => convert::run(&a, quiet, threads, &limits),
        Command::Info(a) => info::run(&a, &limits),
        Command::Verify(a) => verify::run(&a, quiet, &limits),
        Command::Bench(a) => bench::run(&a, quiet, cli.threads),
        Command::Preview(a) => preview::run(&a, quiet, &limits),
        Command::Tiles(a) => tiles::run(&a, quiet, &limits),
    }
}

/// The error with the library's options named as on this command line (`--codec zip`),
/// and how to ask for an overwrite.
pub fn labelled(e: Error) -> Error {
    let limit = ErrorKind::Codec(geoembed_codec::ErrorKind::LimitExceeded);
    let e = match e.kind() {
        ErrorKind::Io(std::io::ErrorKind::AlreadyExists) => {
            e.with_hint(" (use --overwrite to replace it)")
        }
        ErrorKind::InvalidOption(OptionKey::LossyOutput) => {
            e.with_hint("; add --allow-lossy to write it anyway")
        }
        kind if kind == limit && e.message().contains("exceeds") => {
            e.with_hint(" (if the file is trusted, raise it with --limit KEY=VALUE)")
        }
        _ => e,
    };
    e.label_option(|key, value| {
        let flag = match key {
            OptionKey::Codec => "--codec",
            OptionKey::Effort => "--effort",
            OptionKey::TileSize => "--tile",
            OptionKey::Format => "-of",
            OptionKey::CreationOption => "-co",
            OptionKey::Dequantize => "--dequantize",
            OptionKey::Bands => "--bands",
            OptionKey::Zoom => "--zoom",
            OptionKey::LossyOutput => "format",
            OptionKey::Limit => "--limit",
            OptionKey::BatchMemory => "--batch-memory",
            OptionKey::MaxError => "--max-error",
            OptionKey::RelRmse => "--rel-rmse",
            OptionKey::Quality => "--quality",
            _ => key.name(),
        };
        if value.is_empty() {
            flag.to_string()
        } else {
            format!("{flag} {value}")
        }
    })
}
