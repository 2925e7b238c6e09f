//! The `dequant` codec on what users download: real Presto embeddings (fixtures) turned
//! into GeoTessera's float32 (`q × scale`) and AlphaEarth's power law, with every oddity a
//! real file can hold (NaN nodata pixels, ±0, a pixel whose scale is 0, samples off the
//! lattice, ±Inf), float64, `auto`'s choice, the size against int8 + scales, and corrupt
//! payloads.

use geoembed_codec::codec::dequant::{self, Mode};
use geoembed_codec::codec::{self, CodecChoice, CodecId, CodecParams, Effort, TileShape};
use geoembed_codec::{Recipe, SampleType};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A little-endian C-order .npy: its shape and its data bytes.
fn npy(name: &str) -> (Vec<usize>, Vec<u8>) {
    let raw = std::fs::read(fixtures().join(name)).unwrap();
    let header_len = u16::from_le_bytes([raw[8], raw[9]]) as usize;
    let head = std::str::from_utf8(&raw[10..10 + header_len]).unwrap();
    assert!(head.contains("False"), "{name}: Fortran order");
    let dims: Vec<usize> = head[head.find("'shape': (").unwrap() + 10..]
        .split(')')
        .next()
        .unwrap()
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    (dims, raw[10 + header_len..].to_vec())
}

/// The real Presto crop: (width, height, bands, int8 codes, float32 scales).
fn presto() -> (usize, usize, usize, Vec<i8>, Vec<f32>) {
    let (dims, codes) = npy("presto_s2_crop_int8.npy");
    let (_, scales) = npy("presto_s2_crop_scales.npy");
    let codes = codes.iter().map(|&b| b as i8).collect();
    let scales = scales
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (dims[1], dims[0], dims[2], codes, scales)
}

/// GeoTessera's float download of the codes: `float32(q) × scale`, pixel-interleaved.
fn geotessera_float32(codes: &[i8], scales: &[f32], bands: usize) -> Vec<f32> {
    codes
        .iter()
        .enumerate()
        .map(|(i, &q)| q as f32 * scales[i / bands])
        .collect()
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn shape(ty: SampleType, width: usize, height: usize, bands: usize) -> TileShape {
    TileShape {
        width,
        height,
        bands,
        sample_type: ty,
    }
}

fn params(effort: Effort) -> CodecParams<'static> {
    CodecParams {
        effort,
        ..CodecParams::default()
    }
}

/// Encodes with the dequant codec, decodes, compares bytes; returns the payload.
fn round_trip(s: &TileShape, data: &[u8], p: &CodecParams) -> Vec<u8> {
    let payload = codec::encode(CodecId::Dequant, s, data, p).unwrap();
    let mut out = Vec::new();
    codec::decode(CodecId::Dequant, s, &payload, p, &mut out).unwrap();
    assert!(out == data, "{s:?}: round trip differs");
    payload
}

#[test]
fn geotessera_float32_costs_what_int8_and_scales_cost() {
    let (w, h, bands, codes, scales) = presto();
    let floats = le_bytes(&geotessera_float32(&codes, &scales, bands));
    let s = shape(SampleType::F32, w, h, bands);
    for effort in [Effort::Fast, Effort::Default] {
        let payload = round_trip(&s, &floats, &params(effort));
        let int8: Vec<u8> = codes.iter().map(|&q| q as u8).collect();
        let int8_size = codec::encode_best(
            CodecChoice::Auto,
            &shape(SampleType::I8, w, h, bands),
            &int8,
            &params(effort),
        )
        .unwrap()
        .payload
        .len();
        let scale_size = codec::encode_best(
            CodecChoice::Auto,
            &shape(SampleType::F32, w, h, 1),
            &le_bytes(&scales),
            &params(effort),
        )
        .unwrap()
        .payload
        .len();
        let both = int8_size + scale_size;
        assert!(
            payload.len() * 100 <= both * 103,
            "{effort:?}: float32 tile {} bytes, int8 + scales {both}",
            payload.len()
        );
        let summary = dequant::summarize(&s, &payload).unwrap();
        assert_eq!(summary.mode, Mode::PixelScale);
        assert_eq!(summary.code_type, SampleType::I8);
        assert_eq!(
            (summary.exception_pixels, summary.exception_samples),
            (0, 0)
        );
        assert_eq!(summary.codes.0, CodecId::Native);
        // The codes predict the LayerNorm-ed vectors' scales: their residuals cost less
        // than the scales on their own.
        assert_eq!(summary.scale_model, 1, "{effort:?}");
        let residual_size = summary.scales.unwrap().1;
        assert!(
            residual_size * 100 < scale_size * 95,
            "{effort:?}: scale residuals {residual_size} bytes, scales alone {scale_size}"
        );
    }
}

/// The Presto crop's float32 download with every oddity a real file can hold.
fn awkward_tile() -> (TileShape, Vec<u8>) {
    let (w, h, bands, codes, mut scales) = presto();
    scales[5] = 0.0; // a pixel whose scale is 0: all its samples ±0
    let mut x = geotessera_float32(&codes, &scales, bands);
    let mut put = |pixel: usize, band: usize, v: f32| x[pixel * bands + band] = v;
    for band in 0..bands {
        put(w + 1, band, f32::from_bits(0x7fc0_0000 | 0x1234)); // a NaN pixel with a payload
        put(w + 2, band, f32::from_bits(0xffc0_0000)); // x86's default NaN
        put(
            2 * w + 7,
            band,
            if band % 2 == 0 {
                f32::INFINITY
            } else {
                f32::NEG_INFINITY
            },
        );
        put(3 * w, band, -0.0);
    }
    put(10, 3, -0.0); // −0.0 in a normal pixel
    put(11, 0, 0.123_456_79); // a few samples off their pixel's lattice
    put(11, 77, -1e-30);
    put(40, 127, 3.0e38);
    for band in 0..bands / 2 + 1 {
        put(12, band, band as f32 * 0.001 + 0.3); // a pixel mostly off its lattice
    }
    // A whole row of NaN nodata.
    for pixel in 20 * w..21 * w {
        for band in 0..bands {
            put(pixel, band, f32::NAN);
        }
    }
    let data: Vec<u8> = x.iter().flat_map(|v| v.to_bits().to_le_bytes()).collect();
    (shape(SampleType::F32, w, h, bands), data)
}

#[test]
fn nan_pixels_signed_zeros_zero_scales_and_broken_samples_round_trip() {
    let (s, data) = awkward_tile();
    for effort in [Effort::Fast, Effort::Default, Effort::Max] {
        let payload = round_trip(&s, &data, &params(effort));
        let summary = dequant::summarize(&s, &payload).unwrap();
        // The NaN row, the two NaN pixels, the ±Inf pixel and the mostly-off pixel.
        assert_eq!(summary.exception_pixels, s.width + 4, "{summary:?}");
        assert_eq!(summary.exception_samples, 4, "{summary:?}");
        let auto = codec::encode_best(CodecChoice::Auto, &s, &data, &params(effort)).unwrap();
        assert_eq!(auto.codec, CodecId::Dequant, "{effort:?}");
        let mut out = Vec::new();
        codec::decode(auto.codec, &s, &auto.payload, &params(effort), &mut out).unwrap();
        assert!(out == data);
    }
}

#[test]
fn float64_and_int16_codes_round_trip() {
    let (w, h, bands, codes, scales) = presto();
    let wide: Vec<u8> = codes
        .iter()
        .enumerate()
        .flat_map(|(i, &q)| (q as f64 * (scales[i / bands] as f64 * 1e-3)).to_le_bytes())
        .collect();
    let s = shape(SampleType::F64, w, h, bands);
    let payload = round_trip(&s, &wide, &params(Effort::Default));
    assert_eq!(
        dequant::summarize(&s, &payload).unwrap().exception_pixels,
        0
    );
    // int16 codes on a per-pixel step, the largest ±32767.
    let int16: Vec<f32> = codes
        .iter()
        .enumerate()
        .map(|(i, &q)| {
            let wide = match q {
                127 => 32767,
                -127 => -32767,
                q => q as i32 * 258 + (i as i32 * 37 % 201 - 100),
            };
            wide as f32 * (scales[i / bands] / 258.0)
        })
        .collect();
    let s = shape(SampleType::F32, w, h, bands);
    let payload = round_trip(&s, &le_bytes(&int16), &params(Effort::Fast));
    let summary = dequant::summarize(&s, &payload).unwrap();
    assert_eq!(summary.code_type, SampleType::I16, "{summary:?}");
    assert!(summary.exception_pixels * 8 < w * h, "{summary:?}");
}

/// AlphaEarth's float download: `sign(q)·(|q|/127.5)²`, NaN where the code is −128.
fn alphaearth(codes: &[i8]) -> Vec<f32> {
    codes
        .iter()
        .map(|&q| match q {
            -128 => f32::NAN,
            q => ((q as f64).signum() * (q.unsigned_abs() as f64 / 127.5).powi(2)) as f32,
        })
        .collect()
}

#[test]
fn power_law_tiles_use_a_value_table_with_or_without_the_recipe() {
    let (w, h, bands, mut codes, _) = presto();
    codes[17] = -128;
    let data = le_bytes(&alphaearth(&codes));
    let s = shape(SampleType::F32, w, h, bands);
    for recipe in [None, Some("alphaearth".parse::<Recipe>().unwrap())] {
        let p = CodecParams {
            recipe,
            ..params(Effort::Default)
        };
        let payload = round_trip(&s, &data, &p);
        let summary = dequant::summarize(&s, &payload).unwrap();
        assert_eq!(summary.mode, Mode::ValueTable);
        assert_eq!(summary.exception_samples, 0);
        let int8: Vec<u8> = codes.iter().map(|&q| q as u8).collect();
        let int8_size = codec::encode(
            CodecId::Native,
            &shape(SampleType::I8, w, h, bands),
            &int8,
            &p,
        )
        .unwrap()
        .len();
        assert!(
            payload.len() * 100 <= int8_size * 103 + 2000,
            "{} bytes vs int8 {int8_size}",
            payload.len()
        );
        let auto = codec::encode_best(CodecChoice::Auto, &s, &data, &p).unwrap();
        assert_eq!(auto.codec, CodecId::Dequant);
    }
    assert!("power:0:2".parse::<Recipe>().is_err());
    assert!("cubic".parse::<Recipe>().is_err());
    assert_eq!(
        "power:100:1.5".parse::<Recipe>().unwrap(),
        Recipe::PowerLaw {
            divisor: 100.0,
            exponent: 1.5
        }
    );
}

#[test]
fn tiles_off_every_lattice_are_refused_and_auto_falls_back() {
    // Smooth full-precision floats: no per-pixel lattice, thousands of distinct values.
    let (w, h, bands) = (40, 30, 3);
    let x: Vec<f32> = (0..w * h * bands)
        .map(|i| (i as f32 * 0.0137).sin() * 1000.0 + 0.123_456)
        .collect();
    let data = le_bytes(&x);
    let s = shape(SampleType::F32, w, h, bands);
    let p = params(Effort::Default);
    assert!(codec::encode(CodecId::Dequant, &s, &data, &p).is_err());
    let auto = codec::encode_best(CodecChoice::Auto, &s, &data, &p).unwrap();
    assert_eq!(auto.codec, CodecId::Float);
    let ints = vec![0u8; 40];
    assert!(codec::encode(
        CodecId::Dequant,
        &shape(SampleType::I16, 4, 5, 1),
        &ints,
        &p
    )
    .is_err());
}

#[test]
fn corrupt_payloads_are_errors_not_panics() {
    let (s, data) = awkward_tile();
    let p = params(Effort::Fast);
    let payload = codec::encode(CodecId::Dequant, &s, &data, &p).unwrap();
    for cut in (0..payload.len()).step_by(97).chain([payload.len() - 1]) {
        let mut out = vec![1u8];
        assert!(
            codec::decode(CodecId::Dequant, &s, &payload[..cut], &p, &mut out).is_err(),
            "a payload cut at {cut} of {} decoded",
            payload.len()
        );
        assert_eq!(out, [1], "a failed decode leaves nothing behind");
    }
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut bad = payload.clone();
        // Flips in the head and the side blocks, where the structure is.
        let i = (x % bad.len().min(4096) as u64) as usize;
        bad[i] ^= 1 << (x >> 60 & 7);
        let mut out = Vec::new();
        if codec::decode(CodecId::Dequant, &s, &bad, &p, &mut out).is_ok() {
            assert_eq!(out.len(), s.bytes());
        } else {
            assert!(out.is_empty());
        }
    }
    let mut newer = payload.clone();
    newer[0] = 2;
    let err = codec::decode(CodecId::Dequant, &s, &newer, &p, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), geoembed_codec::ErrorKind::Unsupported);
    assert!(err.to_string().contains("version 2"), "{err}");
}
