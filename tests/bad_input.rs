//! Bad input: a one-line error naming the file and the problem, exit code 1, no panic and
//! nothing half-written.

mod common;
use common::*;
use std::path::Path;

fn write_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_s = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    std::fs::write(path, out).unwrap();
}

#[test]
fn missing_unreadable_and_non_raster_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.emb");
    fails(
        &["convert", "/nonexistent/dem.tif", s(&out)],
        &["/nonexistent/dem.tif", "no such file or directory"],
    );
    let junk = dir.path().join("junk.tif");
    std::fs::write(&junk, b"this is not a raster").unwrap();
    fails(
        &["convert", s(&junk), s(&out)],
        &["junk.tif", "not a raster format GDAL can read"],
    );
    fails(&["convert", s(dir.path()), s(&out)], &["is a directory"]);
    fails(&["info", s(&junk)], &["junk.tif", "not a .emb file"]);
    fails(
        &["convert", s(&junk), s(&dir.path().join("x.tif"))],
        &["junk.tif", "is not a .emb file"],
    );
    assert!(!out.exists());
    assert_eq!(listing(dir.path()), vec!["junk.tif"]);
}

#[test]
fn complex_samples_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let complex = dir.path().join("complex.tif");
    let st = std::process::Command::new("gdal_translate")
        .args([
            "-q",
            "-ot",
            "CFloat32",
            s(&fixture("int16_1b_srtm3_n44w072_crop.tif")),
            s(&complex),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let out = dir.path().join("c.emb");
    fails(
        &["convert", s(&complex), s(&out)],
        &[
            "complex.tif",
            "complex samples (CFloat32) are not supported",
        ],
    );
    assert!(!out.exists());
}

#[test]
fn codec_and_option_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.emb");
    let f32 = fixture("float32_1b_gridmet_tmmx_crop_kelvin.tif");
    fails(
        &["convert", s(&f32), s(&out), "--codec", "jxl"],
        &["jxl handles 8- and 16-bit integer samples, not float32"],
    );
    fails(
        &["convert", s(&f32), s(&out), "--codec", "zip"],
        &["--codec zip: unknown codec 'zip'"],
    );
    fails(
        &["convert", s(&f32), s(&out), "--effort", "ultra"],
        &["--effort ultra"],
    );
    let emb = dir.path().join("f.emb");
    ok(&["-q", "convert", s(&f32), s(&emb)]);
    fails(
        &[
            "convert",
            s(&emb),
            s(&dir.path().join("f.tif")),
            "--dequantize",
        ],
        &["no dequantisation recipe"],
    );
    assert!(!out.exists());
}

#[test]
fn overwrite_needs_to_be_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("uint16_4b_rgba.tif");
    let out = dir.path().join("o.emb");
    ok(&["-q", "convert", s(&src), s(&out)]);
    let before = std::fs::read(&out).unwrap();
    fails(
        &["convert", s(&src), s(&out)],
        &["o.emb", "already exists (use --overwrite to replace it)"],
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
    ok(&["-q", "convert", s(&src), s(&out), "--overwrite"]);
}

#[test]
fn tessera_inputs_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let npy = fixture("tessera_proxy.npy");
    let out = dir.path().join("t.emb");
    fails(
        &["convert", s(&npy), s(&out)],
        &["tessera_proxy.npy", "needs its scales"],
    );
    let bad_scales = dir.path().join("bad_scales.npy");
    write_npy(&bad_scales, "<f4", &[59, 50], &vec![0u8; 59 * 50 * 4]);
    fails(
        &["convert", s(&npy), s(&out), "--scales", s(&bad_scales)],
        &[
            "bad_scales.npy",
            "scales shape [59, 50] does not match the embedding [60, 50, 128]",
        ],
    );
    let f64_scales = dir.path().join("f64_scales.npy");
    write_npy(&f64_scales, "<f8", &[60, 50], &vec![0u8; 60 * 50 * 8]);
    fails(
        &["convert", s(&npy), s(&out), "--scales", s(&f64_scales)],
        &["expected float32 scales, found float64"],
    );
    let trunc = dir.path().join("trunc.npy");
    write_npy(&trunc, "|i1", &[60, 50, 128], &vec![0u8; 1000]);
    fails(
        &[
            "convert",
            s(&trunc),
            s(&out),
            "--scales",
            s(&fixture("tessera_proxy_scales.npy")),
        ],
        &["trunc.npy", "truncated .npy"],
    );
    let wrong_mask = fixture("uint8_3b_landsat7_rgb_crop.tif");
    fails(
        &[
            "convert",
            s(&npy),
            s(&out),
            "--scales",
            s(&fixture("tessera_proxy_scales.npy")),
            "--georef",
            s(&wrong_mask),
        ],
        &["landmask is 256x200 pixels but the embedding is 50x60"],
    );
    assert!(!out.exists());
}

fn make_emb(dir: &Path) -> std::path::PathBuf {
    let emb = dir.join("e.emb");
    ok(&[
        "-q",
        "convert",
        s(&fixture("uint16_16b_aviris_jasper_ridge.tif")),
        s(&emb),
        "--tile",
        "64",
        "--codec",
        "png128",
    ]);
    emb
}

#[test]
fn truncated_emb_is_reported_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let emb = make_emb(dir.path());
    let bytes = std::fs::read(&emb).unwrap();
    let cut = dir.path().join("cut.emb");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path().join("cut.tif");
    fails(
        &["convert", s(&cut), s(&out)],
        &["cut.emb", "beyond the end of the"],
    );
    fails(&["verify", s(&cut)], &["cut.emb"]);
    std::fs::write(&cut, &bytes[..30]).unwrap();
    fails(
        &["info", s(&cut)],
        &["cut.emb", "shorter than the 64-byte preamble"],
    );
    assert!(!out.exists());
}

#[test]
fn corrupted_emb_names_the_bad_tile_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let emb = make_emb(dir.path());
    let j: serde_json::Value =
        serde_json::from_slice(&ok(&["info", "--json", s(&emb)]).stdout).unwrap();
    assert_eq!(j["geoembed"]["tiles"].as_array().unwrap().len(), 4);
    // Flip a byte in the last payload: tile (1, 1).
    let mut bytes = std::fs::read(&emb).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0x10;
    let bad = dir.path().join("bad.emb");
    std::fs::write(&bad, &bytes).unwrap();
    let err = fails(
        &["verify", s(&bad)],
        &["bad.emb", "1 of 4 tiles are corrupt"],
    );
    assert!(
        err.contains("tile (1, 1): payload checksum mismatch"),
        "{err}"
    );
    let out = dir.path().join("bad.tif");
    fails(
        &["convert", s(&bad), s(&out)],
        &["bad.emb", "tile (1, 1)", "checksum mismatch"],
    );
    assert!(!out.exists());
    // Metadata corruption is caught too.
    let mut bytes = std::fs::read(&emb).unwrap();
    let header_at = 64 + 32 * 4 + 20;
    bytes[header_at] ^= 0x01;
    std::fs::write(&bad, &bytes).unwrap();
    fails(&["info", s(&bad)], &["bad.emb", "header checksum mismatch"]);
    let leftovers: Vec<String> = listing(dir.path())
        .into_iter()
        .filter(|n| n.contains("geoembed"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A small tmpfs is a real full disk. Needs root (CI runs as root); unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn new(dir: &Path, size: &str) -> SmallDisk {
        let m = dir.join("small");
        std::fs::create_dir(&m).unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", s(&m)])
            .status()
            .unwrap();
        assert!(st.success(), "mounting a {size} tmpfs needs root; run the test suite as root (the README's command does)");
        SmallDisk(m)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_is_reported_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::new(dir.path(), "128k");
    let src = fixture("int8_128b_synthetic_embedding_crop.tif");
    let out = disk.0.join("full.emb");
    fails(
        &["convert", s(&src), s(&out), "--codec", "raw"],
        &["full.emb: no space left on device (disk full)"],
    );
    assert!(
        listing(&disk.0).is_empty(),
        "partial output left: {:?}",
        listing(&disk.0)
    );
    // And the other direction.
    let emb = dir.path().join("e.emb");
    ok(&["-q", "convert", s(&src), s(&emb)]);
    let tif = disk.0.join("full.tif");
    fails(
        &["convert", s(&emb), s(&tif), "-co", "COMPRESS=NONE"],
        &["full.tif"],
    );
    assert!(
        listing(&disk.0).is_empty(),
        "partial output left: {:?}",
        listing(&disk.0)
    );
}

#[test]
fn unknown_and_lossy_output_formats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let emb = dir.path().join("rgb.emb");
    ok(&[
        "-q",
        "convert",
        s(&fixture("uint8_3b_landsat7_rgb_crop.tif")),
        s(&emb),
    ]);
    let out = |name: &str| dir.path().join(name);
    let err = fails(&["convert", s(&emb), s(&out("x.foo"))], &[]);
    assert_eq!(
        err.lines().last().unwrap(),
        format!(
            "geoembed: error: {}: GDAL has no raster format for the extension .foo; use .tif, .nc, .vrt, .npy (GeoTessera) or another extension GDAL writes, or name the format",
            out("x.foo").display()
        )
    );
    fails(
        &["convert", s(&emb), s(&out("noext"))],
        &["noext: GDAL has no raster format for a name without an extension"],
    );
    let err = fails(&["convert", s(&emb), s(&out("x.jpg"))], &[]);
    assert_eq!(
        err.lines().last().unwrap(),
        format!(
            "geoembed: error: {}: format JPEG: JPEG as configured is lossy, so the output would not be bit-exact; add --allow-lossy to write it anyway",
            out("x.jpg").display()
        )
    );
    fails(
        &["convert", s(&emb), s(&out("x.webp"))],
        &["format WEBP: WEBP as configured is lossy", "--allow-lossy"],
    );
    fails(
        &["convert", s(&emb), s(&out("j.tif")), "-co", "COMPRESS=JPEG"],
        &["format GTiff: GTiff as configured is lossy"],
    );
    assert_eq!(listing(dir.path()), vec!["rgb.emb", "rgb.emb.json"]);
    // Lossless WebP is not lossy; --allow-lossy writes JPEG and says so.
    ok(&[
        "-q",
        "convert",
        s(&emb),
        s(&out("l.webp")),
        "-co",
        "LOSSLESS=TRUE",
    ]);
    let o = ok(&["convert", s(&emb), s(&out("x.jpg")), "--allow-lossy"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("geoembed: warning: ") && err.contains("x.jpg: JPEG as configured is lossy"),
        "{err}"
    );
    assert!(out("x.jpg").exists());
}
