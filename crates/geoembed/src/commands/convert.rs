//! `geoembed convert IN OUT`.

use crate::atomic::check_overwrite;
use crate::cli::ConvertArgs;
use crate::decode::{decode_to_gdal, DecodeOptions};
use crate::emb_file::{is_emb, EmbFile};
use crate::encode::{encode_to_emb, EncodeOptions};
use crate::error::{CliError, Result};
use crate::gdal_read::{geolocation_arrays, GdalSource};
use crate::source::RasterSource;
use crate::tessera::TesseraSource;
use geoembed_codec::{CodecChoice, Effort};
use std::path::Path;
use std::process::ExitCode;

pub fn parse_codec(s: &str) -> Result<CodecChoice> {
    s.parse()
        .map_err(|e| CliError::msg(format!("--codec {s}: {e}")))
}

pub fn parse_effort(s: &str) -> Result<Effort> {
    s.parse()
        .map_err(|e| CliError::msg(format!("--effort {s}: {e}")))
}

fn is_emb_name(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("emb"))
}

pub fn run(a: &ConvertArgs, quiet: bool, threads: usize) -> Result<ExitCode> {
    let input = Path::new(&a.input);
    let input_is_emb = input.is_file() && is_emb(input);
    if a.input == a.output.to_string_lossy() {
        return Err(CliError::file(
            &a.output,
            "input and output are the same file",
        ));
    }
    check_overwrite(&a.output, a.overwrite)?;
    if is_emb_name(&a.output) {
        if a.dequantize || a.format.is_some() || !a.creation_options.is_empty() {
            return Err(CliError::msg(
                "--dequantize, -of and -co apply when converting a .emb to another format",
            ));
        }
        let opts = EncodeOptions {
            codec: parse_codec(&a.codec)?,
            effort: parse_effort(&a.effort)?,
            tile: a.tile,
            quiet,
        };
        let mut src: Box<dyn RasterSource> = if input_is_emb {
            Box::new(EmbFile::open(input)?)
        } else if input
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
        {
            let scales = a.scales.as_deref().ok_or_else(|| {
                CliError::file(input, "a GeoTessera .npy tile needs its scales: add --scales TILE_scales.npy (and --georef LANDMASK.tif)")
            })?;
            if a.georef.is_none() && !quiet {
                eprintln!(
                    "geoembed: warning: no --georef given; {} will have no CRS or geotransform",
                    a.output.display()
                );
            }
            Box::new(TesseraSource::open(input, scales, a.georef.as_deref())?)
        } else {
            if a.scales.is_some() || a.georef.is_some() {
                return Err(CliError::msg(
                    "--scales and --georef apply to GeoTessera .npy input only",
                ));
            }
            let src = GdalSource::open(&a.input)?;
            if let (Some((x, y)), false) = (geolocation_arrays(src.header()), quiet) {
                eprintln!(
                    "geoembed: note: {} has no affine geotransform; its GEOLOCATION metadata is kept (X_DATASET={x}, Y_DATASET={y}), but the lon/lat arrays it names are not copied: they stay in the source file",
                    a.input
                );
            }
            Box::new(src)
        };
        let t0 = std::time::Instant::now();
        let r = encode_to_emb(src.as_mut(), &a.output, &opts)?;
        if !quiet {
            let codecs: Vec<String> = r.codecs.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            eprintln!(
                "{} -> {}: {} -> {} bytes (ratio {:.3}, {:.3} bits/sample) in {:.2} s; tiles {}",
                a.input,
                a.output.display(),
                r.raw_bytes,
                r.file_bytes,
                r.raw_bytes as f64 / r.file_bytes as f64,
                8.0 * r.file_bytes as f64 / r.samples as f64,
                t0.elapsed().as_secs_f64(),
                codecs.join(" ")
            );
        }
    } else {
        if !input_is_emb {
            if !input.exists() && crate::gdal_read::is_plain_path(&a.input) {
                return Err(CliError::file(input, "no such file or directory"));
            }
            return Err(CliError::file(
                input,
                "is not a .emb file; to write .emb give the output a .emb extension (for other conversions use gdal_translate)",
            ));
        }
        if a.scales.is_some() || a.georef.is_some() {
            return Err(CliError::msg(
                "--scales and --georef apply to GeoTessera .npy input only",
            ));
        }
        let o = DecodeOptions {
            format: a.format.clone(),
            creation_options: a.creation_options.clone(),
            dequantize: a.dequantize,
            threads,
            quiet,
        };
        decode_to_gdal(input, &a.output, &o)?;
    }
    Ok(ExitCode::SUCCESS)
}
