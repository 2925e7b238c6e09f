//! The native decoder row by row (`Reader::block_rows`, the GDAL plugin's swath reads: the
//! streams read from the file a chunk at a time) against the whole-tile decoder, on
//! arbitrary payloads: where the whole decode gives samples, every walk of swaths gives the
//! same samples; where it fails, the walk fails too, by its last row; nothing panics.
#![no_main]

#[path = "../../crates/geoembed-codec/tests/common/fuzz_input.rs"]
mod fuzz_input;
#[path = "../../crates/geoembed-codec/tests/common/rows_vs_whole.rs"]
mod rows_vs_whole;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(difference) = rows_vs_whole::difference(data) {
        panic!("{difference}");
    }
});
