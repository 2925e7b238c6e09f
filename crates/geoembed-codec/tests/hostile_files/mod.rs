//! A generator of hostile `.emb` files: small files whose headers lie, one per class of
//! GitHub issue 15, each with the error a reader must give. Shared by the codec's tests
//! (`hostile_headers.rs`), the CLI's (`tests/hostile.rs`) and the GDAL plugin's
//! (`driver/tests/hostile_gdal.rs`), which include this file by path.
//!
//! Files are written byte by byte (`docs/format.md`), checksums included, so that every
//! lie reaches the check meant to catch it instead of failing a CRC first. The generator
//! carries its own CRC-32 so that it needs nothing but the standard library.
#![allow(dead_code)]

use geoembed_codec::ErrorKind;

/// CRC-32 (ISO-HDLC, as zlib and PNG), as the format specifies.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut crc = i as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
        *slot = crc;
    }
    let mut crc = !0u32;
    for &b in bytes {
        crc = table[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The preamble's fields; [`Layout::new`] fills in a consistent file around a grid.
#[derive(Clone, Debug)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    pub bands: u32,
    pub tile_width: u32,
    pub tile_height: u32,
    /// §2.1 code: 1 u8, 2 i8, 3 u16, 4 i16, 5 u32, 6 i32, 7 f32, 8 f64.
    pub sample_type: u8,
    pub plane_count: u8,
    pub block_count: u32,
    pub index_offset: u64,
    pub header_offset: u64,
    pub header_length: u32,
}

impl Layout {
    /// A `width × height` raster of `bands` u8 bands in one plane, tiles of the given size.
    pub fn new(width: u32, height: u32, bands: u32, tile: (u32, u32)) -> Self {
        let blocks = u64::from(width.div_ceil(tile.0)) * u64::from(height.div_ceil(tile.1));
        Layout {
            width,
            height,
            bands,
            tile_width: tile.0,
            tile_height: tile.1,
            sample_type: 1,
            plane_count: 1,
            block_count: blocks as u32,
            index_offset: 64,
            header_offset: 64 + 32 * blocks,
            header_length: 0,
        }
    }

    pub fn preamble(&self) -> Vec<u8> {
        let mut p = b"\x89EMB\r\n\x1a\n".to_vec();
        p.extend(1u16.to_le_bytes());
        p.extend(0u16.to_le_bytes());
        for v in [
            self.width,
            self.height,
            self.bands,
            self.tile_width,
            self.tile_height,
        ] {
            p.extend(v.to_le_bytes());
        }
        p.push(self.sample_type);
        p.push(self.plane_count);
        p.extend(0u16.to_le_bytes());
        p.extend(self.block_count.to_le_bytes());
        p.extend(self.index_offset.to_le_bytes());
        p.extend(self.header_offset.to_le_bytes());
        p.extend(self.header_length.to_le_bytes());
        p.extend(crc32(&p).to_le_bytes());
        p
    }
}

/// A string: u32 length, bytes.
fn string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u32).to_le_bytes());
    out.extend(s.as_bytes());
}

/// The `BNDS` chunk body for `bands` plain bands (39 bytes each).
pub fn bands_chunk(bands: u32) -> Vec<u8> {
    let mut body = bands.to_le_bytes().to_vec();
    for _ in 0..bands {
        string(&mut body, "");
        body.push(0);
        body.extend([0u8; 24]);
        body.extend(0u16.to_le_bytes());
        string(&mut body, "");
        body.extend(0u32.to_le_bytes());
    }
    body
}

/// The `AUXP` chunk body: `(sample type code, bands)` per plane.
pub fn aux_chunk(planes: &[(u8, u32)]) -> Vec<u8> {
    let mut body = (planes.len() as u32).to_le_bytes().to_vec();
    for (i, &(sample_type, bands)) in planes.iter().enumerate() {
        string(&mut body, &format!("aux{i}"));
        body.push(sample_type);
        body.extend(bands.to_le_bytes());
        string(&mut body, "");
    }
    body
}

/// A `META` chunk body of one default domain holding `items` empty strings.
pub fn empty_metadata_chunk(items: u32) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 + 4 * items as usize);
    body.extend(1u32.to_le_bytes());
    string(&mut body, "");
    body.extend(items.to_le_bytes());
    body.resize(body.len() + 4 * items as usize, 0);
    body
}

/// Header bytes: the chunks, then their CRC.
pub fn header(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut h = Vec::new();
    for (tag, body) in chunks {
        h.extend(*tag);
        h.extend((body.len() as u32).to_le_bytes());
        h.extend(body);
    }
    let crc = crc32(&h);
    h.extend(crc.to_le_bytes());
    h
}

/// One index entry, its checksum included.
pub fn entry(offset: u64, payload: &[u8], codec: u16, raw_crc: u32) -> Vec<u8> {
    let mut e = offset.to_le_bytes().to_vec();
    e.extend((payload.len() as u64).to_le_bytes());
    e.extend(codec.to_le_bytes());
    e.extend(1u16.to_le_bytes());
    e.extend(crc32(payload).to_le_bytes());
    e.extend(raw_crc.to_le_bytes());
    let crc = crc32(&e);
    e.extend(crc.to_le_bytes());
    e
}

/// A whole file: preamble, index (one entry per payload, or `index` bytes as given when
/// `Some`), header, payloads, with the layout's header length filled in.
pub fn file(layout: &Layout, head: &[u8], blocks: &[(u16, Vec<u8>, u32)]) -> Vec<u8> {
    let mut layout = layout.clone();
    layout.header_length = head.len() as u32;
    let mut offset = layout.header_offset + head.len() as u64;
    let mut index = Vec::new();
    for (codec, payload, raw_crc) in blocks {
        index.extend(entry(offset, payload, *codec, *raw_crc));
        offset += payload.len() as u64;
    }
    let mut out = layout.preamble();
    out.extend(index);
    out.extend(head);
    for (_, payload, _) in blocks {
        out.extend(payload);
    }
    out
}

/// Codec ids (§5).
pub const RAW: u16 = 0;
pub const CONSTANT: u16 = 1;

/// A file of one constant tile of one-byte samples: `width × height × bands` as declared.
pub fn constant_tile(layout: &Layout) -> Vec<u8> {
    let head = header(&[(b"BNDS", bands_chunk(layout.bands))]);
    let pixel = vec![7u8; layout.bands as usize];
    file(layout, &head, &[(CONSTANT, pixel, 0)])
}

/// Where a reader meets the lie: opening the file, or decoding its tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Open,
    Decode,
}

/// One hostile file and what a reader must say about it (with the default limits).
pub struct Hostile {
    /// File name: says what the file lies about.
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub stage: Stage,
    pub kind: ErrorKind,
    /// The codec crate's whole message.
    pub message: String,
}

fn hostile(
    name: &'static str,
    bytes: Vec<u8>,
    stage: Stage,
    kind: ErrorKind,
    message: &str,
) -> Hostile {
    Hostile {
        name,
        bytes,
        stage,
        kind,
        message: message.to_string(),
    }
}

/// Every class of issue 15, each with its named error.
pub fn classes() -> Vec<Hostile> {
    let mut all = vec![
        tile_product_wraps_to_zero(),
        raster_edge_near_2_pow_24(),
        grid_of_2_pow_24_tiles(),
        index_offset_wraps(),
        four_gib_index_in_152_bytes(),
        constant_tile_bomb(),
        lying_tile_size(),
        lying_tile_size_within_limits(),
        aux_planes_past_limit(),
        aux_plane_bands_past_limit(),
        aux_plane_tile_past_limit(),
        decorrelation_bands_overflow(),
        empty_metadata_64_mib(),
    ];
    all.sort_by_key(|h| h.name);
    all
}

/// The decoded-tile cap multiplied declared sizes and wrapped to 0: tiles 2^31 × 2^31 of
/// 4 bands is 2^64 bytes. Clipped to the 2^24 × 2^24 raster it is 2^50 bytes, the very
/// allocation that aborted (`memory allocation of 1125899906842624 bytes failed`).
pub fn tile_product_wraps_to_zero() -> Hostile {
    let layout = Layout::new(1 << 24, 1 << 24, 4, (1 << 31, 1 << 31));
    hostile(
        "tile_product_wraps_to_zero.emb",
        constant_tile(&layout),
        Stage::Open,
        ErrorKind::LimitExceeded,
        "decoded tile of plane 0 (16777216x16777216 pixels x 4 bands x 1 bytes) = 1125899906842624 exceeds the limit max_tile_bytes = 134217728",
    )
}

/// A raster of 2^24 × 2^24 pixels in one tile: the products of its edges.
pub fn raster_edge_near_2_pow_24() -> Hostile {
    let layout = Layout::new(1 << 24, (1 << 24) - 1, 1, (1 << 24, 1 << 24));
    hostile(
        "raster_edge_near_2_pow_24.emb",
        constant_tile(&layout),
        Stage::Open,
        ErrorKind::LimitExceeded,
        "decoded tile of plane 0 (16777216x16777215 pixels x 1 bands x 1 bytes) = 281474959933440 exceeds the limit max_tile_bytes = 134217728",
    )
}

/// 2^24 one-pixel tiles: an index of 512 MiB declared by a file of a few hundred bytes.
pub fn grid_of_2_pow_24_tiles() -> Hostile {
    let layout = Layout::new(1 << 12, 1 << 12, 1, (1, 1));
    hostile(
        "grid_of_2_pow_24_tiles.emb",
        constant_tile(&layout),
        Stage::Open,
        ErrorKind::Truncated,
        "file is 152 bytes but its tile index of 536870912 bytes at offset 64 ends at byte 536870976",
    )
}

/// An index offset near 2^64: `offset + length` wraps below the file's length in 64 bits.
pub fn index_offset_wraps() -> Hostile {
    let mut layout = Layout::new(1 << 12, 1 << 12, 1, (1, 1));
    layout.index_offset = u64::MAX - (1 << 29) + 65;
    hostile(
        "index_offset_wraps.emb",
        constant_tile(&layout),
        Stage::Open,
        ErrorKind::Truncated,
        "file is 152 bytes but its tile index of 536870912 bytes at offset 18446744073172680768 ends at byte 18446744073709551680",
    )
}

/// A 152-byte file declaring a 4 GiB tile index (2^27 entries).
pub fn four_gib_index_in_152_bytes() -> Hostile {
    let layout = Layout::new(1 << 14, 1 << 13, 1, (1, 1));
    hostile(
        "four_gib_index_in_152_bytes.emb",
        constant_tile(&layout),
        Stage::Open,
        ErrorKind::Truncated,
        "file is 152 bytes but its tile index of 4294967296 bytes at offset 64 ends at byte 4294967360",
    )
}

/// A valid 152-byte file whose single constant tile decodes to 2 GiB.
pub fn constant_tile_bomb() -> Hostile {
    let layout = Layout::new(65536, 32768, 1, (65536, 32768));
    hostile(
        "constant_tile_bomb_2gib.emb",
        constant_tile(&layout),
        Stage::Open,
        ErrorKind::LimitExceeded,
        "decoded tile of plane 0 (65536x32768 pixels x 1 bands x 1 bytes) = 2147483648 exceeds the limit max_tile_bytes = 134217728",
    )
}

/// A tile size that lies: 6 GiB of samples declared, a 100-byte raw payload stored.
pub fn lying_tile_size() -> Hostile {
    let layout = Layout::new(49152, 32768, 4, (49152, 32768));
    let head = header(&[(b"BNDS", bands_chunk(4))]);
    hostile(
        "lying_tile_size_6gib.emb",
        file(&layout, &head, &[(RAW, vec![0u8; 100], 0)]),
        Stage::Open,
        ErrorKind::LimitExceeded,
        "decoded tile of plane 0 (49152x32768 pixels x 4 bands x 1 bytes) = 6442450944 exceeds the limit max_tile_bytes = 134217728",
    )
}

/// A tile size that lies within the limits: 128 MiB declared, 100 bytes stored. Refused
/// by the codec before a byte of the tile is touched.
pub fn lying_tile_size_within_limits() -> Hostile {
    let layout = Layout::new(8192, 4096, 4, (8192, 4096));
    let head = header(&[(b"BNDS", bands_chunk(4))]);
    hostile(
        "lying_tile_size_128mib.emb",
        file(&layout, &head, &[(RAW, vec![0u8; 100], 0)]),
        Stage::Decode,
        ErrorKind::Corrupt,
        "tile (0, 0) (raw): raw tile has 100 bytes, expected 134217728",
    )
}

/// 17 aux planes: past the limit of 16 (the preamble says so before the header is read).
pub fn aux_planes_past_limit() -> Hostile {
    let mut layout = Layout::new(10, 10, 1, (16, 16));
    layout.plane_count = 18;
    layout.block_count = 18;
    layout.header_offset = 64 + 32 * 18;
    let planes = vec![(1u8, 1u32); 17];
    let head = header(&[(b"BNDS", bands_chunk(1)), (b"AUXP", aux_chunk(&planes))]);
    let blocks: Vec<_> = (0..18).map(|_| (CONSTANT, vec![1u8], 0)).collect();
    hostile(
        "aux_planes_past_limit.emb",
        file(&layout, &head, &blocks),
        Stage::Open,
        ErrorKind::LimitExceeded,
        "aux plane count = 17 exceeds the limit max_aux_planes = 16",
    )
}

/// An aux plane of 2^32 − 1 bands.
pub fn aux_plane_bands_past_limit() -> Hostile {
    let mut layout = Layout::new(10, 10, 1, (16, 16));
    layout.plane_count = 2;
    layout.block_count = 2;
    layout.header_offset = 64 + 64;
    let head = header(&[
        (b"BNDS", bands_chunk(1)),
        (b"AUXP", aux_chunk(&[(7, u32::MAX)])),
    ]);
    let blocks = [(CONSTANT, vec![1u8], 0), (CONSTANT, vec![1u8; 4], 0)];
    hostile(
        "aux_plane_bands_past_limit.emb",
        file(&layout, &head, &blocks),
        Stage::Open,
        ErrorKind::LimitExceeded,
        "header chunk AUXP: aux[0].bands = 4294967295 exceeds the limit max_bands = 65536",
    )
}

/// An aux plane whose tiles decode past the limit although the bands' do not.
pub fn aux_plane_tile_past_limit() -> Hostile {
    let mut layout = Layout::new(4096, 4096, 1, (4096, 4096));
    layout.plane_count = 2;
    layout.block_count = 2;
    layout.header_offset = 64 + 64;
    let head = header(&[(b"BNDS", bands_chunk(1)), (b"AUXP", aux_chunk(&[(8, 4)]))]);
    let blocks = [(CONSTANT, vec![1u8], 0), (CONSTANT, vec![0u8; 32], 0)];
    hostile(
        "aux_plane_tile_past_limit.emb",
        file(&layout, &head, &blocks),
        Stage::Open,
        ErrorKind::LimitExceeded,
        "decoded tile of plane 1 (4096x4096 pixels x 4 bands x 8 bytes) = 536870912 exceeds the limit max_tile_bytes = 134217728",
    )
}

/// A decorrelation group of 2^32 − 1 bands: n(n−1)/2 × 4 bytes overflowed 64 bits.
pub fn decorrelation_bands_overflow() -> Hostile {
    let layout = Layout::new(10, 10, 2, (16, 16));
    let mut dcor = vec![8u8];
    dcor.extend(1u32.to_le_bytes());
    dcor.extend(0u32.to_le_bytes());
    dcor.extend(u32::MAX.to_le_bytes());
    dcor.extend([0u8; 16]);
    let head = header(&[(b"BNDS", bands_chunk(2)), (b"DCOR", dcor)]);
    hostile(
        "decorrelation_bands_overflow.emb",
        file(&layout, &head, &[(CONSTANT, vec![1u8, 2], 0)]),
        Stage::Open,
        ErrorKind::Corrupt,
        "header chunk DCOR: group[0] declares 4294967295 bands; the raster has 2",
    )
}

/// 64 MiB of empty metadata items (16 Mi strings of length 0).
pub fn empty_metadata_64_mib() -> Hostile {
    let layout = Layout::new(10, 10, 1, (16, 16));
    let head = header(&[
        (b"BNDS", bands_chunk(1)),
        (b"META", empty_metadata_chunk(1 << 24)),
    ]);
    hostile(
        "empty_metadata_64mib.emb",
        file(&layout, &head, &[(CONSTANT, vec![1u8], 0)]),
        Stage::Open,
        ErrorKind::LimitExceeded,
        "header_length = 67108939 exceeds the limit max_header_bytes = 33554432",
    )
}

/// Empty metadata items within the header limit but past the item limit: 6 Mi strings.
pub fn empty_metadata_items() -> Hostile {
    let layout = Layout::new(10, 10, 1, (16, 16));
    let head = header(&[
        (b"BNDS", bands_chunk(1)),
        (b"META", empty_metadata_chunk(6 << 20)),
    ]);
    hostile(
        "empty_metadata_items.emb",
        file(&layout, &head, &[(CONSTANT, vec![1u8], 0)]),
        Stage::Open,
        ErrorKind::LimitExceeded,
        "header metadata items (at metadata[0].item count) = 6291457 exceeds the limit max_metadata_items = 1048576",
    )
}

/// A 100 × 1 raster whose tile is 2^31 − 1 pixels wide: honest once clipped, so it must
/// read correctly (and cheaply: GDAL is shown a 100-pixel block).
pub fn tile_width_i32_max() -> Vec<u8> {
    let layout = Layout::new(100, 1, 1, (i32::MAX as u32, 1));
    let head = header(&[(b"BNDS", bands_chunk(1))]);
    let samples: Vec<u8> = (0..100).collect();
    let raw_crc = crc32(&samples);
    file(&layout, &head, &[(RAW, samples, raw_crc)])
}
