//! `geoembed bench --lossy FILE...`: a LOSSY rate-distortion table per raster. The lossless
//! `auto` file first (the size every row is compared with), then the `klt` transform at
//! each `--rel-rmse-levels` target, near-lossless coding at each `--max-error-levels`
//! bound and the transform refined to a bound at each `--refined-levels` pair, through the library's own lossy encoder (`encode_stream` with the options
//! `convert --rel-rmse` / `--max-error` set). Each row: size, bits per value, size over the
//! lossless size, the error reached and encode/decode MB/s (MB = 10^6 bytes of the source's
//! raw samples, median wall time, one thread unless `--threads`).
//!
//! The error columns are measured on the decoded file against the source, over the values
//! each stands for (a GeoTessera tile's `q × scale`), by [`geoembed::measure_fidelity`]:
//! the codec crate's measurement, the one a `klt` file's `loss` chunk records and `info`
//! reports. A level a raster cannot take (klt on one band, a refined transform on codes
//! with their scales) is a row that says why.

use super::bench::{decode_with_header, load, pool, scales_for, tables_shown, timed, write_json};
use crate::args::BenchArgs;
use geoembed::{
    encode_stream, measure_fidelity, EncodeOptions, EncodeReport, MemSource, NoProgress, Result,
    TileSize,
};
use geoembed_codec::{Header, TransformAchieved};
use serde_json::{json, Value};
use std::io::Cursor;
use std::process::ExitCode;

/// One lossy setting to measure.
#[derive(Clone, Copy, Debug)]
enum Level {
    /// Lossless `auto`: the reference size.
    Lossless,
    /// The `klt` transform at a relative RMSE target.
    Klt(f64),
    /// Near-lossless with one bound for every band.
    NearLossless(f64),
    /// The `klt` transform at a target, refined so that every sample is within a bound.
    Refined(f64, f64),
}

impl Level {
    fn mode(self) -> &'static str {
        match self {
            Level::Lossless => "lossless",
            Level::Klt(_) => "klt",
            Level::NearLossless(_) => "near-lossless",
            Level::Refined(..) => "klt+bound",
        }
    }

    fn target(self) -> Option<f64> {
        match self {
            Level::Lossless => None,
            Level::Klt(r) | Level::Refined(r, _) => Some(r),
            Level::NearLossless(e) => Some(e),
        }
    }

    /// The bound of near-lossless and refined rows.
    fn bound(self) -> Option<f64> {
        match self {
            Level::NearLossless(e) | Level::Refined(_, e) => Some(e),
            _ => None,
        }
    }

    /// `rel-RMSE 5%`, `E=2`, `auto`.
    fn label(self) -> String {
        match self {
            Level::Lossless => "auto (exact)".into(),
            Level::Klt(r) => format!("rel-RMSE {}%", round_percent(r)),
            Level::NearLossless(e) => format!("E={e}"),
            Level::Refined(r, e) => format!("rel-RMSE {}% + E={e}", round_percent(r)),
        }
    }

    fn options(self, tile: Option<TileSize>) -> EncodeOptions {
        let base = EncodeOptions {
            tile,
            ..EncodeOptions::default()
        };
        match self {
            Level::Lossless => base,
            Level::Klt(r) => EncodeOptions {
                rel_rmse: Some(r),
                ..base
            },
            Level::NearLossless(e) => EncodeOptions {
                max_error: vec![e],
                ..base
            },
            Level::Refined(r, e) => EncodeOptions {
                rel_rmse: Some(r),
                max_error: vec![e],
                ..base
            },
        }
    }
}

/// `r` as a percentage without binary noise (0.025 -> 2.5).
fn round_percent(r: f64) -> f64 {
    (r * 100.0 * 1e9).round() / 1e9
}

/// What one level measured.
struct Measured {
    bytes: u64,
    enc_s: f64,
    dec_s: f64,
    figures: TransformAchieved,
    /// Near-lossless: the largest error the file records, in the samples' units (the
    /// bound's units: int8 codes for a GeoTessera tile).
    recorded_max_error: Option<f64>,
    tiles: String,
}

struct Row {
    level: Level,
    /// `Err`: why the raster cannot take this level.
    outcome: std::result::Result<Measured, String>,
}

/// The levels `--rel-rmse-levels` and `--max-error-levels` name, checked before any work.
fn levels(a: &BenchArgs) -> Result<Vec<Level>> {
    let mut v = vec![Level::Lossless];
    let items = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect()
    };
    let target = |r: &str, flag: &str| -> Result<f64> {
        let r = geoembed::parse_rel_rmse(r)
            .map_err(|e| e.label_option(|_, v| format!("{flag} {v}")))?;
        geoembed_codec::check_klt_request(geoembed_codec::codec::KLT_MIN_BANDS, r).map_err(
            |e| {
                geoembed::Error::new(
                    geoembed::ErrorKind::Other,
                    format!("{flag} {r}: {}", e.message()),
                )
            },
        )?;
        Ok(r)
    };
    let bound = |e: &str, flag: &str| -> Result<f64> {
        let bound = geoembed::parse_max_error(e)
            .map_err(|err| err.label_option(|_, v| format!("{flag} {v}")))?;
        Ok(bound[0])
    };
    for r in items(&a.rel_rmse_levels) {
        v.push(Level::Klt(target(&r, "--rel-rmse-levels")?));
    }
    for e in items(&a.max_error_levels) {
        v.push(Level::NearLossless(bound(&e, "--max-error-levels")?));
    }
    for pair in items(&a.refined_levels) {
        let flag = "--refined-levels";
        let Some((r, e)) = pair.split_once(':') else {
            return Err(geoembed::Error::new(
                geoembed::ErrorKind::Other,
                format!("{flag} {pair}: give a target and a bound as R:E (5%:2)"),
            ));
        };
        v.push(Level::Refined(target(r, flag)?, bound(e, flag)?));
    }
    Ok(v)
}

pub fn run(a: &BenchArgs, quiet: bool, threads: Option<usize>) -> Result<ExitCode> {
    let tile: Option<TileSize> = a.tile.as_deref().map(str::parse).transpose()?;
    let levels = levels(a)?;
    let scales = scales_for(a)?;
    let threads = threads.filter(|&n| n > 0).unwrap_or(1);
    let pool = pool(threads)?;
    let mut results = Vec::new();
    for name in &a.files {
        let mut src = load(name, scales, true)?;
        let mut rows = Vec::new();
        for &level in &levels {
            if !quiet {
                eprintln!(
                    "bench --lossy: {name}: {} {} ...",
                    level.mode(),
                    level.label()
                );
            }
            let opts = level.options(tile);
            let outcome = match opts.validate(&src.header) {
                Err(e) => Err(e.message().to_string()),
                Ok(()) => Ok(pool.install(|| measure(&mut src, &opts, a.reps))?),
            };
            rows.push(Row { level, outcome });
        }
        if tables_shown(a) {
            print_table(name, &src, &rows, threads);
        }
        results.push(file_json(name, &src, tile, &rows));
    }
    if let Some(p) = &a.json {
        let doc = json!({
            "tool": "geoembed bench --lossy", "version": env!("CARGO_PKG_VERSION"),
            "lossy": true, "threads": threads, "results": results,
        });
        write_json(p, &doc)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Encodes `src` with `opts`, decodes it, times both and measures the decoded values.
fn measure(src: &mut MemSource, opts: &EncodeOptions, reps: usize) -> Result<Measured> {
    let ((file, report), enc_s) = timed(reps, || {
        encode_stream(src, Cursor::new(Vec::new()), opts, &NoProgress)
    })?;
    let file = file.into_inner();
    let ((header, strips), dec_s) = timed(reps, || decode_with_header(&file))?;
    let planes: Vec<Vec<u8>> = strips.into_iter().map(|p| p.concat()).collect();
    let figures = measure_fidelity((&src.header, &src.planes), (&header, &planes))?;
    Ok(Measured {
        bytes: file.len() as u64,
        enc_s,
        dec_s,
        figures,
        recorded_max_error: recorded_max_error(&report),
        tiles: tiles(&report),
    })
}

/// The largest per-band error a near-lossless file records.
fn recorded_max_error(r: &EncodeReport) -> Option<f64> {
    let n = r.near_lossless.as_ref()?;
    Some(n.achieved.iter().flatten().fold(0.0, |m: f64, &e| m.max(e)))
}

fn tiles(r: &EncodeReport) -> String {
    let codecs: Vec<String> = r.codecs.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    codecs.join(" ")
}

/// Values of plane 0: what bits per value and the error columns count.
fn values(h: &Header) -> f64 {
    h.width as f64 * h.height as f64 * h.bands.len() as f64
}

/// Whether per-pixel cosines mean anything: a pixel of one band is a scalar.
fn cosines(h: &Header) -> bool {
    h.bands.len() > 1
}

fn lossless_bytes(rows: &[Row]) -> Option<u64> {
    rows.iter().find_map(|r| match (&r.level, &r.outcome) {
        (Level::Lossless, Ok(m)) => Some(m.bytes),
        _ => None,
    })
}

fn file_json(name: &str, src: &MemSource, tile: Option<TileSize>, rows: &[Row]) -> Value {
    let h = &src.header;
    let raw = src.raw_bytes() as f64;
    let lossless = lossless_bytes(rows);
    json!({
        "file": name, "width": h.width, "height": h.height, "bands": h.bands.len(),
        "data_type": h.sample_type.name(), "dequantized": h.dequantization.is_some(),
        "raw_bytes": raw, "tile": tile.map(TileSize::get), "lossless_bytes": lossless,
        "rows": rows.iter().map(|r| {
            let head = json!({
                "mode": r.level.mode(), "target": r.level.target(), "bound": r.level.bound(),
            });
            let mut row = head.as_object().cloned().unwrap_or_default();
            let rest = match &r.outcome {
                Err(why) => json!({"applicable": false, "note": why}),
                Ok(m) => json!({
                    "applicable": true, "bytes": m.bytes,
                    "bits_per_value": 8.0 * m.bytes as f64 / values(h),
                    "vs_lossless": lossless.map(|l| m.bytes as f64 / l as f64),
                    "rel_rmse": m.figures.rel_rmse, "max_abs_error": m.figures.max_abs_error,
                    "max_abs_error_samples": m.recorded_max_error,
                    "mean_cosine": cosines(h).then_some(m.figures.mean_cosine),
                    "p01_cosine": cosines(h).then_some(m.figures.p01_cosine),
                    "enc_MBps": raw / 1e6 / m.enc_s, "dec_MBps": raw / 1e6 / m.dec_s,
                    "tiles": m.tiles,
                }),
            };
            row.extend(rest.as_object().cloned().unwrap_or_default());
            Value::Object(row)
        }).collect::<Vec<_>>(),
    })
}

fn print_table(name: &str, src: &MemSource, rows: &[Row], threads: usize) {
    let h = &src.header;
    let raw = src.raw_bytes() as f64;
    let scaled = h.dequantization.is_some();
    println!(
        "### LOSSY rate-distortion: {name}: {}x{}x{} {}{} ({:.3} MB raw)\n",
        h.width,
        h.height,
        h.bands.len(),
        h.sample_type,
        if scaled {
            " codes x per-pixel scales"
        } else {
            ""
        },
        raw / 1e6
    );
    println!(
        "Every row but the first is LOSSY (not bit-exact). Errors: the decoded values against \
         the source's{}, measured as `geoembed info` reports them (cosines: of each pixel's band vector, not for \
         one band); size / lossless: bytes over \
         the lossless auto file's; bits/value: over the {} values of the bands; MB/s: raw MB of \
         the source per second, {threads} thread{}, median.\n",
        if scaled {
            " (q x scale; near-lossless bounds E and \"codes\" are in int8 codes)"
        } else {
            ""
        },
        values(h),
        if threads == 1 { "" } else { "s" },
    );
    println!(
        "| mode | target | bytes | bits/value | size / lossless | rel-RMSE | max abs error | mean cosine | p01 cosine | enc MB/s | dec MB/s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let lossless = lossless_bytes(rows);
    for r in rows {
        let (mode, target) = (r.level.mode(), r.level.label());
        let m = match &r.outcome {
            Err(why) => {
                println!("| {mode} | {target} | not applicable: {why} | | | | | | | | |");
                continue;
            }
            Ok(m) => m,
        };
        let max_abs = match (scaled && r.level.bound().is_some(), m.recorded_max_error) {
            (true, Some(codes)) => format!("{:.4} (codes: {codes})", m.figures.max_abs_error),
            _ => format!("{:.4}", m.figures.max_abs_error),
        };
        let cosine = |c: f64| match cosines(h) {
            true => format!("{c:.6}"),
            false => "-".into(),
        };
        println!(
            "| {mode} | {target} | {} | {:.3} | {} | {:.5} | {max_abs} | {} | {} | {:.1} | {:.1} |",
            m.bytes,
            8.0 * m.bytes as f64 / values(h),
            lossless.map_or("-".into(), |l| format!("{:.3}", m.bytes as f64 / l as f64)),
            m.figures.rel_rmse,
            cosine(m.figures.mean_cosine),
            cosine(m.figures.p01_cosine),
            raw / 1e6 / m.enc_s,
            raw / 1e6 / m.dec_s,
        );
    }
    println!();
}
