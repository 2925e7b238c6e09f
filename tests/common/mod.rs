//! Helpers shared by the end-to-end tests: run the `geoembed` binary, read rasters through
//! GDAL, and compare what `gdalinfo` reports.
#![allow(dead_code)]

pub mod measured;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_geoembed")
}

/// Runs geoembed with `args`; returns the output (never panics on failure).
pub fn geoembed(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run geoembed")
}

/// Runs geoembed and asserts success.
pub fn ok(args: &[&str]) -> Output {
    let o = geoembed(args);
    assert!(
        o.status.success(),
        "geoembed {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs geoembed, asserts it fails with exit code 1 and a single-line error that contains
/// every one of `needles`; returns the stderr.
pub fn fails(args: &[&str], needles: &[&str]) -> String {
    let o = geoembed(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(
        o.status.code(),
        Some(1),
        "geoembed {args:?} should fail; stderr: {err}"
    );
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("geoembed: error: "),
        "error line missing: {err}"
    );
    for n in needles {
        assert!(last.contains(n), "error {last:?} should contain {n:?}");
    }
    assert!(!err.contains("panicked"), "panic: {err}");
    err
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// What `gdalinfo -json -mdd all` reports, minus what legitimately differs between a source
/// and a faithful copy: file names, driver, and the IMAGE_STRUCTURE domain (compression,
/// interleave, block size describe the container, not the data).
pub fn gdalinfo(path: &str) -> Value {
    let o = Command::new("gdalinfo")
        .args(["-json", "-mdd", "all", "-checksum", path])
        .output()
        .expect("run gdalinfo");
    assert!(
        o.status.success(),
        "gdalinfo {path}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut j: Value = serde_json::from_slice(&o.stdout).expect("gdalinfo JSON");
    let m = j.as_object_mut().unwrap();
    for k in ["description", "files", "driverShortName", "driverLongName"] {
        m.remove(k);
    }
    fn strip_md(v: &mut Value) {
        if let Some(md) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            md.remove("IMAGE_STRUCTURE");
            md.remove("DERIVED_SUBDATASETS");
            if md.is_empty() {
                v.as_object_mut().unwrap().remove("metadata");
            }
        }
    }
    strip_md(&mut j);
    if let Some(bands) = j.get_mut("bands").and_then(Value::as_array_mut) {
        for b in bands {
            b.as_object_mut().unwrap().remove("block");
            strip_md(b);
        }
    }
    j
}

/// All samples of a raster, pixel-interleaved, as GDAL reads them (raw bytes).
pub fn pixels(path: &str) -> Vec<u8> {
    let ds = geoembed::read::gdal::open_dataset(path).expect("open");
    let h = geoembed::read::gdal::header_from_dataset(path, &ds).expect("header");
    let mut buf =
        vec![0u8; h.width as usize * h.height as usize * h.bands.len() * h.sample_type.size()];
    geoembed::gdal::raster_io(
        &ds,
        false,
        h.sample_type,
        h.bands.len(),
        h.width as usize,
        0..h.height as usize,
        &mut buf,
    )
    .expect("read");
    buf
}

/// Files left in a directory (to check that failures leave nothing behind).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `geoembed info --json` of a `.emb`.
pub fn info_json(emb: &Path) -> Value {
    serde_json::from_slice(&ok(&["info", "--json", s(emb)]).stdout).unwrap()
}

/// The STAC sidecar written beside a `.emb` (`OUT.emb.json`).
pub fn sidecar_json(emb: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{}.json", emb.display())).unwrap()).unwrap()
}

/// A raster's samples through GDAL as numbers (every sample type widens to f64 exactly),
/// with its header.
pub fn gdal_values(path: &str) -> (Vec<f64>, geoembed_codec::Header) {
    let ds = geoembed::read::gdal::open_dataset(path).expect("open");
    let h = geoembed::read::gdal::header_from_dataset(path, &ds).expect("header");
    (h.sample_type.values_f64(&pixels(path)), h)
}
