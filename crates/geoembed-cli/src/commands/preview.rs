//! `geoembed preview IN OUT.png`: one PNG of the raster, bands or principal components,
//! robustly stretched, nodata transparent.

use crate::args::PreviewArgs;
use geoembed::read::open_raster_with_limits;
use geoembed::read::view::render;
use geoembed::write::rgba::{mem_rgba, write_png};
use geoembed::write::{check_overwrite, Staging};
use geoembed::{Limits, Result};
use std::process::ExitCode;

pub fn run(a: &PreviewArgs, quiet: bool, limits: &Limits) -> Result<ExitCode> {
    let (input, out) = (&a.view.input, &a.output);
    check_overwrite(out, a.overwrite)?;
    let kind = a.view.kind()?;
    let v = render(
        open_raster_with_limits(input, limits)?.as_mut(),
        input,
        &kind,
    )?
    .shrink_to(a.size);
    let staging = Staging::new(out, a.overwrite)?;
    let ds = mem_rgba(v.width, v.height, &v.rgba, None)?;
    write_png(&ds, &staging.path())?;
    staging.commit()?;
    if !quiet {
        eprintln!(
            "{input} -> {}: {} x {} px; red = {}, green = {}, blue = {}",
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
