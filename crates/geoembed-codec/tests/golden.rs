//! Golden files pin the `.emb` format (docs/format.md): encoding a fixed input must give the
//! committed bytes, and the committed files must decode to that input. After a deliberate
//! format change, regenerate with `GEOEMBED_BLESS=1 cargo test -p geoembed-codec --test golden`
//! and say so in the commit. `fixtures/golden/README.md` lists every file, its input and the
//! test that makes it.
//!
//! Inputs: the synthetic GeoTessera-like proxy tile in fixtures/ (60x50x128 int8 + float32
//! scales; see fixtures/README.md), a uint16 plane derived from it, real rasters of
//! fixtures/ (Landsat 7 RGB, SRTM, Landlab and ERA5), and the real Presto embedding crop as
//! users download it (GeoTessera's float32 and AlphaEarth's power law: the `dequant`
//! codec; its values transform-coded by the lossy `klt` codec, alone and refined to a
//! bound). The compatibility goldens at the end stand for files from later writers (§7 of
//! the format): a higher minor version with chunks this reader does not know.

use geoembed_codec::{
    encode_block, encode_block_given_bands, fit_decorrelation, AuxPlane, BlockSettings,
    CodecChoice, CodecId, Dequantization, Effort, ErrorKind, Header, MetadataDomain, NearLossless,
    Reader, SampleType, Srs, TransformLoss, Writer,
};
use std::io::Cursor;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The data bytes of a version-1 .npy file (its header is a u16 length at offset 8).
fn npy_data(name: &str) -> Vec<u8> {
    let b = std::fs::read(fixtures().join(name)).unwrap();
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + hl..].to_vec()
}

const W: u32 = 50;
const H: u32 = 60;

fn header(ty: SampleType, bands: usize, with_scales: bool) -> Header {
    let mut h = Header::new(W, H, bands, ty);
    h.tile_width = 32;
    h.tile_height = 32;
    for (i, b) in h.bands.iter_mut().enumerate() {
        b.description = format!("embedding dimension {}", i + 1);
    }
    h.georef.geotransform = Some([500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0]);
    h.georef.srs = Some(Srs {
        wkt: "PROJCRS[\"WGS 84 / UTM zone 31N\",ID[\"EPSG\",32631]]".into(),
        epsg: Some(32631),
        axis_mapping: vec![1, 2],
    });
    h.metadata = vec![MetadataDomain {
        name: String::new(),
        items: vec!["AREA_OR_POINT=Area".into()],
    }];
    if with_scales {
        h.aux_planes.push(AuxPlane {
            name: "scales".into(),
            sample_type: SampleType::F32,
            bands: 1,
            description: "per-pixel scale".into(),
        });
        h.dequantization = Some(Dequantization::PerPixelScale { aux_plane: 0 });
    }
    h.info = vec![("software".into(), "geoembed golden".into())];
    h
}

/// Tile `(tx, ty)` cut out of a whole plane (pixel-interleaved, `px` bytes per pixel).
fn tile(plane_bytes: &[u8], px: usize, h: &Header, tx: u32, ty: u32) -> Vec<u8> {
    let (x0, y0, tw, th) = h.tile_rect(tx, ty);
    let mut t = Vec::new();
    for y in y0..y0 + th {
        let s = (y as usize * h.width as usize + x0 as usize) * px;
        t.extend_from_slice(&plane_bytes[s..s + tw as usize * px]);
    }
    t
}

fn encode(h: &Header, planes: &[Vec<u8>], codec: CodecId, effort: Effort) -> Vec<u8> {
    encode_choice(h, planes, CodecChoice::Fixed(codec), effort)
}

/// A whole file: plane 0 with `choice`, aux planes with png128, tiles in index order.
fn encode_choice(h: &Header, planes: &[Vec<u8>], choice0: CodecChoice, effort: Effort) -> Vec<u8> {
    let mut w = Writer::new(Cursor::new(Vec::new()), h.clone()).unwrap();
    for (p, bytes) in planes.iter().enumerate() {
        let (ty, bands) = h.plane_layout(p).unwrap();
        let choice = if p == 0 {
            choice0
        } else {
            CodecChoice::Fixed(CodecId::Png128)
        };
        for ty_ in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                let t = tile(bytes, bands * ty.size(), h, tx, ty_);
                let b = encode_block(h, p, tx, ty_, &t, choice, effort).unwrap();
                w.write_block(p, tx, ty_, &b).unwrap();
            }
        }
    }
    w.finish().unwrap().into_inner()
}

fn decode(file: &[u8]) -> (Header, Vec<Vec<u8>>) {
    let mut r = Reader::open(Cursor::new(file)).unwrap();
    let h = r.header().clone();
    let mut planes = Vec::new();
    for p in 0..h.plane_count() {
        let (ty, bands) = h.plane_layout(p).unwrap();
        let px = bands * ty.size();
        let mut out = vec![0u8; (h.width * h.height) as usize * px];
        for ty_ in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                let t = r.read_block(p, tx, ty_).unwrap();
                let (x0, y0, tw, th) = h.tile_rect(tx, ty_);
                let n = tw as usize * px;
                for (i, y) in (y0..y0 + th).enumerate() {
                    let s = (y as usize * h.width as usize + x0 as usize) * px;
                    out[s..s + n].copy_from_slice(&t[i * n..(i + 1) * n]);
                }
            }
        }
        planes.push(out);
    }
    (h, planes)
}

/// Checks (or, when blessing, writes) one golden file. `pin_encoder` is false for codecs
/// whose encoder output belongs to a system library (libjxl) rather than to this format.
fn check(name: &str, h: &Header, planes: Vec<Vec<u8>>, codec: CodecId, pin_encoder: bool) {
    check_at(name, h, planes, codec, Effort::Default, pin_encoder)
}

fn check_at(
    name: &str,
    h: &Header,
    planes: Vec<Vec<u8>>,
    codec: CodecId,
    effort: Effort,
    pin_encoder: bool,
) {
    let fresh = encode(h, &planes, codec, effort);
    check_file(name, h, planes, fresh, pin_encoder)
}

/// Checks (or, when blessing, writes) golden `name` against `fresh`, the bytes the current
/// code makes for it: equal if `pin_encoder`, and the golden must decode to `h` and `planes`.
fn check_file(name: &str, h: &Header, planes: Vec<Vec<u8>>, fresh: Vec<u8>, pin_encoder: bool) {
    let path = fixtures().join("golden").join(name);
    if std::env::var_os("GEOEMBED_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with GEOEMBED_BLESS=1 to create it",
            path.display()
        )
    });
    if pin_encoder {
        assert!(
            fresh == golden,
            "{name}: encoder output changed ({} bytes vs golden {}); the format or codec changed",
            fresh.len(),
            golden.len()
        );
    }
    let (h2, decoded) = decode(&golden);
    assert_eq!(&h2, h, "{name}: header decodes differently");
    assert!(
        decoded == planes,
        "{name}: golden file no longer decodes to its input"
    );
}

fn int8_and_scales() -> Vec<Vec<u8>> {
    vec![
        npy_data("tessera_proxy.npy"),
        npy_data("tessera_proxy_scales.npy"),
    ]
}

#[test]
fn golden_png128_int8_with_float_scales() {
    check(
        "tessera_proxy_png128.emb",
        &header(SampleType::I8, 128, true),
        int8_and_scales(),
        CodecId::Png128,
        true,
    );
}

#[test]
fn golden_decorrelate_png128() {
    let data = int8_and_scales();
    let mut h = header(SampleType::I8, 128, true);
    h.decorrelation = Some(fit_decorrelation(SampleType::I8, 128, &data[0]).unwrap());
    check(
        "tessera_proxy_decorrelate_png128.emb",
        &h,
        data,
        CodecId::DecorrelatePng128,
        true,
    );
}

#[test]
fn golden_uint16_png128_and_raw() {
    // A uint16 plane derived from the int8 proxy (first 16 bands): exercises multi-byte png128.
    let q = npy_data("tessera_proxy.npy");
    let mut u16 = Vec::new();
    for px in q.chunks_exact(128) {
        for &v in &px[..16] {
            u16.extend_from_slice(&((v as i8 as i32 * 200 + 30000) as u16).to_le_bytes());
        }
    }
    let h = header(SampleType::U16, 16, false);
    check(
        "derived_uint16_png128.emb",
        &h,
        vec![u16.clone()],
        CodecId::Png128,
        true,
    );
    check("derived_uint16_raw.emb", &h, vec![u16], CodecId::Raw, true);
}

#[cfg(feature = "jxl")]
#[test]
fn golden_decorrelate_jxl_decodes() {
    let data = int8_and_scales();
    let mut h = header(SampleType::I8, 128, true);
    h.decorrelation = Some(fit_decorrelation(SampleType::I8, 128, &data[0]).unwrap());
    check(
        "tessera_proxy_decorrelate_jxl.emb",
        &h,
        data,
        CodecId::DecorrelateJxl,
        false,
    );
}

/// The first 16 proxy bands as uint16 (wide values: 64-bit accumulators).
fn derived_uint16() -> Vec<u8> {
    let q = npy_data("tessera_proxy.npy");
    let mut u16 = Vec::new();
    for px in q.chunks_exact(128) {
        for &v in &px[..16] {
            u16.extend_from_slice(&((v as i8 as i32 * 200 + 30000) as u16).to_le_bytes());
        }
    }
    u16
}

#[test]
fn golden_native_int8_every_effort() {
    // Many bands: row-parallel prediction (fast, default) and sequential with a joint refit
    // (max).
    for (effort, name) in [
        (Effort::Fast, "tessera_proxy_native_fast.emb"),
        (Effort::Default, "tessera_proxy_native.emb"),
        (Effort::Max, "tessera_proxy_native_max.emb"),
    ] {
        check_at(
            name,
            &header(SampleType::I8, 128, true),
            int8_and_scales(),
            CodecId::Native,
            effort,
            true,
        );
    }
}

#[test]
fn golden_native_uint16() {
    let h = header(SampleType::U16, 16, false);
    check_at(
        "derived_uint16_native.emb",
        &h,
        vec![derived_uint16()],
        CodecId::Native,
        Effort::Default,
        true,
    );
}

/// A real GeoTIFF fixture's samples (pixel-interleaved) and size, through the `tiff` crate.
fn tiff_samples(name: &str) -> (u32, u32, Vec<u8>) {
    let f = std::fs::File::open(fixtures().join(name)).unwrap();
    let mut d = tiff::decoder::Decoder::new(f).unwrap();
    let (w, h) = d.dimensions().unwrap();
    let bytes = match d.read_image().unwrap() {
        tiff::decoder::DecodingResult::U8(v) => v,
        tiff::decoder::DecodingResult::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        tiff::decoder::DecodingResult::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        tiff::decoder::DecodingResult::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        other => panic!(
            "{name}: unexpected sample type {:?}",
            std::mem::discriminant(&other)
        ),
    };
    (w, h, bytes)
}

/// A header for a whole real raster in one tile (no georeferencing: the golden pins codecs).
fn plain_header(w: u32, h: u32, bands: usize, ty: SampleType) -> Header {
    let mut hd = Header::new(w, h, bands, ty);
    hd.tile_width = w.next_multiple_of(16);
    hd.tile_height = h.next_multiple_of(16);
    hd
}

fn check_whole(name: &str, hd: &Header, data: Vec<u8>, effort: Effort) {
    check_whole_with(name, hd, data, CodecId::Native, effort)
}

fn check_whole_with(name: &str, hd: &Header, data: Vec<u8>, codec: CodecId, effort: Effort) {
    let path = fixtures().join("golden").join(name);
    let mut w = Writer::new(Cursor::new(Vec::new()), hd.clone()).unwrap();
    let b = encode_block(hd, 0, 0, 0, &data, CodecChoice::Fixed(codec), effort).unwrap();
    w.write_block(0, 0, 0, &b).unwrap();
    let fresh = w.finish().unwrap().into_inner();
    if std::env::var_os("GEOEMBED_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let golden =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; bless it", path.display()));
    assert!(
        fresh == golden,
        "{name}: encoder output changed ({} vs {} bytes)",
        fresh.len(),
        golden.len()
    );
    let mut r = Reader::open(Cursor::new(&golden)).unwrap();
    assert_eq!(
        r.read_block(0, 0, 0).unwrap(),
        data,
        "{name}: golden no longer decodes to its input"
    );
}

#[test]
fn golden_native_landsat_rgba_with_nodata_border() {
    // The Landsat 7 RGB crop (its left edge is the scene's nodata border) plus an alpha band
    // derived from it: few bands (W neighbours, flat rule, palettes), default and max.
    let (w, h, rgb) = tiff_samples("uint8_3b_landsat7_rgb_crop.tif");
    let mut rgba = Vec::with_capacity(rgb.len() / 3 * 4);
    for px in rgb.chunks_exact(3) {
        rgba.extend_from_slice(px);
        rgba.push(if px.iter().any(|&v| v != 0) { 255 } else { 0 });
    }
    let hd = plain_header(w, h, 4, SampleType::U8);
    check_whole(
        "landsat_rgba_native.emb",
        &hd,
        rgba.clone(),
        Effort::Default,
    );
    check_whole("landsat_rgba_native_max.emb", &hd, rgba, Effort::Max);
}

/// A `klt` golden: this build's encoder output (pinned bytes, blessed on request) or an
/// earlier build's file kept to prove this build still reads it. Checks the minor version
/// and that every tile has the payload version `(minor, payload)` says.
fn klt_golden(
    name: &str,
    hd: &Header,
    data: &[u8],
    pinned: bool,
    (minor, payload): (u16, u8),
) -> Vec<u8> {
    let path = fixtures().join("golden").join(name);
    if pinned {
        let fresh = encode(hd, &[data.to_vec()], CodecId::Klt, Effort::Default);
        if std::env::var_os("GEOEMBED_BLESS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let golden =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; bless it", path.display()));
        assert!(fresh == golden, "{name}: encoder output changed");
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = Reader::open(Cursor::new(&golden)).unwrap();
    assert_eq!(r.format_version(), (1, minor), "{name}: minor version");
    for ty in 0..hd.tiles_down() {
        for tx in 0..hd.tiles_across() {
            let version = r.read_payload(0, tx, ty).unwrap()[0];
            assert_eq!(version, payload, "{name}: payload version");
        }
    }
    golden
}

/// Checks a golden of `klt` refined to a bound (pinned: this build's payload version 3,
/// format 1.7; else an earlier build's version 2, format 1.4): every sample within the
/// bound, the recorded bound and largest error, the rel-RMSE at most the target (+1%).
fn check_klt_refined(name: &str, hd: &Header, data: &[u8], bound: f64, pinned: bool) {
    let versions = if pinned { (7, 3) } else { (4, 2) };
    let golden = klt_golden(name, hd, data, pinned, versions);
    let (h2, planes) = decode(&golden);
    let t = hd.sample_type;
    let (x, y) = (t.values_f64(data), t.values_f64(&planes[0]));
    let largest = x
        .iter()
        .zip(&y)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(largest <= bound, "{name}: {largest}");
    let recorded = h2.near_lossless.clone().unwrap();
    assert_eq!(recorded.max_error, vec![bound; hd.bands.len()]);
    let achieved = recorded
        .achieved
        .iter()
        .map(|a| a.unwrap())
        .fold(0.0, f64::max);
    assert_eq!(achieved, largest, "{name}");
    let target = hd.transform_loss.as_ref().unwrap().target_rel_rmse;
    let error: f64 = x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum();
    let rel = (error / x.iter().map(|a| a * a).sum::<f64>()).sqrt();
    assert!(rel <= target * 1.01, "{name}: rel-RMSE {rel}");
    let figures = h2.transform_loss.unwrap().achieved.unwrap();
    assert!(
        (figures.rel_rmse / rel - 1.0).abs() < 1e-9,
        "{name}: {figures:?}"
    );
}

#[test]
fn golden_klt_refined_to_a_bound() {
    // The real Presto crop's int8 codes at 5% within 2 codes, and its float32 values at 5%
    // within 0.03 (about one code), in 32 x 32 tiles.
    let (codes, scales) = presto_crop();
    let bytes: Vec<u8> = codes.iter().map(|&q| q as u8).collect();
    let lossy = |ty: SampleType, bound: f64| {
        let mut hd = tiled_header(48, 48, 128, ty);
        hd.transform_loss = Some(TransformLoss {
            target_rel_rmse: 0.05,
            achieved: None,
        });
        hd.near_lossless = Some(NearLossless::uniform(128, bound));
        hd
    };
    for (name, pinned) in [
        ("presto_int8_klt_5pct_e2.emb", true),
        ("presto_int8_klt_5pct_e2_v2.emb", false),
    ] {
        check_klt_refined(name, &lossy(SampleType::I8, 2.0), &bytes, 2.0, pinned);
    }
    let values: Vec<u8> = codes
        .iter()
        .enumerate()
        .flat_map(|(i, &q)| (q as f32 * scales[i / 128]).to_le_bytes())
        .collect();
    let hd = lossy(SampleType::F32, 0.03);
    for (name, pinned) in [
        ("presto_klt_5pct_e003.emb", true),
        ("presto_klt_5pct_e003_v2.emb", false),
    ] {
        check_klt_refined(name, &hd, &values, 0.03, pinned);
    }
}

/// Few-band native files of earlier writers, decoded only: their rows cut into four
/// segments, `default`'s choice for few bands until one segment proved smaller and as fast
/// to decode (docs/benchmarks.md). The current writer makes one segment.
#[test]
fn golden_native_four_segments_of_earlier_writers() {
    let (w, h, dem) = tiff_samples("int16_1b_srtm3_n44w072_crop.tif");
    let (w2, h2, rgb) = tiff_samples("uint8_3b_landsat7_rgb_crop.tif");
    let rgba: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|px| {
            let alpha = if px.iter().any(|&v| v != 0) { 255 } else { 0 };
            [px[0], px[1], px[2], alpha]
        })
        .collect();
    for (name, hd, samples) in [
        (
            "srtm_dem_native_segments4.emb",
            plain_header(w, h, 1, SampleType::I16),
            dem,
        ),
        (
            "landsat_rgba_native_segments4.emb",
            plain_header(w2, h2, 4, SampleType::U8),
            rgba,
        ),
    ] {
        let golden = std::fs::read(fixtures().join("golden").join(name)).unwrap();
        let (header, planes) = decode(&golden);
        assert_eq!(header, hd, "{name}: header");
        assert!(planes == vec![samples], "{name}: samples");
        let fresh = encode(&hd, &planes, CodecId::Native, Effort::Default);
        assert!(fresh.len() < golden.len(), "{name}: one segment is smaller");
    }
}

#[test]
fn golden_native_srtm_dem() {
    let (w, h, dem) = tiff_samples("int16_1b_srtm3_n44w072_crop.tif");
    let hd = plain_header(w, h, 1, SampleType::I16);
    check_whole("srtm_dem_native.emb", &hd, dem.clone(), Effort::Default);
    check_whole("srtm_dem_native_max.emb", &hd, dem, Effort::Max);
}

/// Checks (or, when blessing, writes) a near-lossless golden of one tile: pinned bytes,
/// format 1.2, the header's bounds, every sample within its band's bound and nodata exact.
fn check_near_lossless(name: &str, hd: &Header, data: &[u8], codec: CodecId, effort: Effort) {
    check_near_lossless_minor(name, hd, data, (codec, effort), 2);
}

/// [`check_near_lossless`] of a file whose minor version is `minor`.
fn check_near_lossless_minor(
    name: &str,
    hd: &Header,
    data: &[u8],
    (codec, effort): (CodecId, Effort),
    minor: u16,
) {
    let path = fixtures().join("golden").join(name);
    let mut w = Writer::new(Cursor::new(Vec::new()), hd.clone()).unwrap();
    let b = encode_block(hd, 0, 0, 0, data, CodecChoice::Fixed(codec), effort).unwrap();
    w.write_block(0, 0, 0, &b).unwrap();
    let fresh = w.finish().unwrap().into_inner();
    if std::env::var_os("GEOEMBED_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let golden =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; bless it", path.display()));
    assert!(fresh == golden, "{name}: encoder output changed");
    assert_eq!(
        u16::from_le_bytes([golden[10], golden[11]]),
        minor,
        "{name}: minor version"
    );
    let mut r = Reader::open(Cursor::new(&golden)).unwrap();
    let recorded = r.header().near_lossless.clone().unwrap();
    let bounds = hd.near_lossless.as_ref().unwrap().max_error.clone();
    assert_eq!(recorded.max_error, bounds);
    let ty = hd.sample_type;
    let decoded = ty.values_f64(&r.read_block(0, 0, 0).unwrap());
    for (i, (&x, &x_hat)) in ty.values_f64(data).iter().zip(&decoded).enumerate() {
        let band = i % bounds.len();
        assert!((x - x_hat).abs() <= bounds[band], "{name}: sample {i}");
        if let Some(n) = hd.bands[band].nodata {
            assert_eq!(x == n, x_hat == n, "{name}: sample {i} and nodata");
        }
    }
}

#[test]
fn golden_native_near_lossless() {
    // Landsat RGB within 2 (the border's 0 is nodata: kept exact) and an exact alpha band.
    let (w, h, rgb) = tiff_samples("uint8_3b_landsat7_rgb_crop.tif");
    let mut rgba = Vec::with_capacity(rgb.len() / 3 * 4);
    for px in rgb.chunks_exact(3) {
        rgba.extend_from_slice(px);
        rgba.push(if px.iter().any(|&v| v != 0) { 255 } else { 0 });
    }
    let mut hd = plain_header(w, h, 4, SampleType::U8);
    hd.bands[..3].iter_mut().for_each(|b| b.nodata = Some(0.0));
    hd.near_lossless = Some(NearLossless {
        max_error: vec![2.0, 2.0, 2.0, 0.0],
        achieved: vec![None; 4],
    });
    let native = CodecId::Native;
    check_near_lossless(
        "landsat_rgba_native_e2.emb",
        &hd,
        &rgba,
        native,
        Effort::Default,
    );
    // The SRTM DEM within 1 at max effort.
    let (w, h, dem) = tiff_samples("int16_1b_srtm3_n44w072_crop.tif");
    let mut hd = plain_header(w, h, 1, SampleType::I16);
    hd.near_lossless = Some(NearLossless::uniform(1, 1.0));
    check_near_lossless("srtm_dem_native_e1_max.emb", &hd, &dem, native, Effort::Max);
}

#[test]
fn golden_float_near_lossless() {
    // The Landlab DEM within 0.01 m, its -9999 border exact (float payload version 3, the
    // near-lossless lattice; loss chunk mode 2).
    let (w, h, dem) = tiff_samples("float32_1b_pre_runout_dem_nocrs.tif");
    let mut hd = plain_header(w, h, 1, SampleType::F32);
    hd.bands[0].nodata = Some(-9999.0);
    hd.near_lossless = Some(NearLossless::uniform(1, 0.01));
    let float = CodecId::Float;
    check_near_lossless(
        "pre_runout_float_e001.emb",
        &hd,
        &dem,
        float,
        Effort::Default,
    );
    // 12 ERA5 hours (float64) within 0.05 K, hour 0 exact, with cross-band prediction.
    let (w, h) = (49, 33);
    let era5 = npy_data("float64_12b_era5_t2m_uk_20190301_first12h.npy");
    let mut hd = plain_header(w, h, 12, SampleType::F64);
    let mut bounds = vec![0.05; 12];
    bounds[0] = 0.0;
    hd.near_lossless = Some(NearLossless {
        achieved: vec![None; 12],
        max_error: bounds,
    });
    check_near_lossless(
        "era5_12h_float_e005.emb",
        &hd,
        &era5,
        float,
        Effort::Default,
    );
    // The West Bijou int32 DEM within 2 m, its nodata exact: lossless float payload of
    // multiples of 5, format 1.5 (a bound on 32-bit integers).
    let (w, h, i32s) = tiff_samples("int32_1b_west_bijou_escarpment.tif");
    let mut hd = plain_header(w, h, 1, SampleType::I32);
    hd.bands[0].nodata = Some(-32768.0);
    hd.near_lossless = Some(NearLossless::uniform(1, 2.0));
    check_near_lossless_minor(
        "west_bijou_int32_e2.emb",
        &hd,
        &i32s,
        (float, Effort::Default),
        5,
    );
}

#[test]
fn golden_float_dem_climate_stack_and_int32() {
    // Decimal lattice + -9999 sentinels (Landlab DEM), binary lattices with cross-band
    // prediction (12 ERA5 hours, float64), plain int32 (west Bijou DEM).
    let (w, h, dem) = tiff_samples("float32_1b_pre_runout_dem_nocrs.tif");
    let hd = plain_header(w, h, 1, SampleType::F32);
    check_whole_with(
        "pre_runout_float.emb",
        &hd,
        dem,
        CodecId::Float,
        Effort::Default,
    );
    let era5 = npy_data("float64_12b_era5_t2m_uk_20190301_first12h.npy");
    let hd = plain_header(49, 33, 12, SampleType::F64);
    check_whole_with(
        "era5_12h_float.emb",
        &hd,
        era5,
        CodecId::Float,
        Effort::Default,
    );
    let (w, h, i32s) = tiff_samples("int32_1b_west_bijou_escarpment.tif");
    let hd = plain_header(w, h, 1, SampleType::I32);
    check_whole_with(
        "west_bijou_float_fast.emb",
        &hd,
        i32s,
        CodecId::Float,
        Effort::Fast,
    );
}

/// A window of a whole raster's samples (pixel-interleaved, `px` bytes per pixel).
fn window(samples: &[u8], width: u32, px: usize, (x0, y0, w, h): (u32, u32, u32, u32)) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h) as usize * px);
    for y in y0..y0 + h {
        let row = (y as usize * width as usize + x0 as usize) * px;
        out.extend_from_slice(&samples[row..row + w as usize * px]);
    }
    out
}

/// A header for a raster in 32 × 32 tiles (no georeferencing: these goldens pin codecs).
fn tiled_header(w: u32, h: u32, bands: usize, ty: SampleType) -> Header {
    let mut hd = Header::new(w, h, bands, ty);
    hd.tile_width = 32;
    hd.tile_height = 32;
    hd
}

/// The 2 m temperature anomaly of the first ERA5 hour in fixtures/ (real, 49 x 33, its mean
/// removed so that it crosses zero) interpolated bilinearly 4x to 193 x 129 float32: a
/// smooth grid across binades, the value-space predictor's ground (§5.4.4).
fn era5_anomaly_interpolated() -> (u32, u32, Vec<u8>) {
    let era5 = npy_data("float64_12b_era5_t2m_uk_20190301_first12h.npy");
    let (w, h) = (49usize, 33usize);
    let hour0: Vec<f64> = era5
        .chunks_exact(8)
        .step_by(12)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let mean = hour0.iter().sum::<f64>() / hour0.len() as f64;
    let at = |y: usize, x: usize| hour0[y.min(h - 1) * w + x.min(w - 1)] - mean;
    let (ow, oh) = (4 * (w - 1) + 1, 4 * (h - 1) + 1);
    let mut out = Vec::with_capacity(ow * oh * 4);
    for y in 0..oh {
        for x in 0..ow {
            let (y0, x0, fy, fx) = (y / 4, x / 4, (y % 4) as f64 / 4.0, (x % 4) as f64 / 4.0);
            let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1) * fx;
            let bottom = at(y0 + 1, x0) * (1.0 - fx) + at(y0 + 1, x0 + 1) * fx;
            let value = (top * (1.0 - fy) + bottom * fy) as f32;
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    (ow as u32, oh as u32, out)
}

/// The format minor version of golden `name` and its first block's payload version.
fn minor_and_payload_version(name: &str) -> (u8, u8) {
    let golden = std::fs::read(fixtures().join("golden").join(name)).unwrap();
    let r = Reader::open(Cursor::new(&golden)).unwrap();
    let payload = &golden[r.entries()[0].offset as usize..];
    (golden[10], payload[0])
}

#[test]
fn golden_float_value_space_predictor() {
    let (w, h, anomaly) = era5_anomaly_interpolated();
    let hd = plain_header(w, h, 1, SampleType::F32);
    let name = "era5_anomaly_value_predictor.emb";
    check_whole_with(name, &hd, anomaly, CodecId::Float, Effort::Default);
    // Format 1.2, float payload version 2.
    assert_eq!(minor_and_payload_version(name), (2, 2));
}

#[test]
fn golden_float_specials_mask() {
    // The gridMET crop: daily maximum temperature over the western US, its nodata (32767)
    // beyond the coast a region the specials mask (float payload version 4) codes.
    let (w, h, tmmx) = tiff_samples("float32_1b_gridmet_tmmx_crop_kelvin.tif");
    let hd = plain_header(w, h, 1, SampleType::F32);
    let name = "gridmet_tmmx_float_specials_mask.emb";
    check_whole_with(name, &hd, tmmx, CodecId::Float, Effort::Default);
    // Format 1.8, float payload version 4.
    assert_eq!(minor_and_payload_version(name), (8, 4));
}

#[test]
fn golden_constant_tiles_beside_native() {
    // The left 96 columns of the Landsat 7 RGB crop: the scene's nodata border fills the
    // first column of tiles, which `auto` stores with the constant codec (id 1); the rest
    // is imagery (native at default effort; lz on the small tiles that are mostly border).
    let (w, _, rgb) = tiff_samples("uint8_3b_landsat7_rgb_crop.tif");
    let (ww, wh) = (96, 200);
    let samples = window(&rgb, w, 3, (0, 0, ww, wh));
    let hd = tiled_header(ww, wh, 3, SampleType::U8);
    let fresh = encode_choice(
        &hd,
        std::slice::from_ref(&samples),
        CodecChoice::Auto,
        Effort::Default,
    );
    check_file(
        "landsat_border_constant_auto.emb",
        &hd,
        vec![samples],
        fresh,
        true,
    );
    let golden = std::fs::read(fixtures().join("golden/landsat_border_constant_auto.emb")).unwrap();
    let codecs: Vec<CodecId> = Reader::open(Cursor::new(&golden))
        .unwrap()
        .entries()
        .iter()
        .map(|e| CodecId::from_code(e.codec).unwrap())
        .collect();
    assert!(codecs.contains(&CodecId::Constant), "{codecs:?}");
    assert!(codecs.contains(&CodecId::Native), "{codecs:?}");
}

#[cfg(feature = "jxl")]
#[test]
fn golden_plain_jxl_decodes() {
    // A 96 × 96 window of Landsat 7 RGB imagery (no nodata) as JPEG XL (codec id 4). The
    // codestream bytes belong to libjxl, so only decoding is pinned.
    let (w, _, rgb) = tiff_samples("uint8_3b_landsat7_rgb_crop.tif");
    let samples = window(&rgb, w, 3, (128, 64, 96, 96));
    let hd = tiled_header(96, 96, 3, SampleType::U8);
    check_at(
        "landsat_rgb_jxl.emb",
        &hd,
        vec![samples],
        CodecId::Jxl,
        Effort::Default,
        false,
    );
}

// ---- Format compatibility: files from later writers (docs/format.md §7) ----
//
// The helpers below edit files at the byte offsets of docs/format.md §2–§4, not through the
// crate's writer, so they stand for another implementation (or a later geoembed).

const PREAMBLE_LEN: usize = 64;
const ENTRY_LEN: usize = 32;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Rewrites the CRC that ends a preamble (bytes 0..60) or an index entry (bytes 0..28).
fn reseal(record: &mut [u8]) {
    let n = record.len() - 4;
    let crc = crc32fast::hash(&record[..n]);
    record[n..].copy_from_slice(&crc.to_le_bytes());
}

/// A header chunk: tag and payload.
type Chunk = ([u8; 4], Vec<u8>);

/// The file with its header chunks replaced by `edit(chunks)` and the minor version set to
/// `minor`: the header grows or shrinks in place, the payloads behind it move, and the
/// preamble, index entries and header get new checksums. Expects the writer's layout (§1:
/// index at 64, header right after it, payloads after the header).
fn rewrite_header(file: &[u8], minor: u16, edit: impl FnOnce(&mut Vec<Chunk>)) -> Vec<u8> {
    let blocks = u32_at(file, 36) as usize;
    let (index_at, header_at) = (u64_at(file, 40) as usize, u64_at(file, 48) as usize);
    let header_len = u32_at(file, 56) as usize;
    assert_eq!(index_at, PREAMBLE_LEN);
    assert_eq!(header_at, index_at + blocks * ENTRY_LEN);
    let body = &file[header_at..header_at + header_len - 4];
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let len = u32_at(body, at + 4) as usize;
        chunks.push((
            body[at..at + 4].try_into().unwrap(),
            body[at + 8..at + 8 + len].to_vec(),
        ));
        at += 8 + len;
    }
    edit(&mut chunks);
    let mut header = Vec::new();
    for (tag, payload) in &chunks {
        header.extend_from_slice(tag);
        header.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        header.extend_from_slice(payload);
    }
    header.extend_from_slice(&crc32fast::hash(&header).to_le_bytes());
    let shift = header.len() as i64 - header_len as i64;

    let mut out = file[..header_at].to_vec();
    out[10..12].copy_from_slice(&minor.to_le_bytes());
    out[56..60].copy_from_slice(&(header.len() as u32).to_le_bytes());
    reseal(&mut out[..PREAMBLE_LEN]);
    for entry in out[index_at..header_at].chunks_exact_mut(ENTRY_LEN) {
        let moved = (u64_at(entry, 0) as i64 + shift) as u64;
        entry[..8].copy_from_slice(&moved.to_le_bytes());
        reseal(entry);
    }
    out.extend_from_slice(&header);
    out.extend_from_slice(&file[header_at + header_len..]);
    out
}

/// The file as a writer of format 1.1 might make it: minor version 1, and two ancillary
/// chunks a 1.0 reader does not know, one between known chunks and one at the end.
fn as_from_minor_version_1(file: &[u8]) -> Vec<u8> {
    rewrite_header(file, 1, |chunks| {
        assert_eq!(&chunks[0].0, b"BNDS");
        chunks.insert(1, (*b"futr", b"a 1.1 chunk that 1.0 readers skip".to_vec()));
        chunks.push((*b"xtra", (0u8..=40).collect()));
    })
}

const FUTURE_GOLDEN: &str = "derived_uint16_native_minor1.emb";

/// The bytes of [`FUTURE_GOLDEN`], made afresh (the tests that edit them further must not
/// race a blessing run that rewrites the file; the golden test pins the two as equal).
fn future_file() -> Vec<u8> {
    let h = header(SampleType::U16, 16, false);
    as_from_minor_version_1(&encode(
        &h,
        &[derived_uint16()],
        CodecId::Native,
        Effort::Default,
    ))
}

#[test]
fn golden_higher_minor_version_with_unknown_ancillary_chunks() {
    // A reader of 1.0 must open a 1.1 file, skip the chunks it does not know, and decode
    // every tile: the same header and samples as the 1.0 file it was made from.
    let h = header(SampleType::U16, 16, false);
    check_file(
        FUTURE_GOLDEN,
        &h,
        vec![derived_uint16()],
        future_file(),
        true,
    );
    let golden = std::fs::read(fixtures().join("golden").join(FUTURE_GOLDEN)).unwrap();
    assert_eq!(
        u16::from_le_bytes([golden[10], golden[11]]),
        1,
        "minor version"
    );
    let header_at = u64_at(&golden, 48) as usize;
    let header = &golden[header_at..header_at + u32_at(&golden, 56) as usize];
    for tag in [b"futr", b"xtra"] {
        assert!(
            header.windows(4).any(|w| w == tag),
            "chunk {tag:?} is in the golden"
        );
    }
}

#[test]
fn unknown_critical_chunks_and_major_versions_are_refused() {
    let golden = future_file();
    // An upper-case tag is critical: not knowing it, a reader must refuse the file.
    let critical = rewrite_header(&golden, 1, |chunks| chunks.push((*b"Futr", vec![1, 2, 3])));
    let err = Reader::open(Cursor::new(&critical)).err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(
        err.to_string().contains("unknown critical chunk \"Futr\""),
        "{err}"
    );
    // A new major version is a format this reader cannot read at all.
    let mut major2 = golden.clone();
    major2[8..10].copy_from_slice(&2u16.to_le_bytes());
    reseal(&mut major2[..PREAMBLE_LEN]);
    let err = Reader::open(Cursor::new(&major2)).err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("format version 2.x"), "{err}");
}

#[test]
fn tiles_of_an_unknown_codec_fail_alone() {
    // A later minor version may add a codec id: the file opens, the tiles that use it fail
    // with an error naming the id, and every other tile still decodes.
    let mut file = future_file();
    let entry_at = PREAMBLE_LEN + ENTRY_LEN; // block 1: tile (1, 0)
    file[entry_at + 16..entry_at + 18].copy_from_slice(&99u16.to_le_bytes());
    reseal(&mut file[entry_at..entry_at + ENTRY_LEN]);
    let mut r = Reader::open(Cursor::new(&file)).unwrap();
    let err = r.read_block(0, 1, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("unknown codec id 99"), "{err}");
    assert!(err.to_string().contains("tile (1, 0)"), "{err}");
    for (tx, ty) in [(0, 0), (0, 1), (1, 1)] {
        r.read_block(0, tx, ty).unwrap();
    }
}

/// The real Presto crop's codes and scales (48 x 48 x 128 int8, 48 x 48 float32).
fn presto_crop() -> (Vec<i8>, Vec<f32>) {
    let codes = npy_data("presto_s2_crop_int8.npy");
    let scales = npy_data("presto_s2_crop_scales.npy");
    (
        codes.into_iter().map(|b| b as i8).collect(),
        scales
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
    )
}

#[test]
fn golden_dequant_geotessera_float32_and_alphaearth_power_law() {
    // GeoTessera's float download of real Presto embeddings, with a NaN nodata pixel, a
    // pixel whose scale is 0 and a sample off its lattice: codes, scales and exceptions.
    let (codes, mut scales) = presto_crop();
    scales[3] = 0.0;
    let mut x: Vec<f32> = codes
        .iter()
        .enumerate()
        .map(|(i, &q)| q as f32 * scales[i / 128])
        .collect();
    x[40 * 128..41 * 128].fill(f32::NAN);
    x[50 * 128 + 9] = 0.123_456_79;
    let bytes = x.iter().flat_map(|v| v.to_bits().to_le_bytes()).collect();
    let dequant = |name: &str, bands: usize, samples: Vec<u8>| {
        let hd = tiled_header(48, 48, bands, SampleType::F32);
        check_at(
            name,
            &hd,
            vec![samples],
            CodecId::Dequant,
            Effort::Default,
            true,
        );
    };
    dequant("presto_float32_dequant.emb", 128, bytes);
    // AlphaEarth's float download of the first 64 bands: a value table.
    let power: Vec<u8> = codes
        .chunks_exact(128)
        .flat_map(|px| px[..64].to_vec())
        .flat_map(|q| {
            let v = (q as f64).signum() * (q.unsigned_abs() as f64 / 127.5).powi(2);
            (v as f32).to_le_bytes()
        })
        .collect();
    dequant("presto_power_law_dequant.emb", 64, power);
}

/// GeoTessera's layout of the real Presto crop: int8 codes as the bands (native), the
/// float32 scales as aux plane `scales`, with pixel 3 all-zero codes of scale 0 and pixel
/// 40's scale a NaN with a payload. The scales are coded from the codes.
fn presto_int8_with_scales() -> (Header, Vec<Vec<u8>>) {
    let (codes, mut scales) = presto_crop();
    let mut codes: Vec<u8> = codes.iter().map(|&q| q as u8).collect();
    codes[3 * 128..4 * 128].fill(0);
    scales[3] = 0.0;
    scales[40] = f32::from_bits(0x7fc0_1234);
    let mut hd = tiled_header(48, 48, 128, SampleType::I8);
    hd.aux_planes.push(AuxPlane {
        name: "scales".into(),
        sample_type: SampleType::F32,
        bands: 1,
        description: "per-pixel scale".into(),
    });
    hd.dequantization = Some(Dequantization::PerPixelScale { aux_plane: 0 });
    let scale_bytes = scales
        .iter()
        .flat_map(|s| s.to_bits().to_le_bytes())
        .collect();
    (hd, vec![codes, scale_bytes])
}

#[test]
fn golden_scales_from_codes() {
    let (hd, planes) = presto_int8_with_scales();
    let mut w = Writer::new(Cursor::new(Vec::new()), hd.clone()).unwrap();
    let tiles: Vec<(u32, u32)> = (0..hd.tiles_down())
        .flat_map(|ty| (0..hd.tiles_across()).map(move |tx| (tx, ty)))
        .collect();
    for &(tx, ty) in &tiles {
        let bands = tile(&planes[0], 128, &hd, tx, ty);
        let native = CodecChoice::Fixed(CodecId::Native);
        let b = encode_block(&hd, 0, tx, ty, &bands, native, Effort::Default).unwrap();
        w.write_block(0, tx, ty, &b).unwrap();
    }
    for &(tx, ty) in &tiles {
        let (bands, scales) = (
            tile(&planes[0], 128, &hd, tx, ty),
            tile(&planes[1], 4, &hd, tx, ty),
        );
        let settings = BlockSettings::default();
        let block = (1, tx, ty);
        let b = encode_block_given_bands(&hd, block, &scales, &bands, CodecChoice::Auto, settings);
        let b = b.unwrap();
        assert_eq!(b.codec, CodecId::ScalesFromCodes, "tile ({tx}, {ty})");
        w.write_block(1, tx, ty, &b).unwrap();
    }
    let fresh = w.finish().unwrap().into_inner();
    let name = "presto_int8_scales_from_codes.emb";
    check_file(name, &hd, planes, fresh, true);
    let golden = std::fs::read(fixtures().join("golden").join(name)).unwrap();
    let r = Reader::open(Cursor::new(&golden)).unwrap();
    assert_eq!(r.format_version(), (1, 3));
}

#[test]
fn golden_native_repeats_and_lz() {
    // The Presto crop with whole vectors of its first rows repeated far below them (every
    // third pixel of rows 12.. copies one of five vectors of rows 0-1): native payload
    // version 2. And an `lz` tile (zstd; its bytes belong to libzstd: decoding is pinned).
    let (codes, _) = presto_crop();
    let mut bytes: Vec<u8> = codes.iter().map(|&q| q as u8).collect();
    for p in (12 * 48..48 * 48).step_by(3) {
        let source = (p / 3) % 5 * 17;
        bytes.copy_within(source * 128..(source + 1) * 128, p * 128);
    }
    let hd = tiled_header(48, 48, 128, SampleType::I8);
    check_at(
        "presto_repeats_native.emb",
        &hd,
        vec![bytes.clone()],
        CodecId::Native,
        Effort::Default,
        true,
    );
    let golden = std::fs::read(fixtures().join("golden/presto_repeats_native.emb")).unwrap();
    let mut r = Reader::open(Cursor::new(&golden)).unwrap();
    assert_eq!(r.read_payload(0, 0, 1).unwrap()[0], 2, "repeats: version 2");
    let hd = tiled_header(48, 48, 128, SampleType::I8);
    check_at(
        "presto_repeats_lz.emb",
        &hd,
        vec![bytes],
        CodecId::Lz,
        Effort::Default,
        false,
    );
}

/// `||x − x̂|| / ||x||` of float32 samples.
fn rel_rmse_f32(original: &[u8], decoded: &[u8]) -> f64 {
    let (x, y) = (
        SampleType::F32.values_f64(original),
        SampleType::F32.values_f64(decoded),
    );
    let error: f64 = x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum();
    (error / x.iter().map(|a| a * a).sum::<f64>()).sqrt()
}

#[test]
fn golden_klt_presto_values() {
    // The real Presto crop as GeoTessera's float32 values, transform-coded to a relative
    // RMSE of 5% in 32 x 32 tiles (four tiles, three of them clipped).
    let (codes, scales) = presto_crop();
    let values: Vec<u8> = codes
        .iter()
        .enumerate()
        .flat_map(|(i, &q)| (q as f32 * scales[i / 128]).to_le_bytes())
        .collect();
    let mut hd = tiled_header(48, 48, 128, SampleType::F32);
    hd.transform_loss = Some(TransformLoss {
        target_rel_rmse: 0.05,
        achieved: None,
    });
    // This build's wavelet payload (version 3) with a zlib band table (format 1.7); the
    // same payload with a plain band table (format 1.6) and version 1 (format 1.2) as
    // earlier builds wrote them.
    for (name, pinned, versions) in [
        ("presto_klt_5pct.emb", true, (7, 3)),
        ("presto_klt_5pct_v3_bnds.emb", false, (6, 3)),
        ("presto_klt_5pct_v1.emb", false, (2, 1)),
    ] {
        let golden = klt_golden(name, &hd, &values, pinned, versions);
        check_klt_values(name, &golden, &values);
    }
}

/// A golden `klt` file of the Presto crop's values at 5%: the rel-RMSE within ±5% of the
/// target, and the recorded figures those of the decoded samples.
fn check_klt_values(name: &str, golden: &[u8], values: &[u8]) {
    let (h2, planes) = decode(golden);
    let recorded = h2.transform_loss.clone().unwrap();
    assert_eq!(recorded.target_rel_rmse, 0.05);
    let achieved = rel_rmse_f32(values, &planes[0]);
    assert!(
        (achieved / 0.05 - 1.0).abs() <= 0.05,
        "{name}: rel-RMSE {achieved}"
    );
    let figures = recorded.achieved.unwrap();
    assert!(
        (figures.rel_rmse / achieved - 1.0).abs() < 1e-9,
        "{name}: recorded {figures:?}"
    );
    assert!(figures.p01_cosine <= figures.mean_cosine && figures.mean_cosine < 1.0);
}
