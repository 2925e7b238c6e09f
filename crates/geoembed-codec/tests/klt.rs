//! The lossy `klt` codec (docs/format.md §5.7) on real rasters of fixtures/: the Presto
//! embedding crop (int8 codes × per-pixel scales, coded as its dequantised float32
//! values) and the int8 TESSERA proxy (its codes as values; the AVIRIS cube, which the
//! `tiff` crate cannot read, is tested end to end through GDAL in tests/transform.rs). The
//! relative RMSE of the decoded tile, recomputed here from the decoded bytes, is within 5%
//! of the target; the decoder rebuilds exactly what the encoder measured; requests the
//! codec cannot honour are refused with a clear message.

#[path = "common/fixture_rasters.rs"]
mod fixture_rasters;

use fixture_rasters::npy_data;
use geoembed_codec::{
    decode_tile, encode_best, encode_tile, CodecChoice, CodecId, CodecParams, Encoded, ErrorKind,
    SampleType, TileShape,
};

/// The Presto crop (48 × 48 × 128) as GeoTessera's numpy dequantises it: float32(q) × scale.
fn presto_values() -> (TileShape, Vec<u8>) {
    let codes = npy_data("presto_s2_crop_int8.npy");
    let scales: Vec<f32> = npy_data("presto_s2_crop_scales.npy")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let bands = codes.len() / scales.len();
    let values = codes
        .iter()
        .enumerate()
        .flat_map(|(i, &q)| (q as i8 as f32 * scales[i / bands]).to_le_bytes());
    let shape = TileShape {
        width: 48,
        height: 48,
        bands,
        sample_type: SampleType::F32,
    };
    (shape, values.collect())
}

/// An int8 GeoTessera-layout array (rows, cols, bands) as a tile of its codes.
fn npy_int8_tile(name: &str, width: usize, height: usize) -> (TileShape, Vec<u8>) {
    let codes = npy_data(name);
    let shape = TileShape {
        width,
        height,
        bands: codes.len() / (width * height),
        sample_type: SampleType::I8,
    };
    (shape, codes)
}

fn params(rel_rmse: Option<f64>) -> CodecParams<'static> {
    CodecParams {
        rel_rmse,
        ..CodecParams::default()
    }
}

/// `||x − x̂|| / ||x||` from the bytes.
fn rel_rmse(ty: SampleType, original: &[u8], decoded: &[u8]) -> f64 {
    let (x, y) = (ty.values_f64(original), ty.values_f64(decoded));
    let error: f64 = x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum();
    let norm: f64 = x.iter().map(|a| a * a).sum();
    (error / norm).sqrt()
}

/// Encodes at `target`, decodes, and checks the error and the encoder's own report.
fn code_to(shape: &TileShape, samples: &[u8], target: f64) -> Encoded {
    let encoded = encode_best(CodecChoice::Auto, shape, samples, &params(Some(target))).unwrap();
    assert_eq!(encoded.codec, CodecId::Klt);
    let mut decoded = Vec::new();
    decode_tile(
        CodecId::Klt,
        shape,
        &encoded.payload,
        &params(None),
        &mut decoded,
    )
    .unwrap();
    let tile = encoded.klt.as_ref().unwrap();
    assert_eq!(
        decoded, tile.samples,
        "the decoder rebuilds what the encoder measured"
    );
    let achieved = rel_rmse(shape.sample_type, samples, &decoded);
    assert!(
        (achieved / target - 1.0).abs() <= 0.05,
        "target {target}, achieved {achieved}"
    );
    assert!((tile.stats.rel_rmse() / achieved - 1.0).abs() < 1e-9);
    assert!(
        tile.stats.mean_cosine() <= 1.0
            && tile.stats.cosine_percentile(0.01) <= tile.stats.mean_cosine()
    );
    encoded
}

#[test]
fn real_rasters_meet_the_target_within_five_percent() {
    let rasters = [
        ("presto float32", presto_values()),
        (
            "tessera proxy int8",
            npy_int8_tile("tessera_proxy.npy", 50, 60),
        ),
    ];
    for (name, (shape, samples)) in &rasters {
        let sizes: Vec<usize> = [0.025, 0.05, 0.1]
            .iter()
            .map(|&r| code_to(shape, samples, r).payload.len())
            .collect();
        eprintln!(
            "{name}: {} raw bytes, klt at 2.5/5/10%: {sizes:?}",
            samples.len()
        );
        assert!(
            sizes[0] > sizes[1] && sizes[1] > sizes[2],
            "{name}: {sizes:?}"
        );
    }
}

#[test]
fn requests_the_codec_cannot_honour_are_refused() {
    let (shape, samples) = presto_values();
    let message = |r: geoembed_codec::Result<Vec<u8>>| {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        e.to_string()
    };
    let klt = |target| encode_tile(CodecId::Klt, &shape, &samples, &params(target));
    assert!(message(klt(None)).contains("needs a target relative RMSE"));
    assert!(message(klt(Some(0.0))).contains("above 0 and below 1"));
    assert!(message(klt(Some(-0.1))).contains("above 0 and below 1"));
    let native = encode_tile(CodecId::Float, &shape, &samples, &params(Some(0.05)));
    assert!(message(native).contains("only the klt codec can"));
    let one_band = TileShape {
        bands: 1,
        width: 128 * 48,
        ..shape
    };
    let e = encode_tile(CodecId::Klt, &one_band, &samples, &params(Some(0.05)));
    assert!(message(e).contains("at least 2 bands"));
    let mut nan = samples.clone();
    nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    let e = encode_tile(CodecId::Klt, &shape, &nan, &params(Some(0.05)));
    assert!(message(e).contains("NaN"));
}

#[test]
fn corrupt_payloads_fail_cleanly() {
    let (shape, samples) = npy_int8_tile("tessera_proxy.npy", 50, 60);
    let payload = encode_tile(CodecId::Klt, &shape, &samples, &params(Some(0.05))).unwrap();
    for cut in [0, 1, 3, 100, payload.len() / 2, payload.len() - 1] {
        let mut out = Vec::new();
        let r = decode_tile(
            CodecId::Klt,
            &shape,
            &payload[..cut],
            &params(None),
            &mut out,
        );
        assert!(r.is_err(), "a payload cut at {cut} bytes decodes");
    }
}
