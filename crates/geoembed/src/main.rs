//! `geoembed`: convert, inspect, verify and benchmark `.emb` files.

use clap::Parser;
use geoembed::cli::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    // GDAL spells its long options with one dash (-of, -co); accept that spelling too.
    let args = std::env::args_os().map(|a| match a.to_str() {
        Some("-of") => "--of".into(),
        Some("-co") => "--co".into(),
        _ => a,
    });
    let cli = Cli::parse_from(args);
    match geoembed::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("geoembed: error: {e}");
            ExitCode::from(1)
        }
    }
}
