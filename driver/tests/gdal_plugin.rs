//! The plugin under real GDAL: `gdalinfo`, `gdal_translate` (both directions), Debian's
//! python3-gdal, `/vsicurl/` against a local range-capable HTTP server, and corrupt files.
//! Each test installs the freshly built `libgdal_GeoEmbed.so` as `gdal_GeoEmbed.so` in a
//! private directory and points `GDAL_DRIVER_PATH` at it.

mod common;

use common::plugin_dir;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

/// Debian's interpreter, which has python3-gdal (another python3 on PATH may not).
const DEBIAN_PYTHON: &str = "/usr/bin/python3";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

struct Gdal {
    plugins: TempDir,
    work: TempDir,
}

impl Gdal {
    fn new() -> Self {
        Gdal {
            plugins: plugin_dir(),
            work: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let o = Command::new(tool)
            .args(args)
            .env("GDAL_DRIVER_PATH", self.plugins.path())
            .env("CPL_DEBUG", "OFF")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e} (install gdal-bin)"));
        // A crash (signal) is never acceptable, whatever the input.
        assert!(
            o.status.code().is_some(),
            "{tool} {args:?} crashed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }

    fn ok(&self, tool: &str, args: &[&str]) -> String {
        let o = self.run(tool, args);
        assert!(
            o.status.success(),
            "{tool} {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs a Python script with Debian's interpreter (python3-gdal, rasterio) and the
    /// plugin; returns (success, stdout, stderr).
    fn python(&self, script: &str, args: &[&str]) -> (bool, String, String) {
        let o = Command::new(DEBIAN_PYTHON)
            .arg("-c")
            .arg(script)
            .args(args)
            .env("GDAL_DRIVER_PATH", self.plugins.path())
            .output()
            .expect("run /usr/bin/python3 (install python3-gdal, python3-rasterio)");
        assert!(
            o.status.code().is_some(),
            "python3 crashed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn info(&self, path: &str) -> Value {
        serde_json::from_str(&self.ok("gdalinfo", &["-json", "-mdd", "all", path])).expect("json")
    }

    /// `gdal_translate -of GeoEmbed SRC NAME.emb` with creation options.
    fn to_emb(&self, src: &Path, name: &str, co: &[&str]) -> PathBuf {
        let out = self.path(name);
        let mut args = vec!["-q", "-of", "GeoEmbed"];
        for c in co {
            args.extend(["-co", c]);
        }
        args.extend([src.to_str().unwrap(), out.to_str().unwrap()]);
        self.ok("gdal_translate", &args);
        out
    }
}

/// All samples of a raster through GDAL (band-sequential, native type) and their type.
fn pixels(path: &Path) -> (Vec<u8>, u32) {
    let ds = gdal::Dataset::open(path).expect("open with GDAL");
    let (w, h) = ds.raster_size();
    let n = ds.raster_count();
    let c = ds.c_dataset();
    // SAFETY: band 1 exists; the buffer is sized for w*h*n samples of the band type.
    unsafe {
        let ty = gdal_sys::GDALGetRasterDataType(gdal_sys::GDALGetRasterBand(c, 1));
        let size = gdal_sys::GDALGetDataTypeSizeBytes(ty) as usize;
        let mut buf = vec![0u8; w * h * n * size];
        let err = gdal_sys::GDALDatasetRasterIO(
            c,
            gdal_sys::GDALRWFlag::GF_Read,
            0,
            0,
            w as i32,
            h as i32,
            buf.as_mut_ptr().cast(),
            w as i32,
            h as i32,
            ty,
            n as i32,
            std::ptr::null_mut(),
            0,
            0,
            0,
        );
        assert_eq!(err, gdal_sys::CPLErr::CE_None, "read {}", path.display());
        (buf, ty)
    }
}

/// What must survive: size, georeferencing, per-band nodata, scale/offset, descriptions
/// and the default metadata domains, as gdalinfo reports them.
fn same_description(a: &Value, b: &Value) {
    for key in ["size", "geoTransform", "gcps", "metadata"] {
        let (x, y) = (&a[key], &b[key]);
        if key == "metadata" {
            assert_eq!(x[""], y[""], "dataset metadata");
        } else {
            assert_eq!(x, y, "{key}");
        }
    }
    assert_eq!(
        a["coordinateSystem"]["wkt"], b["coordinateSystem"]["wkt"],
        "CRS"
    );
    let (ba, bb) = (
        a["bands"].as_array().unwrap(),
        b["bands"].as_array().unwrap(),
    );
    assert_eq!(ba.len(), bb.len(), "band count");
    for (x, y) in ba.iter().zip(bb) {
        for key in [
            "type",
            "description",
            "noDataValue",
            "scale",
            "offset",
            "unit",
            "colorInterpretation",
        ] {
            assert_eq!(x[key], y[key], "band {} {key}", x["band"]);
        }
        assert_eq!(
            x["metadata"][""], y["metadata"][""],
            "band {} metadata",
            x["band"]
        );
    }
}

#[test]
fn gdal_lists_the_driver_with_its_capabilities() {
    let g = Gdal::new();
    let formats = g.ok("gdalinfo", &["--formats"]);
    let line = formats
        .lines()
        .find(|l| l.trim_start().starts_with("GeoEmbed"))
        .unwrap_or_else(|| panic!("GeoEmbed missing from gdalinfo --formats:\n{formats}"));
    // r = read, w = CreateCopy, + = Create, v = virtual I/O (/vsicurl/, /vsimem/,
    // /vsizip/), s = subdatasets.
    assert!(line.contains("(rw+vs)"), "{line}");
    let about = g.ok("gdalinfo", &["--format", "GeoEmbed"]);
    assert!(about.contains("Extension: emb"), "{about}");
    assert!(about.contains("TILE_SIZE"), "{about}");
    assert!(
        about.contains("MAX_ERROR") && about.contains("REL_RMSE") && about.contains("QUALITY"),
        "{about}"
    );
}

#[test]
fn translate_both_ways_is_bit_exact_with_metadata() {
    let g = Gdal::new();
    for (name, co) in [
        ("uint8_3b_landsat7_rgb_crop.tif", vec![]),
        ("uint8_3b_landsat7_rgb_crop_gcps.tif", vec!["TILE_SIZE=32"]),
        (
            "int16_1b_srtm3_n44w072_crop_metadata.tif",
            vec!["TILE_SIZE=64"],
        ),
        (
            "uint16_198b_aviris_jasper_ridge_crop.tif",
            vec!["TILE_SIZE=16"],
        ),
        (
            "int8_128b_synthetic_embedding_crop.tif",
            vec!["CODEC=native", "EFFORT=fast"],
        ),
        ("uint16_1b_gridmet_tmmx_crop_scaled.tif", vec![]),
        ("float32_1b_gridmet_tmmx_crop_kelvin.tif", vec![]),
        (
            "float64_240b_era5_t2m_uk_201903_first240h.tif",
            vec!["TILE_SIZE=32"],
        ),
    ] {
        let src = fixture(name);
        let emb = g.to_emb(&src, &format!("{name}.emb"), &co);
        let back = g.path(&format!("{name}.back.tif"));
        g.ok(
            "gdal_translate",
            &["-q", emb.to_str().unwrap(), back.to_str().unwrap()],
        );
        assert_eq!(pixels(&src), pixels(&back), "{name}: samples differ");
        let (si, ei) = (g.info(src.to_str().unwrap()), g.info(emb.to_str().unwrap()));
        same_description(&si, &ei);
        same_description(&si, &g.info(back.to_str().unwrap()));
        assert_eq!(ei["driverShortName"], "GeoEmbed");
        let tile = ei["bands"][0]["block"].clone();
        let want = co
            .iter()
            .find_map(|c| c.strip_prefix("TILE_SIZE="))
            .map_or(512, |t| t.parse::<u64>().unwrap());
        let (w, h) = (
            si["size"][0].as_u64().unwrap(),
            si["size"][1].as_u64().unwrap(),
        );
        // The natural block is the tile (at most 512 by default: 512 under 8 bands, 256
        // from 8, smaller for very wide pixels), clipped to the raster.
        let (bw, bh) = (tile[0].as_u64().unwrap(), tile[1].as_u64().unwrap());
        let edge = bw.max(bh);
        assert!(
            edge <= want && bw == edge.min(w) && bh == edge.min(h),
            "{name}: block {tile} for tile size {want} ({w} x {h})"
        );
        let structure = &ei["metadata"]["IMAGE_STRUCTURE"];
        // A name GDAL clients know (rasterio parses it into an enum); the codecs are in
        // the GEOEMBED domain.
        assert_eq!(structure["COMPRESSION"], "DEFLATE", "{name}");
        assert_eq!(
            ei["metadata"]["GEOEMBED"]["CODECS"], structure["GEOEMBED_TILE_CODECS"],
            "{name}"
        );
        let tiles = ei["metadata"]["GEOEMBED"]["TILE_CODECS"].as_str().unwrap();
        assert_eq!(
            tiles.split(',').count() as u64,
            w.div_ceil(edge) * h.div_ceil(edge),
            "{name}: one codec per tile: {tiles}"
        );
        if name.starts_with("int8") {
            assert_eq!(
                ei["bands"][0]["metadata"]["IMAGE_STRUCTURE"]["PIXELTYPE"], "SIGNEDBYTE",
                "{name}"
            );
            assert!(
                structure["GEOEMBED_TILE_CODECS"]
                    .as_str()
                    .unwrap()
                    .starts_with("native:"),
                "{name}: {structure}"
            );
        }
    }
}

#[test]
fn gdaladdo_builds_external_overviews_that_gdal_reads() {
    let g = Gdal::new();
    let src = fixture("int16_1b_srtm3_n44w072_crop.tif");
    let emb = g.to_emb(&src, "ovr.emb", &["TILE_SIZE=64"]);
    g.ok(
        "gdaladdo",
        &["-q", "-r", "average", emb.to_str().unwrap(), "2", "4"],
    );
    assert!(g.path("ovr.emb.ovr").exists(), "no .ovr written");
    let info = g.info(emb.to_str().unwrap());
    let ovr = info["bands"][0]["overviews"]
        .as_array()
        .expect("overviews listed");
    assert_eq!(ovr.len(), 2, "{info}");
    assert_eq!(ovr[0]["size"], serde_json::json!([150, 150]));
    // The file itself is untouched: still bit-exact.
    let back = g.path("ovr.tif");
    g.ok(
        "gdal_translate",
        &["-q", emb.to_str().unwrap(), back.to_str().unwrap()],
    );
    assert_eq!(pixels(&src), pixels(&back));
}

#[test]
fn python_gdal_reads_windows_and_band_subsets() {
    let g = Gdal::new();
    let src = fixture("uint16_198b_aviris_jasper_ridge_crop.tif");
    let emb = g.to_emb(&src, "jasper.emb", &["TILE_SIZE=16"]);
    // Windows that start inside one tile and end inside another, band lists out of order,
    // a single band, and whole-band reads, each compared with the same read of the GeoTIFF.
    let script = r#"
import sys
from osgeo import gdal
gdal.UseExceptions()
a, b = gdal.Open(sys.argv[1]), gdal.Open(sys.argv[2])
assert b.GetDriver().ShortName == "GeoEmbed", b.GetDriver().ShortName
checks = 0
for (x, y, w, h) in [(0, 0, 34, 40), (5, 7, 20, 20), (15, 15, 2, 2), (33, 39, 1, 1), (0, 17, 34, 5)]:
    for bands in [None, [1], [198, 3, 77], list(range(1, 199, 7))]:
        ra = a.ReadRaster(x, y, w, h, band_list=bands)
        rb = b.ReadRaster(x, y, w, h, band_list=bands)
        assert ra == rb, (x, y, w, h, bands)
        checks += 1
for i in (1, 100, 198):
    assert a.GetRasterBand(i).ReadRaster() == b.GetRasterBand(i).ReadRaster(), i
    assert a.GetRasterBand(i).GetDescription() == b.GetRasterBand(i).GetDescription(), i
# Resampled read (GDAL's generic path) must agree too.
assert a.ReadRaster(0, 0, 34, 40, 17, 20) == b.ReadRaster(0, 0, 34, 40, 17, 20)
print("checks", checks)
"#;
    let (ok, out, err) = g.python(script, &[src.to_str().unwrap(), emb.to_str().unwrap()]);
    assert!(ok, "python3-gdal: {err}");
    assert!(out.contains("checks 20"), "{out}");
}

#[test]
fn broken_files_are_gdal_errors_not_crashes() {
    let g = Gdal::new();
    let src = fixture("int16_1b_srtm3_n44w072_crop.tif");
    let emb = g.to_emb(&src, "dem.emb", &["TILE_SIZE=64"]);
    let bytes = std::fs::read(&emb).unwrap();

    // Truncated: the open fails with a message naming the file and the problem.
    let cut = g.path("cut.emb");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = g.run("gdalinfo", &[cut.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "gdalinfo opened a truncated file");
    assert!(
        err.contains("cut.emb") && err.contains("beyond the end of the"),
        "truncated: {err}"
    );

    // A flipped byte in a tile: opening works (header intact), reading that tile fails
    // with a checksum error that names the tile.
    let (first_tile, _) = first_tile_payload(&emb);
    let mut bad = bytes.clone();
    bad[first_tile as usize + 3] ^= 0x40;
    let corrupt = g.path("corrupt.emb");
    std::fs::write(&corrupt, &bad).unwrap();
    g.ok("gdalinfo", &[corrupt.to_str().unwrap()]);
    let o = g.run(
        "gdal_translate",
        &[
            "-q",
            corrupt.to_str().unwrap(),
            g.path("x.tif").to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "corrupt tile read without error");
    assert!(
        err.contains("checksum") && err.contains("tile ("),
        "corrupt: {err}"
    );

    // Not a .emb at all, though named like one: no GeoEmbed error, GDAL's usual message.
    let fake = g.path("fake.emb");
    std::fs::write(&fake, b"this is not a raster").unwrap();
    let o = g.run("gdalinfo", &[fake.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("not recognized as a supported file format"),
        "{err}"
    );

    // Opening for update is refused clearly.
    let (_, _, err) = g.python(
        "import sys\nfrom osgeo import gdal\ngdal.UseExceptions()\ngdal.Open(sys.argv[1], gdal.GA_Update)",
        &[emb.to_str().unwrap()],
    );
    assert!(err.contains("read-only"), "{err}");
}

/// Offset and length of the first tile's payload, from the file's tile index.
fn first_tile_payload(emb: &Path) -> (u64, u64) {
    let f = std::fs::File::open(emb).unwrap();
    let r = geoembed_codec::container::Reader::open(std::io::BufReader::new(f)).unwrap();
    let e = r.entries()[0];
    (e.offset, e.length)
}

#[test]
fn vsicurl_fetches_only_the_index_and_the_tiles_it_needs() {
    let g = Gdal::new();
    // 1024 x 1024 x 4 bands of noise in 256-pixel tiles: incompressible, so every tile is
    // ~256 KB on disk.
    let src = g.path("noise.tif");
    {
        let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
        let ds = drv
            .create_with_band_type::<u8, _>(&src, 1024, 1024, 4)
            .unwrap();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for b in 1..=4 {
            let data: Vec<u8> = (0..1024 * 1024)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let mut buf = gdal::raster::Buffer::new((1024, 1024), data);
            ds.rasterband(b)
                .unwrap()
                .write((0, 0), (1024, 1024), &mut buf)
                .unwrap();
        }
    }
    let emb = g.to_emb(&src, "remote.emb", &["CODEC=png128", "TILE_SIZE=256"]);
    let size = std::fs::metadata(&emb).unwrap().len();
    let log = g.path("served.log");
    let mut server = Command::new(DEBIAN_PYTHON)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/range_server.py"))
        .args([g.work.path(), &log])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the range server");
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.as_mut().unwrap()),
        &mut port,
    )
    .unwrap();
    let url = format!("/vsicurl/http://127.0.0.1:{}/remote.emb", port.trim());
    let out = g.path("window.tif");
    let o = Command::new("gdal_translate")
        .args([
            "-q",
            "-srcwin",
            "10",
            "10",
            "100",
            "100",
            &url,
            out.to_str().unwrap(),
        ])
        .env("GDAL_DRIVER_PATH", g.plugins.path())
        .env("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
        .env("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".emb")
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        o.status.success(),
        "/vsicurl/ read failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let served: u64 = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
        .sum();
    let (_, tile_len) = first_tile_payload(&emb);
    eprintln!("vsicurl: served {served} of {size} bytes for a window in one {tile_len}-byte tile");
    // One tile of 16, plus the preamble, index and header; vsicurl rounds requests up to
    // 16 KB chunks and doubles its read-ahead on sequential reads, so allow two tiles' worth.
    assert!(
        served >= tile_len && served <= size / 8,
        "served {served} bytes of a {size}-byte file for one tile of {tile_len} bytes"
    );
    // And the window is right.
    let (a, _) = pixels(&out);
    let whole = pixels(&src).0;
    for b in 0..4 {
        for row in 0..100 {
            let s = b * 1024 * 1024 + (10 + row) * 1024 + 10;
            assert_eq!(
                &a[b * 10000 + row * 100..b * 10000 + row * 100 + 100],
                &whole[s..s + 100]
            );
        }
    }
}

/// The `geoembed` binary of the same build (built by `cargo test --workspace`).
fn geoembed_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("geoembed");
    assert!(
        bin.exists(),
        "{} not built: run the workspace's tests (cargo test --workspace)",
        bin.display()
    );
    bin
}

#[test]
fn qgis_renders_the_emb_like_the_geotiff_and_loads_exported_tiles() {
    let g = Gdal::new();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/qgis_render.py");
    let qgis = |args: &[&str]| {
        let o = Command::new(DEBIAN_PYTHON)
            .arg(&script)
            .args(args)
            .env("GDAL_DRIVER_PATH", g.plugins.path())
            // QGIS computes band statistics and GDAL's PAM would save them as .aux.xml
            // beside the committed fixtures.
            .env("GDAL_PAM_ENABLED", "NO")
            .env("QT_QPA_PLATFORM", "offscreen")
            .output()
            .expect("run QGIS (install qgis and python3-qgis)");
        assert!(
            o.status.code().is_some(),
            "QGIS crashed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "QGIS {args:?}: {out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    };
    for (name, co) in [
        ("uint8_3b_landsat7_rgb_crop.tif", "TILE_SIZE=64"),
        ("int16_1b_srtm3_n44w072_crop.tif", "TILE_SIZE=128"),
    ] {
        let src = fixture(name);
        let emb = g.to_emb(&src, &format!("{name}.emb"), &[co]);
        let dir = g.path(name);
        std::fs::create_dir(&dir).unwrap();
        let out = qgis(&[
            "compare",
            src.to_str().unwrap(),
            emb.to_str().unwrap(),
            dir.to_str().unwrap(),
        ]);
        eprintln!("QGIS {name}: {out}");
        assert!(out.contains("differing 0"), "{out}");
    }
    // Broken files: no crash, a refused layer, a render that survives a bad tile.
    let src = fixture("int16_1b_srtm3_n44w072_crop.tif");
    let emb = g.to_emb(&src, "broken.emb", &["TILE_SIZE=64"]);
    let bytes = std::fs::read(&emb).unwrap();
    let (cut, corrupt) = (g.path("cut.emb"), g.path("corrupt.emb"));
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let (off, _) = first_tile_payload(&emb);
    let mut bad = bytes.clone();
    bad[off as usize + 5] ^= 0x10;
    std::fs::write(&corrupt, &bad).unwrap();
    let png = g.path("corrupt.png");
    let out = qgis(&[
        "broken",
        cut.to_str().unwrap(),
        corrupt.to_str().unwrap(),
        png.to_str().unwrap(),
    ]);
    eprintln!("QGIS broken: {out}");
    assert!(out.contains("truncated valid False"), "{out}");
    // XYZ tiles exported by `geoembed tiles`, loaded as QGIS users would.
    let src = fixture("uint8_3b_landsat7_rgb_crop.tif");
    let tiles = g.path("xyz");
    let o = Command::new(geoembed_bin())
        .args([
            "tiles",
            src.to_str().unwrap(),
            tiles.to_str().unwrap(),
            "-q",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let uri = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let png = g.path("xyz.png");
    let out = qgis(&["xyz", &uri, src.to_str().unwrap(), png.to_str().unwrap()]);
    eprintln!("QGIS xyz: {out}");
}

#[test]
fn vsizip_and_vsimem_paths_work_both_ways() {
    let g = Gdal::new();
    let src = fixture("uint8_3b_landsat7_rgb_crop.tif");
    let emb = g.to_emb(&src, "z.emb", &["TILE_SIZE=64"]);
    let zip = g.path("z.zip");
    let (ok, _, err) = g.python(
        "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[2], 'inside/z.emb')",
        &[zip.to_str().unwrap(), emb.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    let back = g.path("z.tif");
    let inside = format!("/vsizip/{}/inside/z.emb", zip.display());
    g.ok("gdal_translate", &["-q", &inside, back.to_str().unwrap()]);
    assert_eq!(pixels(&src), pixels(&back), "/vsizip/ read differs");
    // /vsimem/ lives inside one process: write with CreateCopy, read back, compare.
    let script = r#"
import sys
from osgeo import gdal
gdal.UseExceptions()
src = gdal.Open(sys.argv[1])
gdal.Translate("/vsimem/m.emb", src, format="GeoEmbed", creationOptions=["CODEC=native"])
m = gdal.Open("/vsimem/m.emb")
assert m.GetDriver().ShortName == "GeoEmbed"
assert m.ReadRaster() == src.ReadRaster()
assert m.GetGeoTransform() == src.GetGeoTransform()
print("vsimem ok", gdal.VSIStatL("/vsimem/m.emb").size)
"#;
    let (ok, out, err) = g.python(script, &[src.to_str().unwrap()]);
    assert!(ok && out.contains("vsimem ok"), "{out}{err}");
}

#[test]
fn rasterio_reads_windows_and_georeferencing() {
    let g = Gdal::new();
    let src = fixture("uint16_198b_aviris_jasper_ridge_crop.tif");
    let emb = g.to_emb(&src, "rio.emb", &["TILE_SIZE=16"]);
    // Debian's rasterio uses the system GDAL, so it finds the plugin like gdalinfo does.
    let script = r#"
import sys
import numpy as np
import rasterio
from rasterio.windows import Window
with rasterio.open(sys.argv[1]) as a, rasterio.open(sys.argv[2]) as b:
    assert b.driver == "GeoEmbed", b.driver
    assert (a.width, a.height, a.count, a.dtypes) == (b.width, b.height, b.count, b.dtypes)
    assert a.transform == b.transform and a.crs == b.crs, (a.transform, b.transform, a.crs, b.crs)
    assert a.nodatavals == b.nodatavals and a.descriptions == b.descriptions
    assert b.block_shapes[0] == (16, 16), b.block_shapes
    for w in [Window(3, 5, 20, 30), Window(0, 0, b.width, b.height)]:
        for idx in [None, [2, 100, 198]]:
            assert np.array_equal(a.read(idx, window=w), b.read(idx, window=w)), (w, idx)
print("rasterio ok", rasterio.__version__, rasterio.__gdal_version__)
"#;
    let (ok, out, err) = g.python(script, &[src.to_str().unwrap(), emb.to_str().unwrap()]);
    assert!(ok && out.contains("rasterio ok"), "{out}{err}");
}

/// Files in a directory, hidden staging directories included.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn create_copy_reports_progress_per_tile_and_honours_cancellation() {
    let g = Gdal::new();
    // 256 x 200 pixels in 32-pixel tiles: 8 x 7 = 56 tiles.
    let src = fixture("uint8_3b_landsat7_rgb_crop.tif");
    let script = r#"
import json, sys
from osgeo import gdal
gdal.UseExceptions()
src, out, cancelled = sys.argv[1:4]
fractions = []
def record(complete, message, data):
    fractions.append(complete)
    return 1
gdal.Translate(out, src, format="GeoEmbed", creationOptions=["TILE_SIZE=32"], callback=record)
calls = []
def stop(complete, message, data):
    calls.append(complete)
    return 0 if len(calls) >= 4 else 1
try:
    gdal.Translate(cancelled, src, format="GeoEmbed", creationOptions=["TILE_SIZE=32"], callback=stop)
    error = None
except RuntimeError as e:
    error = str(e)
print(json.dumps({"fractions": fractions, "cancel_calls": len(calls), "cancel_error": error}))
"#;
    let (out, cancelled) = (g.path("p.emb"), g.path("cancelled.emb"));
    let args = [
        src.to_str().unwrap(),
        out.to_str().unwrap(),
        cancelled.to_str().unwrap(),
    ];
    let (ok, stdout, err) = g.python(script, &args);
    assert!(ok, "python3-gdal: {err}");
    let j: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    let fractions: Vec<f64> = j["fractions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(fractions.len() > 2, "progress only at {fractions:?}");
    assert!(fractions.len() >= 56, "one call per tile: {fractions:?}");
    assert!(
        fractions.windows(2).all(|w| w[0] <= w[1]),
        "not monotone: {fractions:?}"
    );
    assert_eq!(fractions.first(), Some(&0.0));
    assert_eq!(fractions.last(), Some(&1.0));
    assert_eq!(j["cancel_calls"], 4, "no call after the FALSE");
    let error = j["cancel_error"].as_str().expect("cancelling is an error");
    assert_eq!(error, format!("{}: cancelled", cancelled.display()));
    assert!(!cancelled.exists(), "cancelled output left behind");
    assert_eq!(
        entries(g.work.path()),
        vec!["p.emb", "p.emb.json"],
        "no staging left behind"
    );
}

#[test]
fn bad_creation_options_name_the_option() {
    let g = Gdal::new();
    let src = fixture("float32_1b_gridmet_tmmx_crop_kelvin.tif");
    let out = g.path("bad.emb");
    let translate = |co: &str| {
        let args = [
            "-q",
            "-of",
            "GeoEmbed",
            "-co",
            co,
            src.to_str().unwrap(),
            out.to_str().unwrap(),
        ];
        let o = g.run("gdal_translate", &args);
        assert!(!o.status.success(), "-co {co} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let err = translate("CODEC=foo");
    let want = format!(
        "ERROR 1: {}: creation option CODEC=foo: unknown codec 'foo'; choose auto or one of ",
        out.display()
    );
    assert!(err.starts_with(&want), "{err}");
    let err = translate("CODEC=jxl");
    assert!(
        err.contains(
            "creation option CODEC=jxl: jxl handles 8- and 16-bit integer samples, not float32"
        ),
        "{err}"
    );
    let err = translate("TILE_SIZE=4");
    assert!(
        err.contains("creation option TILE_SIZE=4: give a tile edge from 16 to 8192 pixels"),
        "{err}"
    );
    let err = translate("SPEED=9");
    assert!(
        err.contains("creation option SPEED=9: unknown creation option (CODEC, EFFORT, TILE_SIZE, MAX_ERROR, REL_RMSE, QUALITY, PIXELTYPE)"),
        "{err}"
    );
    assert!(!out.exists());
}

/// The samples of a 16-bit signed raster, read through GDAL.
fn int16_samples(path: &Path) -> Vec<i16> {
    let (bytes, ty) = pixels(path);
    assert_eq!(ty, gdal_sys::GDALDataType::GDT_Int16, "{}", path.display());
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_ne_bytes([b[0], b[1]]))
        .collect()
}

#[test]
fn max_error_creation_option_writes_a_lossy_copy_within_the_bound() {
    let g = Gdal::new();
    let src = fixture("int16_1b_srtm3_n44w072_crop.tif");
    let emb = g.to_emb(&src, "dem_e2.emb", &["MAX_ERROR=2"]);
    let structure = &g.info(emb.to_str().unwrap())["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(
        structure["COMPRESSION_REVERSIBILITY"], "LOSSY",
        "{structure}"
    );
    assert_eq!(structure["GEOEMBED_MAX_ERROR"], "2", "{structure}");
    // Read back through the plugin (this test process's GDAL has no plugin loaded).
    let back = g.path("dem_e2.tif");
    g.ok(
        "gdal_translate",
        &["-q", emb.to_str().unwrap(), back.to_str().unwrap()],
    );
    let (source, copy) = (int16_samples(&src), int16_samples(&back));
    assert_eq!(source.len(), copy.len());
    let worst = source
        .iter()
        .zip(&copy)
        .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
        .max()
        .unwrap();
    assert!(worst <= 2, "a sample is {worst} away from its source");
    assert!(
        source != copy,
        "a bound of 2 on a DEM should change some samples"
    );
    // Nothing lossy unless asked.
    let lossless = g.to_emb(&src, "dem.emb", &[]);
    let structure = &g.info(lossless.to_str().unwrap())["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(structure["COMPRESSION_REVERSIBILITY"], "LOSSLESS");
}

#[test]
fn rel_rmse_creation_option_writes_a_transform_coded_copy() {
    let g = Gdal::new();
    let src = fixture("int8_128b_synthetic_embedding_crop.tif");
    let emb = g.to_emb(&src, "klt.emb", &["REL_RMSE=5%"]);
    let structure = &g.info(emb.to_str().unwrap())["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(
        structure["COMPRESSION_REVERSIBILITY"], "LOSSY",
        "{structure}"
    );
    assert_eq!(structure["GEOEMBED_LOSSY_MODE"], "transform", "{structure}");
    assert_eq!(structure["GEOEMBED_REL_RMSE"], "0.05", "{structure}");
    // QUALITY=90 is the rel-RMSE target 1% (the CLI's --quality mapping).
    let emb = g.to_emb(&src, "q90.emb", &["QUALITY=90"]);
    let structure = &g.info(emb.to_str().unwrap())["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(structure["GEOEMBED_LOSSY_MODE"], "transform", "{structure}");
    assert_eq!(structure["GEOEMBED_REL_RMSE"], "0.01", "{structure}");
    // Beside MAX_ERROR the transform is refined: every sample within 2, reported as such.
    let emb = g.to_emb(&src, "klt_e2.emb", &["REL_RMSE=5%", "MAX_ERROR=2"]);
    let structure = &g.info(emb.to_str().unwrap())["metadata"]["IMAGE_STRUCTURE"];
    assert_eq!(structure["GEOEMBED_LOSSY_MODE"], "transform", "{structure}");
    assert_eq!(structure["GEOEMBED_REL_RMSE"], "0.05", "{structure}");
    let bounds = structure["GEOEMBED_MAX_ERROR"].as_str().unwrap();
    assert!(bounds.split(',').all(|b| b == "2"), "{structure}");
    let achieved = structure["GEOEMBED_ACHIEVED_MAX_ERROR"].as_str().unwrap();
    assert!(
        achieved
            .split(',')
            .all(|a| a.parse::<f64>().unwrap() <= 2.0),
        "{structure}"
    );
}

#[test]
fn bad_lossy_creation_options_fail_before_any_output() {
    let g = Gdal::new();
    let out = g.path("bad.emb");
    let translate = |src: &str, co: &[&str]| {
        let src = fixture(src);
        let mut args = vec!["-q", "-of", "GeoEmbed"];
        for c in co {
            args.extend(["-co", c]);
        }
        args.extend([src.to_str().unwrap(), out.to_str().unwrap()]);
        let o = g.run("gdal_translate", &args);
        assert!(!o.status.success(), "-co {co:?} should fail");
        assert!(!out.exists(), "-co {co:?} left an output");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let dem = "int16_1b_srtm3_n44w072_crop.tif";
    let err = translate(dem, &["MAX_ERROR=two"]);
    assert!(
        err.contains("creation option MAX_ERROR=two: give a non-negative number, or one per band separated by commas"),
        "{err}"
    );
    let err = translate(dem, &["MAX_ERROR=1.5"]);
    assert!(
        err.contains("creation option MAX_ERROR=1.5: int16 samples need a whole-number bound"),
        "{err}"
    );
    let err = translate(dem, &["MAX_ERROR=1,2"]);
    assert!(
        err.contains("creation option MAX_ERROR=1,2: 2 bounds for 1 bands"),
        "{err}"
    );
    let err = translate(dem, &["REL_RMSE=0.05"]);
    assert!(
        err.contains("creation option REL_RMSE=0.05: the klt transform needs at least 2 bands"),
        "{err}"
    );
    let embedding = "int8_128b_synthetic_embedding_crop.tif";
    let err = translate(embedding, &["REL_RMSE=0.05", "MAX_ERROR=1.5"]);
    assert!(
        err.contains("creation option MAX_ERROR=1.5: int8 samples need a whole-number bound"),
        "{err}"
    );
    let err = translate(embedding, &["REL_RMSE=0.05", "QUALITY=90"]);
    assert!(
        err.contains("creation option QUALITY=90: give QUALITY or REL_RMSE, not both"),
        "{err}"
    );
    let err = translate(embedding, &["QUALITY=101"]);
    assert!(
        err.contains("creation option QUALITY=101: give a whole number from 1"),
        "{err}"
    );
    let err = translate(embedding, &["REL_RMSE=2"]);
    assert!(
        err.contains(
            "creation option REL_RMSE=2: a relative RMSE target must be above 0 and below 1"
        ),
        "{err}"
    );
}

/// A GeoTessera tile (int8 codes + float32 scales + landmask georeferencing) as `.emb`,
/// made by the `geoembed` binary.
fn tessera_emb(g: &Gdal) -> PathBuf {
    let emb = g.path("tessera.emb");
    let o = Command::new(geoembed_bin())
        .args(["-q", "convert"])
        .arg(fixture("tessera_proxy.npy"))
        .arg(&emb)
        .arg("--scales")
        .arg(fixture("tessera_proxy_scales.npy"))
        .arg("--georef")
        .arg(fixture("tessera_proxy_landmask.tif"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    emb
}

#[test]
fn rasterio_profile_compression_and_rio_info_work() {
    let g = Gdal::new();
    let emb = tessera_emb(&g);
    let script = r#"
import json, sys
import rasterio
from rasterio.rio.main import main_group
with rasterio.open(sys.argv[1]) as src:
    profile = dict(src.profile)
    subdatasets = src.subdatasets
    with rasterio.open(subdatasets[0]) as scales:
        scale_shape = [scales.count, scales.height, scales.width, scales.dtypes[0]]
    print(json.dumps({"compression": src.compression.value, "profile": {k: str(v) for k, v in profile.items()},
                      "subdatasets": subdatasets, "scales": scale_shape}))
    data = src.read()
# The usual rasterio round trip: a new .emb from the profile (Create, tiles from the blocks).
copy = sys.argv[1].replace(".emb", "_copy.emb")
with rasterio.open(copy, "w", **profile) as dst:
    dst.write(data)
with rasterio.open(copy) as back:
    assert (back.read() == data).all() and back.profile == profile, back.profile
# rio info, as on the command line (Debian ships the module; the `rio` script is in package rasterio).
sys.argv = ["rio", "info", sys.argv[1]]
main_group()
"#;
    let (ok, out, err) = g.python(script, &[emb.to_str().unwrap()]);
    assert!(ok, "rasterio: {err}");
    let mut lines = out.lines();
    let j: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(j["compression"], "DEFLATE", "{j}");
    let p = &j["profile"];
    assert_eq!(
        (
            &p["driver"],
            &p["dtype"],
            &p["count"],
            &p["compress"],
            &p["interleave"]
        ),
        (
            &Value::from("GeoEmbed"),
            &Value::from("int8"),
            &Value::from("128"),
            &Value::from("deflate"),
            &Value::from("pixel")
        ),
        "{p}"
    );
    // rasterio drops the quotes of GDAL's `EMB:"file":scales`; both spellings open.
    assert_eq!(
        j["subdatasets"],
        serde_json::json!([format!("EMB:{}:scales", emb.display())])
    );
    assert_eq!(j["scales"], serde_json::json!([1, 60, 50, "float32"]));
    let info: Value = serde_json::from_str(lines.next().expect("rio info output")).unwrap();
    assert_eq!(info["driver"], "GeoEmbed");
    assert_eq!(info["compress"], "deflate");
    assert_eq!(info["count"], 128);
    assert_eq!(info["crs"], "EPSG:32631");
}

/// Runs the `geoembed` binary and asserts success.
fn geoembed_ok(args: &[&str]) {
    let o = Command::new(geoembed_bin()).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "geoembed {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn scales_subdataset_and_dequantize_open_option_match_the_cli() {
    let g = Gdal::new();
    let emb = tessera_emb(&g);
    let e = emb.to_str().unwrap();
    let info = g.info(e);
    let subdataset = format!("EMB:\"{e}\":scales");
    assert_eq!(
        info["metadata"]["SUBDATASETS"]["SUBDATASET_1_NAME"],
        subdataset
    );
    assert_eq!(
        info["metadata"]["SUBDATASETS"]["SUBDATASET_1_DESC"],
        "[1x60x50] scales (float32)"
    );

    // The scale plane: float32, the GeoTessera scales .npy exactly, with the georeferencing.
    let scales = g.path("scales.tif");
    g.ok(
        "gdal_translate",
        &["-q", &subdataset, scales.to_str().unwrap()],
    );
    let (got, ty) = pixels(&scales);
    assert_eq!(ty, gdal_sys::GDALDataType::GDT_Float32);
    let npy = std::fs::read(fixture("tessera_proxy_scales.npy")).unwrap();
    assert_eq!(
        got,
        npy[npy.len() - got.len()..],
        "scales differ from the .npy"
    );
    let si = g.info(&subdataset);
    assert_eq!(si["geoTransform"], info["geoTransform"]);
    assert_eq!(si["bands"][0]["description"], "scales");

    // DEQUANTIZE=YES: the same file as `geoembed convert --dequantize`, pixels and metadata.
    let (by_gdal, by_cli) = (g.path("phys_gdal.tif"), g.path("phys_cli.tif"));
    g.ok(
        "gdal_translate",
        &["-q", "-oo", "DEQUANTIZE=YES", e, by_gdal.to_str().unwrap()],
    );
    geoembed_ok(&["-q", "convert", e, by_cli.to_str().unwrap(), "--dequantize"]);
    let (a, b) = (pixels(&by_gdal), pixels(&by_cli));
    assert_eq!(a.1, gdal_sys::GDALDataType::GDT_Float32);
    assert!(a == b, "DEQUANTIZE=YES differs from convert --dequantize");
    same_description(
        &g.info(by_gdal.to_str().unwrap()),
        &g.info(by_cli.to_str().unwrap()),
    );

    // Mistakes name the file and the problem.
    let o = g.run("gdalinfo", &[&format!("EMB:\"{e}\":landmask")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!("{e}: no aux plane landmask; the file has scales")),
        "{err}"
    );
    let plain = g.to_emb(&fixture("uint8_3b_landsat7_rgb_crop.tif"), "rgb.emb", &[]);
    let o = g.run(
        "gdalinfo",
        &["-oo", "DEQUANTIZE=YES", plain.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("DEQUANTIZE=YES: the file has no dequantisation recipe"),
        "{err}"
    );
}

#[test]
fn band_by_band_reads_agree_with_window_reads_across_tiles() {
    let g = Gdal::new();
    // 16-pixel tiles: 3 x 3 tiles, edge tiles clipped; every band read on its own must see
    // the blocks the first band's read handed to GDAL's cache, and agree with the GeoTIFF.
    let src = fixture("uint16_198b_aviris_jasper_ridge_crop.tif");
    let emb = g.to_emb(&src, "bands.emb", &["TILE_SIZE=16"]);
    let script = r#"
import sys
from osgeo import gdal
gdal.UseExceptions()
a, b = gdal.Open(sys.argv[1]), gdal.Open(sys.argv[2])
for i in range(1, 199):
    assert a.GetRasterBand(i).ReadRaster() == b.GetRasterBand(i).ReadRaster(), i
for i in (198, 1, 77):
    assert a.GetRasterBand(i).ReadRaster(5, 7, 20, 30) == b.GetRasterBand(i).ReadRaster(5, 7, 20, 30), i
# A tiny cache (no room for every band of a tile) takes the per-band path.
gdal.SetCacheMax(1 << 20)
c = gdal.OpenEx(sys.argv[2], open_options=["TILE_CACHE_MB=1"])
for i in (1, 100, 198):
    assert a.GetRasterBand(i).ReadRaster() == c.GetRasterBand(i).ReadRaster(), i
print("bands ok")
"#;
    let (ok, out, err) = g.python(script, &[src.to_str().unwrap(), emb.to_str().unwrap()]);
    assert!(ok && out.contains("bands ok"), "{out}{err}");
}

#[test]
fn creation_option_values_are_case_insensitive() {
    let g = Gdal::new();
    let src = fixture("int8_128b_synthetic_embedding_crop.tif");
    // As rasterio passes them (upper case) and as people type them.
    let upper = g.to_emb(
        &src,
        "upper.emb",
        &["CODEC=NATIVE", "EFFORT=MAX", "TILE_SIZE=32"],
    );
    let mixed = g.to_emb(&src, "mixed.emb", &["codec=Native", "effort=Fast"]);
    for emb in [&upper, &mixed] {
        let info = g.info(emb.to_str().unwrap());
        let codecs = info["metadata"]["GEOEMBED"]["CODECS"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(codecs.starts_with("native:"), "{codecs}");
        let back = g.path("back.tif");
        let _ = std::fs::remove_file(&back);
        g.ok(
            "gdal_translate",
            &["-q", emb.to_str().unwrap(), back.to_str().unwrap()],
        );
        assert_eq!(pixels(&src), pixels(&back));
    }
}

#[test]
fn gdal_calc_and_gdal_merge_write_emb_through_create() {
    let g = Gdal::new();
    let src = fixture("uint16_1b_gridmet_tmmx_crop_scaled.tif");
    let calc = |out: &Path, format: &str, extra: &[&str]| {
        let mut args = vec![
            "-A".to_string(),
            src.to_str().unwrap().to_string(),
            "--calc=A*2+1".into(),
            format!("--outfile={}", out.display()),
            "--format".into(),
            format.into(),
            "--quiet".into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        g.ok("gdal_calc.py", &refs);
    };
    let (tif, emb) = (g.path("calc.tif"), g.path("calc.emb"));
    calc(&tif, "GTiff", &[]);
    calc(&emb, "GeoEmbed", &["--co", "CODEC=NATIVE"]);
    // Through a .emb or through a GeoTIFF: the same samples and description (this process
    // has no plugin: read the .emb through gdal_translate).
    let as_tif = |emb: &Path| {
        let out = emb.with_extension("check.tif");
        g.ok(
            "gdal_translate",
            &["-q", emb.to_str().unwrap(), out.to_str().unwrap()],
        );
        let px = pixels(&out);
        std::fs::remove_file(&out).unwrap();
        px
    };
    assert_eq!(pixels(&tif), as_tif(&emb), "gdal_calc output differs");
    let (ti, ei) = (g.info(tif.to_str().unwrap()), g.info(emb.to_str().unwrap()));
    same_description(&ti, &ei);
    assert_eq!(ei["driverShortName"], "GeoEmbed");
    assert!(ei["metadata"]["GEOEMBED"]["CODECS"]
        .as_str()
        .unwrap()
        .starts_with("native:"));
    // gdal_merge.py, three bands; the staging is gone and the sidecar written.
    let merged = g.path("merged.emb");
    let rgb = fixture("uint8_3b_landsat7_rgb_crop.tif");
    g.ok(
        "gdal_merge.py",
        &[
            "-q",
            "-of",
            "GeoEmbed",
            "-o",
            merged.to_str().unwrap(),
            rgb.to_str().unwrap(),
        ],
    );
    assert_eq!(pixels(&rgb), as_tif(&merged));
    assert_eq!(
        entries(g.work.path()),
        vec![
            "calc.emb",
            "calc.emb.json",
            "calc.tif",
            "merged.emb",
            "merged.emb.json"
        ]
    );
    // A bad creation option fails Create before anything is written.
    let o = g.run(
        "gdal_calc.py",
        &[
            "-A",
            src.to_str().unwrap(),
            "--calc=A",
            &format!("--outfile={}", g.path("bad.emb").display()),
            "--format",
            "GeoEmbed",
            "--co",
            "CODEC=zip",
            "--quiet",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("creation option CODEC=zip: unknown codec 'zip'"),
        "{err}"
    );
    assert!(!g.path("bad.emb").exists());
}

/// The differences between two JSON values, as paths.
fn json_differences(ours: &Value, gdal: &Value, path: &str, out: &mut Vec<String>) {
    match (ours, gdal) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => json_differences(x, y, &format!("{path}/{k}"), out),
                    (Some(_), None) => out.push(format!("{path}/{k} only in geoembed info")),
                    _ => out.push(format!("{path}/{k} only in gdalinfo")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_differences(x, y, &format!("{path}/{i}"), out);
            }
        }
        (x, y) if x != y => out.push(format!("{path}: {x} vs {y}")),
        _ => {}
    }
}

#[test]
fn info_json_is_gdalinfo_json_plus_a_geoembed_key() {
    let g = Gdal::new();
    let files = [
        tessera_emb(&g),
        g.to_emb(
            &fixture("uint8_3b_landsat7_rgb_crop_gcps.tif"),
            "gcps.emb",
            &[],
        ),
        g.to_emb(
            &fixture("int16_1b_srtm3_n44w072_crop_metadata.tif"),
            "dem.emb",
            &[],
        ),
        g.to_emb(
            &fixture("float64_24b_era5_t2m_uk_20190301.grib"),
            "era5.emb",
            &[],
        ),
    ];
    for emb in &files {
        let e = emb.to_str().unwrap();
        let o = Command::new(geoembed_bin())
            .args(["info", "--json", e])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut ours: Value = serde_json::from_slice(&o.stdout).unwrap();
        let own = ours
            .as_object_mut()
            .unwrap()
            .remove("geoembed")
            .expect("a geoembed key");
        assert!(own["tiles"].as_array().is_some_and(|t| !t.is_empty()));
        let gdal: Value = serde_json::from_str(&g.ok("gdalinfo", &["-json", e])).unwrap();
        let mut differences = Vec::new();
        json_differences(&ours, &gdal, "", &mut differences);
        assert!(differences.is_empty(), "{e}: {differences:#?}");
    }
}

#[test]
fn band_by_band_and_row_by_row_readers_decode_each_tile_once() {
    let g = Gdal::new();
    // 198 bands in 16-pixel tiles: 3 x 3 tiles.
    let src = fixture("uint16_198b_aviris_jasper_ridge_crop.tif");
    let emb = g.to_emb(&src, "once.emb", &["TILE_SIZE=16"]);
    let script = r#"
import sys
from osgeo import gdal
gdal.UseExceptions()
ds = gdal.Open(sys.argv[1])
how = sys.argv[2]
if how == "bands":
    for b in range(1, ds.RasterCount + 1):
        ds.GetRasterBand(b).ReadRaster()
elif how == "band_rows":
    for b in range(1, ds.RasterCount + 1):
        for y in range(ds.RasterYSize):
            ds.GetRasterBand(b).ReadRaster(0, y, ds.RasterXSize, 1)
else:
    for y in range(ds.RasterYSize):
        ds.ReadRaster(0, y, ds.RasterXSize, 1)
"#;
    for how in ["bands", "band_rows", "rows"] {
        let o = Command::new(DEBIAN_PYTHON)
            .args(["-c", script, emb.to_str().unwrap(), how])
            .env("GDAL_DRIVER_PATH", g.plugins.path())
            .env("CPL_DEBUG", "GeoEmbed")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{how}: {log}");
        let decoded = log.lines().filter(|l| l.contains("decoded tile (")).count();
        assert_eq!(decoded, 9, "{how}: each of the 9 tiles once:\n{log}");
    }
}
