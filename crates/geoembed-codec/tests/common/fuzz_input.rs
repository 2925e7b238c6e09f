//! The byte layout of the tile fuzz targets' inputs, in one place: the targets in `fuzz/`
//! read it, `examples/fuzz_seeds.rs` and `examples/float_fuzz_seeds.rs` write seeds in it,
//! and `tests/fuzz_regressions.rs` replays findings stored in it. Each includes this file
//! with `#[path]`: an input layout for a test harness is no part of the codec's API, so it
//! lives beside the tests rather than behind a feature of the library. It names codec
//! items only from the crate root, whose paths are stable.
//!
//! * Decoder inputs (`native_tile`, `float_tile`, `dequant_tile`): 4 shape bytes, then a
//!   payload. The shape bytes are width − 1, height − 1 and bands − 1 (taken modulo
//!   [`DECODER_MAX_SIDE`], [`DECODER_MAX_SIDE`] and [`DECODER_MAX_BANDS`]) and the sample
//!   type (an index, modulo the length of the target's type list: [`NATIVE_TYPES`],
//!   [`FLOAT_TYPES`] or [`DEQUANT_TYPES`]).
//! * Round-trip inputs (`round_trip`): 6 bytes, then samples. The bytes are width − 1,
//!   height − 1 and bands − 1 (modulo [`ROUND_TRIP_MAX_WIDTH`], [`ROUND_TRIP_MAX_HEIGHT`],
//!   [`ROUND_TRIP_MAX_BANDS`]), the sample type (an index into [`SampleType::ALL`]), the
//!   codec (an index into [`round_trip_choices`] for that type) and the effort (an index
//!   into [`Effort::ALL`]). The samples are the remaining bytes, repeated to fill the tile
//!   (zeros if there are none); for the `constant` codec, the tile's first pixel repeated.
//!   [`assert_round_trip`] is the property the target checks (and `tests/fuzz_round_trip.rs`
//!   on every test run). The `dequant` codec may refuse a tile that is not dequantised
//!   floats (an invalid-argument error); `auto` and every other codec must encode it.
#![allow(dead_code)] // each includer reads or writes only the layouts it needs

use geoembed_codec::{
    decode_tile, encode_best, fit_decorrelation, CodecChoice, CodecId, CodecParams, Effort,
    ErrorKind, SampleType, TileShape,
};

/// Bytes of shape before a decoder input's payload.
pub const DECODER_HEAD_BYTES: usize = 4;
/// Largest width and height of a decoder input's tile: small, so runs stay fast.
pub const DECODER_MAX_SIDE: usize = 48;
/// Most bands of a decoder input's tile.
pub const DECODER_MAX_BANDS: usize = 40;

/// The sample types the `native_tile` target decodes, in the order its 4th byte names them.
pub const NATIVE_TYPES: [SampleType; 4] = [
    SampleType::U8,
    SampleType::I8,
    SampleType::U16,
    SampleType::I16,
];

/// The sample types the `float_tile` target decodes, in the order its 4th byte names them.
pub const FLOAT_TYPES: [SampleType; 6] = [
    SampleType::F32,
    SampleType::F64,
    SampleType::I32,
    SampleType::U32,
    SampleType::I16,
    SampleType::U16,
];

/// The sample types the `dequant_tile` target decodes, in the order its 4th byte names them.
pub const DEQUANT_TYPES: [SampleType; 2] = [SampleType::F32, SampleType::F64];

/// The tile shape a decoder input's 4 head bytes name, for a target decoding `types`.
pub fn decoder_shape(head: [u8; DECODER_HEAD_BYTES], types: &[SampleType]) -> TileShape {
    TileShape {
        width: 1 + head[0] as usize % DECODER_MAX_SIDE,
        height: 1 + head[1] as usize % DECODER_MAX_SIDE,
        bands: 1 + head[2] as usize % DECODER_MAX_BANDS,
        sample_type: types[head[3] as usize % types.len()],
    }
}

/// Splits a decoder input into the tile shape it names and its payload; `None` when it is
/// shorter than the shape bytes.
pub fn split_decoder_input<'a>(
    data: &'a [u8],
    types: &[SampleType],
) -> Option<(TileShape, &'a [u8])> {
    let (head, payload) = data.split_first_chunk::<DECODER_HEAD_BYTES>()?;
    Some((decoder_shape(*head, types), payload))
}

/// A decoder input for `payload`, a tile of `shape` (the inverse of
/// [`split_decoder_input`]). Panics if the shape is outside the layout's limits or its
/// sample type is not in `types`: a seed that decoded as another shape would be useless.
pub fn decoder_input(shape: &TileShape, types: &[SampleType], payload: &[u8]) -> Vec<u8> {
    assert!(
        (1..=DECODER_MAX_SIDE).contains(&shape.width)
            && (1..=DECODER_MAX_SIDE).contains(&shape.height)
            && (1..=DECODER_MAX_BANDS).contains(&shape.bands),
        "{shape:?} is outside the decoder input limits"
    );
    let type_index = types
        .iter()
        .position(|&t| t == shape.sample_type)
        .unwrap_or_else(|| panic!("{} is not one of {types:?}", shape.sample_type));
    let mut input = vec![
        (shape.width - 1) as u8,
        (shape.height - 1) as u8,
        (shape.bands - 1) as u8,
        type_index as u8,
    ];
    input.extend_from_slice(payload);
    input
}

/// Bytes of shape, codec and effort before a round-trip input's samples.
pub const ROUND_TRIP_HEAD_BYTES: usize = 6;
/// Largest width of a round-trip tile: wide enough for the native codec's four row
/// segments (64 columns and up).
pub const ROUND_TRIP_MAX_WIDTH: usize = 72;
/// Largest height of a round-trip tile.
pub const ROUND_TRIP_MAX_HEIGHT: usize = 16;
/// Most bands of a round-trip tile: past the native codec's many-band settings (8 bands).
pub const ROUND_TRIP_MAX_BANDS: usize = 12;

/// What a round-trip input asks for: a tile, the codec choice and the effort to encode it
/// with.
#[derive(Clone, Debug)]
pub struct RoundTripInput {
    pub shape: TileShape,
    pub choice: CodecChoice,
    pub effort: Effort,
    /// The tile's samples, pixel-interleaved, exactly `shape.bytes()` long.
    pub samples: Vec<u8>,
}

/// The codec choices for tiles of `sample_type`: every codec that can hold the type except
/// the JPEG XL ones, the lossy `klt` (it has no round trip to check, and
/// `tests/klt.rs` tests it) and `scales-from-codes` (it codes an aux plane from its file's
/// bands: `tests/scales_from_codes.rs`), then `auto`. JPEG XL is left out so that an input means the
/// same in every build (the fuzz crate builds without libjxl, the examples with it), and
/// because fuzzing libjxl is libjxl's business.
pub fn round_trip_choices(sample_type: SampleType) -> Vec<CodecChoice> {
    CodecId::ALL
        .into_iter()
        .filter(|id| {
            !matches!(
                id,
                CodecId::Jxl | CodecId::DecorrelateJxl | CodecId::Klt | CodecId::ScalesFromCodes
            )
        })
        .filter(|id| id.unsupported_reason(sample_type).is_none())
        .map(CodecChoice::Fixed)
        .chain([CodecChoice::Auto])
        .collect()
}

/// Reads a round-trip input; `None` when it is shorter than its head bytes.
pub fn split_round_trip_input(data: &[u8]) -> Option<RoundTripInput> {
    let (head, body) = data.split_first_chunk::<ROUND_TRIP_HEAD_BYTES>()?;
    let sample_type = SampleType::ALL[head[3] as usize % SampleType::ALL.len()];
    let shape = TileShape {
        width: 1 + head[0] as usize % ROUND_TRIP_MAX_WIDTH,
        height: 1 + head[1] as usize % ROUND_TRIP_MAX_HEIGHT,
        bands: 1 + head[2] as usize % ROUND_TRIP_MAX_BANDS,
        sample_type,
    };
    let choices = round_trip_choices(sample_type);
    let choice = choices[head[4] as usize % choices.len()];
    let effort = Effort::ALL[head[5] as usize % Effort::ALL.len()];
    let pixel_bytes = shape.bands * sample_type.size();
    let fill_bytes = if choice == CodecChoice::Fixed(CodecId::Constant) {
        pixel_bytes
    } else {
        shape.bytes()
    };
    let pattern: Vec<u8> = if body.is_empty() {
        vec![0; fill_bytes]
    } else {
        body.iter().copied().cycle().take(fill_bytes).collect()
    };
    let samples = pattern
        .iter()
        .copied()
        .cycle()
        .take(shape.bytes())
        .collect();
    Some(RoundTripInput {
        shape,
        choice,
        effort,
        samples,
    })
}

/// A round-trip input for `samples`, a tile of `shape`, encoded with `choice` at `effort`
/// (the inverse of [`split_round_trip_input`] when `samples` is exactly the tile). Panics
/// if the shape is outside the limits or the choice cannot hold the sample type.
pub fn round_trip_input(
    shape: &TileShape,
    choice: CodecChoice,
    effort: Effort,
    samples: &[u8],
) -> Vec<u8> {
    assert!(
        (1..=ROUND_TRIP_MAX_WIDTH).contains(&shape.width)
            && (1..=ROUND_TRIP_MAX_HEIGHT).contains(&shape.height)
            && (1..=ROUND_TRIP_MAX_BANDS).contains(&shape.bands),
        "{shape:?} is outside the round-trip input limits"
    );
    let type_index = SampleType::ALL
        .iter()
        .position(|&t| t == shape.sample_type)
        .expect("every sample type is in SampleType::ALL");
    let choice_index = round_trip_choices(shape.sample_type)
        .iter()
        .position(|&c| c == choice)
        .unwrap_or_else(|| panic!("{choice} cannot hold {}", shape.sample_type));
    let effort_index = Effort::ALL.iter().position(|&e| e == effort).unwrap();
    let mut input = vec![
        (shape.width - 1) as u8,
        (shape.height - 1) as u8,
        (shape.bands - 1) as u8,
        type_index as u8,
        choice_index as u8,
        effort_index as u8,
    ];
    input.extend_from_slice(samples);
    input
}

/// The round-trip property: encoding the input's tile with its codec choice and effort
/// succeeds, and decoding the payload gives back the samples bit for bit (NaN payloads,
/// −0.0 and all). Panics, naming the tile, codec and effort, if not.
pub fn assert_round_trip(input: &RoundTripInput) {
    let shape = &input.shape;
    // The decorrelate codecs need a file-level decorrelation: fitted on this tile, or on two
    // copies of it when it is a single pixel (a fit needs two); decoding must invert any fit.
    let fit_sample = if shape.pixels() >= 2 {
        input.samples.clone()
    } else {
        input.samples.repeat(2)
    };
    let decorrelation = fit_decorrelation(shape.sample_type, shape.bands, &fit_sample).ok();
    let params = CodecParams {
        effort: input.effort,
        decorrelation: decorrelation.as_ref(),
        recipe: None,
        max_error: &[],
        nodata: &[],
        rel_rmse: None,
    };
    let what = format!("{} at {} on {shape:?}", input.choice, input.effort);
    let encoded = match encode_best(input.choice, shape, &input.samples, &params) {
        Ok(encoded) => encoded,
        // The dequant codec holds dequantised floats only, and says so.
        Err(e)
            if input.choice == CodecChoice::Fixed(CodecId::Dequant)
                && e.kind() == ErrorKind::InvalidArgument =>
        {
            return
        }
        Err(e) => panic!("{what}: encoding failed: {e}"),
    };
    let mut decoded = Vec::new();
    decode_tile(
        encoded.codec,
        shape,
        &encoded.payload,
        &params,
        &mut decoded,
    )
    .unwrap_or_else(|e| panic!("{what}: decoding {} failed: {e}", encoded.codec));
    assert!(
        decoded == input.samples,
        "{what}: the {} round trip changed the samples",
        encoded.codec
    );
}
