//! `geoembed bench` (filled in below).

use crate::cli::BenchArgs;
use crate::error::Result;
use std::process::ExitCode;

pub fn run(_a: &BenchArgs, _quiet: bool, _threads: usize) -> Result<ExitCode> {
    Err(crate::error::CliError::msg("bench: not implemented yet"))
}
