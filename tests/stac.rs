//! The STAC sidecar (`OUT.emb.json`) is a valid STAC 1.0 Item with the projection and raster
//! extensions, by pystac's Item model and the JSON schemas (vendored in `tests/stac/`, no
//! network), and takes its datetime from the source: TIFFTAG_DATETIME, GRIB valid times,
//! the GeoTessera year, else the conversion time.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python of the venv `scripts/setup.sh` makes for the tests (pystac[validation]).
fn stac_python() -> PathBuf {
    let p = std::env::var_os("GEOEMBED_STAC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/geoembed-stac-venv/bin/python"));
    assert!(
        p.exists(),
        "{} missing: run SETUP_FOR_TESTS=1 bash scripts/setup.sh (or set GEOEMBED_STAC_PYTHON to a Python with pystac[validation])",
        p.display()
    );
    p
}

/// Runs the validator on sidecars; (success, stdout, stderr).
fn validate(sidecars: &[&Path]) -> (bool, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/stac/validate_item.py");
    let o = Command::new(stac_python())
        .arg(script)
        .args(sidecars)
        .output()
        .expect("run the STAC validator");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn sidecar(emb: &Path) -> (PathBuf, Value) {
    let mut p = emb.as_os_str().to_owned();
    p.push(".json");
    let p = PathBuf::from(p);
    let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    (p, v)
}

#[test]
fn sidecars_are_valid_stac_items_with_the_sources_datetime() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // TIFFTAG_DATETIME on a GeoTIFF.
    let dated = d.join("dated.tif");
    let st = Command::new("gdal_translate")
        .args(["-q", "-mo", "TIFFTAG_DATETIME=2020:05:17 10:30:00"])
        .arg(fixture("int16_1b_srtm3_n44w072_crop.tif"))
        .arg(&dated)
        .status()
        .unwrap();
    assert!(st.success());
    let tiff = d.join("dated.emb");
    ok(&["-q", "convert", s(&dated), s(&tiff)]);
    // 24 hourly GRIB messages: a range.
    let grib = d.join("era5.emb");
    ok(&[
        "-q",
        "convert",
        s(&fixture("float64_24b_era5_t2m_uk_20190301.grib")),
        s(&grib),
    ]);
    // A GeoTessera tile under its year's directory.
    let year = d.join("2024/grid_3.05_45.15");
    std::fs::create_dir_all(&year).unwrap();
    let npy = year.join("grid_3.05_45.15.npy");
    std::fs::copy(fixture("tessera_proxy.npy"), &npy).unwrap();
    let tessera = d.join("tessera.emb");
    ok(&[
        "-q",
        "convert",
        s(&npy),
        s(&tessera),
        "--scales",
        s(&fixture("tessera_proxy_scales.npy")),
        "--georef",
        s(&fixture("tessera_proxy_landmask.tif")),
    ]);
    // Nothing in the source: the conversion time (SOURCE_DATE_EPOCH makes it reproducible).
    let plain = d.join("plain.emb");
    let o = Command::new(bin())
        .args(["-q", "convert"])
        .arg(fixture("uint16_198b_aviris_jasper_ridge_crop.tif"))
        .arg(&plain)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let cases = [
        (
            &tiff,
            "TIFFTAG_DATETIME",
            Some("2020-05-17T10:30:00Z"),
            None,
        ),
        (
            &grib,
            "GRIB_VALID_TIME",
            None,
            Some(("2019-03-01T00:00:00Z", "2019-03-01T23:00:00Z")),
        ),
        (
            &tessera,
            "GEOTESSERA_YEAR",
            None,
            Some(("2024-01-01T00:00:00Z", "2024-12-31T23:59:59Z")),
        ),
        (
            &plain,
            "conversion time",
            Some("2023-11-14T22:13:20Z"),
            None,
        ),
    ];
    let mut paths = Vec::new();
    for (emb, from, at, range) in cases {
        let (path, item) = sidecar(emb);
        let p = &item["properties"];
        assert_eq!(p["geoembed:datetime_from"], from, "{}", emb.display());
        match (at, range) {
            (Some(t), _) => assert_eq!(p["datetime"], t),
            (None, Some((a, b))) => {
                assert_eq!(p["datetime"], Value::Null);
                assert_eq!(
                    (&p["start_datetime"], &p["end_datetime"]),
                    (&a.into(), &b.into())
                );
            }
            _ => unreachable!(),
        }
        assert!(p["created"].as_str().is_some_and(|c| c.ends_with('Z')));
        paths.push(path);
    }
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (valid, out, err) = validate(&refs);
    assert!(
        valid,
        "pystac / STAC schemas refused a sidecar:\n{out}\n{err}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("valid ")).count(),
        4,
        "{out}"
    );

    // The validator is not a rubber stamp: a sidecar without any datetime is refused.
    let (path, mut item) = sidecar(&plain);
    item["properties"]["datetime"] = Value::Null;
    let broken = d.join("broken.json");
    std::fs::write(&broken, serde_json::to_string(&item).unwrap()).unwrap();
    let (valid, _, err) = validate(&[&broken]);
    assert!(!valid, "an Item with a null datetime and no range passed");
    assert!(err.contains("datetime"), "{err}");
    drop(path);
}
