//! `geoembed`: convert, inspect, verify and benchmark `.emb` files.

use clap::Parser;
use geoembed::cli::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match geoembed::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("geoembed: error: {e}");
            ExitCode::from(1)
        }
    }
}

