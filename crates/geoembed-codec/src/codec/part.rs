//! *Parts*: a tile inside another codec's payload, coded by a codec of its own and framed
//! as `uv codec, uv length, payload` (docs/format.md §5.5.1). The `dequant` codec stores
//! its codes and scales as parts, and `scales-from-codes` its scale residuals, so both
//! share one encoder (`auto` on the part, kept within format 1.1) and one reader (which
//! refuses the codecs a part may not use).

use super::{encode_best, CodecChoice, CodecId, CodecParams, Effort, TileShape};
use crate::entropy::varint::{put_u, Cursor};
use crate::error::{Error, Result};
use crate::sample::SampleType;

/// The codec stored as `code` for a part, if a part may use it: none that needs the file's
/// decorrelation or another tile, and no codec made of parts.
fn part_codec(code: u64, what: &str, owner: &str) -> Result<CodecId> {
    let id = u16::try_from(code)
        .map_err(|_| Error::corrupt(format!("{owner}: {what} codec {code}")))
        .and_then(CodecId::from_code)?;
    match id {
        CodecId::Raw
        | CodecId::Constant
        | CodecId::Png128
        | CodecId::Native
        | CodecId::Float
        | CodecId::Lz => Ok(id),
        _ => Err(Error::corrupt(format!(
            "{owner}: {what} cannot use the {id} codec"
        ))),
    }
}

/// A part of `bands` bands of `sample_type` (`bytes`, pixel-interleaved) with the tile's
/// width and height, encoded with `auto` and appended to `out` with its framing.
pub(crate) fn encode_part(
    shape: &TileShape,
    bands: usize,
    sample_type: SampleType,
    bytes: &[u8],
    params: &CodecParams,
    out: &mut Vec<u8>,
) -> Result<()> {
    let part = TileShape {
        bands,
        sample_type,
        ..*shape
    };
    // Parts are exact: what they hold rebuilds the tile bit for bit.
    let params = CodecParams {
        effort: params.effort,
        ..CodecParams::default()
    };
    let mut encoded = encode_best(CodecChoice::Auto, &part, bytes, &params)?;
    if encoded.codec == CodecId::Float && encoded.payload.first() != Some(&1) {
        // Parts stay within format 1.1 (§5.5.1), so a dequant tile needs no 1.2 reader:
        // the float codec's `fast` effort writes payload version 1 only (no value-space
        // predictor, no specials mask).
        let fast = CodecParams {
            effort: Effort::Fast,
            ..params
        };
        encoded = encode_best(CodecChoice::Fixed(CodecId::Float), &part, bytes, &fast)?;
    }
    put_u(out, encoded.codec as u64);
    put_u(out, encoded.payload.len() as u64);
    out.extend_from_slice(&encoded.payload);
    Ok(())
}

/// Reads one part's framing: its codec and its payload.
pub(crate) fn read_part<'a>(cursor: &mut Cursor<'a>, what: &str) -> Result<(CodecId, &'a [u8])> {
    let codec = part_codec(cursor.u(what)?, what, cursor.codec())?;
    let length = cursor.bounded(what, (cursor.data.len() - cursor.pos) as u64)? as usize;
    Ok((codec, cursor.bytes(length, what)?))
}

/// Decodes one part as a `bands`-band tile of `sample_type` samples.
pub(crate) fn decode_part(
    shape: &TileShape,
    bands: usize,
    sample_type: SampleType,
    codec: CodecId,
    payload: &[u8],
) -> Result<Vec<u8>> {
    let part = TileShape {
        bands,
        sample_type,
        ..*shape
    };
    let mut bytes = Vec::new();
    super::decode(codec, &part, payload, &CodecParams::default(), &mut bytes)?;
    Ok(bytes)
}
