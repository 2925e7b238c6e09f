//! The native tile decoder on arbitrary payloads: it must return an error or exactly one
//! tile of samples, never panic, and allocate only what the tile shape allows.
#![no_main]

use geoembed_codec::codec::{self, CodecId, CodecParams, Effort, TileShape};
use geoembed_codec::SampleType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Four bytes of shape (small, so runs stay fast), the rest is the payload.
    let Some((head, payload)) = data.split_first_chunk::<4>() else {
        return;
    };
    let shape = TileShape {
        width: 1 + head[0] as usize % 48,
        height: 1 + head[1] as usize % 48,
        bands: 1 + head[2] as usize % 40,
        sample_type: [
            SampleType::U8,
            SampleType::I8,
            SampleType::U16,
            SampleType::I16,
        ][head[3] as usize % 4],
    };
    let params = CodecParams {
        effort: Effort::Default,
        decorrelation: None,
    };
    let mut out = Vec::new();
    if codec::decode(CodecId::Native, &shape, payload, &params, &mut out).is_ok() {
        assert_eq!(out.len(), shape.bytes());
    } else {
        assert!(out.is_empty(), "a failed decode leaves nothing behind");
    }
});
