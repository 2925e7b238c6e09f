//! `convert --max-error E` on float rasters end to end, E in value units: the float DEM,
//! the gridMET grid and the 240-hour ERA5 stack read and written back through GDAL are
//! within E on every sample (checked exactly) with nodata exact, a bound of 0 writes the
//! lossless file byte for byte, the file says it is lossy with its bound in value units
//! (convert's summary, `info`, `info --json`, the STAC sidecar), `verify` checks it, and
//! codecs that cannot keep the bound refuse it.

mod common;
// The codec's tests and these check the bound with the same exact comparison.
#[path = "../crates/geoembed-codec/tests/common/exact_bound.rs"]
mod exact_bound;
use common::*;
use exact_bound::within;
use serde_json::Value;
use std::path::Path;

/// A raster's samples through GDAL as f64 (float32 widened exactly), and its nodata.
fn values(path: &str) -> (Vec<f64>, Option<f64>) {
    let (values, header) = gdal_values(path);
    (values, header.bands[0].nodata)
}

/// Converts `name` with `--max-error E` and back to GeoTIFF; asserts the bound and the
/// nodata rule on every sample and that `verify` passes; returns the `.emb`'s size.
fn within_bound(dir: &Path, name: &str, e: f64) -> u64 {
    let emb = dir.join(format!("{name}.{e}.emb"));
    let back = dir.join(format!("{name}.{e}.tif"));
    let source = fixture(name);
    let bound = e.to_string();
    let o = ok(&["convert", s(&source), s(&emb), "--max-error", &bound]);
    let summary = String::from_utf8_lossy(&o.stderr);
    assert!(summary.contains("LOSSY near-lossless"), "{summary}");
    ok(&["verify", s(&emb)]);
    ok(&["convert", "-q", s(&emb), s(&back)]);
    let ((original, nodata), (decoded, _)) = (values(s(&source)), values(s(&back)));
    assert_eq!(original.len(), decoded.len());
    for (i, (&x, &x_hat)) in original.iter().zip(&decoded).enumerate() {
        if !x.is_finite() || Some(x) == nodata {
            assert_eq!(
                x.to_bits(),
                x_hat.to_bits(),
                "{name} sample {i} must stay exact"
            );
        } else {
            assert!(
                within(x, x_hat, e),
                "{name} at E = {e}: sample {i} {x} -> {x_hat}"
            );
            assert_ne!(Some(x_hat), nodata, "{name} sample {i} became nodata");
        }
    }
    std::fs::metadata(&emb).unwrap().len()
}

/// The value range of a raster's valid samples.
fn range(name: &str) -> f64 {
    let (v, nodata) = values(s(&fixture(name)));
    let valid = v.iter().filter(|x| x.is_finite() && Some(**x) != nodata);
    let (lo, hi) = valid.fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)));
    hi - lo
}

#[test]
fn the_bound_holds_on_every_sample_of_real_float_rasters() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "float32_1b_pre_runout_dem_nocrs.tif",
        "float32_1b_gridmet_tmmx_crop_kelvin.tif",
        "float64_240b_era5_t2m_uk_201903_first240h.tif",
    ] {
        let sizes: Vec<u64> = [0.01, 0.5, 1e-4 * range(name)]
            .iter()
            .map(|&e| within_bound(dir.path(), name, e))
            .collect();
        assert!(sizes[1] < sizes[0], "{name}: {sizes:?}");
    }
}

#[test]
fn a_float_file_says_it_is_lossy_in_value_units() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("float32_1b_pre_runout_dem_nocrs.tif");
    let (lossless, zero, lossy) = (
        dir.path().join("lossless.emb"),
        dir.path().join("zero.emb"),
        dir.path().join("lossy.emb"),
    );
    ok(&["convert", "-q", s(&source), s(&lossless)]);
    ok(&["convert", "-q", s(&source), s(&zero), "--max-error", "0"]);
    ok(&[
        "convert",
        "-q",
        s(&source),
        s(&lossy),
        "--max-error",
        "0.01",
    ]);
    assert!(std::fs::read(&lossless).unwrap() == std::fs::read(&zero).unwrap());

    let j = info_json(&lossy);
    let compression = &j["geoembed"]["compression"];
    assert_eq!(compression["mode"], "near-lossless");
    assert_eq!(compression["max_error"], serde_json::json!([0.01]));
    let achieved = compression["achieved_max_error"][0].as_f64().unwrap();
    assert!(achieved > 0.0 && achieved <= 0.01, "{achieved}");
    let structure = &j["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(structure["COMPRESSION_REVERSIBILITY"], "LOSSY");
    assert_eq!(structure["GEOEMBED_MAX_ERROR"], "0.01");
    let text = std::fs::read(format!("{}.json", lossy.display())).unwrap();
    let props = &serde_json::from_slice::<Value>(&text).unwrap()["properties"];
    assert_eq!(props["geoembed:compression"], "near-lossless");
    assert_eq!(props["geoembed:max_error"], serde_json::json!([0.01]));
    let text = String::from_utf8_lossy(&ok(&["info", s(&lossy)]).stdout).into_owned();
    assert!(
        text.contains("Compression: near-lossless (LOSSY): max abs error 0.01, achieved"),
        "{text}"
    );
}

#[test]
fn a_float_bound_is_refused_where_it_cannot_be_kept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.emb");
    let dem = fixture("float32_1b_pre_runout_dem_nocrs.tif");
    fails(
        &[
            "convert",
            s(&dem),
            s(&out),
            "--max-error",
            "0.1",
            "--codec",
            "lz",
        ],
        &[
            "--max-error 0.1",
            "codec lz is lossless only",
            "--codec float or auto",
        ],
    );
    fails(
        &["convert", s(&dem), s(&out), "--max-error", "inf"],
        &["non-negative number"],
    );
    assert!(listing(dir.path()).is_empty());
}
