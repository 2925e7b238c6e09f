//! The native decoder row by row (`Reader::block_rows`, the GDAL plugin's swath reads: the
//! streams read from the file a chunk at a time) against the whole-tile decoder, on
//! arbitrary payloads: where the whole decode gives samples, every walk of swaths gives the
//! same samples; where it fails, the walk fails too, by its last row; nothing panics.
#![no_main]

#[path = "../../crates/geoembed-codec/tests/common/fuzz_input.rs"]
mod fuzz_input;

use geoembed_codec::{
    decode_tile, CodecId, CodecParams, Effort, EncodedBlock, Header, Reader, Writer,
};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let Some((shape, payload)) = fuzz_input::split_decoder_input(data, &fuzz_input::NATIVE_TYPES)
    else {
        return;
    };
    let params = CodecParams::default();
    let mut whole = Vec::new();
    let decoded = decode_tile(CodecId::Native, &shape, payload, &params, &mut whole).is_ok();
    // A one-tile file holding the payload, the decoded samples' checksum right when the
    // whole decode succeeds.
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
    let Ok(mut rows) = reader.block_rows(0, 0, 0) else {
        assert!(
            !decoded,
            "the row decoder refused a payload the whole decoder took"
        );
        return;
    };
    // Swaths of 1 to 4 rows, from the payload's last byte.
    let swath = 1 + payload.last().map_or(0, |b| *b as usize % 4);
    let row_bytes = rows.row_bytes();
    let mut from = 0;
    while from < shape.height {
        let to = (from + swath).min(shape.height);
        match rows.rows(&mut reader, from, to) {
            Ok(Some(got)) => {
                if decoded {
                    assert!(got == &whole[from * row_bytes..to * row_bytes]);
                }
            }
            Ok(None) => panic!("rows {from}..{to} were released before they were read"),
            Err(_) => {
                assert!(
                    !decoded,
                    "rows {from}..{to} failed where the whole decode did not"
                );
                return;
            }
        }
        from = to;
    }
    assert!(decoded, "every row decoded where the whole decode failed");
});
