//! Tiles read a few rows at a time (`Reader::block_rows`, the GDAL plugin's swath reads):
//! on real rasters of fixtures/, every walk of swaths gives exactly the samples of the whole
//! tile, whatever the codec, payload version (plain, repeats, near-lossless), effort and
//! sample type; rows a reader has moved past are released (asking for them again says to
//! start over) unless the tile copies whole pixels from above; and a wrong checksum of the
//! decoded samples is still caught, at the tile's last row.

#[path = "common/fixture_rasters.rs"]
mod fixture_rasters;
#[path = "common/fuzz_input.rs"]
mod fuzz_input;
#[path = "common/rows_vs_whole.rs"]
mod rows_vs_whole;
#[path = "common/test_rng.rs"]
mod test_rng;
#[path = "common/whole_raster.rs"]
mod whole_raster;

use fixture_rasters::{npy_int8, tiff_raster};
use geoembed_codec::{
    encode_block, CodecChoice, CodecId, Effort, ErrorKind, Header, NearLossless, Reader, Writer,
};
use std::io::Cursor;
use std::path::PathBuf;
use test_rng::TestRng;
use whole_raster::{tile, write};

/// The real Presto crop (48 x 48 x 128 int8) with tiles of `side`.
fn presto(side: u32) -> (Header, Vec<u8>) {
    with_tiles(npy_int8("presto_s2_crop_int8.npy", 48, 48), side)
}

/// The synthetic GeoTessera-like proxy crop (50 x 60 x 128 int8, barely compressible: its
/// streams are read from the file in many chunks), one tile.
fn proxy() -> (Header, Vec<u8>) {
    with_tiles(npy_int8("tessera_proxy.npy", 50, 60), 64)
}

/// A real 16-bit GeoTIFF fixture, tiles of `side`.
fn tiff16(name: &str, side: u32) -> (Header, Vec<u8>) {
    let (h, samples) = tiff_raster(name);
    assert_eq!(h.sample_type.size(), 2, "{name}: not a 16-bit raster");
    with_tiles((h, samples), side)
}

fn with_tiles((mut h, samples): (Header, Vec<u8>), side: u32) -> (Header, Vec<u8>) {
    (h.tile_width, h.tile_height) = (side, side);
    (h, samples)
}

/// The raster as a `.emb` of native tiles.
fn native_file(h: &Header, raster: &[u8], effort: Effort) -> Vec<u8> {
    write(h, raster, CodecChoice::Fixed(CodecId::Native), effort)
}

/// Walks every tile of `file` in swaths of random heights and checks the rows against the
/// whole tile; returns how many tiles were streamed (decoded by rows, their first rows
/// released by the end of the walk) rather than decoded whole.
fn swaths_match_whole_tiles(file: &[u8], rng: &mut TestRng) -> usize {
    let mut reader = Reader::open(Cursor::new(file)).unwrap();
    let h = reader.header().clone();
    let mut streamed = 0;
    for ty in 0..h.tiles_down() {
        for tx in 0..h.tiles_across() {
            let whole = reader.read_block(0, tx, ty).unwrap();
            let (_, _, _, height) = h.tile_rect(tx, ty);
            let height = height as usize;
            let row_bytes = whole.len() / height;
            let mut rows = reader.block_rows(0, tx, ty).unwrap();
            assert_eq!(rows.row_bytes(), row_bytes);
            let mut from = 0;
            while from < height {
                let to = (from + 1 + rng.index(7)).min(height);
                let got = rows
                    .rows(&mut reader, from, to)
                    .unwrap()
                    .expect("rows below the last asked");
                assert!(
                    got == &whole[from * row_bytes..to * row_bytes],
                    "tile ({tx}, {ty}) rows {from}..{to} differ from the whole tile"
                );
                // The same rows again, from what is kept.
                let again = rows
                    .rows(&mut reader, from, to)
                    .unwrap()
                    .expect("kept rows");
                assert!(again == &whole[from * row_bytes..to * row_bytes]);
                from = to;
            }
            match rows.rows(&mut reader, 0, 1).unwrap() {
                Some(first) => assert!(first == &whole[..row_bytes]),
                None => {
                    let entry = reader.entry(0, tx, ty).unwrap();
                    assert_eq!(CodecId::from_code(entry.codec).unwrap(), CodecId::Native);
                    streamed += 1;
                }
            }
        }
    }
    streamed
}

#[test]
fn swaths_of_native_tiles_match_whole_tiles_at_every_effort() {
    let mut rng = TestRng::new(3);
    for effort in [Effort::Fast, Effort::Default, Effort::Max] {
        let (h, raster) = presto(20);
        let file = native_file(&h, &raster, effort);
        assert_eq!(swaths_match_whole_tiles(&file, &mut rng), 9, "{effort:?}");
        let (h, raster) = proxy();
        let file = native_file(&h, &raster, effort);
        assert_eq!(swaths_match_whole_tiles(&file, &mut rng), 1, "{effort:?}");
        let (h, raster) = tiff16("int16_1b_srtm3_n44w072_crop.tif", 96);
        let file = native_file(&h, &raster, effort);
        assert!(swaths_match_whole_tiles(&file, &mut rng) > 0, "{effort:?}");
    }
    let (h, raster) = tiff16("uint16_1b_gridmet_tmmx_crop_scaled.tif", 40);
    let file = native_file(&h, &raster, Effort::Default);
    assert!(swaths_match_whole_tiles(&file, &mut rng) > 0);
}

#[test]
fn swaths_of_auto_tiles_match_whole_tiles() {
    // `auto` mixes codecs: tiles of other codecs are served whole.
    let mut rng = TestRng::new(4);
    let (h, raster) = tiff16("uint16_1b_gridmet_tmmx_crop_scaled.tif", 32);
    let file = write(&h, &raster, CodecChoice::Auto, Effort::Default);
    swaths_match_whole_tiles(&file, &mut rng);
    let (h, raster) = presto(48);
    let file = write(
        &h,
        &raster,
        CodecChoice::Fixed(CodecId::Png128),
        Effort::Default,
    );
    assert_eq!(swaths_match_whole_tiles(&file, &mut rng), 0);
}

#[test]
fn swaths_of_near_lossless_tiles_match_whole_tiles() {
    let mut rng = TestRng::new(5);
    let (mut h, raster) = presto(24);
    h.near_lossless = Some(NearLossless {
        max_error: vec![2.0; 128],
        achieved: vec![None; 128],
    });
    let file = native_file(&h, &raster, Effort::Default);
    let mut reader = Reader::open(Cursor::new(&file)).unwrap();
    assert_eq!(reader.read_payload(0, 0, 0).unwrap()[0], 3, "version 3");
    assert_eq!(swaths_match_whole_tiles(&file, &mut rng), 4);
}

#[test]
fn tiles_with_repeats_keep_their_sources_and_match() {
    // Rows 16.. of each 24-row tile copy pixels of its first rows, far apart, as an
    // input-starved model repeats vectors (payload version 2).
    let (mut h, mut raster) = presto(48);
    (h.tile_width, h.tile_height) = (48, 24);
    let pixel = 128;
    let mut rng = TestRng::new(6);
    for tile_top in [0usize, 24] {
        for y in tile_top + 16..tile_top + 24 {
            for x in 0..48 {
                let source = (tile_top + rng.index(4)) * 48 + rng.index(48);
                let target = y * 48 + x;
                raster.copy_within(source * pixel..(source + 1) * pixel, target * pixel);
            }
        }
    }
    let file = native_file(&h, &raster, Effort::Default);
    let mut reader = Reader::open(Cursor::new(&file)).unwrap();
    assert_eq!(reader.read_payload(0, 0, 1).unwrap()[0], 2, "version 2");
    assert_eq!(swaths_match_whole_tiles(&file, &mut TestRng::new(7)), 2);
    let mut rows = reader.block_rows(0, 0, 1).unwrap();
    rows.rows(&mut reader, 20, 24).unwrap().expect("rows");
    assert!(
        rows.rows(&mut reader, 0, 1).unwrap().is_none(),
        "rows above are released: the sources are kept"
    );
}

#[test]
fn rows_a_reader_moved_past_are_released() {
    let (h, raster) = presto(48);
    let file = native_file(&h, &raster, Effort::Default);
    let mut reader = Reader::open(Cursor::new(&file)).unwrap();
    let mut rows = reader.block_rows(0, 0, 0).unwrap();
    rows.rows(&mut reader, 10, 20).unwrap().expect("rows");
    assert!(
        rows.rows(&mut reader, 9, 10).unwrap().is_none(),
        "row 9 was released"
    );
    let whole = reader.read_block(0, 0, 0).unwrap();
    let row_bytes = 48 * 128;
    let got = rows.rows(&mut reader, 10, 48).unwrap().expect("rows");
    assert!(got == &whole[10 * row_bytes..]);
}

#[test]
fn a_wrong_checksum_of_decoded_samples_is_caught_at_the_last_row() {
    let (h, raster) = presto(48);
    let samples = tile(&h, &raster, 0, 0);
    let mut block = encode_block(
        &h,
        0,
        0,
        0,
        &samples,
        CodecChoice::Fixed(CodecId::Native),
        Effort::Default,
    )
    .unwrap();
    block.raw_crc ^= 1;
    let mut writer = Writer::new(Cursor::new(Vec::new()), h.clone()).unwrap();
    writer.write_block(0, 0, 0, &block).unwrap();
    let file = writer.finish().unwrap().into_inner();
    let mut reader = Reader::open(Cursor::new(&file)).unwrap();
    let mut rows = reader.block_rows(0, 0, 0).unwrap();
    assert!(rows.rows(&mut reader, 0, 47).unwrap().is_some());
    let err = rows.rows(&mut reader, 47, 48).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checksum);
    assert_eq!(
        err.to_string(),
        "tile (0, 0) (native): decoded samples do not match their checksum"
    );
    let err = rows.rows(&mut reader, 47, 48).unwrap_err();
    assert!(
        err.to_string()
            .contains("an earlier row of the tile failed"),
        "{err}"
    );
}

#[test]
fn streams_changed_in_the_file_after_the_check_are_named_errors() {
    // A streamed tile reads the rest of its streams again from the file: bytes changed
    // there after its payload was read and checked are caught by the decoder or, at the
    // tile's last row, by the decoded samples' checksum.
    let (h, raster) = proxy();
    let file = native_file(&h, &raster, Effort::Default);
    let mut reader = Reader::open(Cursor::new(&file)).unwrap();
    let mut rows = reader.block_rows(0, 0, 0).unwrap();
    assert!(rows.rows(&mut reader, 0, 2).unwrap().is_some());
    let entry = *reader.entry(0, 0, 0).unwrap();
    let mut changed = file.clone();
    let payload_end = (entry.offset + entry.length) as usize;
    changed[payload_end - entry.length as usize / 2..payload_end].fill(0);
    let mut changed = Reader::open(Cursor::new(&changed)).unwrap();
    let err = (2..60)
        .find_map(|y| rows.rows(&mut changed, y, y + 1).err())
        .expect("an error by the last row");
    assert!(
        err.to_string().starts_with("tile (0, 0) (native): "),
        "{err}"
    );
}

#[test]
fn fuzz_findings_decode_by_rows_as_whole() {
    // Inputs the `native_rows` fuzz target found (fuzz/README.md), named after what they
    // broke.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/row_regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    for file in files {
        let input = std::fs::read(&file).unwrap();
        if let Some(difference) = rows_vs_whole::difference(&input) {
            panic!("{}: {difference}", file.display());
        }
    }
}
