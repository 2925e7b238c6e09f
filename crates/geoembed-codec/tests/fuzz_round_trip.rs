//! The `round_trip` fuzz target's property on every test run, so it keeps holding between
//! fuzzing sessions: for every sample type, codec choice and effort, a few pseudo-random
//! round-trip inputs (fuzz/README.md) are encoded, decoded and compared bit for bit.

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
