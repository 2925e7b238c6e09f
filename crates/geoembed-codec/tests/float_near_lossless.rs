//! Near-lossless floats (`max_error` in value units, docs/format.md §5.4.2 kind 5 and §4.8
//! mode 3): on the float DEM, the gridMET grid and the 12-hour ERA5 stack of fixtures/ and on
//! random tiles full of IEEE-754 oddities, every decoded sample is within its band's bound
//! (checked exactly, not after rounding the difference), NaN, ±Inf and nodata stay bit for
//! bit, nothing else becomes nodata, a zero bound changes no byte, the file records the
//! bound and the error reached, and codecs that cannot keep a bound refuse it.

#[path = "common/best_round_trip.rs"]
mod best_round_trip;
#[path = "common/exact_bound.rs"]
mod exact_bound;
#[path = "common/test_rng.rs"]
mod test_rng;
#[path = "common/whole_raster.rs"]
mod whole_raster;

use best_round_trip::encode_and_decode;
use exact_bound::within;
use geoembed_codec::{
    encode_best, encode_block, encode_tile, CodecChoice, CodecId, CodecParams, Effort, ErrorKind,
    Header, NearLossless, Reader, SampleType, TileShape, Writer,
};
use std::io::Cursor;
use std::path::PathBuf;
use test_rng::TestRng;
use whole_raster::{tile, write};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A real float fixture (GeoTIFF, or a little-endian (H, W, C) float64 .npy) as a header
/// (with the band count) and its pixel-interleaved samples.
fn fixture(name: &str) -> (Header, Vec<u8>) {
    use tiff::decoder::{Decoder, DecodingResult};
    let raw = std::fs::read(fixtures().join(name)).unwrap();
    let (w, h, ty, bytes) = if name.ends_with(".npy") {
        let hlen = u16::from_le_bytes([raw[8], raw[9]]) as usize;
        let head = std::str::from_utf8(&raw[10..10 + hlen]).unwrap();
        assert!(head.contains("'<f8'") && head.contains("False"), "{head}");
        let dims: Vec<u32> = head[head.find("'shape': (").unwrap() + 10..]
            .split(')')
            .next()
            .unwrap()
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        (dims[1], dims[0], SampleType::F64, raw[10 + hlen..].to_vec())
    } else {
        let mut d = Decoder::new(Cursor::new(raw)).unwrap();
        let (w, h) = d.dimensions().unwrap();
        let (ty, bytes) = match d.read_image().unwrap() {
            DecodingResult::F32(v) => (
                SampleType::F32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            DecodingResult::F64(v) => (
                SampleType::F64,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            _ => panic!("{name}: not a float raster"),
        };
        (w, h, ty, bytes)
    };
    let bands = bytes.len() / (w as usize * h as usize * ty.size());
    (Header::new(w, h, bands, ty), bytes)
}

/// The samples of a tile as (bits, value) pairs.
fn samples(ty: SampleType, bytes: &[u8]) -> Vec<(u64, f64)> {
    bytes
        .chunks_exact(ty.size())
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            let bits = u64::from_le_bytes(b);
            let value = match ty {
                SampleType::F32 => f32::from_bits(bits as u32) as f64,
                _ => f64::from_bits(bits),
            };
            (bits, value)
        })
        .collect()
}

/// Asserts the near-lossless rules on every sample (pixel-interleaved, `bounds` per band);
/// returns the largest error per band.
fn assert_bound(
    ty: SampleType,
    source: &[u8],
    decoded: &[u8],
    bounds: &[f64],
    nodata: &[Option<f64>],
) -> Vec<f64> {
    let mut worst = vec![0.0f64; bounds.len()];
    let pairs = samples(ty, source).into_iter().zip(samples(ty, decoded));
    for (i, ((bits, x), (bits_hat, x_hat))) in pairs.enumerate() {
        let band = i % bounds.len();
        let is_nodata = |v: f64| nodata[band].is_some_and(|n| v == n);
        if bounds[band] == 0.0 || !x.is_finite() || is_nodata(x) {
            assert_eq!(bits, bits_hat, "sample {i} ({x}) must stay exact");
            continue;
        }
        assert!(
            within(x, x_hat, bounds[band]),
            "sample {i}: {x} -> {x_hat}, bound {}",
            bounds[band]
        );
        assert!(!is_nodata(x_hat), "sample {i}: {x} became nodata");
        worst[band] = worst[band].max((x - x_hat).abs());
    }
    worst
}

/// Decodes every tile of `file` and checks it against `raster`; returns the recorded
/// header's near-lossless chunk and the largest error measured per band.
fn check_file(file: &[u8], raster: &[u8]) -> (Option<NearLossless>, Vec<f64>) {
    let mut reader = Reader::open(Cursor::new(file)).unwrap();
    let h = reader.header().clone();
    let bands = h.bands.len();
    let bounds = h
        .near_lossless
        .as_ref()
        .map_or(vec![0.0; bands], |n| n.max_error.clone());
    let nodata: Vec<Option<f64>> = h.bands.iter().map(|b| b.nodata).collect();
    let mut worst = vec![0.0f64; bands];
    for ty in 0..h.tiles_down() {
        for tx in 0..h.tiles_across() {
            let decoded = reader.read_block(0, tx, ty).unwrap();
            let source = tile(&h, raster, tx, ty);
            let tile_worst = assert_bound(h.sample_type, &source, &decoded, &bounds, &nodata);
            worst
                .iter_mut()
                .zip(tile_worst)
                .for_each(|(w, t)| *w = w.max(t));
        }
    }
    (h.near_lossless, worst)
}

/// The range of the finite, non-nodata samples.
fn value_range(h: &Header, raster: &[u8]) -> f64 {
    let nodata = h.bands[0].nodata;
    let values = samples(h.sample_type, raster).into_iter().map(|(_, v)| v);
    let valid: Vec<f64> = values
        .filter(|v| v.is_finite() && Some(*v) != nodata)
        .collect();
    let (lo, hi) = valid
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    hi - lo
}

/// The format minor version of each fixture's near-lossless files: the gridMET crop's
/// nodata region (40% of the grid, outside the US) is a specials mask in its tiles.
const MINOR_PRE_RUNOUT: u16 = 2;
const MINOR_GRIDMET: u16 = 8;

/// Writes the fixture losslessly and at E in {0.01, 0.5, 1e-4 × range}, 32 × 32 tiles:
/// every sample within the bound, the recorded bound and achieved error, E = 0 the
/// lossless bytes, the near-lossless files of format `1.minor` (1.2; 1.8 where a tile's
/// nodata region is a specials mask, §5.4.3b); returns the file sizes.
fn bound_holds(name: &str, nodata: Option<f64>, effort: Effort, minor: u16) -> Vec<usize> {
    let (mut h, raster) = fixture(name);
    h.tile_width = 32;
    h.tile_height = 32;
    h.bands.iter_mut().for_each(|b| b.nodata = nodata);
    let bands = h.bands.len();
    let lossless = write(&h, &raster, CodecChoice::Auto, effort);
    let mut zero = h.clone();
    zero.near_lossless = Some(NearLossless::uniform(bands, 0.0));
    assert!(
        write(&zero, &raster, CodecChoice::Auto, effort) == lossless,
        "{name}: E = 0"
    );
    let mut sizes = vec![lossless.len()];
    let relative = 1e-4 * value_range(&h, &raster);
    for e in [0.01, 0.5, relative] {
        for choice in [CodecChoice::Auto, CodecChoice::Fixed(CodecId::Float)] {
            let mut hd = h.clone();
            hd.near_lossless = Some(NearLossless::uniform(bands, e));
            let file = write(&hd, &raster, choice, effort);
            let (recorded, worst) = check_file(&file, &raster);
            let recorded = recorded.expect("the file says it is near-lossless");
            assert_eq!(recorded.max_error, vec![e; bands], "{name}");
            assert_eq!(
                recorded.achieved,
                worst.iter().map(|&w| Some(w)).collect::<Vec<_>>()
            );
            assert_eq!(
                u16::from_le_bytes([file[10], file[11]]),
                minor,
                "{name}: format 1.{minor}"
            );
            if choice == CodecChoice::Auto {
                sizes.push(file.len());
            }
        }
    }
    sizes
}

#[test]
fn the_bound_holds_on_every_sample_of_the_float_dem() {
    let sizes = bound_holds(
        "float32_1b_pre_runout_dem_nocrs.tif",
        Some(-9999.0),
        Effort::Default,
        MINOR_PRE_RUNOUT,
    );
    let [lossless, e001, e05, _] = sizes[..] else {
        unreachable!()
    };
    assert!(e001 < lossless * 3 / 4 && e05 < e001, "{sizes:?}");
}

#[test]
fn the_bound_holds_on_every_sample_of_gridmet() {
    let sizes = bound_holds(
        "float32_1b_gridmet_tmmx_crop_kelvin.tif",
        Some(32767.0),
        Effort::Default,
        MINOR_GRIDMET,
    );
    assert!(sizes[2] < sizes[0], "{sizes:?}");
}

#[test]
fn the_bound_holds_on_every_sample_of_the_era5_stack() {
    // (The 240-hour stack is read through GDAL: tests/float_near_lossless.rs at the root.)
    let name = "float64_12b_era5_t2m_uk_20190301_first12h.npy";
    let sizes = bound_holds(name, None, Effort::Default, 2);
    assert!(sizes[1] < sizes[0] && sizes[2] < sizes[1], "{sizes:?}");
}

/// A random float tile: smooth values over several binades, with NaN payloads, ±Inf, −0.0,
/// subnormals, values near the type's maximum, and nodata samples.
fn random_tile(rng: &mut TestRng, ty: SampleType, shape: &TileShape, nodata: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(shape.bytes());
    let scale = [1e-3, 1.0, 300.0, 1e6][rng.below(4) as usize];
    for i in 0..shape.samples() {
        let smooth = ((i % shape.width) as f64 * 0.37).sin() * scale + (i as f64 * 1e-3) * scale;
        let value = match rng.below(40) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => -0.0,
            4 => nodata,
            5 => 1e-310,
            6 => {
                if ty == SampleType::F32 {
                    f32::MAX as f64
                } else {
                    f64::MAX / 3.0
                }
            }
            7 => smooth + (rng.below(1000) as f64 - 500.0) * scale,
            _ => smooth + rng.below(100) as f64 * 1e-3 * scale,
        };
        match ty {
            SampleType::F32 => {
                let bits = if rng.below(80) == 0 {
                    0x7fc0_1234
                } else {
                    (value as f32).to_bits()
                };
                out.extend_from_slice(&bits.to_le_bytes());
            }
            _ => {
                let bits = if rng.below(80) == 0 {
                    0xfff8_0000_0000_beef
                } else {
                    value.to_bits()
                };
                out.extend_from_slice(&bits.to_le_bytes());
            }
        }
    }
    out
}

#[test]
fn random_float_tiles_keep_every_bound_and_every_special() {
    let mut rng = TestRng::new(0x11_f10a7);
    let mut lossy_tiles = 0;
    for round in 0..60 {
        let ty = if round % 2 == 0 {
            SampleType::F32
        } else {
            SampleType::F64
        };
        let shape = TileShape {
            width: 1 + rng.below(40) as usize,
            height: 1 + rng.below(30) as usize,
            bands: 1 + rng.below(3) as usize,
            sample_type: ty,
        };
        let nodata = -9999.0;
        let data = random_tile(&mut rng, ty, &shape, nodata);
        let bounds: Vec<f64> = (0..shape.bands)
            .map(|_| [0.0, 1e-9, 1e-4, 0.01, 0.5, 7.0, 1e5][rng.below(7) as usize])
            .collect();
        let nodata = vec![Some(nodata); shape.bands];
        let params = CodecParams {
            max_error: &bounds,
            nodata: &nodata,
            ..CodecParams::default()
        };
        for choice in [CodecChoice::Auto, CodecChoice::Fixed(CodecId::Float)] {
            let effort = [Effort::Fast, Effort::Default, Effort::Max][round % 3];
            let params = CodecParams { effort, ..params };
            let (encoded, decoded) = encode_and_decode(choice, &shape, &data, &params);
            let worst = assert_bound(ty, &data, &decoded, &bounds, &nodata);
            if bounds.iter().any(|&e| e > 0.0) {
                let tile = encoded.near_lossless.expect("a near-lossless tile");
                assert_eq!(tile.samples, decoded);
                assert_eq!(tile.max_error, worst);
                lossy_tiles += worst.iter().any(|&w| w > 0.0) as usize;
            }
        }
    }
    assert!(lossy_tiles > 40, "only {lossy_tiles} tiles were quantised");
}

#[test]
fn a_bound_finer_than_the_samples_keeps_the_band_exact() {
    // float32 near 3000: spacing 2^-12 ≈ 2.4e-4, so 1e-4 leaves nothing to gain.
    let shape = TileShape {
        width: 16,
        height: 16,
        bands: 1,
        sample_type: SampleType::F32,
    };
    let data: Vec<u8> = (0..256)
        .flat_map(|i| (3000.0f32 + i as f32 * 0.37).to_le_bytes())
        .collect();
    let params = CodecParams {
        max_error: &[1e-4],
        ..CodecParams::default()
    };
    let encoded = encode_best(CodecChoice::Auto, &shape, &data, &params).unwrap();
    assert_eq!(encoded.near_lossless.unwrap().samples, data);
}

#[test]
fn codecs_that_cannot_keep_a_float_bound_refuse_it() {
    let (mut h, raster) = fixture("float32_1b_pre_runout_dem_nocrs.tif");
    h.tile_width = 32;
    h.tile_height = 32;
    h.near_lossless = Some(NearLossless::uniform(1, 0.01));
    let samples = tile(&h, &raster, 0, 0);
    for codec in [
        CodecId::Png128,
        CodecId::Raw,
        CodecId::Lz,
        CodecId::Dequant,
        CodecId::Native,
    ] {
        let err = encode_block(
            &h,
            0,
            0,
            0,
            &samples,
            CodecChoice::Fixed(codec),
            Effort::Fast,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let message = err.to_string();
        assert!(message.contains(codec.name()), "{message}");
    }
    // The tile API: the float codec keeps it, png128 refuses.
    let shape = geoembed_codec::block_shape(&h, 0, 0, 0).unwrap();
    let params = CodecParams {
        max_error: &[0.01],
        ..CodecParams::default()
    };
    let payload = encode_tile(CodecId::Float, &shape, &samples, &params).unwrap();
    assert_eq!(payload[0], 3, "float payload version 3");
    let err = encode_tile(CodecId::Png128, &shape, &samples, &params).unwrap_err();
    assert!(err.to_string().contains("float codec"), "{err}");
    // Integers take only whole bounds (32-bit ones too since format 1.5).
    let mut h32 = Header::new(8, 8, 1, SampleType::I32);
    h32.near_lossless = Some(NearLossless::uniform(1, 1.5));
    let err = Writer::new(Cursor::new(Vec::new()), h32).err().unwrap();
    assert!(err.to_string().contains("whole number"), "{err}");
    let mut h16 = Header::new(8, 8, 1, SampleType::I16);
    h16.near_lossless = Some(NearLossless::uniform(1, 0.5));
    let err = Writer::new(Cursor::new(Vec::new()), h16).err().unwrap();
    assert!(err.to_string().contains("whole number"), "{err}");
}
