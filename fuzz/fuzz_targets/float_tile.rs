//! The float tile decoder on arbitrary payloads: an error or exactly one tile of samples,
//! never a panic, nothing left behind on error, allocations bounded by the tile shape.
#![no_main]

use geoembed_codec::codec::{self, CodecId, CodecParams, Effort, TileShape};
use geoembed_codec::SampleType;
use libfuzzer_sys::fuzz_target;

/// The sample types the float codec holds, in the order the seeds' 4th byte names them.
const TYPES: [SampleType; 6] = [
    SampleType::F32,
    SampleType::F64,
    SampleType::I32,
    SampleType::U32,
    SampleType::I16,
    SampleType::U16,
];

fuzz_target!(|data: &[u8]| {
    let Some((head, payload)) = data.split_first_chunk::<4>() else {
        return;
    };
    let shape = TileShape {
        width: 1 + head[0] as usize % 48,
        height: 1 + head[1] as usize % 48,
        bands: 1 + head[2] as usize % 40,
        sample_type: TYPES[head[3] as usize % TYPES.len()],
    };
    let params = CodecParams {
        effort: Effort::Default,
        decorrelation: None,
    };
    let mut out = Vec::new();
    if codec::decode(CodecId::Float, &shape, payload, &params, &mut out).is_ok() {
        assert_eq!(out.len(), shape.bytes());
    } else {
        assert!(out.is_empty(), "a failed decode leaves nothing behind");
    }
});
