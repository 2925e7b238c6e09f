//! A whole `.emb` file from arbitrary bytes, read under tight limits: opening, the index
//! and every block either work or fail with an error; nothing panics or over-allocates.
#![no_main]

use geoembed_codec::{Limits, Reader};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let mut limits = Limits::default();
    limits.max_width = 4096;
    limits.max_height = 4096;
    limits.max_bands = 1024;
    limits.max_header_bytes = 1 << 20;
    limits.max_tile_bytes = 16 << 20;
    limits.max_blocks = 4096;
    let Ok(mut r) = Reader::open_with_limits(Cursor::new(data), limits) else {
        return;
    };
    let h = r.header().clone();
    for p in 0..h.plane_count() {
        for ty in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                let _ = r.read_block(p, tx, ty);
            }
        }
    }
});
