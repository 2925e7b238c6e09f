//! `geoembed bench FILE...`: every codec (and GDAL's GeoTIFF DEFLATE as a reference) on the
//! same in-memory raster, in one run: size, ratio, bits/sample, encode and decode MB/s
//! (MB = 10^6 bytes of raw samples, median wall time), and whether decoding is exact.

use crate::args::BenchArgs;
use geoembed::gdal as gdal_util;
use geoembed::read::{open_input, open_raster, TesseraInput};
use geoembed::write::gdal as gdal_write;
use geoembed::{
    encode_stream, EmbFile, EncodeOptions, Error, ErrorKind, MemSource, NoProgress, Result, Stage,
    TileSize,
};
use geoembed_codec::{CodecChoice, CodecId, Effort, Header};
use serde_json::{json, Value};
use std::io::Cursor;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// One thing to measure: a codec choice at an effort level.
#[derive(Clone, Debug)]
struct Method {
    label: String,
    choice: CodecChoice,
    effort: Effort,
}

/// `CODEC` or `CODEC:EFFORT`, one item of `--codecs`.
fn parse_method(s: &str) -> Result<Method> {
    let label = |e: Error| e.label_option(|_, _| format!("--codecs {s}"));
    let (name, effort) = match s.split_once(':') {
        Some((n, e)) => (n, geoembed::parse_effort(e).map_err(label)?),
        None => (s, Effort::Default),
    };
    let choice = geoembed::parse_codec(name).map_err(label)?;
    Ok(Method {
        label: s.to_string(),
        choice,
        effort,
    })
}

fn default_methods(h: &Header) -> Vec<Method> {
    let ty = h.sample_type;
    let mut v = vec!["png128"];
    let small_int = !ty.is_float() && ty.size() <= 2;
    if small_int && h.bands.len() > 1 {
        v.push("decorrelate+png128");
    }
    if small_int && cfg!(feature = "jxl") {
        v.push("jxl");
        if h.bands.len() > 1 {
            v.push("decorrelate+jxl");
        }
    }
    v.push("auto");
    v.into_iter()
        .map(|s| parse_method(s).expect("built-in names parse"))
        .collect()
}

struct Row {
    label: String,
    bytes: u64,
    enc_s: f64,
    dec_s: f64,
    dec_par_s: Option<f64>,
    exact: bool,
    note: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Times `f` `reps` times, or as many more as fill [`MIN_TIMED_SECONDS`], and returns the
/// median. The first run is a warm-up and is not counted when more runs follow: in a fresh
/// process it pays for page faults on memory the allocator has not handed out yet (the
/// first codec measured on a file decoded ~35% slower than the same codec measured after
/// it). Runs over 5 s are not repeated.
pub(super) fn timed<T>(reps: usize, mut f: impl FnMut() -> Result<T>) -> Result<(T, f64)> {
    let t0 = Instant::now();
    let first = f()?;
    let warm_up = t0.elapsed().as_secs_f64();
    if reps <= 1 || warm_up >= 5.0 {
        return Ok((first, warm_up));
    }
    let filling = (MIN_TIMED_SECONDS / warm_up.max(1e-6)).ceil() as usize;
    let reps = reps.max(filling.min(MOST_FILLING_REPS));
    let mut times = Vec::with_capacity(reps);
    while times.len() < reps {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
        if times[0] >= 5.0 {
            break;
        }
    }
    Ok((first, median(times)))
}

/// Runs of a few milliseconds (rasters under 100 KB) are repeated until they take this
/// long together: on this shared 2-core machine slow spells of tens of milliseconds made
/// the median of five such runs swing by a third.
const MIN_TIMED_SECONDS: f64 = 0.5;
/// Most runs [`MIN_TIMED_SECONDS`] adds.
const MOST_FILLING_REPS: usize = 500;

/// Decodes every plane of an in-memory `.emb` into full-width strips (what a reader gets;
/// joining them is left out of the timing).
pub(super) fn decode_all(file: &[u8]) -> Result<Vec<Vec<Vec<u8>>>> {
    Ok(decode_with_header(file)?.1)
}

/// [`decode_all`] and the file's header.
pub(super) fn decode_with_header(file: &[u8]) -> Result<(Header, Vec<Vec<Vec<u8>>>)> {
    let mut emb = EmbFile::from_reader(Cursor::new(file), Path::new("<memory>"))?;
    let h = emb.reader().header().clone();
    let silent = Stage::silent();
    let mut planes = Vec::new();
    for p in 0..h.plane_count() {
        planes.push(emb.decode_strips(p, 0, h.tiles_down(), &silent)?);
    }
    Ok((h, planes))
}

pub(super) fn pool(n: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| Error::new(ErrorKind::Other, format!("thread pool: {e}")))
}

fn run_method(
    m: &Method,
    src: &mut MemSource,
    a: &BenchArgs,
    tile: Option<TileSize>,
    pools: &Pools,
) -> Result<Row> {
    let opts = EncodeOptions {
        codec: m.choice,
        effort: m.effort,
        tile,
        ..EncodeOptions::default()
    };
    let (one, par) = (&pools.one, pools.parallel.as_ref());
    let ((file, report), enc_s) = one.install(|| {
        timed(a.reps, || {
            encode_stream(src, Cursor::new(Vec::new()), &opts, &NoProgress)
        })
    })?;
    let file = file.into_inner();
    let (planes, dec_s) = one.install(|| timed(a.reps, || decode_all(&file)))?;
    let dec_par_s = match par {
        Some(p) => Some(p.install(|| timed(a.reps, || decode_all(&file)))?.1),
        None => None,
    };
    let note = report
        .codecs
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Row {
        label: m.label.clone(),
        bytes: file.len() as u64,
        enc_s,
        dec_s,
        dec_par_s,
        exact: planes
            .iter()
            .map(|strips| strips.concat())
            .eq(src.planes.iter().cloned()),
        note,
    })
}

/// GDAL GeoTIFF with `compress` (`DEFLATE9`: the seed's baseline; `ZSTD22`) + the
/// horizontal or floating-point predictor, 512 tiles, written and read through GDAL in this
/// process: a reference measured at the same moment as the codecs beside it.
fn run_gdal(
    src: &MemSource,
    compress: &str,
    interleave: &str,
    reps: usize,
    dir: &Path,
) -> Result<Row> {
    let h = &src.header;
    let ty = h.sample_type;
    let bands = h.bands.len();
    let drv = gdal::DriverManager::get_driver_by_name("GTiff")?;
    let path = dir.join(format!("ref_{compress}_{interleave}.tif"));
    let (name, level) = match compress {
        "ZSTD22" => ("ZSTD", "ZSTD_LEVEL=22"),
        _ => ("DEFLATE", "ZLEVEL=9"),
    };
    let mut opts = vec![
        "TILED=YES".to_string(),
        "BLOCKXSIZE=512".into(),
        "BLOCKYSIZE=512".into(),
        format!("COMPRESS={name}"),
        level.into(),
        format!("PREDICTOR={}", if ty.is_float() { 3 } else { 2 }),
        format!("INTERLEAVE={interleave}"),
        "NUM_THREADS=1".into(),
        "BIGTIFF=IF_SAFER".into(),
    ];
    if ty == geoembed_codec::SampleType::I8 {
        opts.push("PIXELTYPE=SIGNEDBYTE".into());
    }
    let mut data = src.planes[0].clone();
    let (_, enc_s) = timed(reps, || {
        let _ = std::fs::remove_file(&path);
        let ds = gdal_write::create(&drv, &path, h, ty, bands, &opts)?;
        gdal_util::raster_io(
            &ds,
            true,
            ty,
            bands,
            h.width as usize,
            0..h.height as usize,
            &mut data,
        )?;
        Ok(ds.close()?)
    })?;
    let bytes = std::fs::metadata(&path)
        .map_err(|e| Error::io(&path, e))?
        .len();
    let mut out = vec![0u8; data.len()];
    let (_, dec_s) = timed(reps, || {
        let ds = geoembed::read::gdal::open_dataset(&path.to_string_lossy())?;
        gdal_util::raster_io(
            &ds,
            false,
            ty,
            bands,
            h.width as usize,
            0..h.height as usize,
            &mut out,
        )
    })?;
    let _ = std::fs::remove_file(&path);
    Ok(Row {
        label: format!(
            "gdal:GTiff {compress} PRED{} {interleave}",
            if ty.is_float() { 3 } else { 2 }
        ),
        bytes,
        enc_s,
        dec_s,
        dec_par_s: None,
        exact: out == src.planes[0],
        note: "reference (plane 0 only)".into(),
    })
}

/// Loads the samples only: like peerbench, bench compares codecs on the bare array, so
/// georeferencing and metadata are dropped (they cost the same in every .emb anyway). With
/// `scales`, `name` is a GeoTessera int8 `.npy` read as `convert --scales` reads it. With
/// `keep_nodata`, the bands keep their nodata values (lossy coding keeps them exact).
pub(super) fn load(name: &str, scales: Option<&Path>, keep_nodata: bool) -> Result<MemSource> {
    let mut source = match scales {
        Some(scales) => {
            let tessera = TesseraInput {
                scales: Some(scales),
                landmask: None,
            };
            open_input(name, tessera)?.source
        }
        None => open_raster(name)?,
    };
    let mut m = MemSource::load(source.as_mut())?;
    let h = &m.header;
    let mut bare = Header::new(h.width, h.height, h.bands.len(), h.sample_type);
    bare.aux_planes = h.aux_planes.clone();
    bare.dequantization = h.dequantization.clone();
    if keep_nodata {
        for (b, band) in bare.bands.iter_mut().zip(&h.bands) {
            b.nodata = band.nodata;
        }
    }
    m.header = bare;
    Ok(m)
}

/// The pools measurements run in: one thread, and `--parallel N` threads.
struct Pools {
    one: rayon::ThreadPool,
    parallel: Option<rayon::ThreadPool>,
}

/// The files' scales, if given: for one file only.
pub(super) fn scales_for(a: &BenchArgs) -> Result<Option<&Path>> {
    match (&a.scales, a.files.len()) {
        (Some(_), n) if n > 1 => Err(Error::new(
            ErrorKind::Other,
            "--scales applies to one GeoTessera .npy input: bench one tile at a time",
        )),
        (scales, _) => Ok(scales.as_deref()),
    }
}

/// Writes `--json`'s document to its file, or to standard output for `-`.
pub(super) fn write_json(path: &Path, doc: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(doc).expect("serialisable");
    if path == Path::new("-") {
        println!("{text}");
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Whether the tables go to standard output (not when the JSON does).
pub(super) fn tables_shown(a: &BenchArgs) -> bool {
    a.json.as_deref() != Some(Path::new("-"))
}

pub fn run(a: &BenchArgs, quiet: bool, threads: Option<usize>) -> Result<ExitCode> {
    if a.lossy {
        return super::bench_lossy::run(a, quiet, threads);
    }
    let tile: Option<TileSize> = a.tile.as_deref().map(str::parse).transpose()?;
    let scales = scales_for(a)?;
    let pools = Pools {
        one: pool(1)?,
        parallel: match a.parallel {
            Some(n) if n > 1 => Some(pool(n)?),
            _ => None,
        },
    };
    let gdal_refs: Vec<&str> = a.gdal.split(',').map(str::trim).collect();
    if let Some(bad) = gdal_refs
        .iter()
        .find(|c| !["DEFLATE9", "ZSTD22"].contains(c))
    {
        let why = format!("--gdal {bad}: expected DEFLATE9 or ZSTD22");
        return Err(Error::new(ErrorKind::Other, why));
    }
    let tmp = tempfile::tempdir()
        .map_err(|e| Error::new(ErrorKind::Other, format!("temporary directory: {e}")))?;
    let mut all = Vec::new();
    let mut exact = true;
    for name in &a.files {
        let (result, all_exact) =
            bench_file(name, scales, a, tile, &pools, &gdal_refs, tmp.path(), quiet)?;
        all.push(result);
        exact &= all_exact;
    }
    if let Some(p) = &a.json {
        let doc = json!({"tool": "geoembed bench", "version": env!("CARGO_PKG_VERSION"), "parallel": a.parallel, "results": all});
        write_json(p, &doc)?;
    }
    if exact {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::new(
            ErrorKind::Other,
            "bench: a round trip was NOT exact",
        ))
    }
}

/// Whether `m` can run on `h`; says why not unless quiet.
fn applies(m: &Method, h: &Header, quiet: bool) -> bool {
    let CodecChoice::Fixed(id) = m.choice else {
        return true;
    };
    let why = match id.unsupported_reason(h.sample_type) {
        Some(why) => why,
        None if id == CodecId::Constant => return false,
        None if id.needs_decorrelation() && h.bands.len() < 2 => "needs at least two bands".into(),
        None => return true,
    };
    if !quiet {
        eprintln!("bench: skipping {}: {why}", m.label);
    }
    false
}

/// Benchmarks one file: prints its table, returns its JSON and whether every row was exact.
#[allow(clippy::too_many_arguments)]
fn bench_file(
    name: &str,
    scales: Option<&Path>,
    a: &BenchArgs,
    tile: Option<TileSize>,
    pools: &Pools,
    gdal_refs: &[&str],
    tmp: &Path,
    quiet: bool,
) -> Result<(Value, bool)> {
    let mut src = load(name, scales, false)?;
    let h = src.header.clone();
    let raw = src.raw_bytes() as f64;
    let samples: usize = (0..h.plane_count())
        .map(|p| {
            h.plane_layout(p)
                .map(|(t, b)| src.planes[p].len() / t.size() / b * b)
                .unwrap_or(0)
        })
        .sum();
    let methods = match &a.codecs {
        Some(list) => list
            .split(',')
            .map(|s| parse_method(s.trim()))
            .collect::<Result<Vec<_>>>()?,
        None => default_methods(&h),
    };
    let mut rows = Vec::new();
    for compress in gdal_refs.iter().filter(|_| !a.no_gdal) {
        for inter in ["PIXEL", "BAND"] {
            if inter == "BAND" && h.bands.len() == 1 {
                continue;
            }
            rows.push(run_gdal(&src, compress, inter, a.reps, tmp)?);
        }
    }
    for m in methods.iter().filter(|m| applies(m, &h, quiet)) {
        if !quiet {
            eprintln!("bench: {name}: {} ...", m.label);
        }
        rows.push(run_method(m, &mut src, a, tile, pools)?);
    }
    if tables_shown(a) {
        print_table(name, &h, raw, samples, &rows, a.parallel);
    }
    let result = json!({
        "file": name, "width": h.width, "height": h.height, "bands": h.bands.len(), "data_type": h.sample_type.name(),
        "raw_bytes": raw, "tile": tile.map(TileSize::get),
        "rows": rows.iter().map(|r| json!({
            "method": r.label, "bytes": r.bytes, "ratio": raw / r.bytes as f64,
            "bits_per_sample": 8.0 * r.bytes as f64 / samples as f64,
            "enc_MBps": raw / 1e6 / r.enc_s, "dec_MBps": raw / 1e6 / r.dec_s,
            "dec_parallel_MBps": r.dec_par_s.map(|s| raw / 1e6 / s), "exact": r.exact, "tiles": r.note,
        })).collect::<Vec<_>>(),
    });
    Ok((result, rows.iter().all(|r| r.exact)))
}

fn print_table(
    name: &str,
    h: &Header,
    raw: f64,
    samples: usize,
    rows: &[Row],
    parallel: Option<usize>,
) {
    println!(
        "### {name}: {}x{}x{} {} ({:.3} MB raw)\n",
        h.width,
        h.height,
        h.bands.len(),
        h.sample_type,
        raw / 1e6
    );
    let par = parallel.filter(|n| *n > 1);
    let extra = par
        .map(|n| format!(" dec MB/s {n}t | speedup |"))
        .unwrap_or_default();
    println!("| method | MB | ratio | bits/sample | enc MB/s | dec MB/s |{extra} exact | tiles |");
    println!(
        "|---|---:|---:|---:|---:|---:|{}:---:|---|",
        if par.is_some() { "---:|---:|" } else { "" }
    );
    let mut order: Vec<&Row> = rows.iter().collect();
    order.sort_by_key(|r| r.bytes);
    for r in order {
        let extra = match (par, r.dec_par_s) {
            (Some(_), Some(s)) => format!(" {:.1} | {:.2}x |", raw / 1e6 / s, r.dec_s / s),
            (Some(_), None) => " | |".into(),
            _ => String::new(),
        };
        println!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.2} | {:.1} |{extra} {} | {} |",
            r.label,
            r.bytes as f64 / 1e6,
            raw / r.bytes as f64,
            8.0 * r.bytes as f64 / samples as f64,
            raw / 1e6 / r.enc_s,
            raw / 1e6 / r.dec_s,
            if r.exact { "yes" } else { "**NO**" },
            r.note
        );
    }
    println!();
}
