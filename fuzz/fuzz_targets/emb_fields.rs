//! Structure-aware fuzzing of whole `.emb` files (GitHub issue 15): valid files whose
//! *fields* are mutated — dimensions, tile sizes, counts, offsets, lengths, codec ids, aux
//! planes, chunk contents — with the checksums recomputed afterwards, so that every lie
//! reaches the check meant to catch it instead of failing a CRC. Random bytes (`emb_file`)
//! almost never get past the preamble's CRC; these do.
//!
//! The property: opening the file, reading and decoding every block and dequantising end in
//! samples or an error; nothing panics, and (run with `-rss_limit_mb=1024
//! -malloc_limit_mb=512`) nothing allocates more than the limits allow. The limits here are
//! the defaults except a 32 MiB decoded tile, so that a codec's working memory (a few
//! times the tile) stays under libFuzzer's malloc limit: an allocation that ignores the tile
//! limit still trips it.
#![no_main]

use geoembed_codec::{
    dequantize, encode_block, encode_block_given_bands, scale_plane, AuxPlane, BlockSettings,
    CodecChoice, CodecId, Dequantization, Effort, Header, Limits, MetadataDomain, Reader,
    SampleType, TransformLoss, Writer,
};
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use std::sync::OnceLock;

/// A field-level change to a file.
#[derive(Debug)]
enum Mutation {
    /// A preamble field (index into [`PREAMBLE_FIELDS`]) set to a value.
    Preamble(usize, Value),
    /// A field of index entry `entry` (offset, length, codec, param, payload CRC, raw CRC).
    Entry {
        entry: usize,
        field: usize,
        value: Value,
    },
    /// A 32-bit word inside header chunk `chunk`'s body (counts, lengths, band numbers).
    ChunkWord {
        chunk: usize,
        at: usize,
        value: Value,
    },
    /// A byte inside a payload (the codecs' own fields).
    PayloadByte { entry: usize, at: usize, xor: u8 },
    /// The file cut short or grown with zeros.
    Resize(usize),
}

/// A value, drawn where bugs live: small numbers, powers of two and their neighbours,
/// multiples of the original, and anything.
#[derive(Debug)]
enum Value {
    Small(u8),
    PowerOfTwo { exponent: u8, delta: i8 },
    Times(u16),
    Any(u64),
}

impl Value {
    fn resolve(&self, original: u64) -> u64 {
        match *self {
            Value::Small(v) => u64::from(v),
            Value::PowerOfTwo { exponent, delta } => {
                (1u64 << (exponent % 64)).wrapping_add_signed(i64::from(delta))
            }
            Value::Times(k) => original.wrapping_mul(u64::from(k)),
            Value::Any(v) => v,
        }
    }
}

impl<'a> Arbitrary<'a> for Value {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0..=3u8)? {
            0 => Value::Small(u.arbitrary()?),
            1 => Value::PowerOfTwo {
                exponent: u.arbitrary()?,
                delta: u.int_in_range(-2..=2)?,
            },
            2 => Value::Times(u.arbitrary()?),
            _ => Value::Any(u.arbitrary()?),
        })
    }
}

impl<'a> Arbitrary<'a> for Mutation {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0..=4u8)? {
            0 => Mutation::Preamble(u.choose_index(PREAMBLE_FIELDS.len())?, u.arbitrary()?),
            1 => Mutation::Entry {
                entry: u.arbitrary()?,
                field: u.choose_index(ENTRY_FIELDS.len())?,
                value: u.arbitrary()?,
            },
            2 => Mutation::ChunkWord {
                chunk: u.arbitrary()?,
                at: u.arbitrary()?,
                value: u.arbitrary()?,
            },
            3 => Mutation::PayloadByte {
                entry: u.arbitrary()?,
                at: u.arbitrary()?,
                xor: u.arbitrary()?,
            },
            _ => Mutation::Resize(u.int_in_range(0..=1 << 20)?),
        })
    }
}

/// A seed file, the changes to it, and whether checksums are recomputed afterwards.
#[derive(Debug)]
struct Input {
    seed: usize,
    mutations: Vec<Mutation>,
    fix_checksums: bool,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let seed = u.choose_index(seeds().len())?;
        let count = u.int_in_range(1..=6)?;
        let mutations = (0..count)
            .map(|_| u.arbitrary())
            .collect::<arbitrary::Result<_>>()?;
        Ok(Input {
            seed,
            mutations,
            fix_checksums: u.ratio(7, 8)?,
        })
    }
}

/// Preamble fields: (offset, width in bytes). Magic, version and CRC are left alone (a
/// wrong one is a one-line refusal the byte fuzzer covers).
const PREAMBLE_FIELDS: [(usize, usize); 12] = [
    (12, 4), // width
    (16, 4), // height
    (20, 4), // band_count
    (24, 4), // tile_width
    (28, 4), // tile_height
    (32, 1), // sample_type
    (33, 1), // plane_count
    (36, 4), // block_count
    (40, 8), // index_offset
    (48, 8), // header_offset
    (56, 4), // header_length
    (10, 2), // version_minor
];

/// Index entry fields: (offset, width).
const ENTRY_FIELDS: [(usize, usize); 6] = [(0, 8), (8, 8), (16, 2), (18, 2), (20, 4), (24, 4)];

fn read_le(bytes: &[u8], at: usize, width: usize) -> u64 {
    let mut v = [0u8; 8];
    v[..width].copy_from_slice(&bytes[at..at + width]);
    u64::from_le_bytes(v)
}

fn write_le(bytes: &mut [u8], at: usize, width: usize, value: u64) {
    bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

/// Where things are in a file, read from its (possibly mutated) preamble.
struct Layout {
    index: usize,
    blocks: usize,
    header: usize,
    header_len: usize,
}

impl Layout {
    fn of(file: &[u8]) -> Option<Layout> {
        if file.len() < 64 {
            return None;
        }
        Some(Layout {
            index: usize::try_from(read_le(file, 40, 8)).ok()?,
            blocks: read_le(file, 36, 4) as usize,
            header: usize::try_from(read_le(file, 48, 8)).ok()?,
            header_len: read_le(file, 56, 4) as usize,
        })
    }

    /// Byte position of index entry `i`, if the whole entry is in the file.
    fn entry(&self, i: usize, file_len: usize) -> Option<usize> {
        let at = self.index.checked_add(i.checked_mul(32)?)?;
        (i < self.blocks && at.checked_add(32)? <= file_len).then_some(at)
    }

    /// Body ranges of the header's chunks, as far as they can be walked.
    fn chunks(&self, file: &[u8]) -> Vec<(usize, usize)> {
        let end = self
            .header
            .saturating_add(self.header_len.saturating_sub(4))
            .min(file.len());
        let mut at = self.header;
        let mut chunks = Vec::new();
        while at.saturating_add(8) <= end {
            let len = read_le(file, at + 4, 4) as usize;
            let body = at + 8;
            if body.saturating_add(len) > end {
                break;
            }
            chunks.push((body, len));
            at = body + len;
        }
        chunks
    }
}

fn apply(file: &mut Vec<u8>, m: &Mutation) {
    let Some(layout) = Layout::of(file) else {
        return;
    };
    match m {
        Mutation::Preamble(field, value) => {
            let (at, width) = PREAMBLE_FIELDS[*field];
            let v = value.resolve(read_le(file, at, width));
            write_le(file, at, width, v);
        }
        Mutation::Entry {
            entry,
            field,
            value,
        } => {
            let Some(at) = layout.entry(entry % layout.blocks.max(1), file.len()) else {
                return;
            };
            let (offset, width) = ENTRY_FIELDS[*field];
            let v = value.resolve(read_le(file, at + offset, width));
            write_le(file, at + offset, width, v);
        }
        Mutation::ChunkWord { chunk, at, value } => {
            let chunks = layout.chunks(file);
            let Some(&(body, len)) = chunks.get(chunk % chunks.len().max(1)) else {
                return;
            };
            if len >= 4 {
                let at = body + at % (len - 3);
                let v = value.resolve(read_le(file, at, 4));
                write_le(file, at, 4, v);
            }
        }
        Mutation::PayloadByte { entry, at, xor } => {
            let Some(e) = layout.entry(entry % layout.blocks.max(1), file.len()) else {
                return;
            };
            let (offset, len) = (
                read_le(file, e, 8) as usize,
                read_le(file, e + 8, 8) as usize,
            );
            if len > 0 && offset.saturating_add(len) <= file.len() {
                file[offset + at % len] ^= xor;
            }
        }
        Mutation::Resize(len) => file.resize(*len, 0),
    }
}

/// Recomputes every checksum that can be found, so that mutations reach deeper checks:
/// the preamble's, the header's, and each in-file entry's (payload CRC first).
fn fix_checksums(file: &mut [u8]) {
    let Some(layout) = Layout::of(file) else {
        return;
    };
    let crc = crc32fast::hash(&file[..60]);
    write_le(file, 60, 4, u64::from(crc));
    if layout.header_len >= 4 {
        if let Some(end) = layout.header.checked_add(layout.header_len) {
            if end <= file.len() {
                let crc = crc32fast::hash(&file[layout.header..end - 4]);
                write_le(file, end - 4, 4, u64::from(crc));
            }
        }
    }
    for i in 0..layout.blocks.min(1 << 16) {
        let Some(at) = layout.entry(i, file.len()) else {
            break;
        };
        let (offset, len) = (
            read_le(file, at, 8) as usize,
            read_le(file, at + 8, 8) as usize,
        );
        if let Some(payload) = offset
            .checked_add(len)
            .and_then(|end| file.get(offset..end))
        {
            let crc = crc32fast::hash(payload);
            write_le(file, at + 20, 4, u64::from(crc));
        }
        let crc = crc32fast::hash(&file[at..at + 28]);
        write_le(file, at + 28, 4, u64::from(crc));
    }
}

fuzz_target!(|input: Input| {
    let mut file = seeds()[input.seed].clone();
    for m in &input.mutations {
        apply(&mut file, m);
    }
    if input.fix_checksums {
        fix_checksums(&mut file);
    }
    // Triage: the mutated file itself, for the CLI and GDAL (fuzz/README.md).
    if let Some(path) = std::env::var_os("EMB_FIELDS_DUMP") {
        std::fs::write(path, &file).expect("EMB_FIELDS_DUMP is writable");
    }
    let mut limits = Limits::default();
    limits.max_tile_bytes = 32 << 20;
    let Ok(mut reader) = Reader::open_with_limits(Cursor::new(&file[..]), limits) else {
        return;
    };
    let h = reader.header().clone();
    let mut planes = Vec::new();
    for plane in 0..h.plane_count() {
        let mut tiles = Vec::new();
        for ty in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                if let Ok(samples) = reader.read_block(plane, tx, ty) {
                    let shape = geoembed_codec::block_shape(&h, plane, tx, ty).unwrap();
                    assert_eq!(samples.len(), shape.bytes(), "a tile of the wrong size");
                    tiles.push(samples);
                }
            }
        }
        planes.push(tiles);
    }
    // Dequantisation of the first tile with its scales, when both decoded.
    if let (Some(first), Some(scales)) = (
        planes.first().and_then(|t| t.first()),
        scale_plane(&h)
            .and_then(|p| planes.get(p))
            .and_then(|t| t.first()),
    ) {
        let mut values = Vec::new();
        let _ = dequantize(&h, first, Some(scales), &mut values);
    }
});

/// Valid files covering every chunk, the codecs without libjxl, an aux plane with its
/// dequantisation (coded alone, and from the codes), several tiles with clipped edges.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        vec![
            seed(
                SampleType::U8,
                3,
                (37, 29),
                (16, 16),
                CodecChoice::Fixed(CodecId::Native),
                Scales::None,
            ),
            seed(
                SampleType::I16,
                1,
                (40, 24),
                (16, 16),
                CodecChoice::Fixed(CodecId::Float),
                Scales::None,
            ),
            seed(
                SampleType::F32,
                2,
                (20, 20),
                (16, 8),
                CodecChoice::Auto,
                Scales::None,
            ),
            seed(
                SampleType::I8,
                8,
                (24, 24),
                (16, 16),
                CodecChoice::Fixed(CodecId::Native),
                Scales::Alone,
            ),
            seed(
                SampleType::U16,
                4,
                (33, 17),
                (16, 16),
                CodecChoice::Fixed(CodecId::DecorrelatePng128),
                Scales::None,
            ),
            seed(
                SampleType::F64,
                1,
                (9, 40),
                (16, 16),
                CodecChoice::Fixed(CodecId::Png128),
                Scales::None,
            ),
            seed(
                SampleType::U8,
                2,
                (16, 16),
                (16, 16),
                CodecChoice::Fixed(CodecId::Raw),
                Scales::None,
            ),
            seed(
                SampleType::I8,
                8,
                (40, 24),
                (16, 16),
                CodecChoice::Fixed(CodecId::Native),
                Scales::FromCodes,
            ),
            // Transform-coded: `loss` mode 2 and the band table as `BNDZ` (format 1.7).
            seed(
                SampleType::F32,
                6,
                (24, 20),
                (16, 16),
                CodecChoice::Fixed(CodecId::Klt),
                Scales::None,
            ),
        ]
    })
}

/// Whether a seed has a float32 scale plane, and how it is coded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scales {
    None,
    /// Coded on its own (`auto`).
    Alone,
    /// Scales the codes predict, coded from them (codec `scales-from-codes`, format 1.3).
    FromCodes,
}

/// A file of `bands` bands of smooth samples; `scales` adds a float32 aux plane and a
/// per-pixel dequantisation, as GeoTessera files have.
fn seed(
    ty: SampleType,
    bands: usize,
    (width, height): (u32, u32),
    (tile_width, tile_height): (u32, u32),
    choice: CodecChoice,
    scales: Scales,
) -> Vec<u8> {
    let mut h = Header::new(width, height, bands, ty);
    h.tile_width = tile_width;
    h.tile_height = tile_height;
    h.metadata.push(MetadataDomain {
        name: String::new(),
        items: vec!["KEY=value".into(), "AREA_OR_POINT=Area".into()],
    });
    h.bands[0].description = "first".into();
    h.bands[0].nodata = Some(0.0);
    h.georef.geotransform = Some([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]);
    h.info.push(("software".into(), "fuzz seed".into()));
    if scales != Scales::None {
        h.aux_planes.push(AuxPlane {
            name: "scales".into(),
            sample_type: SampleType::F32,
            bands: 1,
            description: String::new(),
        });
        h.dequantization = Some(Dequantization::PerPixelScale { aux_plane: 0 });
    }
    if choice == CodecChoice::Fixed(CodecId::Klt) {
        h.transform_loss = Some(TransformLoss {
            target_rel_rmse: 0.05,
            achieved: None,
        });
    }
    if choice == CodecChoice::Fixed(CodecId::DecorrelatePng128) {
        let sample = samples(&h, 0, 0, 0);
        h.decorrelation = Some(geoembed_codec::fit_decorrelation(ty, bands, &sample).unwrap());
    }
    let mut w = Writer::new(Cursor::new(Vec::new()), h.clone()).unwrap();
    for plane in 0..h.plane_count() {
        for ty_index in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                let block = match (plane, scales) {
                    (0, _) => {
                        let tile = samples(&h, 0, tx, ty_index);
                        encode_block(&h, 0, tx, ty_index, &tile, choice, Effort::Fast)
                    }
                    (_, Scales::FromCodes) => scales_from_codes_block(&h, plane, tx, ty_index),
                    _ => {
                        let tile = samples(&h, plane, tx, ty_index);
                        let auto = CodecChoice::Auto;
                        encode_block(&h, plane, tx, ty_index, &tile, auto, Effort::Fast)
                    }
                };
                w.write_block(plane, tx, ty_index, &block.unwrap()).unwrap();
            }
        }
    }
    w.finish().unwrap().into_inner()
}

/// Block `(plane, tx, ty)` of scales the codes predict (`3/√Σq²`), coded from the codes.
fn scales_from_codes_block(
    h: &Header,
    plane: usize,
    tx: u32,
    ty: u32,
) -> geoembed_codec::Result<geoembed_codec::EncodedBlock> {
    let codes = samples(h, 0, tx, ty);
    let scales: Vec<u8> = codes
        .chunks_exact(h.bands.len())
        .flat_map(|pixel| {
            let squares: f64 = pixel.iter().map(|&q| f64::from(q as i8).powi(2)).sum();
            ((3.0 / squares.sqrt().max(1.0)) as f32).to_le_bytes()
        })
        .collect();
    let settings = BlockSettings {
        effort: Effort::Fast,
        recipe: None,
    };
    let auto = CodecChoice::Auto;
    let block = encode_block_given_bands(h, (plane, tx, ty), &scales, &codes, auto, settings)?;
    assert_eq!(block.codec, CodecId::ScalesFromCodes, "the seed's scales");
    Ok(block)
}

/// Smooth little-endian samples of tile `(tx, ty)` of `plane`.
fn samples(h: &Header, plane: usize, tx: u32, ty: u32) -> Vec<u8> {
    let (sample_type, bands) = h.plane_layout(plane).unwrap();
    let (x0, y0, w, hh) = h.tile_rect(tx, ty);
    let mut out = Vec::new();
    for y in y0..y0 + hh {
        for x in x0..x0 + w {
            for b in 0..bands {
                let v = (x * 3 + y * 5 + b as u32 * 11) % 97;
                let bytes = match sample_type {
                    SampleType::F32 => (v as f32 * 0.25 + 0.5).to_le_bytes().to_vec(),
                    SampleType::F64 => (v as f64 * 0.125).to_le_bytes().to_vec(),
                    t => (u64::from(v)).to_le_bytes()[..t.size()].to_vec(),
                };
                out.extend(bytes);
            }
        }
    }
    out
}
