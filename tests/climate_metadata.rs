//! Climate inputs (issue 4): NetCDF/GRIB time and level dimensions become bands whose
//! coordinate values survive as band metadata (.emb -> GeoTIFF) and are shown by `geoembed
//! info`; a curvilinear grid (no affine geotransform, GDAL geolocation arrays) keeps its
//! GEOLOCATION metadata and says so. Inputs are the committed real fixtures (see
//! fixtures/README.md §8 and §10) and netCDF files GDAL writes from them at test time.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A file of the shared data set, which lives beside the repository (`../shared/data`)
/// where it is present.
fn shared_data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name)
}

/// First GRIB message of ERA5 2019-03 (2019-03-01T00Z), seconds since 1970.
const T0: i64 = 1_551_398_400;

fn gdal_translate(args: &[&str]) {
    let o = Command::new("gdal_translate")
        .env("GDAL_PAM_ENABLED", "NO")
        .args(["-q"])
        .args(args)
        .output()
        .expect("run gdal_translate");
    assert!(
        o.status.success(),
        "gdal_translate {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// IN -> .emb -> GeoTIFF; returns (emb, tif, stderr of the first conversion).
fn round_trip(dir: &Path, input: &str, stem: &str) -> (String, String, String) {
    let emb = dir.join(format!("{stem}.emb"));
    let tif = dir.join(format!("{stem}.tif"));
    let o = ok(&["convert", input, s(&emb)]);
    ok(&["-q", "convert", s(&emb), s(&tif)]);
    (
        s(&emb).to_string(),
        s(&tif).to_string(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `gdalinfo -json -mdd all` of a source as GDAL reports it. GDAL 3.6's GRIB reader prints
/// its "Ran out of file reading SECT0" notice (see fixtures/README.md) on stdout before the
/// JSON, so this skips to the JSON.
fn gdalinfo_raw(path: &str) -> Value {
    let o = Command::new("gdalinfo")
        .env("GDAL_PAM_ENABLED", "NO")
        .args(["-json", "-mdd", "all", path])
        .output()
        .expect("run gdalinfo");
    assert!(o.status.success(), "gdalinfo {path}");
    let text = String::from_utf8_lossy(&o.stdout);
    let start = text.find("\n{").map_or(0, |i| i + 1);
    serde_json::from_str(&text[start..]).expect("gdalinfo JSON")
}

fn band_md<'a>(j: &'a Value, band: usize, key: &str) -> &'a str {
    j["bands"][band - 1]["metadata"][""][key]
        .as_str()
        .unwrap_or_else(|| panic!("band {band} has no {key}: {}", j["bands"][band - 1]))
}

fn info_text(emb: &str) -> String {
    String::from_utf8(ok(&["info", emb]).stdout).unwrap()
}

/// The "  Coordinates: ..." line of each band block, in band order.
fn coordinate_lines(info: &str) -> Vec<String> {
    info.lines()
        .filter_map(|l| l.strip_prefix("  Coordinates: "))
        .map(str::to_string)
        .collect()
}

fn iso(t: i64) -> String {
    // Hours of 2019-03 only (the fixture's range): day and hour from T0.
    let h = (t - T0) / 3600;
    format!("2019-03-{:02}T{:02}:00Z", 1 + h / 24, h % 24)
}

fn check_grib(input: &str, bands: usize, dir: &Path, stem: &str) {
    let (emb, tif, stderr) = round_trip(dir, input, stem);
    assert!(!stderr.contains("note:"), "no geolocation note: {stderr}");
    let (src, back) = (gdalinfo_raw(input), gdalinfo(&tif));
    assert_eq!(back["bands"].as_array().unwrap().len(), bands);
    for b in 1..=bands {
        // Every GRIB_* item and the description (level) come back unchanged.
        assert_eq!(
            src["bands"][b - 1]["metadata"][""],
            back["bands"][b - 1]["metadata"][""],
            "{input} band {b}"
        );
        assert_eq!(
            src["bands"][b - 1]["description"],
            back["bands"][b - 1]["description"]
        );
        let t = T0 + 3600 * (b as i64 - 1);
        assert_eq!(band_md(&back, b, "GRIB_VALID_TIME"), t.to_string());
        assert_eq!(band_md(&back, b, "GRIB_REF_TIME"), t.to_string());
        assert_eq!(band_md(&back, b, "GRIB_ELEMENT"), "2T");
    }
    assert_eq!(
        back["bands"][0]["description"],
        "0[-] SFC (Ground or water surface)"
    );
    let lines = coordinate_lines(&info_text(&emb));
    let want: Vec<String> = (0..bands as i64)
        .map(|i| format!("2T, valid {}", iso(T0 + 3600 * i)))
        .collect();
    assert_eq!(lines, want);
}

#[test]
fn grib_valid_times_survive_and_info_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let grib = fixture("float64_24b_era5_t2m_uk_20190301.grib");
    check_grib(s(&grib), 24, dir.path(), "grib24");
    // The JSON carries the same line per band.
    let emb = dir.path().join("grib24.emb");
    let j: Value = serde_json::from_slice(&ok(&["info", "--json", s(&emb)]).stdout).unwrap();
    assert_eq!(
        j["geoembed"]["bands"][23]["coordinates"],
        "2T, valid 2019-03-01T23:00Z"
    );
    // The whole month (744 messages), where the shared data set is present.
    let full = shared_data("climate/xarray-data/era5-2mt-2019-03-uk.grib");
    if full.exists() {
        check_grib(s(&full), 744, dir.path(), "grib744");
    } else {
        eprintln!("skipped: {} not present", full.display());
    }
}

/// (month, level) of bands 1..6: month is the outer dimension (NETCDF_DIM_EXTRA={month,level}).
const MONTH_LEVEL: [(&str, &str); 6] = [
    ("1", "200"),
    ("1", "500"),
    ("1", "850"),
    ("7", "200"),
    ("7", "500"),
    ("7", "850"),
];

fn check_eraint_z(input: &str, dir: &Path, stem: &str) {
    let (emb, tif, _) = round_trip(dir, input, stem);
    let (src, back) = (gdalinfo(input), gdalinfo(&tif));
    assert_eq!(
        src["metadata"][""], back["metadata"][""],
        "dataset metadata"
    );
    for key in [
        "NETCDF_DIM_EXTRA",
        "NETCDF_DIM_level_VALUES",
        "NETCDF_DIM_month_VALUES",
    ] {
        assert!(back["metadata"][""][key].is_string(), "{key} lost");
    }
    assert_eq!(
        back["metadata"][""]["NETCDF_DIM_level_VALUES"],
        "{200,500,850}"
    );
    assert_eq!(back["metadata"][""]["z#units"], "m**2 s**-2");
    for (i, (month, level)) in MONTH_LEVEL.iter().enumerate() {
        let b = i + 1;
        assert_eq!(
            src["bands"][i]["metadata"], back["bands"][i]["metadata"],
            "band {b}"
        );
        assert_eq!(band_md(&back, b, "NETCDF_DIM_month"), *month);
        assert_eq!(band_md(&back, b, "NETCDF_DIM_level"), *level);
        assert_eq!(band_md(&back, b, "NETCDF_VARNAME"), "z");
    }
    let want: Vec<String> = MONTH_LEVEL
        .iter()
        .map(|(m, l)| format!("month={m}, level={l} millibars"))
        .collect();
    assert_eq!(coordinate_lines(&info_text(&emb)), want);
}

#[test]
fn netcdf_month_and_level_survive_and_info_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let nc = fixture("int16_6b_eraint_z_subset.nc");
    check_eraint_z(s(&nc), dir.path(), "z_subset");
    let full = shared_data("climate/xarray-data/eraint_uvz.nc");
    if full.exists() {
        check_eraint_z(&format!("NETCDF:\"{}\":z", s(&full)), dir.path(), "z_full");
    } else {
        eprintln!("skipped: {} not present", full.display());
    }
}

#[test]
fn emb_to_netcdf_rebuilds_month_and_level_dimensions() {
    // GDAL's netCDF driver rebuilds extra dimensions only in CreateCopy: geoembed must not
    // flatten the stack into Band1..Band6 variables.
    let dir = tempfile::tempdir().unwrap();
    let nc = fixture("int16_6b_eraint_z_subset.nc");
    let (emb, out) = (dir.path().join("z.emb"), dir.path().join("z.nc"));
    ok(&["-q", "convert", s(&nc), s(&emb)]);
    ok(&["-q", "convert", s(&emb), s(&out), "-of", "netCDF"]);
    let (src, back) = (gdalinfo(s(&nc)), gdalinfo(s(&out)));
    assert_eq!(back["metadata"][""]["NETCDF_DIM_EXTRA"], "{month,level}");
    assert_eq!(
        back["metadata"][""]["NETCDF_DIM_level_VALUES"],
        "{200,500,850}"
    );
    for (i, (month, level)) in MONTH_LEVEL.iter().enumerate() {
        assert_eq!(
            band_md(&back, i + 1, "NETCDF_DIM_month"),
            *month,
            "band {}",
            i + 1
        );
        assert_eq!(
            band_md(&back, i + 1, "NETCDF_DIM_level"),
            *level,
            "band {}",
            i + 1
        );
    }
    assert_eq!(pixels(s(&out)), pixels(s(&nc)), "samples");
    assert_eq!(src["geoTransform"], back["geoTransform"]);
}

/// A netCDF with a CF time dimension ("hours since 1900-01-01", as ERA5 netCDF downloads
/// have), written by GDAL from the first three GRIB messages: info decodes the times.
#[test]
fn netcdf_time_dimension_is_shown_as_dates() {
    let dir = tempfile::tempdir().unwrap();
    let grib = fixture("float64_24b_era5_t2m_uk_20190301.grib");
    let nc = dir.path().join("t2m_time.nc");
    let h0 = (T0 + 2_208_988_800) / 3600; // hours from 1900-01-01 to 2019-03-01
    let values = format!("NETCDF_DIM_time_VALUES={{{h0},{},{}}}", h0 + 1, h0 + 2);
    gdal_translate(&[
        "-of",
        "netCDF",
        "-b",
        "1",
        "-b",
        "2",
        "-b",
        "3",
        "-co",
        "WRITE_GDAL_HISTORY=NO",
        "-mo",
        "NETCDF_DIM_EXTRA={time}",
        "-mo",
        "NETCDF_DIM_time_DEF={3,6}",
        "-mo",
        &values,
        "-mo",
        "time#units=hours since 1900-01-01 00:00:00.0",
        "-mo",
        "time#calendar=gregorian",
        s(&grib),
        s(&nc),
    ]);
    let (emb, tif, _) = round_trip(dir.path(), s(&nc), "t2m_time");
    let back = gdalinfo(&tif);
    for b in 1..=3 {
        assert_eq!(
            band_md(&back, b, "NETCDF_DIM_time"),
            (h0 + b as i64 - 1).to_string()
        );
    }
    assert_eq!(
        coordinate_lines(&info_text(&emb)),
        [
            "time=2019-03-01T00:00Z",
            "time=2019-03-01T01:00Z",
            "time=2019-03-01T02:00Z"
        ]
    );
}

/// A curvilinear netCDF (2-D lon/lat coordinate variables, no affine geotransform): GDAL
/// writes it from an 8x6 window of the eraint fixture and lon/lat arrays of a grid rotated
/// by 20 degrees, given to it as a VRT GEOLOCATION domain.
fn curvilinear_netcdf(dir: &Path) -> String {
    let (w, h) = (8usize, 6usize);
    // Pixel (i, j) centre at lon/lat = origin + 0.5 degree steps along axes rotated by 20
    // degrees: no affine geotransform in GDAL's sense once written as 2-D lon/lat variables.
    let (sin, cos) = 20f64.to_radians().sin_cos();
    let (mut lon, mut lat) = (String::new(), String::new());
    for j in 0..h {
        for i in 0..w {
            let (i, j) = (i as f64, j as f64);
            lon += &format!("{:.6} ", -10.0 + 0.5 * (i * cos - j * sin));
            lat += &format!("{:.6} ", 50.0 + 0.5 * (i * sin + j * cos));
        }
        lon += "\n";
        lat += "\n";
    }
    let header = format!("ncols {w}\nnrows {h}\nxllcorner 0\nyllcorner 0\ncellsize 1\n");
    std::fs::write(dir.join("lon.asc"), header.clone() + &lon).unwrap();
    std::fs::write(dir.join("lat.asc"), header + &lat).unwrap();
    let vrt = dir.join("curv.vrt");
    let geoloc: String = [
        ("X_DATASET", s(&dir.join("lon.asc"))),
        ("X_BAND", "1"),
        ("Y_DATASET", s(&dir.join("lat.asc"))),
        ("Y_BAND", "1"),
        ("PIXEL_OFFSET", "0"),
        ("LINE_OFFSET", "0"),
        ("PIXEL_STEP", "1"),
        ("LINE_STEP", "1"),
        ("SRS", "EPSG:4326"),
    ]
    .iter()
    .map(|(k, v)| format!("<MDI key=\"{k}\">{v}</MDI>"))
    .collect();
    std::fs::write(
        &vrt,
        format!(
            r#"<VRTDataset rasterXSize="{w}" rasterYSize="{h}">
  <Metadata domain="GEOLOCATION">{geoloc}</Metadata>
  <VRTRasterBand dataType="Int16" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="0">{}</SourceFilename>
      <SourceBand>1</SourceBand>
      <SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>
      <DstRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>
"#,
            s(&fixture("int16_6b_eraint_z_subset.nc"))
        ),
    )
    .unwrap();
    let nc = dir.join("curv.nc");
    gdal_translate(&[
        "-of",
        "netCDF",
        "-co",
        "WRITE_GDAL_HISTORY=NO",
        s(&vrt),
        s(&nc),
    ]);
    s(&nc).to_string()
}

#[test]
fn curvilinear_grid_keeps_geolocation_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let nc = curvilinear_netcdf(dir.path());
    let src = gdalinfo(&nc);
    // The input really is curvilinear as GDAL sees it.
    assert!(src.get("geoTransform").is_none(), "{src}");
    let x = format!("NETCDF:\"{nc}\":lon");
    let y = format!("NETCDF:\"{nc}\":lat");
    assert_eq!(src["metadata"]["GEOLOCATION"]["X_DATASET"], x.as_str());
    assert_eq!(src["metadata"]["GEOLOCATION"]["Y_DATASET"], y.as_str());
    assert_eq!(gdalinfo(&x)["size"], serde_json::json!([8, 6]), "2-D lon");

    let (emb, tif, stderr) = round_trip(dir.path(), &nc, "curv");
    let note = format!(
        "geoembed: note: {nc} has no affine geotransform; its GEOLOCATION metadata is kept (X_DATASET={x}, Y_DATASET={y}), but the lon/lat arrays it names are not copied: they stay in the source file"
    );
    assert!(stderr.lines().any(|l| l == note), "note missing: {stderr}");
    // --quiet silences it.
    let quiet = ok(&["-q", "convert", &nc, s(&dir.path().join("q.emb"))]);
    assert!(quiet.stderr.is_empty(), "{:?}", quiet.stderr);

    let info = info_text(&emb);
    let line = format!("No affine geotransform; geolocation arrays: X_DATASET={x}, Y_DATASET={y} (GEOLOCATION metadata below; the arrays are not in this file)");
    assert!(info.lines().any(|l| l == line), "{info}");
    assert!(info.contains("Metadata (GEOLOCATION):"), "{info}");

    // Written back: the same GEOLOCATION domain, still no geotransform, same samples.
    let back = gdalinfo(&tif);
    assert!(
        !Path::new(&format!("{tif}.aux.xml")).exists(),
        "kept in the GeoTIFF itself, not a PAM side-car"
    );
    assert!(back.get("geoTransform").is_none());
    assert_eq!(
        src["metadata"]["GEOLOCATION"],
        back["metadata"]["GEOLOCATION"]
    );
    assert!(pixels(&nc) == pixels(&tif));
}
