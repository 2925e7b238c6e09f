//! Golden files pin the `.emb` format (docs/format.md): encoding a fixed input must give the
//! committed bytes, and the committed files must decode to that input. After a deliberate
//! format change, regenerate with `GEOEMBED_BLESS=1 cargo test -p geoembed-codec --test golden`
//! and say so in the commit.
//!
//! Input: the synthetic GeoTessera-like proxy tile in fixtures/ (60x50x128 int8 + float32
//! scales; see fixtures/README.md), plus a uint16 plane derived from it.

use geoembed_codec::format::header::{AuxPlane, Dequantization, MetadataDomain, Srs};
use geoembed_codec::format::{encode_block, Reader, Writer};
use geoembed_codec::{CodecChoice, CodecId, Effort, Header, SampleType};
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

fn tile(plane_bytes: &[u8], px: usize, h: &Header, tx: u32, ty: u32) -> Vec<u8> {
    let (x0, y0, tw, th) = h.tile_rect(tx, ty);
    let mut t = Vec::new();
    for y in y0..y0 + th {
        let s = (y as usize * W as usize + x0 as usize) * px;
        t.extend_from_slice(&plane_bytes[s..s + tw as usize * px]);
    }
    t
}

fn encode(h: &Header, planes: &[Vec<u8>], codec: CodecId) -> Vec<u8> {
    let mut w = Writer::new(Cursor::new(Vec::new()), h.clone()).unwrap();
    for (p, bytes) in planes.iter().enumerate() {
        let (ty, bands) = h.plane_layout(p).unwrap();
        let choice = if p == 0 {
            CodecChoice::Fixed(codec)
        } else {
            CodecChoice::Fixed(CodecId::Png128)
        };
        for ty_ in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                let t = tile(bytes, bands * ty.size(), h, tx, ty_);
                let b = encode_block(h, p, tx, ty_, &t, choice, Effort::Default).unwrap();
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
        let mut out = vec![0u8; (W * H) as usize * px];
        for ty_ in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                let t = r.read_block(p, tx, ty_).unwrap();
                let (x0, y0, tw, th) = h.tile_rect(tx, ty_);
                let n = tw as usize * px;
                for (i, y) in (y0..y0 + th).enumerate() {
                    let s = (y as usize * W as usize + x0 as usize) * px;
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
    let path = fixtures().join("golden").join(name);
    let fresh = encode(h, &planes, codec);
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
    h.decorrelation =
        Some(geoembed_codec::codec::decorrelate::fit(SampleType::I8, 128, &data[0]).unwrap());
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
    h.decorrelation =
        Some(geoembed_codec::codec::decorrelate::fit(SampleType::I8, 128, &data[0]).unwrap());
    check(
        "tessera_proxy_decorrelate_jxl.emb",
        &h,
        data,
        CodecId::DecorrelateJxl,
        false,
    );
}
