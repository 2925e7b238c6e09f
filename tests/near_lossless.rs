//! `convert --max-error` end to end: real rasters read and written back through GDAL are
//! within the bound on every sample (the 198-band AVIRIS cube, the 16-band AVIRIS scene,
//! the int8 embedding crop, a DEM), a bound of 0 writes the lossless file byte for byte,
//! the file says it is lossy (convert's summary, `info` and `info --json`, the STAC
//! sidecar), `verify` checks it, and the bound is refused where it cannot be kept.

mod common;
use common::*;
use std::path::Path;

/// The samples of a raster through GDAL, as integers.
fn values(path: &str) -> Vec<i64> {
    gdal_values(path).0.iter().map(|&v| v as i64).collect()
}

/// Converts `name` with `--max-error E` and back to GeoTIFF; asserts the bound on every
/// sample and that `verify` passes; returns the `.emb`'s size.
fn within_bound(dir: &Path, name: &str, e: u32) -> u64 {
    let emb = dir.join(format!("{name}.{e}.emb"));
    let back = dir.join(format!("{name}.{e}.tif"));
    let source = fixture(name);
    let bound = e.to_string();
    let o = ok(&["convert", s(&source), s(&emb), "--max-error", &bound]);
    let summary = String::from_utf8_lossy(&o.stderr);
    assert!(summary.contains("LOSSY near-lossless"), "{summary}");
    ok(&["verify", s(&emb)]);
    ok(&["convert", "-q", s(&emb), s(&back)]);
    let (original, decoded) = (values(s(&source)), values(s(&back)));
    assert_eq!(original.len(), decoded.len());
    let worst = original
        .iter()
        .zip(&decoded)
        .map(|(a, b)| a.abs_diff(*b))
        .max();
    assert!(
        worst.unwrap() <= e as u64,
        "{name} at E = {e}: error {worst:?}"
    );
    std::fs::metadata(&emb).unwrap().len()
}

#[test]
fn the_bound_holds_on_every_sample_of_real_rasters() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "uint16_198b_aviris_jasper_ridge_crop.tif",
        "uint16_16b_aviris_jasper_ridge.tif",
        "int8_128b_synthetic_embedding_crop.tif",
        "int16_1b_srtm30m_bigtujunga_utm11_crop.tif",
        "int32_1b_west_bijou_escarpment.tif",
    ] {
        let sizes: Vec<u64> = [1, 2, 7]
            .iter()
            .map(|&e| within_bound(dir.path(), name, e))
            .collect();
        assert!(sizes[0] > sizes[2], "{name}: {sizes:?}");
    }
}

#[test]
fn the_file_says_whether_it_is_lossy() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("uint8_3b_landsat7_rgb_crop.tif");
    let lossless = dir.path().join("lossless.emb");
    let zero = dir.path().join("zero.emb");
    let lossy = dir.path().join("lossy.emb");
    ok(&["convert", "-q", s(&source), s(&lossless)]);
    ok(&["convert", "-q", s(&source), s(&zero), "--max-error", "0"]);
    ok(&[
        "convert",
        "-q",
        s(&source),
        s(&lossy),
        "--max-error",
        "0,3,1",
    ]);
    assert!(std::fs::read(&lossless).unwrap() == std::fs::read(&zero).unwrap());

    let j = info_json(&lossless);
    assert_eq!(j["geoembed"]["compression"]["mode"], "lossless");
    assert_eq!(
        j["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION_REVERSIBILITY"],
        "LOSSLESS"
    );
    assert_eq!(
        sidecar_json(&lossless)["properties"]["geoembed:compression"],
        "lossless"
    );

    let j = info_json(&lossy);
    let compression = &j["geoembed"]["compression"];
    assert_eq!(compression["mode"], "near-lossless");
    assert_eq!(compression["max_error"], serde_json::json!([0, 3, 1]));
    let achieved = compression["achieved_max_error"].as_array().unwrap();
    assert_eq!(achieved[0], 0);
    assert!(achieved[1].as_u64().unwrap() <= 3 && achieved[2].as_u64().unwrap() <= 1);
    let structure = &j["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(structure["COMPRESSION_REVERSIBILITY"], "LOSSY");
    assert_eq!(structure["GEOEMBED_MAX_ERROR"], "0,3,1");
    let props = &sidecar_json(&lossy)["properties"];
    assert_eq!(props["geoembed:compression"], "near-lossless");
    assert_eq!(props["geoembed:max_error"], serde_json::json!([0, 3, 1]));
    assert_eq!(
        props["geoembed:achieved_max_error"],
        compression["achieved_max_error"]
    );
    let text = String::from_utf8_lossy(&ok(&["info", s(&lossy)]).stdout).into_owned();
    assert!(
        text.contains("Compression: near-lossless (LOSSY): max abs error 0,3,1 (per band)"),
        "{text}"
    );
    // The format version each reports is the file's: 1.2 holds near-lossless tiles.
    assert!(text.contains("(format 1.2)"), "{text}");
    assert_eq!(j["geoembed"]["format_version"], "1.2");
    assert_eq!(props["geoembed:format_version"], "1.2");
    assert_eq!(info_json(&lossless)["geoembed"]["format_version"], "1.0");
    // A bound on 32-bit integers is format 1.5's.
    let int32 = dir.path().join("int32.emb");
    ok(&[
        "convert",
        "-q",
        s(&fixture("int32_1b_west_bijou_escarpment.tif")),
        s(&int32),
        "--max-error",
        "2",
    ]);
    assert_eq!(info_json(&int32)["geoembed"]["format_version"], "1.5");
    assert_eq!(
        info_json(&int32)["geoembed"]["compression"]["mode"],
        "near-lossless"
    );
    assert_eq!(
        sidecar_json(&lossless)["properties"]["geoembed:format_version"],
        "1.0"
    );
}

#[test]
fn a_bound_that_cannot_be_kept_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.emb");
    let rgb = fixture("uint8_3b_landsat7_rgb_crop.tif");
    let int32 = fixture("int32_1b_west_bijou_escarpment.tif");
    fails(
        &[
            "convert",
            s(&rgb),
            s(&out),
            "--max-error",
            "2",
            "--codec",
            "png128",
        ],
        &[
            "--max-error 2",
            "codec png128 is lossless only",
            "--codec native or auto",
        ],
    );
    fails(
        &["convert", s(&rgb), s(&out), "--max-error", "0.5"],
        &["--max-error 0.5", "whole-number bound"],
    );
    fails(
        &[
            "convert",
            s(&int32),
            s(&out),
            "--max-error",
            "1",
            "--codec",
            "native",
        ],
        &[
            "--codec native",
            "native handles 8- and 16-bit integer samples, not int32",
        ],
    );
    fails(
        &[
            "convert",
            s(&int32),
            s(&out),
            "--max-error",
            "1",
            "--rel-rmse",
            "5%",
        ],
        &["--max-error 1", "the klt codec cannot refine int32 samples"],
    );
    fails(
        &["convert", s(&rgb), s(&out), "--max-error", "1,2"],
        &["--max-error 1,2", "2 bounds for 3 bands"],
    );
    fails(
        &["convert", s(&rgb), s(&out), "--max-error", "two"],
        &["--max-error two", "non-negative number"],
    );
    assert!(listing(dir.path()).is_empty());
    let lossless = dir.path().join("l.emb");
    ok(&["convert", "-q", s(&rgb), s(&lossless)]);
    let tif = dir.path().join("back.tif");
    fails(
        &["convert", s(&lossless), s(&tif), "--max-error", "1"],
        &["--max-error and --rel-rmse apply when converting to a .emb"],
    );
}
