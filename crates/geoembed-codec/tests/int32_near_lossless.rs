//! Near-lossless 32-bit integers (format 1.5): every sample moved to a multiple of `2E + 1`
//! within `E` of it, then coded losslessly by the float codec. Checked on a real int32 DEM
//! (Landlab's West Bijou escarpment, with its nodata) and on random int32/uint32 tiles with
//! the types' extremes: the bound on every sample, nodata exact and never produced, the
//! bound and achieved error recorded, `E = 0` the lossless bytes, the file marked 1.5.

#[path = "common/best_round_trip.rs"]
mod best_round_trip;
#[path = "common/test_rng.rs"]
mod test_rng;
#[path = "common/whole_raster.rs"]
mod whole_raster;

use best_round_trip::encode_and_decode;
use geoembed_codec::{
    encode_best, CodecChoice, CodecId, CodecParams, Effort, Header, NearLossless, Reader,
    SampleType, TileShape,
};
use std::io::Cursor;
use std::path::PathBuf;
use test_rng::TestRng;
use whole_raster::{tile, write};

/// The real int32 DEM of fixtures/ (129 x 67, nodata -32768) and its samples.
fn west_bijou() -> (Header, Vec<u8>) {
    use tiff::decoder::{Decoder, DecodingResult};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/int32_1b_west_bijou_escarpment.tif");
    let mut d = Decoder::new(std::fs::File::open(path).unwrap()).unwrap();
    let (w, h) = d.dimensions().unwrap();
    let DecodingResult::I32(values) = d.read_image().unwrap() else {
        panic!("West Bijou is an int32 raster");
    };
    let mut header = Header::new(w, h, 1, SampleType::I32);
    header.bands[0].nodata = Some(-32768.0);
    (
        header,
        values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    )
}

/// The integer value of every sample.
fn values(ty: SampleType, bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(4)
        .map(|c| {
            let bits = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            match ty {
                SampleType::I32 => bits as i32 as i64,
                _ => bits as i64,
            }
        })
        .collect()
}

/// Asserts the bound on every sample (pixel-interleaved, one bound and nodata per band);
/// returns the largest error per band.
fn assert_bound(
    ty: SampleType,
    source: &[u8],
    decoded: &[u8],
    bounds: &[u64],
    nodata: &[Option<i64>],
) -> Vec<u64> {
    let mut worst = vec![0u64; bounds.len()];
    let pairs = values(ty, source).into_iter().zip(values(ty, decoded));
    for (i, (x, x_hat)) in pairs.enumerate() {
        let band = i % bounds.len();
        if nodata[band] == Some(x) {
            assert_eq!(x, x_hat, "sample {i}: nodata must stay exact");
            continue;
        }
        let error = x.abs_diff(x_hat);
        assert!(
            error <= bounds[band],
            "sample {i}: {x} -> {x_hat}, bound {}",
            bounds[band]
        );
        assert_ne!(Some(x_hat), nodata[band], "sample {i}: {x} became nodata");
        worst[band] = worst[band].max(error);
    }
    worst
}

#[test]
fn the_bound_holds_on_every_sample_of_the_int32_dem() {
    let (mut h, raster) = west_bijou();
    h.tile_width = 32;
    h.tile_height = 32;
    let lossless = write(&h, &raster, CodecChoice::Auto, Effort::Default);
    assert_eq!(u16::from_le_bytes([lossless[10], lossless[11]]), 0);
    let mut zero = h.clone();
    zero.near_lossless = Some(NearLossless::uniform(1, 0.0));
    assert!(write(&zero, &raster, CodecChoice::Auto, Effort::Default) == lossless);
    let mut sizes = vec![lossless.len()];
    for e in [1u64, 2, 7] {
        for choice in [CodecChoice::Auto, CodecChoice::Fixed(CodecId::Float)] {
            let mut hd = h.clone();
            hd.near_lossless = Some(NearLossless::uniform(1, e as f64));
            let file = write(&hd, &raster, choice, Effort::Default);
            assert_eq!(u16::from_le_bytes([file[10], file[11]]), 5, "format 1.5");
            let mut reader = Reader::open(Cursor::new(&file)).unwrap();
            let recorded = reader.header().near_lossless.clone().expect("marked lossy");
            let mut worst = 0;
            for ty in 0..h.tiles_down() {
                for tx in 0..h.tiles_across() {
                    let decoded = reader.read_block(0, tx, ty).unwrap();
                    let source = tile(&h, &raster, tx, ty);
                    worst = worst.max(
                        assert_bound(h.sample_type, &source, &decoded, &[e], &[Some(-32768)])[0],
                    );
                }
            }
            assert_eq!(recorded.max_error, vec![e as f64]);
            assert_eq!(recorded.achieved, vec![Some(worst as f64)]);
            assert_eq!(worst, e, "a DEM in metres reaches its bound");
            if choice == CodecChoice::Auto {
                sizes.push(file.len());
            }
        }
    }
    assert!(
        sizes.windows(2).all(|s| s[1] < s[0]),
        "each looser bound gives a smaller file: {sizes:?}"
    );
}

/// A random tile of 32-bit integers: a smooth field, noise, the type's extremes, values
/// whose nearest multiple leaves the type's range, and nodata.
fn random_tile(rng: &mut TestRng, ty: SampleType, shape: &TileShape, nodata: i64) -> Vec<u8> {
    let (min, max) = match ty {
        SampleType::I32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (0, u32::MAX as i64),
    };
    let scale = [1i64, 40, 10_000, 1 << 24][rng.below(4) as usize];
    (0..shape.samples())
        .map(|i| {
            let smooth = (((i % shape.width) as f64 * 0.3).sin() * scale as f64) as i64;
            let value = match rng.below(30) {
                0 => min,
                1 => max,
                2 => max - rng.below(3) as i64,
                3 => min + rng.below(3) as i64,
                4 => nodata,
                _ => smooth + rng.below(1 + scale as u64 / 8) as i64 + (max - min) / 3 + min,
            };
            value.clamp(min, max)
        })
        .flat_map(|v| (v as u32).to_le_bytes())
        .collect()
}

#[test]
fn random_int32_and_uint32_tiles_keep_every_bound_and_nodata() {
    let mut rng = TestRng::new(0x32_b0d5);
    let mut quantised = 0;
    for round in 0..40 {
        let ty = [SampleType::I32, SampleType::U32][round % 2];
        let shape = TileShape {
            width: 1 + rng.below(40) as usize,
            height: 1 + rng.below(30) as usize,
            bands: 1 + rng.below(3) as usize,
            sample_type: ty,
        };
        let nodata = if ty == SampleType::I32 { -9999 } else { 65535 };
        let data = random_tile(&mut rng, ty, &shape, nodata);
        let bounds: Vec<u64> = (0..shape.bands)
            .map(|_| [0, 1, 2, 7, 1000, u32::MAX as u64][rng.below(6) as usize])
            .collect();
        let bounds_f64: Vec<f64> = bounds.iter().map(|&e| e as f64).collect();
        let nodata_f64 = vec![Some(nodata as f64); shape.bands];
        let params = CodecParams {
            max_error: &bounds_f64,
            nodata: &nodata_f64,
            effort: [Effort::Fast, Effort::Default, Effort::Max][round % 3],
            ..CodecParams::default()
        };
        for choice in [CodecChoice::Auto, CodecChoice::Fixed(CodecId::Float)] {
            let (encoded, decoded) = encode_and_decode(choice, &shape, &data, &params);
            let worst = assert_bound(
                ty,
                &data,
                &decoded,
                &bounds,
                &vec![Some(nodata); shape.bands],
            );
            if bounds.iter().any(|&e| e > 0) {
                let tile = encoded.near_lossless.expect("a near-lossless tile");
                assert_eq!(tile.samples, decoded);
                assert_eq!(
                    tile.max_error,
                    worst.iter().map(|&w| w as f64).collect::<Vec<_>>()
                );
                quantised += worst.iter().any(|&w| w > 0) as usize;
            } else {
                assert!(decoded == data, "no bound: lossless");
            }
        }
    }
    assert!(quantised > 30, "only {quantised} tiles were quantised");
}

#[test]
fn the_native_codec_refuses_a_bound_on_32_bit_integers() {
    let shape = TileShape {
        width: 8,
        height: 8,
        bands: 1,
        sample_type: SampleType::I32,
    };
    let data = vec![7u8; shape.bytes()];
    let params = CodecParams {
        max_error: &[2.0],
        ..CodecParams::default()
    };
    let err = encode_best(CodecChoice::Fixed(CodecId::Native), &shape, &data, &params).unwrap_err();
    assert_eq!(
        err.to_string(),
        "codec native cannot keep a near-lossless bound (max error) on int32 samples; the \
         float codec does (codec float or auto)"
    );
    let fractional = CodecParams {
        max_error: &[0.5],
        ..CodecParams::default()
    };
    let err = encode_best(CodecChoice::Auto, &shape, &data, &fractional).unwrap_err();
    assert_eq!(
        err.to_string(),
        "near-lossless bound 0.5 for int32 samples: integer samples need a whole number"
    );
}
