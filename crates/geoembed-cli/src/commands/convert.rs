//! `geoembed convert IN OUT`: to `.emb` from any GDAL raster, a GeoTessera tile or another
//! `.emb`; from `.emb` to any GDAL format. Checks the options, calls the library, prints a
//! one-line summary.

use crate::args::ConvertArgs;
use crate::progress_bar::TileProgressBar;
use geoembed::decode::{decode_to_file, DecodeReport};
use geoembed::options::DecodeOptions;
use geoembed::read::{input_kind, open_input_with_limits, InputKind, Notice, TesseraInput};
use geoembed::write::check_output_file;
use geoembed::write::tessera::{companions, is_npy_name};
use geoembed::{encode_to_emb, EncodeOptions, EncodeReport, Error, ErrorKind, Limits, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// A mistake in how the command line combines options.
fn usage(message: &str) -> Error {
    Error::new(ErrorKind::Other, message)
}

fn is_emb_name(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("emb"))
}

/// The encoder's options as typed on the command line.
pub fn encode_options(a: &ConvertArgs) -> Result<EncodeOptions> {
    let (rel_rmse, quality) =
        geoembed::parse_transform_target(a.rel_rmse.as_deref(), a.quality.as_deref())?;
    Ok(EncodeOptions {
        codec: geoembed::parse_codec(&a.codec)?,
        effort: geoembed::parse_effort(&a.effort)?,
        tile: a.tile.as_deref().map(str::parse).transpose()?,
        overwrite: a.overwrite,
        batch_bytes: geoembed::parse_batch_memory(&a.batch_memory)?,
        recipe: a
            .recipe
            .as_deref()
            .map(geoembed::parse_recipe)
            .transpose()?,
        max_error: a
            .max_error
            .as_deref()
            .map(geoembed::parse_max_error)
            .transpose()?
            .unwrap_or_default(),
        rel_rmse,
        quality,
    })
}

pub fn run(a: &ConvertArgs, quiet: bool, threads: usize, limits: &Limits) -> Result<ExitCode> {
    if a.input == a.output.to_string_lossy() {
        return Err(Error::unsupported(
            &a.output,
            "input and output are the same file",
        ));
    }
    let tessera_flags = a.scales.is_some() || a.georef.is_some();
    let kind = input_kind(&a.input);
    if tessera_flags && kind != InputKind::Npy {
        return Err(usage(
            "--scales and --georef apply to GeoTessera .npy input only",
        ));
    }
    check_output_file(&a.output, a.overwrite)?;
    let batch_bytes = geoembed::parse_batch_memory(&a.batch_memory)?;
    if is_emb_name(&a.output) {
        if a.dequantize || a.format.is_some() || !a.creation_options.is_empty() || a.allow_lossy {
            return Err(usage(
                "--dequantize, -of, -co and --allow-lossy apply when converting a .emb to another format",
            ));
        }
        to_emb(a, kind, quiet, limits)?;
    } else {
        let lossy = a.max_error.is_some() || a.rel_rmse.is_some() || a.quality.is_some();
        if a.recipe.is_some() || lossy {
            return Err(usage(
                "--recipe, --quality, --max-error and --rel-rmse apply when converting to a .emb",
            ));
        }
        let o = DecodeOptions {
            format: a.format.clone(),
            creation_options: a.creation_options.clone(),
            dequantize: a.dequantize,
            threads,
            allow_lossy: a.allow_lossy,
            overwrite: a.overwrite,
            batch_bytes,
            limits: *limits,
        };
        from_emb(a, kind, quiet, &o)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn to_emb(a: &ConvertArgs, kind: InputKind, quiet: bool, limits: &Limits) -> Result<()> {
    let opts = encode_options(a)?;
    if kind == InputKind::Npy && a.scales.is_none() {
        return Err(Error::unsupported(
            &a.input,
            "a GeoTessera .npy tile needs its scales: add --scales TILE_scales.npy (and --georef LANDMASK.tif)",
        ));
    }
    let tessera = TesseraInput {
        scales: a.scales.as_deref(),
        landmask: a.georef.as_deref(),
    };
    let mut input = open_input_with_limits(&a.input, tessera, limits)?;
    if !quiet {
        for notice in &input.notices {
            print_notice(a, notice);
        }
    }
    let t0 = Instant::now();
    let report = encode_to_emb(
        input.source.as_mut(),
        &a.output,
        &opts,
        &TileProgressBar::new(quiet),
    )?;
    if !quiet {
        eprintln!("{}", summary(a, &report, t0.elapsed().as_secs_f64()));
    }
    Ok(())
}

fn print_notice(a: &ConvertArgs, notice: &Notice) {
    match notice {
        Notice::NoGeoreference => eprintln!(
            "geoembed: warning: no --georef given; {} will have no CRS or geotransform",
            a.output.display()
        ),
        other => eprintln!("geoembed: note: {} has {other}", a.input),
    }
}

/// `IN -> OUT: RAW -> FILE bytes (ratio, bits/sample) in T s; tiles codec:n ...`
fn summary(a: &ConvertArgs, r: &EncodeReport, seconds: f64) -> String {
    let codecs: Vec<String> = r.codecs.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!(
        "{} -> {}: {} -> {} bytes (ratio {:.3}, {:.3} bits/sample) in {seconds:.2} s; tiles {}; {}",
        a.input,
        a.output.display(),
        r.raw_bytes,
        r.file_bytes,
        r.raw_bytes as f64 / r.file_bytes as f64,
        8.0 * r.file_bytes as f64 / r.samples as f64,
        codecs.join(" "),
        compression(r)
    )
}

/// `lossless`, `LOSSY near-lossless` with the bound and the largest error per band, or
/// `LOSSY transform` with its figures (and the bound its tiles were refined to).
fn compression(r: &EncodeReport) -> String {
    let bound = r.near_lossless.as_ref().map(bound_summary);
    match (&r.transform, bound) {
        (Some(t), Some(bound)) => format!("{}; refined to {bound}", transform_summary(t)),
        (Some(t), None) => transform_summary(t),
        (None, Some(bound)) => format!("LOSSY near-lossless: {bound}"),
        (None, None) => "lossless".into(),
    }
}

/// `max abs error E per band, achieved A`: one number when every band has it, else the list.
fn bound_summary(n: &geoembed_codec::NearLossless) -> String {
    let list = |values: Vec<f64>| match values.iter().all(|&v| v == values[0]) {
        true => values[0].to_string(),
        false => {
            let text: Vec<String> = values.iter().map(f64::to_string).collect();
            text.join(",")
        }
    };
    let achieved = n.achieved.iter().map(|a| a.unwrap_or(0.0)).collect();
    format!(
        "max abs error {} per band, achieved {}",
        list(n.max_error.clone()),
        list(achieved)
    )
}

fn from_emb(a: &ConvertArgs, kind: InputKind, quiet: bool, o: &DecodeOptions) -> Result<()> {
    let input = Path::new(&a.input);
    if kind != InputKind::Emb {
        if !input.exists() && geoembed::read::gdal::is_plain_path(&a.input) {
            let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
            return Err(Error::io(input, missing));
        }
        return Err(Error::unsupported(
            input,
            "is not a .emb file; to write .emb give the output a .emb extension (for other conversions use gdal_translate)",
        ));
    }
    if a.format.is_none() && is_npy_name(&a.output) {
        // GeoTessera's layout: the scales and landmask beside the array.
        for companion in companions(&a.output) {
            check_output_file(&companion, a.overwrite)?;
        }
    }
    let t0 = Instant::now();
    let report = decode_to_file(input, &a.output, o, &TileProgressBar::new(quiet))?;
    if !quiet {
        if a.allow_lossy {
            warn_if_lossy(a);
        }
        eprintln!("{}", decode_summary(a, &report, t0.elapsed().as_secs_f64()));
    }
    Ok(())
}

/// Says so when --allow-lossy let a lossy format through.
fn warn_if_lossy(a: &ConvertArgs) {
    let driver = geoembed::write::gdal::output_driver(&a.output, a.format.as_deref());
    if let Some(why) = driver
        .ok()
        .and_then(|d| geoembed::write::gdal::lossy_reason(&d, &a.creation_options))
    {
        eprintln!("geoembed: warning: {}: {why}", a.output.display());
    }
}

/// `IN -> OUT: FILE -> OUT bytes (RAW raw) in T s`, naming companion files.
fn decode_summary(a: &ConvertArgs, r: &DecodeReport, seconds: f64) -> String {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let written: u64 = r.outputs.iter().map(|p| size(p)).sum();
    let also: Vec<String> = r.outputs[1..]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    format!(
        "{} -> {}: {} -> {} bytes ({} bytes of samples) in {seconds:.2} s{}",
        a.input,
        a.output.display(),
        size(Path::new(&a.input)),
        written,
        r.raw_bytes,
        if also.is_empty() {
            String::new()
        } else {
            format!("; also wrote {}", also.join(", "))
        }
    )
}

/// `LOSSY transform`: the target and what was achieved over the raster.
fn transform_summary(t: &geoembed_codec::TransformLoss) -> String {
    let target = format!("LOSSY transform: target rel-RMSE {}", t.target_rel_rmse);
    match t.achieved {
        Some(a) => format!(
            "{target}, achieved {:.5} (max abs error {:.6}, mean cosine {:.6}, 1st percentile {:.6})",
            a.rel_rmse, a.max_abs_error, a.mean_cosine, a.p01_cosine
        ),
        None => target,
    }
}
