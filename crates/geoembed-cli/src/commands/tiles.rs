//! `geoembed tiles IN OUTDIR`: an XYZ pyramid of PNG tiles in Web Mercator; prints the
//! URI that adds it to QGIS as an XYZ layer.

use crate::args::TilesArgs;
use crate::progress_bar::TileProgressBar;
use geoembed::read::open_raster_with_limits;
use geoembed::read::view::render;
use geoembed::write::check_overwrite;
use geoembed::write::xyz::{write_pyramid, ZoomRange};
use geoembed::{Limits, Result};
use std::process::ExitCode;

pub fn run(a: &TilesArgs, quiet: bool, limits: &Limits) -> Result<ExitCode> {
    let input = &a.view.input;
    check_overwrite(&a.outdir, a.overwrite)?;
    let kind = a.view.kind()?;
    let zoom: Option<ZoomRange> = a.zoom.as_deref().map(str::parse).transpose()?;
    let v = render(
        open_raster_with_limits(input, limits)?.as_mut(),
        input,
        &kind,
    )?;
    let progress = TileProgressBar::new(quiet);
    let pyramid = write_pyramid(&v, input, &a.outdir, zoom, a.overwrite, &progress)?;
    if !quiet {
        eprintln!(
            "{input} -> {}: {} tiles, zoom {}; red = {}, green = {}, blue = {}",
            a.outdir.display(),
            pyramid.tiles_written,
            pyramid.zoom,
            v.channels[0],
            v.channels[1],
            v.channels[2]
        );
    }
    println!("{}", pyramid.qgis_uri);
    Ok(ExitCode::SUCCESS)
}
