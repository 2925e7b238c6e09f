//! `geoembed preview IN OUT.png`: one PNG of the raster, bands or principal components,
//! robustly stretched, nodata transparent.

use crate::atomic::{check_overwrite, Staging};
use crate::cli::ViewArgs;
use crate::error::Result;
use crate::rgba_dataset::{mem_rgba, write_png};
use crate::view::render;
use std::path::Path;
use std::process::ExitCode;

pub fn run(
    a: &ViewArgs,
    out: &Path,
    size: usize,
    overwrite: bool,
    quiet: bool,
) -> Result<ExitCode> {
    check_overwrite(out, overwrite)?;
    let kind = a.kind()?;
    let v = render(&a.input, &kind)?.shrink_to(size);
    let staging = Staging::new(out)?;
    let ds = mem_rgba(v.width, v.height, &v.rgba, None)?;
    write_png(&ds, &staging.path())?;
    staging.commit()?;
    if !quiet {
        eprintln!(
            "{} -> {}: {} x {} px; red = {}, green = {}, blue = {}",
            a.input,
            out.display(),
            v.width,
            v.height,
            v.channels[0],
            v.channels[1],
            v.channels[2]
        );
    }
    Ok(ExitCode::SUCCESS)
}
