//! Encode then decode arbitrary tiles: every sample type, every codec that holds it (and
//! `auto`), every effort, shapes up to 72 × 16 × 12. Encoding must succeed and decoding
//! must give back the samples bit for bit (the property is `assert_round_trip` in the
//! shared input layout file, which `tests/fuzz_round_trip.rs` also runs).
#![no_main]

#[path = "../../crates/geoembed-codec/tests/common/fuzz_input.rs"]
mod fuzz_input;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(input) = fuzz_input::split_round_trip_input(data) {
        fuzz_input::assert_round_trip(&input);
    }
});
