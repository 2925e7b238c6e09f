//! Whole-pixel repeats: real Presto embeddings (fixtures) with vectors repeated far apart,
//! as an input-starved model produces on water, snow or nodata fill. The native codec's
//! repeats (payload version 2) must round-trip at every effort and make such tiles cost
//! what their distinct pixels cost; `auto` must not lose to zstd -19 on the raw tile, and
//! the `lz` codec round-trips any sample type.

#[path = "common/test_rng.rs"]
mod test_rng;

use geoembed_codec::{
    decode_tile, encode_best, encode_tile, CodecChoice, CodecId, CodecParams, Effort, SampleType,
    TileShape,
};
use std::path::PathBuf;
use test_rng::TestRng;

/// The real Presto crop (48 × 48 × 128 int8).
fn presto_codes() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/presto_s2_crop_int8.npy");
    let raw = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([raw[8], raw[9]]) as usize;
    raw[10 + header_len..].to_vec()
}

const SIDE: usize = 48;
const BANDS: usize = 128;

fn shape() -> TileShape {
    TileShape {
        width: SIDE,
        height: SIDE,
        bands: BANDS,
        sample_type: SampleType::I8,
    }
}

fn params(effort: Effort) -> CodecParams<'static> {
    CodecParams {
        effort,
        ..CodecParams::default()
    }
}

/// The crop with `share` of the pixels below row 8 replaced by one of 6 vectors of the first
/// rows, in runs along the row (uniform land cover).
fn repeated(share: f64) -> Vec<u8> {
    let mut codes = presto_codes();
    let mut rng = TestRng::new(11);
    let sources: Vec<usize> = (0..6).map(|k| k * 37 % (8 * SIDE)).collect();
    let mut p = 8 * SIDE;
    while p < SIDE * SIDE {
        let run = 1 + rng.index(12);
        let copy = (rng.below(1000) as f64) < share * 1000.0;
        let source = sources[rng.index(sources.len())];
        for q in p..(p + run).min(SIDE * SIDE) {
            if copy {
                codes.copy_within(source * BANDS..(source + 1) * BANDS, q * BANDS);
            }
        }
        p += run;
    }
    codes
}

fn round_trip(codec: CodecId, data: &[u8], effort: Effort) -> Vec<u8> {
    let p = params(effort);
    let payload = encode_tile(codec, &shape(), data, &p).unwrap();
    let mut out = Vec::new();
    decode_tile(codec, &shape(), &payload, &p, &mut out).unwrap();
    assert!(out == data, "{codec} {effort:?}: round trip differs");
    payload
}

#[test]
fn repeated_vectors_round_trip_and_cost_what_distinct_pixels_cost() {
    let original = presto_codes();
    for effort in [Effort::Fast, Effort::Default, Effort::Max] {
        let plain = round_trip(CodecId::Native, &original, effort);
        let tile = repeated(0.8);
        let payload = round_trip(CodecId::Native, &tile, effort);
        assert_eq!(
            payload[0], 2,
            "{effort:?}: a payload with repeats is version 2"
        );
        // About 0.8 × 5/6 of the pixels repeat: they cost (almost) nothing, the rest and
        // the edges of the runs about what they cost before.
        assert!(
            payload.len() * 10 < plain.len() * 6,
            "{effort:?}: {} bytes with repeats, {} for the original",
            payload.len(),
            plain.len()
        );
        let zstd19 = zstd::bulk::compress(&tile, 19).unwrap().len();
        let auto = encode_best(CodecChoice::Auto, &shape(), &tile, &params(effort)).unwrap();
        assert!(
            auto.payload.len() <= zstd19,
            "{} vs zstd -19 {zstd19}",
            auto.payload.len()
        );
    }
    // Fewer than 16 repeated pixels: version 1, as before.
    assert_eq!(
        round_trip(CodecId::Native, &original, Effort::Default)[0],
        1
    );
}

#[test]
fn corrupt_repeat_blocks_are_errors_not_panics() {
    let tile = repeated(0.5);
    let p = params(Effort::Fast);
    let payload = encode_tile(CodecId::Native, &shape(), &tile, &p).unwrap();
    for cut in (1..payload.len()).step_by(61) {
        let mut out = Vec::new();
        assert!(decode_tile(CodecId::Native, &shape(), &payload[..cut], &p, &mut out).is_err());
        assert!(out.is_empty());
    }
    let mut rng = TestRng::new(5);
    for _ in 0..400 {
        let mut bad = payload.clone();
        // The plan and the repeat block lead the payload.
        let at = rng.index(bad.len().min(1500));
        bad[at] ^= 1 << rng.below(8);
        let mut out = Vec::new();
        match decode_tile(CodecId::Native, &shape(), &bad, &p, &mut out) {
            Ok(()) => assert_eq!(out.len(), tile.len()),
            Err(_) => assert!(out.is_empty()),
        }
    }
}

#[test]
fn lz_round_trips_every_sample_type_and_auto_takes_it_on_periodic_tiles() {
    for ty in SampleType::ALL {
        let sh = TileShape {
            width: 33,
            height: 9,
            bands: 3,
            sample_type: ty,
        };
        let mut rng = TestRng::new(ty as u64);
        let period: Vec<u8> = (0..97).map(|_| rng.next_u64() as u8).collect();
        let data: Vec<u8> = period.iter().copied().cycle().take(sh.bytes()).collect();
        let p = params(Effort::Default);
        let payload = encode_tile(CodecId::Lz, &sh, &data, &p).unwrap();
        let mut out = Vec::new();
        decode_tile(CodecId::Lz, &sh, &payload, &p, &mut out).unwrap();
        assert!(out == data, "{ty}");
        let auto = encode_best(CodecChoice::Auto, &sh, &data, &p).unwrap();
        assert!(
            auto.payload.len() <= payload.len(),
            "{ty}: auto {} vs lz {}",
            auto.payload.len(),
            payload.len()
        );
        for cut in 0..payload.len() {
            assert!(decode_tile(CodecId::Lz, &sh, &payload[..cut], &p, &mut Vec::new()).is_err());
        }
    }
}
