//! A tile through `encode_best` and back: what the near-lossless tests of every sample type
//! check their bounds on. Included with `#[path]`.

use geoembed_codec::{decode_tile, encode_best, CodecChoice, CodecParams, Encoded, TileShape};

/// Encodes `data` with `choice` and `params` and decodes the payload with the codec it
/// chose; returns both.
pub fn encode_and_decode(
    choice: CodecChoice,
    shape: &TileShape,
    data: &[u8],
    params: &CodecParams,
) -> (Encoded, Vec<u8>) {
    let encoded = encode_best(choice, shape, data, params).unwrap();
    let mut decoded = Vec::new();
    decode_tile(encoded.codec, shape, &encoded.payload, params, &mut decoded).unwrap();
    (encoded, decoded)
}
