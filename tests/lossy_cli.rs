//! The lossy conveniences end to end on real fixtures: `convert --quality Q` is the klt
//! transform at the documented rel-RMSE of Q (the file records that target, `info` names the
//! quality, and the achieved rel-RMSE is within 5% of it), refused beside `--rel-rmse` and
//! out of range; `bench --lossy --json` gives one row per level, each within its bound,
//! smaller as the loss grows, and says so when a raster cannot take a level; the help
//! texts say what is lossy.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The real Presto embedding crop (48x48x128 int8 codes and their per-pixel scales).
fn presto() -> (PathBuf, PathBuf) {
    (
        fixture("presto_s2_crop_int8.npy"),
        fixture("presto_s2_crop_scales.npy"),
    )
}

/// `convert --quality q` of the Presto crop; its `info --json` compression record.
fn convert_quality(dir: &Path, q: &str) -> Value {
    let (npy, scales) = presto();
    let emb = dir.join(format!("q{q}.emb"));
    let o = ok(&[
        "convert",
        s(&npy),
        s(&emb),
        "--scales",
        s(&scales),
        "--quality",
        q,
    ]);
    let summary = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(summary.contains("LOSSY transform"), "{summary}");
    let info = String::from_utf8_lossy(&ok(&["info", s(&emb)]).stdout).into_owned();
    assert!(info.contains("transform (LOSSY)"), "{info}");
    info_json(&emb)["geoembed"]["compression"].clone()
}

#[test]
fn quality_is_the_documented_rel_rmse_and_is_reached() {
    let dir = tempfile::tempdir().unwrap();
    // The anchors of the mapping (`convert --help`), and a quality between two of them:
    // 60 is 10/25 of the way from 50 (5%) to 75 (2.5%), log-linearly.
    let between = 0.05 * 0.5f64.powf(10.0 / 25.0);
    for (q, target) in [("90", 0.01), ("50", 0.05), ("25", 0.1), ("60", between)] {
        let c = convert_quality(dir.path(), q);
        assert_eq!(c["mode"], "transform", "{c}");
        let recorded = c["rel_rmse"].as_f64().unwrap();
        assert!((recorded - target).abs() <= 1e-15, "Q={q}: {recorded}");
        assert_eq!(c["quality"], q.parse::<u64>().unwrap(), "{c}");
        let achieved = c["achieved"]["rel_rmse"].as_f64().unwrap();
        assert!(
            (achieved / target - 1.0).abs() <= 0.05,
            "Q={q}: achieved {achieved} for {target}"
        );
    }
    // A target typed as --rel-rmse that no quality maps to names none.
    let (npy, scales) = presto();
    let emb = dir.path().join("r.emb");
    ok(&[
        "convert",
        "-q",
        s(&npy),
        s(&emb),
        "--scales",
        s(&scales),
        "--rel-rmse",
        "0.03",
    ]);
    assert_eq!(
        info_json(&emb)["geoembed"]["compression"]["quality"],
        Value::Null
    );
}

#[test]
fn quality_is_refused_beside_rel_rmse_and_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let (npy, scales) = presto();
    let out = dir.path().join("bad.emb");
    let convert = |extra: &[&str], needles: &[&str]| {
        let mut args = vec!["convert", s(&npy), s(&out), "--scales", s(&scales)];
        args.extend_from_slice(extra);
        fails(&args, needles);
    };
    convert(
        &["--quality", "90", "--rel-rmse", "0.05"],
        &["--quality 90: give --quality or --rel-rmse, not both (each sets the transform's target)"],
    );
    for bad in ["0", "101", "-5", "90.5", "best"] {
        convert(
            &["--quality", bad],
            &[&format!(
                "--quality {bad}: give a whole number from 1 (smallest file) to 100 (closest to the source)"
            )],
        );
    }
    // Codes with their scales are transform-coded as values; a bound in codes cannot refine them.
    convert(
        &["--quality", "50", "--max-error", "1"],
        &["--max-error 1: a bound beside --quality cannot be kept on codes with a dequantisation recipe"],
    );
    fails(
        &[
            "convert",
            s(&fixture("float32_1b_pre_runout_dem_nocrs.tif")),
            s(&out),
            "--quality",
            "50",
        ],
        &["--quality 50", "at least 2 bands"],
    );
    assert!(listing(dir.path()).is_empty(), "nothing written");
}

/// `bench --lossy --json -` on `args`: the one file's result.
fn bench_lossy(args: &[&str]) -> Value {
    let mut all = vec!["bench", "-q", "--lossy", "--reps", "1", "--json", "-"];
    all.extend_from_slice(args);
    let o = ok(&all);
    let doc: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout, no table");
    assert_eq!(doc["lossy"], true);
    assert_eq!(doc["threads"], 1);
    doc["results"][0].clone()
}

/// The rows of `mode`, in level order.
fn rows<'a>(result: &'a Value, mode: &str) -> Vec<&'a Value> {
    let all = result["rows"].as_array().unwrap();
    all.iter().filter(|r| r["mode"] == mode).collect()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Sizes strictly decreasing along the rows (more loss, fewer bytes).
fn shrinking(rows: &[&Value]) {
    let bytes: Vec<u64> = rows.iter().map(|r| r["bytes"].as_u64().unwrap()).collect();
    assert!(bytes.windows(2).all(|w| w[1] < w[0]), "{bytes:?}");
}

#[test]
fn bench_lossy_rows_hold_their_bounds_and_shrink_with_loss() {
    let (npy, scales) = presto();
    let r = bench_lossy(&[
        s(&npy),
        "--scales",
        s(&scales),
        "--rel-rmse-levels",
        "0.01,2.5%,0.05,0.1",
        "--max-error-levels",
        "1,2,4",
    ]);
    assert_eq!(
        (r["width"].as_u64(), r["bands"].as_u64()),
        (Some(48), Some(128))
    );
    assert_eq!(r["dequantized"], true);
    let lossless = rows(&r, "lossless");
    assert_eq!(lossless.len(), 1);
    assert_eq!(f(&lossless[0]["rel_rmse"]), 0.0);
    assert_eq!(f(&lossless[0]["vs_lossless"]), 1.0);
    assert_eq!(r["lossless_bytes"], lossless[0]["bytes"]);
    let klt = rows(&r, "klt");
    assert_eq!(klt.len(), 4, "one row per level");
    for (row, target) in klt.iter().zip([0.01, 0.025, 0.05, 0.1]) {
        assert_eq!(f(&row["target"]), target);
        let achieved = f(&row["rel_rmse"]);
        assert!((achieved / target - 1.0).abs() <= 0.05, "{row}");
        assert!(f(&row["vs_lossless"]) < 1.0, "{row}");
        let (mean, p01) = (f(&row["mean_cosine"]), f(&row["p01_cosine"]));
        assert!(p01 <= mean && mean < 1.0 && p01 > 0.9, "{row}");
        assert!(f(&row["enc_MBps"]) > 0.0 && f(&row["dec_MBps"]) > 0.0);
    }
    shrinking(&klt);
    let near = rows(&r, "near-lossless");
    assert_eq!(near.len(), 3, "one row per level");
    for (row, e) in near.iter().zip([1.0, 2.0, 4.0]) {
        assert_eq!(f(&row["target"]), e);
        // In the bound's units (int8 codes), what the file records; the values' error
        // (codes x scale) is measured beside it.
        let codes = f(&row["max_abs_error_samples"]);
        assert!(codes <= e && codes > 0.0, "{row}");
        assert!(
            f(&row["max_abs_error"]) > 0.0 && f(&row["rel_rmse"]) > 0.0,
            "{row}"
        );
    }
    shrinking(&near);
}

#[test]
fn bench_lossy_on_a_float_dem_and_an_int32_raster() {
    // A float DEM: near-lossless bounds hold in metres; klt needs two bands, and says so.
    let r = bench_lossy(&[
        s(&fixture("float32_1b_pre_runout_dem_nocrs.tif")),
        "--max-error-levels",
        "0.5,1,2",
    ]);
    let near = rows(&r, "near-lossless");
    assert_eq!(near.len(), 3);
    for (row, e) in near.iter().zip([0.5, 1.0, 2.0]) {
        let measured = f(&row["max_abs_error"]);
        assert!(measured <= e && measured > 0.0, "{row}");
        assert!(f(&row["max_abs_error_samples"]) <= e, "{row}");
        assert_eq!(row["mean_cosine"], Value::Null, "no cosine of one band");
    }
    shrinking(&near);
    let klt = rows(&r, "klt");
    assert_eq!(klt.len(), 5, "the default levels: 1%, 2.5%, 5%, 10%, 20%");
    for row in klt {
        assert_eq!(row["applicable"], false, "{row}");
        assert!(row["note"].as_str().unwrap().contains("at least 2 bands"));
    }
    // int32 takes whole bounds (format 1.5): every sample within E, E reached on a DEM.
    let r = bench_lossy(&[s(&fixture("int32_1b_west_bijou_escarpment.tif"))]);
    let near = rows(&r, "near-lossless");
    assert_eq!(near.len(), 3, "the default levels: 1, 2, 4");
    for (row, e) in near.iter().zip([1.0, 2.0, 4.0]) {
        assert_eq!(row["applicable"], true, "{row}");
        assert_eq!(f(&row["max_abs_error"]), e, "{row}");
        assert!(f(&row["max_abs_error_samples"]) <= e, "{row}");
    }
    shrinking(&near);
    assert_eq!(rows(&r, "lossless")[0]["applicable"], true);
}

#[test]
fn bench_lossy_prints_a_table_marked_lossy() {
    let o = ok(&[
        "bench",
        "-q",
        "--lossy",
        "--reps",
        "1",
        "--rel-rmse-levels",
        "5%",
        "--max-error-levels",
        "1",
        s(&fixture("int8_128b_synthetic_embedding_crop.tif")),
    ]);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(table.contains("### LOSSY rate-distortion"), "{table}");
    assert!(table.contains("is LOSSY (not bit-exact)"), "{table}");
    assert!(table.contains("| klt | rel-RMSE 5% |"), "{table}");
    assert!(table.contains("| near-lossless | E=1 |"), "{table}");
    assert_eq!(
        table.lines().filter(|l| l.starts_with("| ")).count(),
        4,
        "{table}"
    );
    fails(
        &[
            "bench",
            "--lossy",
            "--rel-rmse-levels",
            "2",
            s(&fixture("uint16_4b_rgba.tif")),
        ],
        &["--rel-rmse-levels 2", "above 0 and below 1"],
    );
    fails(
        &[
            "bench",
            "--lossy",
            "--max-error-levels",
            "x",
            s(&fixture("uint16_4b_rgba.tif")),
        ],
        &["--max-error-levels x"],
    );
}

#[test]
fn help_texts_say_what_is_lossy() {
    let help = |args: &[&str]| String::from_utf8_lossy(&ok(args).stdout).into_owned();
    let convert = help(&["convert", "--help"]);
    for needle in [
        "--quality <Q>",
        "Transform-coded (LOSSY)",
        "90 -> 1%",
        "Not with --rel-rmse",
    ] {
        assert!(
            convert.contains(needle),
            "convert --help lacks {needle:?}:\n{convert}"
        );
    }
    let bench = help(&["bench", "--help"]);
    for needle in [
        "--lossy",
        "LOSSY rate-distortion",
        "--rel-rmse-levels",
        "--max-error-levels",
    ] {
        assert!(
            bench.contains(needle),
            "bench --help lacks {needle:?}:\n{bench}"
        );
    }
    let top = help(&["--help"]);
    assert!(top.contains("LOSSY rate-distortion"), "{top}");
}

#[test]
fn bench_lossy_refined_rows_keep_their_bound_and_their_target() {
    // The 198-band AVIRIS crop: klt at R refined to E, every sample within E and the
    // rel-RMSE at most R's (within the 5% the rate control allows).
    let r = bench_lossy(&[
        s(&fixture("uint16_198b_aviris_jasper_ridge_crop.tif")),
        "--rel-rmse-levels",
        "",
        "--max-error-levels",
        "",
        "--refined-levels",
        "5%:2,10%:7",
    ]);
    let refined = rows(&r, "klt+bound");
    assert_eq!(refined.len(), 2);
    for (row, (target, bound)) in refined.iter().zip([(0.05, 2.0), (0.1, 7.0)]) {
        assert_eq!(row["applicable"], true, "{row}");
        assert_eq!(f(&row["target"]), target);
        assert_eq!(f(&row["bound"]), bound);
        assert!(f(&row["max_abs_error"]) <= bound, "{row}");
        assert!(f(&row["rel_rmse"]) <= target * 1.05, "{row}");
    }
    shrinking(&refined);
    // Codes with their scales: a row that says why, not a failure.
    let (npy, scales) = presto();
    let r = bench_lossy(&[
        s(&npy),
        "--scales",
        s(&scales),
        "--rel-rmse-levels",
        "",
        "--max-error-levels",
        "",
        "--refined-levels",
        "5%:2",
    ]);
    let refused = rows(&r, "klt+bound");
    assert_eq!(refused[0]["applicable"], false);
    assert!(refused[0]["note"]
        .as_str()
        .unwrap()
        .contains("cannot be kept on codes with a dequantisation recipe"));
    fails(
        &["bench", "--lossy", "--refined-levels", "5%", s(&npy)],
        &["--refined-levels 5%: give a target and a bound as R:E (5%:2)"],
    );
}
