//! The `round_trip` fuzz target's property on every test run, so it keeps holding between
//! fuzzing sessions: for every sample type, codec choice and effort, a few pseudo-random
//! round-trip inputs (fuzz/README.md) are encoded, decoded and compared bit for bit, and so
//! is every input the target found failing.

#[path = "common/fuzz_input.rs"]
mod fuzz_input;
#[path = "common/test_rng.rs"]
mod test_rng;

use geoembed_codec::{Effort, SampleType, TileShape};
use test_rng::TestRng;

#[test]
fn random_tiles_round_trip_through_every_codec_and_effort() {
    let mut rng = TestRng::new(3);
    let mut inputs = 0;
    for sample_type in SampleType::ALL {
        for choice in fuzz_input::round_trip_choices(sample_type) {
            for effort in Effort::ALL {
                for _ in 0..3 {
                    let shape = TileShape {
                        width: 1 + rng.index(fuzz_input::ROUND_TRIP_MAX_WIDTH),
                        height: 1 + rng.index(fuzz_input::ROUND_TRIP_MAX_HEIGHT),
                        bands: 1 + rng.index(fuzz_input::ROUND_TRIP_MAX_BANDS),
                        sample_type,
                    };
                    // Random bytes of random length: short runs repeat across the tile,
                    // which gives the codecs structure to find; sometimes there are none.
                    let samples: Vec<u8> =
                        (0..rng.index(700)).map(|_| rng.next_u64() as u8).collect();
                    let input = fuzz_input::round_trip_input(&shape, choice, effort, &samples);
                    let parsed = fuzz_input::split_round_trip_input(&input).unwrap();
                    assert_eq!(
                        (parsed.shape, parsed.choice, parsed.effort),
                        (shape, choice, effort),
                        "the input layout reads back what was written"
                    );
                    fuzz_input::assert_round_trip(&parsed);
                    inputs += 1;
                }
            }
        }
    }
    assert!(inputs > 300, "{inputs} inputs");
}

/// Round-trip inputs the fuzz target found failing, by what they broke (the bytes are the
/// target's input layout: 6 head bytes, then samples repeated to fill the tile).
const FINDINGS: &[(&str, &[u8])] = &[
    // float, fast, an 11 × 16 float64 band of NaNs, tiny positives and huge negatives: its
    // rank palette has a gap above i64::MAX (fmap values span more than 2^63), which the
    // encoder wrote as the format allows (`uv`) and the decoder refused as an overflow.
    (
        "float_palette_gap_above_i64_max",
        &[
            0x0a, 0xff, 0x00, 0xd7, 0xa3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
        ],
    ),
];

#[test]
fn fuzz_findings_round_trip() {
    for (name, input) in FINDINGS {
        let parsed = fuzz_input::split_round_trip_input(input).expect(name);
        let outcome = std::panic::catch_unwind(|| fuzz_input::assert_round_trip(&parsed));
        assert!(outcome.is_ok(), "{name} no longer round-trips");
    }
}
