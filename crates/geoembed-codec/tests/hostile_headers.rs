//! Hostile `.emb` headers (GitHub issue 15): every class of lie is refused with its named
//! error, before the reader allocates what the lie asks for. The files come from the shared
//! generator in `hostile_files/`, which the CLI and GDAL plugin tests run too.

mod hostile_files;

use geoembed_codec::{ErrorKind, Limits, Reader};
use hostile_files::{Layout, Stage};
use std::io::Cursor;

fn open(bytes: &[u8], limits: Limits) -> geoembed_codec::Result<Reader<Cursor<&[u8]>>> {
    Reader::open_with_limits(Cursor::new(bytes), limits)
}

#[test]
fn every_hostile_class_gives_its_named_error() {
    let classes = hostile_files::classes();
    assert_eq!(classes.len(), 13);
    for h in classes {
        let err = match h.stage {
            Stage::Open => open(&h.bytes, Limits::default()).err(),
            Stage::Decode => {
                let mut reader = open(&h.bytes, Limits::default()).expect(h.name);
                reader.read_block(0, 0, 0).err()
            }
        };
        let err = err.unwrap_or_else(|| panic!("{}: accepted", h.name));
        assert_eq!(err.to_string(), h.message, "{}", h.name);
        assert_eq!(err.kind(), h.kind, "{}", h.name);
    }
}

#[test]
fn the_bombs_and_wrapping_products_of_the_issue_are_as_small_as_it_says() {
    assert_eq!(hostile_files::constant_tile_bomb().bytes.len(), 152);
    assert_eq!(
        hostile_files::four_gib_index_in_152_bytes().bytes.len(),
        152
    );
    // 2^31 × 2^31 × 4 bands × 1 byte wraps a 64-bit product to 0.
    assert_eq!((1u64 << 31).wrapping_mul(1 << 31).wrapping_mul(4), 0);
}

#[test]
fn metadata_items_are_limited_even_within_the_header_limit() {
    let h = hostile_files::empty_metadata_items();
    let err = open(&h.bytes, Limits::default()).err().expect("refused");
    assert_eq!(err.to_string(), h.message);
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    // Raising the header limit lets the 64 MiB file reach the item limit.
    let big = hostile_files::empty_metadata_64_mib();
    let raised = Limits::default()
        .with_items(["max_header_bytes=128M"])
        .unwrap();
    let err = open(&big.bytes, raised).err().expect("refused");
    assert_eq!(
        err.to_string(),
        "header metadata items (at metadata[0].item count) = 16777217 exceeds the limit max_metadata_items = 1048576"
    );
    // A trusted file opens once the limit allows it: 2 Mi items, past the default.
    let layout = Layout::new(10, 10, 1, (16, 16));
    let head = hostile_files::header(&[
        (b"BNDS", hostile_files::bands_chunk(1)),
        (b"META", hostile_files::empty_metadata_chunk(2 << 20)),
    ]);
    let trusted = hostile_files::file(&layout, &head, &[(hostile_files::CONSTANT, vec![1], 0)]);
    assert!(open(&trusted, Limits::default()).is_err());
    let raised = Limits::default()
        .with_items(["max_metadata_items=4M"])
        .unwrap();
    let reader = open(&trusted, raised).expect("opens");
    assert_eq!(reader.header().metadata[0].items.len(), 2 << 20);
}

#[test]
fn limits_are_raised_and_lowered_by_key() {
    let bomb = hostile_files::constant_tile_bomb();
    let raised = Limits::default().with_items(["max_tile_bytes=2G"]).unwrap();
    let reader = open(&bomb.bytes, raised).expect("a trusted 2 GiB tile opens");
    assert_eq!(reader.header().width, 65536);
    // 64 tiles in a grid of 8 × 8, against a limit of 63 blocks.
    let layout = Layout::new(64, 64, 1, (8, 8));
    let blocks: Vec<_> = (0..64)
        .map(|_| (hostile_files::CONSTANT, vec![3u8], 0))
        .collect();
    let head = hostile_files::header(&[(b"BNDS", hostile_files::bands_chunk(1))]);
    let grid = hostile_files::file(&layout, &head, &blocks);
    let low = Limits::default().with_items(["max_blocks=63"]).unwrap();
    assert_eq!(
        open(&grid, low).err().expect("refused").to_string(),
        "block_count = 64 exceeds the limit max_blocks = 63"
    );
    let narrow = Limits::default().with_items(["max_width=63"]).unwrap();
    assert_eq!(
        open(&grid, narrow).err().expect("refused").to_string(),
        "width = 64 exceeds the limit max_width = 63"
    );
}

#[test]
fn a_payload_longer_than_any_tile_needs_is_refused_before_it_is_read() {
    let layout = Layout::new(32, 32, 1, (32, 32));
    let head = hostile_files::header(&[(b"BNDS", hostile_files::bands_chunk(1))]);
    let payload = vec![0u8; 3 << 20];
    let bytes = hostile_files::file(&layout, &head, &[(hostile_files::RAW, payload, 0)]);
    let limits = Limits::default().with_items(["max_tile_bytes=1K"]).unwrap();
    let mut reader = open(&bytes, limits).expect("the tile is within the limit");
    let err = reader.read_block(0, 0, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(
        err.to_string(),
        "tile (0, 0): payload length = 3145728 exceeds twice the limit max_tile_bytes = 1024 (plus 1048576 bytes of framing)"
    );
}

#[test]
fn a_tile_wider_than_the_raster_is_clipped_and_reads() {
    let bytes = hostile_files::tile_width_i32_max();
    let mut reader = open(&bytes, Limits::default()).expect("honest once clipped");
    assert_eq!(reader.header().tile_width, i32::MAX as u32);
    let samples = reader.read_block(0, 0, 0).unwrap();
    assert_eq!(samples, (0..100).collect::<Vec<u8>>());
}

/// A `BNDZ` body (format 1.7): the inflated length the file claims, then `stream`.
fn bndz(claimed_length: u32, stream: &[u8]) -> Vec<u8> {
    let mut body = claimed_length.to_le_bytes().to_vec();
    body.extend(stream);
    body
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

/// Opens a one-band 10 × 10 file whose header is `chunks`; the error's text if refused.
fn open_with_chunks(chunks: &[(&[u8; 4], Vec<u8>)]) -> Result<Reader<Cursor<Vec<u8>>>, String> {
    let layout = Layout::new(10, 10, 1, (16, 16));
    let head = hostile_files::header(chunks);
    let tile = (
        hostile_files::CONSTANT,
        vec![7],
        hostile_files::crc32(&[7; 100]),
    );
    let bytes = hostile_files::file(&layout, &head, &[tile]);
    Reader::open(Cursor::new(bytes)).map_err(|e| e.to_string())
}

#[test]
fn a_zlib_band_table_reads_and_its_lies_are_named() {
    let table = hostile_files::bands_chunk(1);
    let stream = zlib(&table);
    let mut honest = open_with_chunks(&[(b"BNDZ", bndz(table.len() as u32, &stream))])
        .expect("an honest BNDZ opens");
    assert_eq!(honest.header().bands.len(), 1);
    assert_eq!(honest.read_block(0, 0, 0).unwrap(), vec![7u8; 100]);

    let refused = |chunks: &[(&[u8; 4], Vec<u8>)]| open_with_chunks(chunks).err().unwrap();
    // A 10 MiB zlib bomb claiming to be the 43-byte table: inflation stops past 43 bytes.
    let bomb = zlib(&vec![0u8; 10 << 20]);
    assert_eq!(
        refused(&[(b"BNDZ", bndz(table.len() as u32, &bomb))]),
        "header chunk BNDZ: the zlib stream inflates to more than 43 bytes, expected 43"
    );
    assert_eq!(
        refused(&[(b"BNDZ", bndz(1 << 30, &stream))]),
        "header chunk BNDZ: inflated length = 1073741824 exceeds the limit max_header_bytes = 33554432"
    );
    assert_eq!(
        refused(&[(b"BNDZ", bndz(100, &stream))]),
        "header chunk BNDZ: the zlib stream inflates to 43 bytes, expected 100"
    );
    let mut trailing = stream.clone();
    trailing.extend([0, 0, 0]);
    assert_eq!(
        refused(&[(b"BNDZ", bndz(table.len() as u32, &trailing))]),
        "header chunk BNDZ: 3 bytes after the end of the zlib stream"
    );
    let mut flipped = stream.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1; // the Adler-32 checksum
    assert_eq!(
        refused(&[(b"BNDZ", bndz(table.len() as u32, &flipped))]),
        "header chunk BNDZ: corrupt deflate stream"
    );
    assert_eq!(
        refused(&[
            (b"BNDS", table.clone()),
            (b"BNDZ", bndz(table.len() as u32, &stream))
        ]),
        "header: both BNDS and BNDZ hold the bands"
    );
    // The inflated table is a BNDS payload and read as strictly: one band too many.
    let two = hostile_files::bands_chunk(2);
    assert_eq!(
        refused(&[(b"BNDZ", bndz(two.len() as u32, &zlib(&two)))]),
        "header chunk BNDS lists 2 bands but the preamble says 1"
    );
}
