//! Hostile `.emb` files under real GDAL (GitHub issue 15): `gdalinfo` and `gdal_translate`
//! with the plugin end every class of lying header with a GDAL error that carries the
//! reader's message, exit code 1, no signal, and well under 1 GiB of memory (measured by
//! the kernel for each run). The reader limits are GDAL open options (`-oo MAX_...=`).

mod common;
#[path = "../../crates/geoembed-codec/tests/hostile_files/mod.rs"]
mod hostile_files;
#[path = "../../tests/common/measured.rs"]
mod measured;

use common::plugin_dir;
use hostile_files::Stage;
use measured::Measured;
use std::path::{Path, PathBuf};
use std::process::Command;

const GIB: u64 = 1 << 30;

fn gdal(plugins: &Path, tool: &str, args: &[&str]) -> Measured {
    let m = measured::run(
        Command::new(tool)
            .args(args)
            .env("GDAL_DRIVER_PATH", plugins)
            .env("CPL_DEBUG", "OFF"),
    );
    assert_eq!(m.signal(), None, "{tool} {args:?} was killed: {}", m.stderr);
    assert!(
        m.max_rss < GIB,
        "{tool} {args:?} peaked at {} bytes",
        m.max_rss
    );
    m
}

/// A GDAL run that must fail with `message` (exit code 1).
fn refused(plugins: &Path, tool: &str, args: &[&str], message: &str) {
    let m = gdal(plugins, tool, args);
    assert_eq!(m.status.code(), Some(1), "{tool} {args:?}: {}", m.stderr);
    assert!(
        m.stderr.contains(message),
        "{tool} {args:?}: {:?} lacks {message:?}",
        m.stderr
    );
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn gdalinfo_and_gdal_translate_refuse_every_hostile_class_under_1_gib() {
    let plugins = plugin_dir();
    let work = tempfile::tempdir().unwrap();
    for h in hostile_files::classes() {
        let file = work.path().join(h.name);
        std::fs::write(&file, &h.bytes).unwrap();
        let out = work.path().join("out.tif");
        match h.stage {
            Stage::Open => {
                let message = format!("ERROR 4: {}: {}", file.display(), h.message);
                refused(plugins.path(), "gdalinfo", &[s(&file)], &message);
                refused(
                    plugins.path(),
                    "gdal_translate",
                    &[s(&file), s(&out)],
                    &message,
                );
            }
            Stage::Decode => {
                let info = gdal(plugins.path(), "gdalinfo", &[s(&file)]);
                assert!(info.status.success(), "{}", info.stderr);
                let message = format!("{}: {}", file.display(), h.message);
                refused(
                    plugins.path(),
                    "gdal_translate",
                    &[s(&file), s(&out)],
                    &message,
                );
            }
        }
        assert!(!out.exists(), "{}: gdal_translate wrote an output", h.name);
        std::fs::remove_file(&file).unwrap();
    }
}

#[test]
fn reader_limits_are_open_options() {
    let plugins = plugin_dir();
    let work = tempfile::tempdir().unwrap();
    let bomb = work.path().join("bomb.emb");
    std::fs::write(&bomb, hostile_files::constant_tile_bomb().bytes).unwrap();
    let raised = gdal(
        plugins.path(),
        "gdalinfo",
        &["-oo", "MAX_TILE_BYTES=2G", s(&bomb)],
    );
    assert!(raised.status.success(), "{}", raised.stderr);
    assert!(
        raised.stdout.contains("Size is 65536, 32768"),
        "{}",
        raised.stdout
    );
    let bad = format!(
        "ERROR 4: {}: open option MAX_TILE_BYTES=lots: give a whole number, optionally with K, M, G or T",
        bomb.display()
    );
    refused(
        plugins.path(),
        "gdalinfo",
        &["-oo", "MAX_TILE_BYTES=lots", s(&bomb)],
        &bad,
    );
    let listed = gdal(plugins.path(), "gdalinfo", &["--format", "GeoEmbed"]);
    assert!(
        listed.stdout.contains("MAX_TILE_BYTES"),
        "{}",
        listed.stdout
    );
}

#[test]
fn a_tile_wider_than_the_raster_is_a_raster_wide_block_and_reads_exactly() {
    let plugins = plugin_dir();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("wide_tile.emb");
    std::fs::write(&file, hostile_files::tile_width_i32_max()).unwrap();
    let info = gdal(plugins.path(), "gdalinfo", &[s(&file)]);
    assert!(info.stdout.contains("Block=100x1"), "{}", info.stdout);
    let raw: PathBuf = work.path().join("wide_tile.img");
    let m = gdal(
        plugins.path(),
        "gdal_translate",
        &["-q", "-of", "ENVI", s(&file), s(&raw)],
    );
    assert!(m.status.success(), "{}", m.stderr);
    assert!(m.max_rss < GIB / 4, "peaked at {} bytes", m.max_rss);
    assert_eq!(std::fs::read(&raw).unwrap(), (0..100).collect::<Vec<u8>>());
}
