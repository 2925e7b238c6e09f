//! The float codec: bit-exact round trips of every IEEE-754 oddity in every transform,
//! 32-bit integers, nodata-only tiles, the domains it detects on real DEM and climate
//! fixtures, and corrupt payloads.

#[path = "common/test_rng.rs"]
mod test_rng;

// The float codec's transforms have no crate-root names: they are the float codec's own.
use geoembed_codec::codec::float::{self, Transform};
use geoembed_codec::{
    decode_tile, encode_best, encode_tile, CodecChoice, CodecId, CodecParams, Effort, SampleType,
    TileShape,
};
use std::path::PathBuf;
use test_rng::TestRng;

const TRANSFORMS: [Transform; 4] = [
    Transform::Predictive,
    Transform::BytePlanes,
    Transform::Gridfour,
    Transform::Lz,
];
const EFFORTS: [Effort; 3] = [Effort::Fast, Effort::Default, Effort::Max];

fn shape(ty: SampleType, width: usize, height: usize, bands: usize) -> TileShape {
    TileShape {
        width,
        height,
        bands,
        sample_type: ty,
    }
}

/// Encodes with `t` (or the codec's own choice when `None`), decodes, compares bytes.
fn round_trip(s: &TileShape, data: &[u8], effort: Effort, t: Option<Transform>) -> Vec<u8> {
    let payload = match t {
        Some(t) => float::encode_with(s, data, effort, t),
        None => float::encode(s, data, effort),
    }
    .unwrap_or_else(|e| panic!("{t:?} {effort:?} {s:?}: {e}"));
    let mut out = Vec::new();
    decode_tile(
        CodecId::Float,
        s,
        &payload,
        &CodecParams::default(),
        &mut out,
    )
    .unwrap_or_else(|e| panic!("{t:?} {effort:?}: {e}"));
    assert!(out == data, "{t:?} {effort:?} {s:?}: round trip differs");
    payload
}

/// A smooth two-band centimetre DEM (values k/100) sprinkled with `odd` bit patterns.
fn f32_tile(w: usize, h: usize, odd: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..w * h {
        let (x, y) = ((i % w) as f32, (i / w) as f32);
        for b in 0..2 {
            let v = ((1000.0 + 3.0 * x - 2.0 * y + 0.5 * (x * y).sqrt() + b as f32) * 100.0)
                .round()
                / 100.0;
            let bits = if i % 7 == 3 {
                odd[(i / 7 + b) % odd.len()]
            } else {
                v.to_bits()
            };
            out.extend_from_slice(&bits.to_le_bytes());
        }
    }
    out
}

#[test]
fn float32_specials_round_trip_bit_exact_in_every_transform() {
    let odd = [
        0x7fc0_0001, // quiet NaN with a payload
        0x7f80_0001, // signalling NaN
        0xffc1_2345, // negative NaN with a payload
        f32::INFINITY.to_bits(),
        f32::NEG_INFINITY.to_bits(),
        (-0.0f32).to_bits(),
        0.0f32.to_bits(),
        0x0000_0001, // smallest subnormal
        0x807f_ffff, // largest negative subnormal
        f32::MIN_POSITIVE.to_bits(),
        f32::MAX.to_bits(),
        (-9999.0f32).to_bits(),
    ];
    let data = f32_tile(37, 23, &odd);
    let s = shape(SampleType::F32, 37, 23, 2);
    for effort in EFFORTS {
        for t in TRANSFORMS {
            round_trip(&s, &data, effort, Some(t));
        }
        round_trip(&s, &data, effort, None);
    }
    // The predictive transform codes the values on their decimal lattice and lists the
    // oddities (including -0.0, which k = 0 would rebuild as +0.0) as specials.
    let payload = round_trip(&s, &data, Effort::Default, Some(Transform::Predictive));
    let (_, bands) = float::summarize(&s, &payload).unwrap();
    assert!(
        bands
            .iter()
            .all(|b| b.starts_with("k/1e2 ") && b.contains("specials")),
        "{bands:?}"
    );
}

#[test]
fn float64_and_32_bit_integers_round_trip_their_extremes() {
    let (w, h) = (29, 17);
    let mut f = Vec::new();
    let odd64 = [
        0x7ff8_0000_dead_beefu64,
        0x7ff0_0000_0000_0001,
        0xfff8_0000_0000_0000,
        f64::INFINITY.to_bits(),
        f64::NEG_INFINITY.to_bits(),
        (-0.0f64).to_bits(),
        1, // smallest subnormal
        f64::MAX.to_bits(),
        f64::MIN.to_bits(),
    ];
    for i in 0..w * h {
        let v = 280.0 + (i as f64 * 0.37).sin() * 4.0 + i as f64 * 1e-7;
        let bits = if i % 11 == 5 {
            odd64[i / 11 % odd64.len()]
        } else {
            v.to_bits()
        };
        f.extend_from_slice(&bits.to_le_bytes());
    }
    let s = shape(SampleType::F64, w, h, 1);
    for effort in EFFORTS {
        for t in TRANSFORMS {
            round_trip(&s, &f, effort, Some(t));
        }
    }
    for ty in [SampleType::I32, SampleType::U32] {
        let mut d = Vec::new();
        for i in 0..w * h * 3 {
            let smooth = (i as i64 / 3 * 1000 + (i % 3) as i64 * 7) as u32;
            let v = match i % 13 {
                0 => 0x8000_0000u32, // i32::MIN / 2^31
                1 => 0x7fff_ffff,
                2 => u32::MAX,
                _ => smooth,
            };
            d.extend_from_slice(&v.to_le_bytes());
        }
        let s = shape(ty, w, h, 3);
        for effort in EFFORTS {
            round_trip(&s, &d, effort, Some(Transform::Predictive));
            round_trip(&s, &d, effort, Some(Transform::BytePlanes));
            round_trip(&s, &d, effort, Some(Transform::Lz));
        }
        assert!(float::encode_with(&s, &d, Effort::Default, Transform::Gridfour).is_err());
    }
}

#[test]
fn nodata_only_and_nan_only_tiles() {
    let s = shape(SampleType::F32, 64, 48, 1);
    for fill in [-9999.0f32, f32::NAN, -0.0] {
        let data: Vec<u8> = (0..64 * 48)
            .flat_map(|_| fill.to_bits().to_le_bytes())
            .collect();
        let p = CodecParams::default();
        let best = encode_best(CodecChoice::Auto, &s, &data, &p).unwrap();
        assert_eq!(best.codec, CodecId::Constant, "{fill}");
        for t in TRANSFORMS {
            let payload = round_trip(&s, &data, Effort::Default, Some(t));
            assert!(payload.len() < 200, "{fill} {t:?}: {} bytes", payload.len());
        }
    }
    // Everything nodata but one valid sample, and everything valid but one NaN.
    let mut data: Vec<u8> = (0..64 * 48)
        .flat_map(|_| (-9999.0f32).to_bits().to_le_bytes())
        .collect();
    data[400..404].copy_from_slice(&123.25f32.to_le_bytes());
    round_trip(&s, &data, Effort::Default, None);
    let mut data: Vec<u8> = (0..64 * 48)
        .flat_map(|i| (i as f32 * 0.5).to_bits().to_le_bytes())
        .collect();
    data[4..8].copy_from_slice(&0x7fc0_0abcu32.to_le_bytes());
    round_trip(&s, &data, Effort::Default, None);
}

/// A float32 band below a wavy coastline: land values on a centimetre lattice above it,
/// nodata below (two NaN payloads alternating by row, as a mosaic of two sources might
/// leave), and a few scattered NaN on land.
fn coastline_tile(w: usize, h: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            let coast =
                h as f32 / 2.0 + 7.0 * (x as f32 / 9.0).sin() + 3.0 * (x as f32 / 2.7).cos();
            let bits = if y as f32 > coast {
                [0x7fc0_0000, 0x7fc0_0001][y % 2]
            } else if (x * 7 + y * 13) % 401 == 0 {
                0x7fc0_0000
            } else {
                let v = 250.0 + 0.3 * x as f32 - 0.2 * y as f32 + ((x * y) % 7) as f32 * 0.01;
                ((v * 100.0).round() / 100.0).to_bits()
            };
            out.extend_from_slice(&bits.to_le_bytes());
        }
    }
    out
}

#[test]
fn a_nodata_region_is_a_specials_mask_of_payload_version_4() {
    let (w, h) = (96, 64);
    let s = shape(SampleType::F32, w, h, 1);
    let data = coastline_tile(w, h);
    let payload = round_trip(&s, &data, Effort::Default, Some(Transform::Predictive));
    assert_eq!(payload[0], 4, "the region's specials are a mask");
    // `fast` writes version 1 only (the parts of other codecs rely on it): a gap list.
    let fast = round_trip(&s, &data, Effort::Fast, Some(Transform::Predictive));
    assert_eq!(fast[0], 1);
    let described = float::summarize(&s, &payload).unwrap().1.join("; ");
    assert!(described.contains("specials (mask)"), "{described}");
    let p = CodecParams::default();
    let decode = |payload: &[u8]| {
        decode_tile(CodecId::Float, &s, payload, &p, &mut Vec::new())
            .unwrap_err()
            .to_string()
    };
    // An earlier version cannot hold a mask; a later one is not this build's.
    let mut older = payload.clone();
    older[0] = 3;
    let error = decode(&older);
    assert!(error.contains("a specials mask needs version 4"), "{error}");
    let mut newer = payload.clone();
    newer[0] = 5;
    let error = decode(&newer);
    assert!(
        error.contains("float payload version 5 (this build reads 1 to 4)"),
        "{error}"
    );
    // Every cut of the mask's stream is an error, never a panic or a wrong tile.
    for cut in (2..payload.len()).step_by(7) {
        let mut out = Vec::new();
        assert!(decode_tile(CodecId::Float, &s, &payload[..cut], &p, &mut out).is_err());
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A real fixture (GeoTIFF or little-endian (H, W, C) .npy): width, height, bytes.
fn fixture_samples(name: &str) -> (usize, usize, Vec<u8>) {
    use tiff::decoder::{Decoder, DecodingResult};
    if name.ends_with(".npy") {
        let raw = std::fs::read(fixtures().join(name)).unwrap();
        let hlen = u16::from_le_bytes([raw[8], raw[9]]) as usize;
        let head = std::str::from_utf8(&raw[10..10 + hlen]).unwrap();
        assert!(
            head.contains("'<f8'") && head.contains("False"),
            "{name}: {head}"
        );
        let dims: Vec<usize> = head[head.find("'shape': (").unwrap() + 10..]
            .split(')')
            .next()
            .unwrap()
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        return (dims[1], dims[0], raw[10 + hlen..].to_vec());
    }
    let f = std::fs::File::open(fixtures().join(name)).unwrap();
    let mut d = Decoder::new(f).unwrap();
    let (w, h) = d.dimensions().unwrap();
    let bytes: Vec<u8> = match d.read_image().unwrap() {
        DecodingResult::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        DecodingResult::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        DecodingResult::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        DecodingResult::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        _ => panic!("{name}: not a 32/64-bit raster"),
    };
    (w as usize, h as usize, bytes)
}

#[test]
fn real_rasters_get_their_lattice_and_beat_png128() {
    // (fixture, type, bands, the domain the encoder must find in band 1)
    let cases = [
        // Landlab's debris-flow DEM: an ASCII grid with 4 decimals and a -9999 nodata border.
        (
            "float32_1b_pre_runout_dem_nocrs.tif",
            SampleType::F32,
            1,
            "k/1e4",
        ),
        // gridMET tmmx in kelvin: float32(raw * 0.1 + 220), a decimal lattice off zero.
        (
            "float32_1b_gridmet_tmmx_crop_kelvin.tif",
            SampleType::F32,
            1,
            "",
        ),
        // ERA5 2 m temperature: GRIB packing, reference + k * 2^e per message.
        (
            "float64_12b_era5_t2m_uk_20190301_first12h.npy",
            SampleType::F64,
            12,
            "+k*2^",
        ),
        (
            "int32_1b_west_bijou_escarpment.tif",
            SampleType::I32,
            1,
            "int ",
        ),
        (
            "uint32_1b_srtm3_n44w072_crop_DERIVED.tif",
            SampleType::U32,
            1,
            "int ",
        ),
    ];
    for (name, ty, bands, domain) in cases {
        let (w, h, data) = fixture_samples(name);
        let s = shape(ty, w, h, bands);
        assert_eq!(data.len(), s.bytes(), "{name}");
        let payload = round_trip(&s, &data, Effort::Default, None);
        let png = encode_tile(CodecId::Png128, &s, &data, &CodecParams::default()).unwrap();
        assert!(
            payload.len() * 10 < png.len() * 9,
            "{name}: float {} bytes vs png128 {}",
            payload.len(),
            png.len()
        );
        let (t, chosen) = float::summarize(&s, &payload).unwrap();
        assert_eq!(t, Transform::Predictive, "{name}");
        assert!(chosen[0].contains(domain), "{name}: {chosen:?}");
        if bands > 1 {
            // Stacks predict from the band before (hourly steps of one field).
            let cross = chosen.iter().filter(|c| c.contains('B')).count();
            assert!(
                cross * 2 > bands,
                "{name}: {cross} of {bands} bands use band b-1"
            );
        }
    }
}

#[test]
fn corrupt_payloads_are_errors_not_panics() {
    let odd = [0x7fc0_0001, (-0.0f32).to_bits(), (-9999.0f32).to_bits()];
    let data = f32_tile(33, 21, &odd);
    let s = shape(SampleType::F32, 33, 21, 2);
    for t in TRANSFORMS {
        let payload = float::encode_with(&s, &data, Effort::Default, t).unwrap();
        let p = CodecParams::default();
        for cut in (0..payload.len()).step_by(7) {
            let mut out = Vec::new();
            assert!(
                decode_tile(CodecId::Float, &s, &payload[..cut], &p, &mut out).is_err(),
                "{t:?}: a payload cut at {cut} of {} decoded",
                payload.len()
            );
        }
        let mut rng = TestRng::new(1);
        for _ in 0..300 {
            let mut bad = payload.clone();
            let i = rng.index(bad.len());
            bad[i] ^= 1 << rng.below(8);
            let mut out = Vec::new();
            // Either an error or some samples: never a panic, never the wrong length.
            if decode_tile(CodecId::Float, &s, &bad, &p, &mut out).is_ok() {
                assert_eq!(out.len(), s.bytes());
            }
        }
    }
}

#[test]
fn repeated_pixels_choose_lz() {
    // A table of 37 distinct float4 "quaternions" repeated in a pseudo-random order: a match
    // finder sees the repeats, no spatial predictor does.
    let table: Vec<[f32; 4]> = (0..37)
        .map(|k| {
            let a = k as f32 * 0.37;
            [a.cos(), a.sin(), 0.0, (a * 1.7).sin()]
        })
        .collect();
    let mut rng = TestRng::new(7);
    let mut data = Vec::new();
    for _ in 0..4096 {
        for v in table[rng.index(table.len())] {
            data.extend_from_slice(&v.to_le_bytes());
        }
    }
    let s = shape(SampleType::F32, 4096, 1, 4);
    let payload = round_trip(&s, &data, Effort::Default, None);
    assert_eq!(float::summarize(&s, &payload).unwrap().0, Transform::Lz);
    assert!(payload.len() * 8 < data.len(), "{} bytes", payload.len());
}

/// A smooth float32 field crossing zero (an anomaly, a geoid height) at full float32
/// precision, with a few NaN and −0.0 samples.
fn smooth_anomaly(w: usize, h: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (x as f64 / 37.0, y as f64 / 29.0);
            let value = match (x * 31 + y * 17) % 997 {
                0 => f32::NAN,
                1 => -0.0,
                _ => (3.0 * u.sin() * v.cos() + 0.4 * (u * v).sin() - 0.2) as f32,
            };
            out.extend_from_slice(&value.to_bits().to_le_bytes());
        }
    }
    out
}

#[test]
fn smooth_fields_across_zero_use_the_value_space_predictor() {
    let (w, h) = (96, 80);
    let data = smooth_anomaly(w, h);
    let s = shape(SampleType::F32, w, h, 1);
    let plain = round_trip(&s, &data, Effort::Fast, Some(Transform::Predictive));
    let valued = round_trip(&s, &data, Effort::Default, Some(Transform::Predictive));

    assert_eq!(
        valued[0], 2,
        "the value-space predictor needs payload version 2"
    );
    let (_, chosen) = float::summarize(&s, &valued).unwrap();
    assert!(chosen[0].contains("V19"), "{chosen:?}");
    assert!(
        valued.len() * 10 < plain.len() * 7,
        "{} bytes with the value-space predictor, {} without",
        valued.len(),
        plain.len()
    );
    assert_eq!(plain[0], 1, "no value-space predictor at fast: version 1");
    let p = CodecParams::default();
    for cut in (0..valued.len()).step_by(5) {
        let mut out = Vec::new();
        assert!(decode_tile(CodecId::Float, &s, &valued[..cut], &p, &mut out).is_err());
    }
    let mut older = valued.clone();
    older[0] = 1;
    let mut out = Vec::new();
    assert!(
        decode_tile(CodecId::Float, &s, &older, &p, &mut out).is_err(),
        "a version-1 payload cannot hold a value-space predictor"
    );
}

#[test]
fn large_bands_get_the_wide_value_space_fit_and_noise_keeps_the_plane_coding() {
    // 300 x 240 = 72,000 samples: past 65,536 the value-space predictor is fitted on
    // 8,192 samples and estimated between the rows it was fitted on.
    let (w, h) = (300, 240);
    let s = shape(SampleType::F32, w, h, 1);
    let smooth = round_trip(&s, &smooth_anomaly(w, h), Effort::Default, None);
    let (_, chosen) = float::summarize(&s, &smooth).unwrap();
    assert!(chosen[0].contains("V19"), "smooth: {chosen:?}");
    // Full-mantissa noise in [1, 2): no predictor gains, and the plane coding (twice as
    // fast to decode) is kept unless the value-space one is estimated 2% cheaper.
    let mut rng = TestRng::new(11);
    let noise: Vec<u8> = (0..w * h)
        .flat_map(|_| (1.0 + rng.below(1 << 23) as f32 / (1 << 23) as f32).to_le_bytes())
        .collect();
    let coded = round_trip(&s, &noise, Effort::Default, Some(Transform::Predictive));
    let (transform, chosen) = float::summarize(&s, &coded).unwrap();
    assert_eq!((transform, chosen.len()), (Transform::Predictive, 1));
    assert!(!chosen[0].contains("V19"), "noise: {chosen:?}");
}
