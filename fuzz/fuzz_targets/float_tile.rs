//! The float tile decoder on arbitrary payloads: an error or exactly one tile of samples,
//! never a panic, nothing left behind on error, allocations bounded by the tile shape.
#![no_main]

#[path = "../../crates/geoembed-codec/tests/common/fuzz_input.rs"]
mod fuzz_input;

use geoembed_codec::{decode_tile, CodecId, CodecParams, Effort};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((shape, payload)) = fuzz_input::split_decoder_input(data, &fuzz_input::FLOAT_TYPES)
    else {
        return;
    };
    let params = CodecParams {
        effort: Effort::Default,
        decorrelation: None,
        recipe: None,
        max_error: &[],
        nodata: &[],
        rel_rmse: None,
    };
    let mut out = Vec::new();
    if decode_tile(CodecId::Float, &shape, payload, &params, &mut out).is_ok() {
        assert_eq!(out.len(), shape.bytes());
    } else {
        assert!(out.is_empty(), "a failed decode leaves nothing behind");
    }
});
