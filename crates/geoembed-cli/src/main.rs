//! `geoembed`: convert, inspect, verify and benchmark `.emb` files. This crate only parses
//! the command line, calls the `geoembed` library and prints; errors end as one line
//! `geoembed: error: FILE: PROBLEM` and exit code 1.

mod args;
mod commands;
mod progress_bar;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread starts: Ctrl-C and SIGTERM must remove half-written outputs.
    if let Err(e) = geoembed::write::remove_staging_on_signals() {
        eprintln!("geoembed: error: {e}");
        return ExitCode::from(1);
    }
    // GDAL spells its long options with one dash (-of, -co); accept that spelling too.
    let argv = std::env::args_os().map(|a| match a.to_str() {
        Some("-of") => "--of".into(),
        Some("-co") => "--co".into(),
        _ => a,
    });
    let cli = args::Cli::parse_from(argv);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("geoembed: error: {}", commands::labelled(e));
            ExitCode::from(1)
        }
    }
}
