//! `geoembed`: convert, inspect, verify and benchmark `.emb` files. This crate only parses
//! the command line, calls the `geoembed` library and prints; errors end as one line
//! `geoembed: error: FILE: PROBLEM` and exit code 1.

mod args;
mod commands;
mod progress_bar;

use clap::Parser;
use std::process::ExitCode;

/// glibc's malloc maps every buffer of 128 KB and more afresh from the kernel (raising that
/// bound only as such buffers are freed) and hands freed memory at the top of the heap back
/// at twice it: the codecs' per-tile buffers then page-faulted in again for every tile, a
/// tenth to a third of the encode of small rasters (a real 100 x 101 x 128 Presto tile,
/// the Landlab and TopoToolbox DEMs). Buffers under 32 MB now come from the heap, which
/// keeps up to 128 MB freed: `convert`'s peak memory on the 96 MB proxy tile went 452 ->
/// 480 MB. Before any thread starts, as mallopt requires.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's thresholds; called before any other
    // thread exists, and with valid parameter numbers and values.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
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
