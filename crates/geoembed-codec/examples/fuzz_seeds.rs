//! Writes seed inputs for the tile fuzz targets in `fuzz/`, in the layouts of
//! `tests/common/fuzz_input.rs`: small tiles of every sample type, layout and effort that
//! the target covers, so a run starts from valid inputs instead of searching for them.
//!
//! `cargo run --release -p geoembed-codec --example fuzz_seeds -- TARGET DIR`, TARGET one of
//! `native_tile`, `float_tile`, `dequant_tile`, `klt_tile`, `round_trip`.

#[path = "../tests/common/fuzz_input.rs"]
mod fuzz_input;
#[path = "../tests/common/test_rng.rs"]
mod test_rng;

// The float codec's transforms have no crate-root names: they are the float codec's own.
use geoembed_codec::codec::float::{self, Transform};
use geoembed_codec::{
    encode_tile, CodecChoice, CodecId, CodecParams, Effort, SampleType, TileShape,
};
use test_rng::TestRng;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(target), Some(dir)) = (args.next(), args.next()) else {
        panic!("usage: fuzz_seeds native_tile|float_tile|dequant_tile|klt_tile|round_trip DIR");
    };
    let seeds = match target.as_str() {
        "native_tile" => native_seeds(),
        "float_tile" => float_seeds(),
        "dequant_tile" => dequant_seeds(),
        "klt_tile" => klt_seeds(),
        "round_trip" => round_trip_seeds(),
        other => panic!(
            "no fuzz target {other:?}; choose native_tile, float_tile, dequant_tile, klt_tile or round_trip"
        ),
    };
    std::fs::create_dir_all(&dir).unwrap();
    for (n, seed) in seeds.iter().enumerate() {
        std::fs::write(format!("{dir}/seed_{n:03}"), seed).unwrap();
    }
    eprintln!("{} seeds in {dir}", seeds.len());
}

fn shape(width: usize, height: usize, bands: usize, sample_type: SampleType) -> TileShape {
    TileShape {
        width,
        height,
        bands,
        sample_type,
    }
}

/// Native payloads of 8/16-bit tiles, four value patterns (textured, a flat left edge,
/// noise, five whole vectors repeated: payload version 2 on many bands), each at its own
/// effort.
fn native_seeds() -> Vec<Vec<u8>> {
    let mut rng = TestRng::new(1);
    let mut seeds = Vec::new();
    for ty in fuzz_input::NATIVE_TYPES {
        for (w, h, bands) in [
            (1, 1, 1),
            (7, 5, 3),
            (33, 20, 4),
            (48, 48, 1),
            (16, 9, 12),
            (40, 3, 40),
        ] {
            for (pattern, effort) in [
                (0, Effort::Fast),
                (1, Effort::Default),
                (2, Effort::Max),
                (3, Effort::Default),
            ] {
                let mut data = Vec::new();
                for y in 0..h {
                    for x in 0..w {
                        for b in 0..bands {
                            let noise = rng.next_u64();
                            let v: i64 = match pattern {
                                0 => ((x * 7 + y * 3 + b) % 50) as i64 + (noise % 5) as i64,
                                1 if x < 4 => 0,
                                1 => {
                                    100 + ((x + y) as f64 * 0.4).sin() as i64 * 30
                                        + b as i64
                                        + (noise % 9) as i64
                                }
                                2 => (noise % 251) as i64,
                                _ => ((x * 3 + y) % 5 * 7 + b) as i64,
                            };
                            let v = v.clamp(0, 120);
                            match ty.size() {
                                1 => data.push(v as u8),
                                _ => data.extend_from_slice(&((v * 300) as u16).to_le_bytes()),
                            }
                        }
                    }
                }
                let sh = shape(w, h, bands, ty);
                // Lossless, and near-lossless (payload version 3) with per-band bounds, a
                // nodata value and exact samples.
                let bounds: Vec<f64> = (0..bands).map(|b| (1 + b % 3) as f64).collect();
                let nodata = vec![Some(0.0); bands];
                for (max_error, nodata) in [(&[][..], &[][..]), (&bounds[..], &nodata[..])] {
                    let params = CodecParams {
                        effort,
                        decorrelation: None,
                        recipe: None,
                        max_error,
                        nodata,
                        rel_rmse: None,
                    };
                    let payload = encode_tile(CodecId::Native, &sh, &data, &params).unwrap();
                    seeds.push(fuzz_input::decoder_input(
                        &sh,
                        &fuzz_input::NATIVE_TYPES,
                        &payload,
                    ));
                }
            }
        }
    }
    seeds
}

/// One sample of a float-codec seed tile: a decimal lattice, sines with -9999 sentinels
/// (and NaNs in float32), or three repeated values.
fn float_seed_value(pattern: usize, i: usize, bands: usize) -> f64 {
    match pattern {
        0 => (i as f64 * 0.01).round() * 0.25 + 100.0,
        1 if i % 9 == 4 => -9999.0,
        1 => ((i / bands) as f64 * 0.37).sin() * 50.0 + 300.0,
        _ => [1.5, -2.0, 7.25][i * 7 % 3],
    }
}

/// Float-codec payloads of every type it holds, in every transform that takes the tile.
fn float_seeds() -> Vec<Vec<u8>> {
    let transforms = [
        Transform::Predictive,
        Transform::BytePlanes,
        Transform::Gridfour,
        Transform::Lz,
    ];
    let mut seeds = Vec::new();
    for ty in fuzz_input::FLOAT_TYPES {
        for (w, h, bands) in [(1, 1, 1), (7, 5, 3), (33, 20, 2), (48, 48, 1), (9, 4, 40)] {
            for pattern in 0..3 {
                let mut data = Vec::new();
                for i in 0..w * h * bands {
                    let v = float_seed_value(pattern, i, bands);
                    match ty {
                        SampleType::F32 => {
                            let v = if pattern == 1 && i % 13 == 0 {
                                f32::NAN
                            } else {
                                v as f32
                            };
                            data.extend_from_slice(&v.to_le_bytes())
                        }
                        SampleType::F64 => data.extend_from_slice(&v.to_le_bytes()),
                        SampleType::I32 | SampleType::U32 => {
                            data.extend_from_slice(&((v * 100.0) as i32).to_le_bytes())
                        }
                        _ => data.extend_from_slice(&((v * 3.0) as i16).to_le_bytes()),
                    }
                }
                let sh = shape(w, h, bands, ty);
                for t in transforms {
                    let Ok(payload) = float::encode_with(&sh, &data, Effort::Default, t) else {
                        continue; // Gridfour on integers
                    };
                    seeds.push(fuzz_input::decoder_input(
                        &sh,
                        &fuzz_input::FLOAT_TYPES,
                        &payload,
                    ));
                }
            }
        }
    }
    seeds.extend(value_predictor_seeds());
    seeds.extend(specials_mask_seeds());
    seeds
}

/// Float payload version 4: a nodata region below a wavy coastline (NaN for floats,
/// −32768 for int16, a band of two), large enough for its specials to be a context-coded
/// mask.
fn specials_mask_seeds() -> Vec<Vec<u8>> {
    let (w, h) = (48, 40);
    let mut seeds = Vec::new();
    for (ty, bands) in [
        (SampleType::F32, 1),
        (SampleType::F64, 1),
        (SampleType::I16, 2),
    ] {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                for b in 0..bands {
                    let coast = 20.0 + 6.0 * (x as f64 / 5.0).sin() + b as f64;
                    let land = 100.0 + (x * 7 + y * 3) as f64 + ((x * y) % 5) as f64;
                    let value = if (y as f64) > coast { f64::NAN } else { land };
                    match ty {
                        SampleType::F32 => data.extend_from_slice(&(value as f32).to_le_bytes()),
                        SampleType::F64 => data.extend_from_slice(&value.to_le_bytes()),
                        _ => {
                            let v = if value.is_nan() {
                                i16::MIN
                            } else {
                                value as i16
                            };
                            data.extend_from_slice(&v.to_le_bytes())
                        }
                    }
                }
            }
        }
        let sh = shape(w, h, bands, ty);
        let payload = float::encode_with(&sh, &data, Effort::Default, Transform::Predictive)
            .expect("a masked field encodes");
        assert_eq!(payload[0], 4, "the seed's specials are a mask ({ty})");
        seeds.push(fuzz_input::decoder_input(
            &sh,
            &fuzz_input::FLOAT_TYPES,
            &payload,
        ));
    }
    seeds
}

/// Float payload version 2: smooth fields crossing zero, large enough (≥ 2048 samples) for
/// the value-space predictor, float32 and float64, with a NaN and a −0.0 now and then.
fn value_predictor_seeds() -> Vec<Vec<u8>> {
    let (w, h) = (48, 48);
    let mut seeds = Vec::new();
    for ty in [SampleType::F32, SampleType::F64] {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let (u, v) = (x as f64 / 17.0, y as f64 / 13.0);
                let value = match (x * 31 + y * 17) % 997 {
                    0 => f64::NAN,
                    1 => -0.0,
                    _ => 3.0 * u.sin() * v.cos() + 0.4 * (u * v).sin() - 0.2,
                };
                match ty {
                    SampleType::F32 => data.extend_from_slice(&(value as f32).to_le_bytes()),
                    _ => data.extend_from_slice(&value.to_le_bytes()),
                }
            }
        }
        let sh = shape(w, h, 1, ty);
        let payload = float::encode_with(&sh, &data, Effort::Default, Transform::Predictive)
            .expect("a smooth field encodes");
        assert_eq!(payload[0], 2, "the seed uses the value-space predictor");
        seeds.push(fuzz_input::decoder_input(
            &sh,
            &fuzz_input::FLOAT_TYPES,
            &payload,
        ));
    }
    seeds
}

/// A dequantised float tile: int8-range codes times one scale per pixel (GeoTessera's
/// float download), with now and then a NaN pixel, a pixel of zeros, a sample off the
/// lattice; or (`power_law`) AlphaEarth's `sign(q)·(|q|/127.5)²` of the codes.
fn dequantised_samples(sh: &TileShape, rng: &mut TestRng, power_law: bool) -> Vec<u8> {
    let ty = sh.sample_type;
    let mut out = Vec::with_capacity(sh.bytes());
    for p in 0..sh.pixels() {
        let scale = 0.01 + rng.below(1000) as f64 * 1e-5;
        let kind = rng.below(17);
        for b in 0..sh.bands {
            let q = if b == p % sh.bands {
                127
            } else {
                rng.below(255) as i64 - 127
            };
            let v = match kind {
                0 => f64::NAN,
                1 => 0.0,
                _ if power_law => (q as f64).signum() * (q.unsigned_abs() as f64 / 127.5).powi(2),
                2 if b == 0 => 0.123_456_7,
                _ if ty == SampleType::F32 => (q as f32 * scale as f32) as f64,
                _ => q as f64 * scale,
            };
            match ty {
                SampleType::F32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
                _ => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
    }
    out
}

/// Dequant payloads of float32/float64 tiles: per-pixel scales and value tables, at every
/// effort.
/// `klt` payloads of structured tiles (smooth, correlated bands) at three targets, then
/// refined to a bound (payload version 2).
fn klt_seeds() -> Vec<Vec<u8>> {
    let mut seeds = klt_transform_seeds();
    seeds.extend(klt_refined_seeds());
    seeds
}

fn klt_transform_seeds() -> Vec<Vec<u8>> {
    let mut rng = TestRng::new(5);
    let mut seeds = Vec::new();
    for ty in [SampleType::F32, SampleType::I16, SampleType::U16] {
        for (w, h, bands) in [(7, 5, 3), (33, 20, 8), (40, 9, 40)] {
            let sh = shape(w, h, bands, ty);
            let samples = structured_samples(&sh, &mut rng);
            for target in [0.01, 0.05, 0.2] {
                let params = CodecParams {
                    rel_rmse: Some(target),
                    ..CodecParams::default()
                };
                let Ok(payload) = encode_tile(CodecId::Klt, &sh, &samples, &params) else {
                    continue;
                };
                seeds.push(fuzz_input::decoder_input(
                    &sh,
                    &fuzz_input::FLOAT_TYPES,
                    &payload,
                ));
            }
        }
    }
    seeds
}

/// Payload version 2 (§5.7.3): 16-bit tiles within 1 and 3 with the first sample's value
/// as nodata (exact samples), float32 tiles (their NaN and infinities made 0: a transform
/// refuses them) within 0.005 and 0.05, every one at 5%.
fn klt_refined_seeds() -> Vec<Vec<u8>> {
    let mut rng = TestRng::new(6);
    let mut seeds = Vec::new();
    for ty in [SampleType::F32, SampleType::I16, SampleType::U16] {
        for (w, h, bands) in [(7, 5, 3), (33, 20, 8)] {
            let sh = shape(w, h, bands, ty);
            let mut samples = structured_samples(&sh, &mut rng);
            if ty == SampleType::F32 {
                for sample in samples.chunks_exact_mut(4) {
                    let v = f32::from_le_bytes([sample[0], sample[1], sample[2], sample[3]]);
                    let finite = if v.is_finite() { v } else { 0.0 };
                    sample.copy_from_slice(&finite.to_le_bytes());
                }
            }
            let nodata = vec![Some(ty.values_f64(&samples[..ty.size()])[0]); bands];
            let bounds: [f64; 2] = match ty {
                SampleType::F32 => [0.005, 0.05],
                _ => [1.0, 3.0],
            };
            for bound in bounds {
                let max_error = vec![bound; bands];
                let params = CodecParams {
                    rel_rmse: Some(0.05),
                    max_error: &max_error,
                    nodata: if ty == SampleType::F32 { &[] } else { &nodata },
                    ..CodecParams::default()
                };
                let Ok(payload) = encode_tile(CodecId::Klt, &sh, &samples, &params) else {
                    continue;
                };
                seeds.push(fuzz_input::decoder_input(
                    &sh,
                    &fuzz_input::FLOAT_TYPES,
                    &payload,
                ));
            }
        }
    }
    seeds
}

fn dequant_seeds() -> Vec<Vec<u8>> {
    let mut rng = TestRng::new(4);
    let mut seeds = Vec::new();
    for ty in fuzz_input::DEQUANT_TYPES {
        for (w, h, bands) in [(1, 1, 2), (7, 5, 3), (33, 20, 8), (40, 9, 40)] {
            for (k, effort) in Effort::ALL.into_iter().enumerate() {
                let sh = shape(w, h, bands, ty);
                let samples = dequantised_samples(&sh, &mut rng, k == 1);
                let params = CodecParams {
                    effort,
                    ..CodecParams::default()
                };
                let Ok(payload) = encode_tile(CodecId::Dequant, &sh, &samples, &params) else {
                    continue;
                };
                seeds.push(fuzz_input::decoder_input(
                    &sh,
                    &fuzz_input::DEQUANT_TYPES,
                    &payload,
                ));
            }
        }
    }
    seeds
}

/// Samples of a structured tile: smooth, correlated across bands, a little noise, and for
/// floats the IEEE oddities (NaN with a payload, −0.0, ±Inf, a subnormal) now and then.
fn structured_samples(sh: &TileShape, rng: &mut TestRng) -> Vec<u8> {
    let ty = sh.sample_type;
    let mut out = Vec::with_capacity(sh.bytes());
    for y in 0..sh.height {
        for x in 0..sh.width {
            for b in 0..sh.bands {
                let smooth = ((x as f64 * 0.3).sin() + (y as f64 * 0.2).cos()) * 40.0;
                let v = smooth * (1.0 + b as f64 * 0.1) + rng.below(5) as f64;
                let odd = rng.below(23) == 0;
                let bits: u64 = match ty {
                    SampleType::F32 if odd => {
                        [0x7fc0_0001, 0x8000_0000, 0x7f80_0000, 0xff80_0000, 1][rng.index(5)]
                    }
                    SampleType::F64 if odd => [
                        0x7ff8_0000_0000_0001,
                        0x8000_0000_0000_0000,
                        0x7ff0_0000_0000_0000,
                        1,
                    ][rng.index(4)],
                    SampleType::F32 => ((v * 0.01) as f32).to_bits() as u64,
                    SampleType::F64 => (v * 0.01).to_bits(),
                    // Integers: around the middle of the type's unsigned-word range.
                    _ => ty.from_word(((1i64 << (ty.bits() - 1)) + v as i64) as u64 & mask(ty)),
                };
                out.extend_from_slice(&bits.to_le_bytes()[..ty.size()]);
            }
        }
    }
    out
}

/// The bits of an integer sample type.
fn mask(ty: SampleType) -> u64 {
    u64::MAX >> (64 - ty.bits())
}

/// Round-trip inputs: structured tiles of every sample type in a few shapes (one pixel, a
/// ragged tile, a wide many-band one), with every codec choice that holds the type, the
/// efforts in turn.
fn round_trip_seeds() -> Vec<Vec<u8>> {
    let mut rng = TestRng::new(2);
    let mut seeds = Vec::new();
    for ty in SampleType::ALL {
        for (w, h, bands) in [(1, 1, 1), (13, 7, 3), (70, 4, 10)] {
            let sh = shape(w, h, bands, ty);
            for (k, choice) in fuzz_input::round_trip_choices(ty).into_iter().enumerate() {
                let dequant_or_auto = matches!(
                    choice,
                    CodecChoice::Fixed(CodecId::Dequant) | CodecChoice::Auto
                );
                let mut samples = if ty.is_float() && bands > 1 && dequant_or_auto {
                    dequantised_samples(&sh, &mut rng, k % 2 == 1)
                } else {
                    structured_samples(&sh, &mut rng)
                };
                if choice == CodecChoice::Fixed(CodecId::Constant) {
                    // The target reads a constant-codec input as its first pixel, repeated.
                    samples = samples[..sh.bands * ty.size()].repeat(sh.pixels());
                }
                let effort = Effort::ALL[k % Effort::ALL.len()];
                seeds.push(fuzz_input::round_trip_input(&sh, choice, effort, &samples));
            }
        }
    }
    seeds
}
