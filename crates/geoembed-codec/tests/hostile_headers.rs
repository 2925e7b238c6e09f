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
