//! The `scales-from-codes` codec on real data: a `.emb` of the real Presto crop's int8
//! codes with its float32 scale plane as an aux plane (GeoTessera's layout), written with
//! the aux plane coded from the codes and read back bit for bit by every reader path,
//! with the oddities a real scale plane can hold (a zero scale on a zero pixel, NaN with a
//! payload, −0.0, +Inf, a subnormal); planes the codes do not predict keep their codec and
//! their bytes; and corrupt payloads and files fail with named errors.

use geoembed_codec::codec::scales_from_codes::{self, CodesTile};
use geoembed_codec::codec::{self, CodecParams, TileShape};
use geoembed_codec::{
    decode_block_into, decode_block_payloads_into, encode_block, encode_block_given_bands,
    encode_block_with, AuxPlane, BlockSettings, CodecChoice, CodecId, Dequantization, Effort,
    ErrorKind, Header, Reader, SampleType, Writer,
};
use std::io::Cursor;
use std::path::PathBuf;

/// The data bytes of a version-1 .npy fixture (its header is a u16 length at offset 8).
fn npy_data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let raw = std::fs::read(path.join(name)).unwrap();
    let header_len = u16::from_le_bytes([raw[8], raw[9]]) as usize;
    raw[10 + header_len..].to_vec()
}

/// The real Presto crop: 48 x 48 pixels of 128 int8 codes, and their float32 scales.
fn presto_crop() -> (Vec<u8>, Vec<u8>) {
    (
        npy_data("presto_s2_crop_int8.npy"),
        npy_data("presto_s2_crop_scales.npy"),
    )
}

const SIDE: u32 = 48;
const BANDS: usize = 128;

/// The crop with the oddities of real scale planes: pixel 3 all-zero codes with scale 0,
/// then a NaN with a payload, −0.0, +Inf and a subnormal as scales.
fn presto_crop_with_odd_scales() -> (Vec<u8>, Vec<u8>) {
    let (mut codes, mut scales) = presto_crop();
    codes[3 * BANDS..4 * BANDS].fill(0);
    let odd = [0.0f32.to_bits(), 0x7fc0_1234, 0x8000_0000, 0x7f80_0000, 1];
    for (pixel, bits) in [3usize, 40, 41, 42, 43].into_iter().zip(odd) {
        scales[4 * pixel..4 * pixel + 4].copy_from_slice(&bits.to_le_bytes());
    }
    (codes, scales)
}

/// GeoTessera's layout: int8 bands and a one-band float32 aux plane `scales`, 32 x 32
/// tiles (so the crop has edge tiles of 16 pixels).
fn header() -> Header {
    let mut h = Header::new(SIDE, SIDE, BANDS, SampleType::I8);
    (h.tile_width, h.tile_height) = (32, 32);
    h.aux_planes.push(AuxPlane {
        name: "scales".into(),
        sample_type: SampleType::F32,
        bands: 1,
        description: "per-pixel scale".into(),
    });
    h.dequantization = Some(Dequantization::PerPixelScale { aux_plane: 0 });
    h
}

/// Tile `(tx, ty)` cut out of a whole plane of `px` bytes per pixel.
fn tile(plane: &[u8], px: usize, h: &Header, tx: u32, ty: u32) -> Vec<u8> {
    let (x0, y0, tw, th) = h.tile_rect(tx, ty);
    let mut out = Vec::new();
    for y in y0..y0 + th {
        let start = (y as usize * h.width as usize + x0 as usize) * px;
        out.extend_from_slice(&plane[start..start + tw as usize * px]);
    }
    out
}

fn tiles(h: &Header) -> Vec<(u32, u32)> {
    (0..h.tiles_down())
        .flat_map(|ty| (0..h.tiles_across()).map(move |tx| (tx, ty)))
        .collect()
}

/// A whole file, the bands with `auto`, the scales with `auto` given the bands; returns
/// the file and the aux plane's codec per tile.
fn write_file(h: &Header, codes: &[u8], scales: &[u8]) -> (Vec<u8>, Vec<CodecId>) {
    let mut w = Writer::new(Cursor::new(Vec::new()), h.clone()).unwrap();
    let auto = CodecChoice::Auto;
    for (tx, ty) in tiles(h) {
        let block = encode_block(
            h,
            0,
            tx,
            ty,
            &tile(codes, BANDS, h, tx, ty),
            auto,
            Effort::Default,
        );
        w.write_block(0, tx, ty, &block.unwrap()).unwrap();
    }
    let mut aux_codecs = Vec::new();
    for (tx, ty) in tiles(h) {
        let (bands, plane) = (tile(codes, BANDS, h, tx, ty), tile(scales, 4, h, tx, ty));
        let settings = BlockSettings::default();
        let block = encode_block_given_bands(h, (1, tx, ty), &plane, &bands, auto, settings);
        let block = block.unwrap();
        aux_codecs.push(block.codec);
        w.write_block(1, tx, ty, &block).unwrap();
    }
    (w.finish().unwrap().into_inner(), aux_codecs)
}

/// Reads every aux block three ways (the reader alone, the reader given the bands, the
/// payloads decoded apart) and checks each against `scales`.
fn check_aux_plane_reads_back(file: &[u8], scales: &[u8]) {
    let mut r = Reader::open(Cursor::new(file)).unwrap();
    let h = r.header().clone();
    for (tx, ty) in tiles(&h) {
        let want = tile(scales, 4, &h, tx, ty);
        assert!(
            r.read_block(1, tx, ty).unwrap() == want,
            "tile ({tx}, {ty})"
        );
        let bands = r.read_block(0, tx, ty).unwrap();
        let given = r.read_block_given_bands(1, tx, ty, Some(&bands)).unwrap();
        assert!(given == want, "tile ({tx}, {ty}) given the bands");
        let payloads = r.read_block_payloads(1, tx, ty).unwrap();
        let mut apart = Vec::new();
        decode_block_payloads_into(&h, r.entries(), 1, tx, ty, &payloads, &mut apart).unwrap();
        assert!(apart == want, "tile ({tx}, {ty}) from its payloads");
    }
}

#[test]
fn real_presto_scales_come_back_bit_for_bit_coded_from_the_codes() {
    for (what, (codes, scales)) in [
        ("as produced", presto_crop()),
        ("with odd scales", presto_crop_with_odd_scales()),
    ] {
        let h = header();
        let (file, aux_codecs) = write_file(&h, &codes, &scales);
        assert!(
            aux_codecs.iter().all(|&c| c == CodecId::ScalesFromCodes),
            "{what}: {aux_codecs:?}"
        );
        check_aux_plane_reads_back(&file, &scales);
        let r = Reader::open(Cursor::new(&file)).unwrap();
        assert_eq!(r.format_version(), (1, 3), "{what}");
    }
}

#[test]
fn coded_from_the_codes_is_smaller_than_the_float_codec_on_real_scales() {
    let (codes, scales) = presto_crop();
    let h = header();
    let (file, _) = write_file(&h, &codes, &scales);
    let r = Reader::open(Cursor::new(&file)).unwrap();
    let (mut from_codes, mut alone) = (0, 0);
    for (tx, ty) in tiles(&h) {
        from_codes += r.entry(1, tx, ty).unwrap().length;
        let plane = tile(&scales, 4, &h, tx, ty);
        let plain = encode_block(&h, 1, tx, ty, &plane, CodecChoice::Auto, Effort::Default);
        alone += plain.unwrap().payload.len() as u64;
    }
    let bits = |bytes: u64| 8.0 * bytes as f64 / (SIDE * SIDE) as f64;
    assert!(
        from_codes * 100 < alone * 95,
        "{:.2} bits per scale from the codes, {:.2} alone",
        bits(from_codes),
        bits(alone)
    );
}

#[test]
fn a_plane_the_codes_do_not_predict_is_written_as_before() {
    // A constant plane: the constant codec beats any prediction, and the block (so the
    // file, format 1.1 at most) is what the writer made without the bands.
    let (codes, _) = presto_crop();
    let scales: Vec<u8> = (0..SIDE * SIDE)
        .flat_map(|_| 0.5f32.to_le_bytes())
        .collect();
    let h = header();
    for (tx, ty) in tiles(&h) {
        let (bands, plane) = (
            tile(&codes, BANDS, &h, tx, ty),
            tile(&scales, 4, &h, tx, ty),
        );
        let settings = BlockSettings::default();
        let auto = CodecChoice::Auto;
        let given = encode_block_given_bands(&h, (1, tx, ty), &plane, &bands, auto, settings);
        let alone = encode_block_with(&h, 1, tx, ty, &plane, auto, settings).unwrap();
        let given = given.unwrap();
        assert_eq!(given.codec, CodecId::Constant);
        assert_eq!(
            (given.payload, given.raw_crc),
            (alone.payload, alone.raw_crc)
        );
    }
    let (file, _) = write_file(&h, &codes, &scales);
    assert!(Reader::open(Cursor::new(&file)).unwrap().format_version().1 < 3);
}

/// The codec-level pieces of tile (0, 0): its shape, bands and scale plane.
fn first_tile() -> (TileShape, Vec<u8>, Vec<u8>) {
    let (codes, scales) = presto_crop();
    let h = header();
    let shape = TileShape {
        width: 32,
        height: 32,
        bands: 1,
        sample_type: SampleType::F32,
    };
    (
        shape,
        tile(&codes, BANDS, &h, 0, 0),
        tile(&scales, 4, &h, 0, 0),
    )
}

fn decode_error(shape: &TileShape, payload: &[u8], bands: &[u8]) -> geoembed_codec::Error {
    let codes = CodesTile {
        sample_type: SampleType::I8,
        bands: BANDS,
        samples: bands,
    };
    let mut out = Vec::new();
    let err = scales_from_codes::decode(shape, payload, &codes, &mut out).unwrap_err();
    assert!(out.is_empty(), "{err}: nothing is left behind");
    err
}

#[test]
fn corrupt_payloads_fail_with_named_errors() {
    let (shape, bands, plane) = first_tile();
    let codes = CodesTile {
        sample_type: SampleType::I8,
        bands: BANDS,
        samples: &bands,
    };
    let payload = scales_from_codes::encode(&shape, &plane, &codes, Effort::Default).unwrap();
    let cases: [(&str, Vec<u8>, ErrorKind, &str); 5] = [
        (
            "empty",
            vec![],
            ErrorKind::Truncated,
            "scales-from-codes: payload ends inside payload version",
        ),
        (
            "version 2",
            [&[2u8][..], &payload[1..]].concat(),
            ErrorKind::Unsupported,
            "scales-from-codes payload version 2 (this build reads 1)",
        ),
        (
            "cut in the coefficients",
            payload[..20].to_vec(),
            ErrorKind::Truncated,
            "scales-from-codes: payload ends inside scale model coefficients",
        ),
        (
            "a byte after the residuals",
            [&payload[..], &[0u8][..]].concat(),
            ErrorKind::Corrupt,
            "scales-from-codes: bytes after the scale residuals",
        ),
        (
            "residuals as a dequant part",
            [&payload[..25], &[8u8][..], &payload[26..]].concat(),
            ErrorKind::Corrupt,
            "scales-from-codes: scale residuals cannot use the dequant codec",
        ),
    ];
    for (what, bad, kind, message) in cases {
        let err = decode_error(&shape, &bad, &bands);
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (kind, message),
            "{what}"
        );
    }
}

#[test]
fn the_codec_needs_its_file() {
    let (shape, _, plane) = first_tile();
    // Not by name, not alone: only the container can give it the codes.
    assert!("scales-from-codes".parse::<CodecChoice>().is_err());
    let params = CodecParams::default();
    let err = codec::encode(CodecId::ScalesFromCodes, &shape, &plane, &params).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    let mut out = Vec::new();
    let err = codec::decode(CodecId::ScalesFromCodes, &shape, &[1], &params, &mut out);
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(err.to_string().contains("comes without them"), "{err}");
}

/// Sets the codec of index entry `block` and reseals the entry's CRC.
fn set_codec(file: &mut [u8], block: usize, codec: u16) {
    let at = 64 + 32 * block;
    file[at + 16..at + 18].copy_from_slice(&codec.to_le_bytes());
    let crc = crc32fast::hash(&file[at..at + 28]);
    file[at + 28..at + 32].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn misplaced_blocks_fail_with_named_errors() {
    let (codes, scales) = presto_crop();
    let h = header();
    let (mut file, _) = write_file(&h, &codes, &scales);
    // Decoded alone, an aux block coded from the bands says what it needs.
    let mut r = Reader::open(Cursor::new(&file)).unwrap();
    let payload = r.read_payload(1, 0, 0).unwrap();
    let entry = *r.entry(1, 0, 0).unwrap();
    let err = decode_block_into(&h, 1, 0, 0, &entry, &payload, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(
        err.to_string()
            .contains("plane 0's decoded block of the tile is needed"),
        "{err}"
    );
    // A band block claiming the codec is corrupt, not a recursion.
    set_codec(&mut file, 0, CodecId::ScalesFromCodes as u16);
    let mut r = Reader::open(Cursor::new(&file)).unwrap();
    let err = r.read_block(0, 0, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(
        err.to_string(),
        "tile (0, 0) (scales-from-codes): scales-from-codes codes a one-band float32 aux plane \
         beside 8- or 16-bit integer bands, not a 128-band int8 plane 0 beside int8 bands"
    );
    // The aux block of a tile whose bands fail fails too, naming both blocks.
    let err = r.read_block(1, 0, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    let named = "tile (0, 0) of aux plane 0 (scales-from-codes) is coded from the bands' \
                 block, which failed: tile (0, 0) (scales-from-codes): scales-from-codes codes";
    assert!(err.to_string().starts_with(named), "{err}");
    let payloads = r.read_block_payloads(1, 0, 0).unwrap();
    let mut out = Vec::new();
    let err = decode_block_payloads_into(&h, r.entries(), 1, 0, 0, &payloads, &mut out);
    assert!(err.unwrap_err().to_string().starts_with(named));
    r.read_block(1, 1, 0).unwrap();
}
