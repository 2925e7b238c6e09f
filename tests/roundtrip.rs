//! GeoTIFF (and other GDAL formats) → .emb → GeoTIFF is bit-exact and GDAL reports the same
//! georeferencing, nodata, descriptions, scale/offset and metadata, for every sample type
//! and for 1 to 240 bands, on real rasters (fixtures/README.md gives their provenance).

mod common;
use common::*;

/// GeoTIFF fixtures: (file, sample type as GDAL 3.6 reports it, bands).
const GEOTIFFS: &[(&str, &str, usize)] = &[
    ("uint8_3b_landsat7_rgb_crop.tif", "uint8", 3),
    ("uint8_3b_landsat7_rgb_crop_gcps.tif", "uint8", 3),
    ("int8_128b_synthetic_embedding_crop.tif", "int8", 128),
    ("uint16_4b_rgba.tif", "uint16", 4),
    ("uint16_16b_aviris_jasper_ridge.tif", "uint16", 16),
    ("uint16_198b_aviris_jasper_ridge_crop.tif", "uint16", 198),
    ("uint16_1b_gridmet_tmmx_crop_scaled.tif", "uint16", 1),
    ("int16_1b_srtm3_n44w072_crop.tif", "int16", 1),
    ("int16_1b_srtm3_n44w072_crop_metadata.tif", "int16", 1),
    ("int16_1b_srtm30m_bigtujunga_utm11_crop.tif", "int16", 1),
    ("uint32_1b_srtm3_n44w072_crop_DERIVED.tif", "uint32", 1),
    ("int32_1b_west_bijou_escarpment.tif", "int32", 1),
    ("float32_1b_gridmet_tmmx_crop_kelvin.tif", "float32", 1),
    ("float32_1b_pre_runout_dem_nocrs.tif", "float32", 1),
    (
        "float64_240b_era5_t2m_uk_201903_first240h.tif",
        "float64",
        240,
    ),
];

#[test]
fn geotiff_round_trip_is_bit_exact_with_identical_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let mut types = std::collections::BTreeSet::new();
    for (name, ty, bands) in GEOTIFFS {
        let src = fixture(name);
        let emb = dir.path().join(format!("{name}.emb"));
        let back = dir.path().join(format!("{name}.back.tif"));
        ok(&["-q", "convert", s(&src), s(&emb)]);
        ok(&["-q", "convert", s(&emb), s(&back)]);
        let info = String::from_utf8(ok(&["info", "--json", s(&emb)]).stdout).unwrap();
        let j: serde_json::Value = serde_json::from_str(&info).unwrap();
        assert_eq!(j["geoembed"]["data_type"], *ty, "{name}");
        assert_eq!(j["geoembed"]["band_count"], *bands, "{name}");
        types.insert(*ty);
        assert!(
            pixels(s(&src)) == pixels(s(&back)),
            "{name}: samples differ after the round trip"
        );
        assert_eq!(
            gdalinfo(s(&src)),
            gdalinfo(s(&back)),
            "{name}: GDAL reports different metadata"
        );
        assert!(
            emb.with_extension("emb.json").exists(),
            "{name}: JSON sidecar missing"
        );
    }
    assert_eq!(types.len(), 8, "every sample type is covered: {types:?}");
}

/// Non-GeoTIFF sources: the GeoTIFF written from .emb equals the GeoTIFF GDAL itself writes
/// from the source (gdal_translate), bit for bit and in every reported field.
#[test]
fn other_gdal_formats_match_gdal_translate() {
    let dir = tempfile::tempdir().unwrap();
    let tmmx = fixture("uint16_1b_gridmet_tmmx_20190121.nc");
    let netcdf_var = format!("NETCDF:\"{}\":air_temperature", s(&tmmx));
    let inputs: Vec<String> = [
        "int32_1b_srtmgl3_frontrange_nocrs.asc",
        "int32_1b_west_bijou_escarpment.asc",
        "float32_1b_pre_runout_dem_nocrs.asc",
        "int16_6b_eraint_z_subset.nc",
        "float64_24b_era5_t2m_uk_20190301.grib",
    ]
    .iter()
    .map(|n| s(&fixture(n)).to_string())
    .chain([netcdf_var])
    .collect();
    for (i, input) in inputs.iter().enumerate() {
        let emb = dir.path().join(format!("{i}.emb"));
        let back = dir.path().join(format!("{i}.tif"));
        let reference = dir.path().join(format!("{i}.ref.tif"));
        ok(&["-q", "convert", input, s(&emb)]);
        ok(&["-q", "convert", s(&emb), s(&back)]);
        let st = std::process::Command::new("gdal_translate")
            .args(["-q", "-of", "GTiff", input, s(&reference)])
            .status()
            .unwrap();
        assert!(st.success());
        assert!(pixels(input) == pixels(s(&back)), "{input}: samples differ");
        assert_eq!(
            gdalinfo(s(&reference)),
            gdalinfo(s(&back)),
            "{input}: differs from gdal_translate's GeoTIFF"
        );
    }
}

#[test]
fn every_codec_round_trips_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("int8_128b_synthetic_embedding_crop.tif");
    let want = pixels(s(&src));
    let mut sizes = Vec::new();
    for codec in [
        "raw",
        "png128",
        "decorrelate+png128",
        "jxl",
        "decorrelate+jxl",
        "auto",
    ] {
        let emb = dir.path().join(format!("{codec}.emb"));
        let back = dir.path().join(format!("{codec}.tif"));
        ok(&[
            "-q",
            "convert",
            s(&src),
            s(&emb),
            "--codec",
            codec,
            "--tile",
            "32",
        ]);
        ok(&["-q", "convert", s(&emb), s(&back)]);
        assert!(want == pixels(s(&back)), "{codec}: samples differ");
        let j: serde_json::Value =
            serde_json::from_slice(&ok(&["info", "--json", s(&emb)]).stdout).unwrap();
        let tiles = j["geoembed"]["tiles"].as_array().unwrap();
        assert_eq!(tiles.len(), 4, "50x60 in 32-pixel tiles");
        if codec != "auto" {
            assert!(
                tiles.iter().all(|t| t["codec"] == codec),
                "{codec}: {tiles:?}"
            );
        }
        sizes.push((codec, std::fs::metadata(&emb).unwrap().len()));
    }
    let size = |c: &str| sizes.iter().find(|(n, _)| *n == c).unwrap().1;
    assert!(size("png128") < size("raw"));
    assert!(
        size("decorrelate+png128") < size("png128"),
        "decorrelation pays on 128 embedding channels: {sizes:?}"
    );
    assert!(size("auto") <= size("decorrelate+png128"), "{sizes:?}");
}

#[test]
fn emb_to_emb_recodes_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("uint16_16b_aviris_jasper_ridge.tif");
    let a = dir.path().join("a.emb");
    let b = dir.path().join("b.emb");
    let back = dir.path().join("b.tif");
    ok(&["-q", "convert", s(&src), s(&a), "--codec", "png128"]);
    ok(&[
        "-q",
        "convert",
        s(&a),
        s(&b),
        "--codec",
        "decorrelate+png128",
    ]);
    ok(&["-q", "convert", s(&b), s(&back)]);
    assert!(pixels(s(&src)) == pixels(s(&back)));
    assert_eq!(gdalinfo(s(&src)), gdalinfo(s(&back)));
}

#[test]
fn other_output_formats_through_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("int16_1b_srtm3_n44w072_crop.tif");
    let emb = dir.path().join("dem.emb");
    ok(&["-q", "convert", s(&src), s(&emb)]);
    // netCDF supports Create; PNG only CreateCopy (staged through a GeoTIFF).
    let nc = dir.path().join("dem.nc");
    ok(&["-q", "convert", s(&emb), s(&nc)]);
    assert!(pixels(s(&src)) == pixels(s(&nc)));
    let u8src = fixture("uint8_3b_landsat7_rgb_crop.tif");
    let emb8 = dir.path().join("rgb.emb");
    let png = dir.path().join("rgb.png");
    ok(&["-q", "convert", s(&u8src), s(&emb8)]);
    ok(&["-q", "convert", s(&emb8), s(&png), "-of", "PNG"]);
    assert!(pixels(s(&u8src)) == pixels(s(&png)));
    let leftovers: Vec<String> = listing(dir.path())
        .into_iter()
        .filter(|n| n.contains("geoembed"))
        .collect();
    assert!(leftovers.is_empty(), "staging files left: {leftovers:?}");
}

#[test]
fn float_nodata_comes_back_as_the_exact_double_gdal_reports() {
    // A GTX geoid grid: GDAL's GTX driver reports nodata -88.8888 (a double no float32 holds).
    let dir = tempfile::tempdir().unwrap();
    let gtx = dir.path().join("geoid.gtx");
    let st = std::process::Command::new("gdal_translate")
        .args(["-q", "-of", "GTX", "-ot", "Float32", "-a_srs", "EPSG:4326"])
        .arg(fixture("float32_1b_gridmet_tmmx_crop_kelvin.tif"))
        .arg(&gtx)
        .status()
        .unwrap();
    assert!(st.success());
    // The source's nodata went to a PAM side-car; without it GTX reports its own.
    let _ = std::fs::remove_file(dir.path().join("geoid.gtx.aux.xml"));
    let nodata = |p: &std::path::Path| {
        let ds = gdal::Dataset::open(p).unwrap();
        let v = ds.rasterband(1).unwrap().no_data_value();
        v
    };
    assert_eq!(nodata(&gtx), Some(-88.8888));
    let emb = dir.path().join("geoid.emb");
    ok(&["-q", "convert", s(&gtx), s(&emb)]);
    let info = String::from_utf8_lossy(&ok(&["info", s(&emb)]).stdout).into_owned();
    assert!(info.contains("  NoData Value=-88.8888\n"), "{info}");
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("geoid.emb.json")).unwrap())
            .unwrap();
    assert_eq!(
        side["assets"]["data"]["raster:bands"][0]["nodata"],
        -88.8888
    );
    for name in ["back.tif", "back.gtx"] {
        let back = dir.path().join(name);
        ok(&["-q", "convert", s(&emb), s(&back)]);
        assert_eq!(nodata(&back), Some(-88.8888), "{name}");
        assert!(pixels(s(&back)) == pixels(s(&gtx)), "{name}");
    }
}

#[test]
fn codec_help_names_every_codec() {
    let help = String::from_utf8_lossy(&ok(&["convert", "--help"]).stdout).into_owned();
    let line = help
        .lines()
        .find(|l| l.contains("--codec"))
        .expect("--codec in the help");
    for codec in geoembed_codec::CodecChoice::selectable() {
        assert!(
            line.contains(codec.name()),
            "{} missing: {line}",
            codec.name()
        );
    }
    for name in ["auto", "native", "float"] {
        assert!(line.contains(name), "{name} missing: {line}");
    }
}
