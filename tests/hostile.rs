//! Hostile `.emb` files through the `geoembed` binary (GitHub issue 15): `info`, `verify`
//! and `convert` on every class of lying header end with one error line naming the file and
//! the lie (the codec's message, exactly), exit code 1, no signal, and well under 1 GiB of
//! memory. The files come from the generator the codec's tests use.

mod common;
#[path = "../crates/geoembed-codec/tests/hostile_files/mod.rs"]
mod hostile_files;

use common::measured::{self, Measured};
use common::*;
use hostile_files::Stage;
use std::process::Command;

const GIB: u64 = 1 << 30;

fn geoembed_measured(args: &[&str]) -> Measured {
    measured::run(Command::new(bin()).args(args))
}

/// Asserts a failed run: exit code 1, no signal, under 1 GiB, the error line contains
/// `needle`; returns that line.
fn refused(args: &[&str], needle: &str) -> String {
    let m = geoembed_measured(args);
    assert_eq!(m.signal(), None, "{args:?} was killed: {}", m.stderr);
    assert_eq!(m.status.code(), Some(1), "{args:?}: {}", m.stderr);
    assert!(m.max_rss < GIB, "{args:?} peaked at {} bytes", m.max_rss);
    let last = m.stderr.lines().last().unwrap_or("").to_string();
    assert!(
        last.starts_with("geoembed: error: "),
        "{args:?}: {}",
        m.stderr
    );
    assert!(last.contains(needle), "{args:?}: {last:?} lacks {needle:?}");
    last
}

#[test]
fn every_hostile_class_is_refused_by_info_verify_and_convert_under_1_gib() {
    let dir = tempfile::tempdir().unwrap();
    for h in hostile_files::classes() {
        let file = dir.path().join(h.name);
        std::fs::write(&file, &h.bytes).unwrap();
        let out = dir.path().join("out.tif");
        let error = format!("{}: {}", file.display(), h.message);
        match h.stage {
            Stage::Open => {
                let line = refused(&["info", s(&file)], &error);
                if h.kind == geoembed_codec::ErrorKind::LimitExceeded {
                    assert!(
                        line.ends_with("(if the file is trusted, raise it with --limit KEY=VALUE)")
                    );
                }
                refused(&["verify", s(&file)], &error);
            }
            Stage::Decode => {
                ok(&["info", s(&file)]);
                let m = geoembed_measured(&["verify", s(&file)]);
                assert!(m.stderr.contains(&h.message), "{}", m.stderr);
                assert!(m.max_rss < GIB);
            }
        }
        refused(&["convert", s(&file), s(&out)], &error);
        assert!(!out.exists(), "{}: output written", h.name);
        std::fs::remove_file(&file).unwrap();
        assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    }
}

#[test]
fn limits_are_set_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.emb");
    std::fs::write(&bomb, hostile_files::constant_tile_bomb().bytes).unwrap();
    let info = ok(&["--limit", "max_tile_bytes=2G", "info", s(&bomb)]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("Size is 65536, 32768"));
    let lower = hostile_files::tile_width_i32_max();
    let small = dir.path().join("small.emb");
    std::fs::write(&small, lower).unwrap();
    fails(
        &["info", s(&small), "--limit", "max_width=99"],
        &["small.emb: width = 100 exceeds the limit max_width = 99"],
    );
    fails(
        &["--limit", "max_tiles=3", "info", s(&small)],
        &["--limit max_tiles=3: unknown limit 'max_tiles'; choose one of max_width"],
    );
    fails(
        &["--limit", "max_tile_bytes=lots", "info", s(&small)],
        &["--limit max_tile_bytes=lots: give a whole number, optionally with K, M, G or T"],
    );
    fails(
        &[
            "convert",
            s(&small),
            s(&dir.path().join("o.tif")),
            "--batch-memory",
            "1K",
        ],
        &["--batch-memory 1K: give at least 1048576 bytes (1M)"],
    );
}

#[test]
fn a_tile_wider_than_the_raster_converts_exactly_in_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wide_tile.emb");
    std::fs::write(&file, hostile_files::tile_width_i32_max()).unwrap();
    let tif = dir.path().join("wide_tile.tif");
    let m = geoembed_measured(&["-q", "convert", s(&file), s(&tif)]);
    assert!(m.status.success(), "{}", m.stderr);
    assert!(m.max_rss < GIB / 4, "peaked at {} bytes", m.max_rss);
    assert_eq!(pixels(s(&tif)), (0..100).collect::<Vec<u8>>());
    let back = dir.path().join("back.emb");
    ok(&["-q", "convert", s(&tif), s(&back)]);
    let tif2 = dir.path().join("back.tif");
    ok(&["-q", "convert", s(&back), s(&tif2)]);
    assert_eq!(pixels(s(&tif2)), (0..100).collect::<Vec<u8>>());
}

#[test]
fn the_empty_metadata_item_limit_applies_within_the_header_limit() {
    let dir = tempfile::tempdir().unwrap();
    let h = hostile_files::empty_metadata_items();
    let file = dir.path().join(h.name);
    std::fs::write(&file, &h.bytes).unwrap();
    refused(&["info", s(&file)], &h.message);
    let m = geoembed_measured(&["--limit", "max_metadata_items=8M", "info", s(&file)]);
    assert!(m.status.success(), "{}", m.stderr);
    assert!(m.max_rss < GIB, "peaked at {} bytes", m.max_rss);
}

#[test]
fn a_raster_wider_than_the_batch_converts_by_groups_of_tile_columns() {
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.tif");
    let st = Command::new("gdal_translate")
        .args(["-q", "-outsize", "2100", "300"])
        .arg(fixture("int16_1b_srtm3_n44w072_crop.tif"))
        .arg(&wide)
        .status()
        .unwrap();
    assert!(st.success());
    // Tiles of 512 x 300 pixels (300 KB): a 1 MiB batch holds three of the five.
    let emb = dir.path().join("wide.emb");
    let small = [
        "--batch-memory",
        "1M",
        "--codec",
        "png128",
        "--effort",
        "fast",
    ];
    let mut args = vec!["-q", "convert", s(&wide), s(&emb), "--tile", "512"];
    args.extend(small);
    ok(&args);
    let back = dir.path().join("back.tif");
    ok(&["-q", "convert", s(&emb), s(&back), "--batch-memory", "1M"]);
    assert_eq!(pixels(s(&back)), pixels(s(&wide)));
}
