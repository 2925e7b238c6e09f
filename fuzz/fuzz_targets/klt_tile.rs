//! The `klt` (lossy transform) tile decoder on arbitrary payloads: an error or exactly one
//! tile of samples, never a panic, nothing left behind on error, allocations bounded by the
//! tile shape (its basis, means and steps are sized by the payload's own counts).
#![no_main]

#[path = "../../crates/geoembed-codec/tests/common/fuzz_input.rs"]
mod fuzz_input;

use geoembed_codec::{decode_tile, CodecId, CodecParams};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((shape, payload)) = fuzz_input::split_decoder_input(data, &fuzz_input::FLOAT_TYPES)
    else {
        return;
    };
    let mut out = Vec::new();
    if decode_tile(
        CodecId::Klt,
        &shape,
        payload,
        &CodecParams::default(),
        &mut out,
    )
    .is_ok()
    {
        assert_eq!(out.len(), shape.bytes());
    } else {
        assert!(out.is_empty(), "a failed decode leaves nothing behind");
    }
});
