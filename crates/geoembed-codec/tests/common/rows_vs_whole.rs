//! The `native_rows` fuzz target's property, shared with the test that replays its findings
//! (`tests/tile_rows.rs`): a native payload decoded whole and read by rows from a one-tile
//! `.emb` (the streams loaded from the file in chunks, as the GDAL plugin reads) gives the
//! same samples, or fails both ways. Included with `#[path]` beside `fuzz_input.rs`.

use geoembed_codec::{
    decode_tile, CodecId, CodecParams, Effort, EncodedBlock, Header, Reader, Writer,
};
use std::io::Cursor;

/// A `native_rows` fuzz input (a `native_tile` decoder input) decoded whole and by swaths of
/// 1 to 4 rows (from its last byte), as the fuzz target does: the first difference between
/// the two, or `None` when both give the same samples or both fail.
pub fn difference(input: &[u8]) -> Option<String> {
    let (shape, payload) =
        crate::fuzz_input::split_decoder_input(input, &crate::fuzz_input::NATIVE_TYPES)?;
    let mut whole = Vec::new();
    let decoded = decode_tile(
        CodecId::Native,
        &shape,
        payload,
        &CodecParams::default(),
        &mut whole,
    );
    let mut header = Header::new(
        shape.width as u32,
        shape.height as u32,
        shape.bands,
        shape.sample_type,
    );
    (header.tile_width, header.tile_height) = (shape.width as u32, shape.height as u32);
    let block = EncodedBlock {
        codec: CodecId::Native,
        effort: Effort::Default,
        payload: payload.to_vec(),
        raw_crc: crc32fast::hash(&whole),
        raw_len: shape.bytes(),
        max_error: Vec::new(),
        loss: None,
    };
    let mut writer = Writer::new(Cursor::new(Vec::new()), header).unwrap();
    writer.write_block(0, 0, 0, &block).unwrap();
    let file = writer.finish().unwrap().into_inner();
    let mut reader = Reader::open(Cursor::new(&file)).unwrap();
    let mut rows = match (reader.block_rows(0, 0, 0), &decoded) {
        (Ok(rows), _) => rows,
        (Err(_), Err(_)) => return None,
        (Err(err), Ok(())) => return Some(format!("rows refused: {err}")),
    };
    let swath = 1 + payload.last().map_or(0, |b| *b as usize % 4);
    let row_bytes = rows.row_bytes();
    let mut from = 0;
    while from < shape.height {
        let to = (from + swath).min(shape.height);
        match (rows.rows(&mut reader, from, to), &decoded) {
            (Ok(Some(got)), Ok(())) if got != &whole[from * row_bytes..to * row_bytes] => {
                return Some(format!("rows {from}..{to} differ"))
            }
            (Ok(Some(_)), _) => {}
            (Ok(None), _) => return Some(format!("rows {from}..{to} released")),
            (Err(_), Err(_)) => return None,
            (Err(err), Ok(())) => return Some(format!("rows {from}..{to}: {err}")),
        }
        from = to;
    }
    decoded
        .err()
        .map(|err| format!("every row decoded; the whole tile: {err}"))
}
