//! The subcommands.

mod bench;
pub mod convert;
mod info;
mod preview;
mod tiles;
mod verify;

use crate::cli::{Cli, Command};
use crate::error::{CliError, Result};
use std::process::ExitCode;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let threads = cli.threads.unwrap_or(0);
    // One pool for the whole run: tile encoding and decoding use it; 0 = all cores.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| CliError::msg(format!("cannot start worker threads: {e}")))?;
    let threads = rayon::current_num_threads();
    crate::gdal_util::install_error_handler(cli.quiet);
    match cli.command {
        Command::Convert(a) => convert::run(&a, cli.quiet, threads),
        Command::Info(a) => info::run(&a),
        Command::Verify(a) => verify::run(&a, cli.quiet),
        Command::Bench(a) => bench::run(&a, cli.quiet, threads),
        Command::Preview(a) => preview::run(&a.view, &a.output, a.size, a.overwrite, cli.quiet),
        Command::Tiles(a) => tiles::run(&a, cli.quiet),
    }
}
