//! `convert --rel-rmse R` end to end: the relative RMSE of the decoded raster, read back
//! through GDAL and recomputed here, is within 5% of R on the real Presto embedding crop
//! (int8 codes × per-pixel scales, coded as their float32 values: the output is float32
//! with no scale plane), the 198-band AVIRIS cube (uint16) and the synthetic int8
//! embedding crop; the file says it is lossy (convert's summary, `info`, `info --json`,
//! the STAC sidecar) and `verify` checks it; requests that cannot be honoured are refused
//! before any work with a message naming the option. With `--max-error E` beside the
//! target (payload version 2, format 1.4), every sample of the 198-band AVIRIS cube and of
//! the Presto crop as float32 GeoTIFF is within E too, and every front end reports both.

mod common;
use common::*;
use std::path::Path;

/// The samples of a raster through GDAL, as numbers, and its sample type's name.
fn values(path: &str) -> (Vec<f64>, String) {
    let (values, header) = gdal_values(path);
    (values, header.sample_type.to_string())
}

/// The data bytes of a version-1 .npy fixture.
fn npy_data(name: &str) -> Vec<u8> {
    let b = std::fs::read(fixture(name)).unwrap();
    let header_length = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + header_length..].to_vec()
}

/// The Presto crop as GeoTessera dequantises it: float32(q) × scale, per pixel.
fn presto_values() -> Vec<f64> {
    let codes = npy_data("presto_s2_crop_int8.npy");
    let scales: Vec<f32> = npy_data("presto_s2_crop_scales.npy")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let bands = codes.len() / scales.len();
    let value = |(i, &q): (usize, &u8)| (q as i8 as f32 * scales[i / bands]) as f64;
    codes.iter().enumerate().map(value).collect()
}

fn rel_rmse(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let error: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
    (error / x.iter().map(|a| a * a).sum::<f64>()).sqrt()
}

/// Converts with `--rel-rmse r` (plus `extra`), back to GeoTIFF, and returns the decoded
/// values, their type and the `.emb`'s size; checks the file's own record of the target.
fn code_to(dir: &Path, input: &Path, extra: &[&str], r: f64) -> (Vec<f64>, String, u64) {
    let emb = dir.join(format!("out_{r}.emb"));
    let back = dir.join(format!("out_{r}.tif"));
    let target = r.to_string();
    let mut args = vec!["convert", s(input), s(&emb), "--rel-rmse", &target];
    args.extend_from_slice(extra);
    let summary = String::from_utf8_lossy(&ok(&args).stderr).into_owned();
    assert!(summary.contains("LOSSY transform"), "{summary}");
    ok(&["verify", s(&emb)]);
    let compression = &info_json(&emb)["geoembed"]["compression"];
    assert_eq!(compression["mode"], "transform");
    assert_eq!(compression["rel_rmse"], r);
    ok(&["convert", "-q", s(&emb), s(&back)]);
    let (decoded, ty) = values(s(&back));
    (decoded, ty, std::fs::metadata(&emb).unwrap().len())
}

/// Checks the three targets on one raster; `original` are the values it stands for.
fn targets_hold(name: &str, input: &Path, extra: &[&str], original: &[f64], ty: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for r in [0.025, 0.05, 0.1] {
        let (decoded, decoded_ty, size) = code_to(dir.path(), input, extra, r);
        assert_eq!(decoded_ty, ty, "{name}: decoded sample type");
        let achieved = rel_rmse(original, &decoded);
        assert!(
            (achieved / r - 1.0).abs() <= 0.05,
            "{name} at {r}: {achieved}"
        );
        sizes.push(size);
    }
    assert!(
        sizes[0] > sizes[1] && sizes[1] > sizes[2],
        "{name}: {sizes:?}"
    );
}

#[test]
fn the_target_holds_on_real_rasters() {
    let codes = fixture("presto_s2_crop_int8.npy");
    let scales = fixture("presto_s2_crop_scales.npy");
    let presto_extra = ["--scales", s(&scales)];
    targets_hold("presto", &codes, &presto_extra, &presto_values(), "float32");
    for (name, ty) in [
        ("uint16_198b_aviris_jasper_ridge_crop.tif", "uint16"),
        ("int8_128b_synthetic_embedding_crop.tif", "int8"),
    ] {
        let source = fixture(name);
        let (original, source_ty) = values(s(&source));
        assert_eq!(source_ty, ty);
        targets_hold(name, &source, &[], &original, ty);
    }
}

#[test]
fn the_file_says_it_is_lossy() {
    let dir = tempfile::tempdir().unwrap();
    let emb = dir.path().join("presto.emb");
    let codes = fixture("presto_s2_crop_int8.npy");
    let scales = fixture("presto_s2_crop_scales.npy");
    ok(&[
        "convert",
        "-q",
        s(&codes),
        s(&emb),
        "--scales",
        s(&scales),
        "--rel-rmse",
        "5%",
    ]);
    let j = info_json(&emb);
    let compression = &j["geoembed"]["compression"];
    assert_eq!(compression["rel_rmse"], 0.05);
    let achieved = &compression["achieved"];
    let rel = achieved["rel_rmse"].as_f64().unwrap();
    assert!((rel / 0.05 - 1.0).abs() <= 0.05, "{achieved}");
    let (mean, p01) = (
        achieved["mean_cosine"].as_f64().unwrap(),
        achieved["p01_cosine"].as_f64().unwrap(),
    );
    assert!(p01 <= mean && mean < 1.0 && p01 > 0.9, "{achieved}");
    assert!(achieved["max_abs_error"].as_f64().unwrap() > 0.0);
    assert!(
        j["geoembed"]["aux_planes"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "{j}"
    );
    let structure = &j["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(structure["COMPRESSION_REVERSIBILITY"], "LOSSY");
    assert_eq!(structure["GEOEMBED_LOSSY_MODE"], "transform");
    let props = &sidecar_json(&emb)["properties"];
    assert_eq!(props["geoembed:compression"], "transform");
    assert_eq!(props["geoembed:rel_rmse"], 0.05);
    assert_eq!(&props["geoembed:achieved"], achieved);
    let text = String::from_utf8_lossy(&ok(&["info", s(&emb)]).stdout).into_owned();
    assert!(
        text.contains("Compression: transform (LOSSY): target rel-RMSE 0.05"),
        "{text}"
    );
    assert!(text.contains("Type=Float32"), "{text}");
}

#[test]
fn requests_that_cannot_be_honoured_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.emb");
    let aviris = fixture("uint16_198b_aviris_jasper_ridge_crop.tif");
    let dem = fixture("int16_1b_srtm3_n44w072_crop.tif");
    let refused = |extra: &[&str], needles: &[&str]| {
        let mut args = vec!["convert", s(&aviris), s(&out)];
        args.extend_from_slice(extra);
        fails(&args, needles);
    };
    refused(
        &["--rel-rmse", "0"],
        &["--rel-rmse 0", "above 0 and below 1"],
    );
    refused(
        &["--rel-rmse=-0.1"],
        &["--rel-rmse -0.1", "above 0 and below 1"],
    );
    refused(
        &["--rel-rmse", "150%"],
        &["--rel-rmse 1.5", "above 0 and below 1"],
    );
    refused(
        &["--rel-rmse", "lots"],
        &["--rel-rmse lots", "a fraction such as 0.05"],
    );
    refused(
        &["--rel-rmse", "0.05", "--codec", "native"],
        &["codec native is lossless", "--codec klt or auto"],
    );
    refused(&["--codec", "klt"], &["--codec klt", "give --rel-rmse R"]);
    fails(
        &["convert", s(&dem), s(&out), "--rel-rmse", "0.05"],
        &["--rel-rmse 0.05", "at least 2 bands", "has 1"],
    );
    assert!(listing(dir.path()).is_empty(), "nothing written");
    let lossless = dir.path().join("l.emb");
    ok(&["convert", "-q", s(&aviris), s(&lossless)]);
    let tif = dir.path().join("back.tif");
    fails(
        &["convert", s(&lossless), s(&tif), "--rel-rmse", "0.05"],
        &["--rel-rmse apply when converting to a .emb"],
    );
}

/// Converts `input` with `--rel-rmse r --max-error e`, checks the file (verify, the
/// summary, every sample back through GDAL within `e`, the rel-RMSE at most `r` + 1%, and
/// what `info --json` reports against what is measured here), and returns the .emb's size.
fn refined_within(dir: &Path, input: &Path, original: &[f64], r: f64, e: f64) -> u64 {
    let emb = dir.join(format!("refined_{r}_{e}.emb"));
    let back = dir.join(format!("refined_{r}_{e}.tif"));
    let (target, bound) = (r.to_string(), e.to_string());
    let args = [
        "convert",
        s(input),
        s(&emb),
        "--rel-rmse",
        &target,
        "--max-error",
        &bound,
    ];
    let summary = String::from_utf8_lossy(&ok(&args).stderr).into_owned();
    assert!(
        summary.contains("LOSSY transform") && summary.contains("refined to max abs error"),
        "{summary}"
    );
    ok(&["verify", s(&emb)]);
    ok(&["convert", "-q", s(&emb), s(&back)]);
    let (decoded, _) = values(s(&back));
    let largest = original
        .iter()
        .zip(&decoded)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(largest <= e, "{}: {largest} over {e}", input.display());
    let achieved = rel_rmse(original, &decoded);
    assert!(
        achieved <= r * 1.01,
        "{} at {r}: {achieved}",
        input.display()
    );
    let j = info_json(&emb);
    assert_eq!(j["geoembed"]["format_version"], "1.7");
    let c = &j["geoembed"]["compression"];
    assert_eq!(
        (c["mode"].as_str(), c["rel_rmse"].as_f64()),
        (Some("transform"), Some(r)),
        "{c}"
    );
    let per_band = |key: &str| -> Vec<f64> {
        c[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    assert!(per_band("max_error").iter().all(|&b| b == e), "{c}");
    let recorded = per_band("achieved_max_error");
    // The file records the exact difference rounded once; `largest` here is a rounded
    // binary64 subtraction, which may differ in the last bits.
    let recorded_largest = recorded.iter().copied().fold(0.0, f64::max);
    assert!((recorded_largest / largest - 1.0).abs() < 1e-12, "{c}");
    let figures = &c["achieved"];
    assert!(
        (figures["rel_rmse"].as_f64().unwrap() / achieved - 1.0).abs() < 1e-6,
        "{c}"
    );
    let max_abs = figures["max_abs_error"].as_f64().unwrap();
    assert!((max_abs / largest - 1.0).abs() < 1e-12, "{c}");
    std::fs::metadata(&emb).unwrap().len()
}

#[test]
fn a_bound_refines_the_transform_on_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let aviris = fixture("uint16_198b_aviris_jasper_ridge_crop.tif");
    let (original, _) = values(s(&aviris));
    for r in [0.05, 0.1] {
        let sizes: Vec<u64> = [1.0, 2.0, 7.0]
            .iter()
            .map(|&e| refined_within(dir.path(), &aviris, &original, r, e))
            .collect();
        eprintln!("AVIRIS at {r} within 1, 2, 7: {sizes:?} bytes");
    }
    // A float raster (the Presto crop's float32 values as GeoTIFF), in value units.
    let presto = fixture("float32_128b_presto_dequantised_crop.tif");
    let (original, ty) = values(s(&presto));
    assert_eq!(ty, "float32");
    for r in [0.05, 0.1] {
        refined_within(dir.path(), &presto, &original, r, 0.01);
    }
}

#[test]
fn a_refined_file_says_so_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let emb = dir.path().join("q75_e2.emb");
    let crop = fixture("int8_128b_synthetic_embedding_crop.tif");
    let args = [
        "convert",
        "-q",
        s(&crop),
        s(&emb),
        "--quality",
        "75",
        "--max-error",
        "2",
    ];
    ok(&args);
    let text = String::from_utf8_lossy(&ok(&["info", s(&emb)]).stdout).into_owned();
    assert!(
        text.contains("target rel-RMSE 0.025 (= --quality 75)"),
        "{text}"
    );
    assert!(
        text.contains("Refined to a bound: every sample within 2 of the source, achieved"),
        "{text}"
    );
    let j = info_json(&emb);
    assert_eq!(j["geoembed"]["compression"]["quality"], 75);
    let structure = &j["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(structure["GEOEMBED_LOSSY_MODE"], "transform");
    assert_eq!(structure["GEOEMBED_REL_RMSE"], "0.025");
    assert!(
        structure["GEOEMBED_MAX_ERROR"]
            .as_str()
            .unwrap()
            .starts_with("2,2,"),
        "{structure}"
    );
    assert!(
        structure["GEOEMBED_ACHIEVED_MAX_ERROR"].is_string(),
        "{structure}"
    );
    let props = &sidecar_json(&emb)["properties"];
    assert_eq!(props["geoembed:compression"], "transform");
    assert_eq!(props["geoembed:max_error"][0], 2);
    assert!(props["geoembed:achieved_max_error"][0].as_f64().unwrap() <= 2.0);
    assert_eq!(
        props["geoembed:achieved"],
        j["geoembed"]["compression"]["achieved"]
    );
    // GeoTessera codes with their scales are coded as values: a bound in codes is refused.
    let (codes, scales) = (
        fixture("presto_s2_crop_int8.npy"),
        fixture("presto_s2_crop_scales.npy"),
    );
    let out = dir.path().join("refused.emb");
    fails(
        &["convert", s(&codes), s(&out), "--scales", s(&scales), "--rel-rmse", "5%", "--max-error", "2"],
        &["--max-error 2: a bound beside --rel-rmse cannot be kept on codes with a dequantisation recipe"],
    );
    assert!(!out.exists());
}
