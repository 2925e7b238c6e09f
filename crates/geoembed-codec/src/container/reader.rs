//! Reading `.emb` files: open (preamble, index, header, all checked), then fetch and decode
//! tiles. Payload fetching ([`Reader::read_payload`]) and decoding ([`decode_block`]) are
//! separate so callers can decode many tiles in parallel. An aux block coded from the
//! bands (codec `scales-from-codes`) needs plane 0's block of its tile decoded first:
//! [`Reader::read_block`] does that by itself, and [`Reader::read_block_payloads`] with
//! [`decode_block_payloads_into`] fetch and decode the two together.

use super::chunks;
use super::header::{BandInfo, Header};
use super::index::{IndexEntry, ENTRY_LEN};
use super::preamble::{Preamble, PREAMBLE_LEN};
use super::tile_rows::TileRows;
use super::writer::{block_shape, plane_params};
use crate::allocation;
use crate::codec::scales_from_codes::{self, CodesTile};
use crate::codec::{self, CodecId, Effort, TileShape};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;
use std::io::{Read, Seek, SeekFrom};

/// An open `.emb` file.
pub struct Reader<R: Read + Seek> {
    src: R,
    header: Header,
    entries: Vec<IndexEntry>,
    file_len: u64,
    limits: Limits,
    version_minor: u16,
}

/// Reads exactly `len` bytes at `offset` into a buffer allocated fallibly. Callers check
/// `offset + len` against the file's length first, so `len` is never more than the file.
fn read_exact_at<R: Read + Seek>(
    src: &mut R,
    offset: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>> {
    let capacity = usize::try_from(len).map_err(|_| Error::out_of_memory(what, u128::from(len)))?;
    let mut buf = allocation::vec_with_capacity(capacity, what)?;
    src.seek(SeekFrom::Start(offset))?;
    src.by_ref().take(len).read_to_end(&mut buf)?;
    if buf.len() as u64 != len {
        return Err(Error::truncated(format!(
            "file ends inside the {what} ({} of {len} bytes at offset {offset})",
            buf.len()
        )));
    }
    Ok(buf)
}

/// The byte range `[offset, offset + len)` of a structure the preamble locates, checked to
/// lie inside the file without wrapping: a hostile offset near 2^64 must not pass.
fn check_range(offset: u64, len: u64, file_len: u64, what: &str) -> Result<()> {
    let end = u128::from(offset) + u128::from(len);
    if end > u128::from(file_len) {
        return Err(Error::truncated(format!(
            "file is {file_len} bytes but its {what} of {len} bytes at offset {offset} ends at byte {end}"
        )));
    }
    Ok(())
}

impl<R: Read + Seek> Reader<R> {
    /// Opens a file with the default [`Limits`].
    pub fn open(src: R) -> Result<Self> {
        Self::open_with_limits(src, Limits::default())
    }

    /// Opens a file: reads and checks the preamble, the header and the tile index, refusing
    /// declared sizes beyond what the file holds or beyond `limits` before allocating for
    /// them. The header comes before the index because it is smaller and the aux planes it
    /// declares complete the tile-size check.
    pub fn open_with_limits(mut src: R, limits: Limits) -> Result<Self> {
        let file_len = src.seek(SeekFrom::End(0))?;
        let preamble = read_preamble(&mut src)?;
        let index_len = preamble.block_count * ENTRY_LEN as u64;
        check_range(preamble.index_offset, index_len, file_len, "tile index")?;
        let header_len = u64::from(preamble.header_length);
        check_range(preamble.header_offset, header_len, file_len, "header")?;
        check_limits(&preamble, &limits)?;
        let header = read_header(&mut src, &preamble, &limits)?;
        check_tile_limits(&header, &limits)?;
        let entries = read_index(&mut src, &preamble, file_len)?;
        Ok(Reader {
            src,
            header,
            entries,
            file_len,
            limits,
            version_minor: preamble.version_minor,
        })
    }

    /// The file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The limits the file was opened with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The file's format version, `(major, minor)` (docs/format.md §7): the lowest version
    /// that has every codec and payload version its tiles use.
    pub fn format_version(&self) -> (u16, u16) {
        (super::preamble::VERSION_MAJOR, self.version_minor)
    }

    /// The file's length in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Index entries in block order (see [`Header::block_index`]).
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// The index entry of block `(plane, tx, ty)`.
    pub fn entry(&self, plane: usize, tx: u32, ty: u32) -> Result<&IndexEntry> {
        block_shape(&self.header, plane, tx, ty)?;
        Ok(&self.entries[self.header.block_index(plane, tx, ty) as usize])
    }

    /// Reads a block's payload and checks its CRC.
    pub fn read_payload(&mut self, plane: usize, tx: u32, ty: u32) -> Result<Vec<u8>> {
        let entry = *self.entry(plane, tx, ty)?;
        check_payload_length(&entry, &self.limits)
            .map_err(|err| err.context(tile_name(plane, tx, ty)))?;
        let payload = read_exact_at(&mut self.src, entry.offset, entry.length, "tile payload")
            .map_err(|err| err.context(tile_name(plane, tx, ty)))?;
        if crc32fast::hash(&payload) != entry.payload_crc {
            return Err(Error::new(
                ErrorKind::Checksum,
                format!(
                    "{}: payload checksum mismatch (stored data corrupted)",
                    tile_name(plane, tx, ty)
                ),
            ));
        }
        Ok(payload)
    }

    /// Reads and decodes a block; returns its samples (pixel-interleaved, little-endian).
    /// A block coded from the bands gets plane 0's block of its tile read and decoded first.
    pub fn read_block(&mut self, plane: usize, tx: u32, ty: u32) -> Result<Vec<u8>> {
        self.read_block_given_bands(plane, tx, ty, None)
    }

    /// [`Reader::read_block`] with plane 0's decoded block of the tile when the caller
    /// already has it (`bands`), which a block coded from the bands then uses instead of
    /// decoding it again.
    pub fn read_block_given_bands(
        &mut self,
        plane: usize,
        tx: u32,
        ty: u32,
        bands: Option<&[u8]>,
    ) -> Result<Vec<u8>> {
        let payload = self.read_payload(plane, tx, ty)?;
        let entry = *self.entry(plane, tx, ty)?;
        let read_bands = match bands {
            None if plane != 0 && needs_bands(&entry) => Some(
                self.read_block(0, tx, ty)
                    .map_err(|err| err.context(bands_failed(plane, tx, ty)))?,
            ),
            _ => None,
        };
        let mut out = Vec::new();
        let bands = bands.or(read_bands.as_deref());
        let block = (plane, tx, ty);
        decode_block_given_bands(&self.header, block, &entry, &payload, bands, &mut out)?;
        Ok(out)
    }

    /// Reads a block's payload and, when the block is coded from the bands, plane 0's
    /// payload of the same tile: what [`decode_block_payloads_into`] decodes.
    pub fn read_block_payloads(&mut self, plane: usize, tx: u32, ty: u32) -> Result<BlockPayloads> {
        let payload = self.read_payload(plane, tx, ty)?;
        let bands = match plane != 0 && needs_bands(self.entry(plane, tx, ty)?) {
            true => Some(self.read_payload(0, tx, ty)?),
            false => None,
        };
        Ok(BlockPayloads { payload, bands })
    }

    /// A block's rows for a reader that wants a few rows at a time (see [`TileRows`]):
    /// native tiles are decoded row by row as the rows are asked for, their streams read
    /// from this reader's file as they go (the payload is read and checked whole first);
    /// others are decoded whole.
    pub fn block_rows(&mut self, plane: usize, tx: u32, ty: u32) -> Result<TileRows> {
        let entry = *self.entry(plane, tx, ty)?;
        let shape = block_shape(&self.header, plane, tx, ty)?;
        let codec =
            CodecId::from_code(entry.codec).map_err(|err| err.context(tile_name(plane, tx, ty)))?;
        if !codec::decodes_by_rows(codec) {
            let samples = self.read_block(plane, tx, ty)?;
            return Ok(TileRows::whole(samples, shape.height));
        }
        let name = format!("{} ({codec})", tile_name(plane, tx, ty));
        let payload = self.read_payload(plane, tx, ty)?;
        let decoder = codec::row_decoder(&shape, &payload, entry.offset)
            .map_err(|err| err.context(name.clone()))?;
        let row_bytes = shape.bytes() / shape.height.max(1);
        Ok(TileRows::streamed(
            decoder,
            row_bytes,
            shape.height,
            entry.raw_crc,
            name,
        ))
    }

    /// `len` bytes at `offset` of the file (the part of a streamed tile's payload it reads
    /// next).
    pub(crate) fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|end| end > self.file_len) {
            return Err(Error::truncated(format!(
                "{len} bytes at offset {offset} are past the end of the file"
            )));
        }
        read_exact_at(&mut self.src, offset, len as u64, "tile payload")
    }

    /// Gives the source back.
    pub fn into_inner(self) -> R {
        self.src
    }
}

/// Reads and checks the 64-byte preamble.
fn read_preamble<R: Read + Seek>(src: &mut R) -> Result<Preamble> {
    src.seek(SeekFrom::Start(0))?;
    let mut first = Vec::with_capacity(PREAMBLE_LEN);
    src.by_ref()
        .take(PREAMBLE_LEN as u64)
        .read_to_end(&mut first)?;
    Preamble::decode(&first)
}

/// Reads the header chunks (checksum first) into a header whose grid comes from the
/// preamble, and checks that the two agree.
fn read_header<R: Read + Seek>(
    src: &mut R,
    preamble: &Preamble,
    limits: &Limits,
) -> Result<Header> {
    let head = read_exact_at(
        src,
        preamble.header_offset,
        u64::from(preamble.header_length),
        "header",
    )?;
    if head.len() < 4 {
        return Err(Error::corrupt("header is shorter than its checksum"));
    }
    let (body, crc) = head.split_at(head.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().unwrap()) {
        return Err(Error::new(
            ErrorKind::Checksum,
            "header checksum mismatch (metadata corrupted)",
        ));
    }
    let mut header = Header {
        tile_width: preamble.tile_width,
        tile_height: preamble.tile_height,
        ..Header::new(preamble.width, preamble.height, 0, preamble.sample_type)
    };
    // band_count is within max_bands (checked with the preamble), which bounds this
    // allocation; a BNDS chunk must also hold at least 39 bytes per band, so the header's
    // length does too, but a BNDZ chunk (format 1.7) is smaller than the bands it lists.
    header.bands = allocation::filled_vec(
        preamble.band_count as usize,
        BandInfo::default(),
        "band descriptions",
    )?;
    chunks::decode(body, &mut header, limits)?;
    if header.plane_count() != preamble.plane_count as usize {
        return Err(Error::corrupt(format!(
            "preamble says {} planes, header describes {}",
            preamble.plane_count,
            header.plane_count()
        )));
    }
    header
        .validate()
        .map_err(|err| Error::corrupt(err.message().to_string()))?;
    Ok(header)
}

/// Index entries read per round: the index is streamed, never held twice.
const INDEX_ENTRIES_PER_READ: usize = 4096;

/// The index entries, each checked to point inside the file. The index's range was
/// checked against the file's length and its entry count against the limits.
fn read_index<R: Read + Seek>(
    src: &mut R,
    preamble: &Preamble,
    file_len: u64,
) -> Result<Vec<IndexEntry>> {
    let count = preamble.block_count as usize;
    let mut entries = allocation::vec_with_capacity(count, "the tile index")?;
    let mut raw = vec![0u8; count.min(INDEX_ENTRIES_PER_READ) * ENTRY_LEN];
    src.seek(SeekFrom::Start(preamble.index_offset))?;
    while entries.len() < count {
        let round = (count - entries.len()).min(INDEX_ENTRIES_PER_READ);
        let bytes = &mut raw[..round * ENTRY_LEN];
        src.read_exact(bytes).map_err(|e| {
            Error::from(e).context(format!(
                "tile index (entries {}..{})",
                entries.len(),
                entries.len() + round
            ))
        })?;
        for raw_entry in bytes.chunks_exact(ENTRY_LEN) {
            let i = entries.len();
            entries.push(checked_entry(raw_entry, i, file_len)?);
        }
    }
    Ok(entries)
}

/// Entry `i`, checked to point inside the file.
fn checked_entry(raw: &[u8], i: usize, file_len: u64) -> Result<IndexEntry> {
    let entry = IndexEntry::decode(raw, i as u64)?;
    if entry
        .offset
        .checked_add(entry.length)
        .is_none_or(|end| end > file_len)
    {
        return Err(Error::truncated(format!(
            "tile index entry {i}: payload at {}+{} lies beyond the end of the {file_len}-byte file",
            entry.offset, entry.length
        )));
    }
    Ok(entry)
}

/// Slack over twice the decoded-tile limit that a payload may take: codec framing, tables
/// and predictors of a tile with many bands and few pixels.
const PAYLOAD_SLACK: u64 = 1 << 20;

/// Refuses a payload that no tile within the limits could need, before reading it: the
/// payload is read whole, so its length is an allocation the file chooses.
fn check_payload_length(entry: &IndexEntry, limits: &Limits) -> Result<()> {
    let most = limits
        .max_tile_bytes
        .saturating_mul(2)
        .saturating_add(PAYLOAD_SLACK);
    if entry.length > most {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "payload length = {} exceeds twice the limit max_tile_bytes = {} (plus {PAYLOAD_SLACK} bytes of framing)",
                entry.length, limits.max_tile_bytes
            ),
        ));
    }
    Ok(())
}

/// Refuses planes whose tiles would decode to more than the limit allows. A tile is
/// clipped to the raster (a 2^31-pixel tile width on a 100-pixel raster decodes 100 pixels),
/// and the product is taken in 128 bits so that no declared size can wrap it to 0.
fn check_tile_limits(header: &Header, limits: &Limits) -> Result<()> {
    for plane in 0..header.plane_count() {
        let (sample_type, bands) = header.plane_layout(plane)?;
        let tile_width = header.tile_width.min(header.width);
        let tile_height = header.tile_height.min(header.height);
        let tile_bytes = u128::from(tile_width)
            * u128::from(tile_height)
            * bands as u128
            * sample_type.size() as u128;
        if tile_bytes > u128::from(limits.max_tile_bytes) {
            let field = format!(
                "decoded tile of plane {plane} ({tile_width}x{tile_height} pixels x {bands} bands x {} bytes)",
                sample_type.size()
            );
            return Err(Error::limit_exceeded(
                field,
                tile_bytes,
                "max_tile_bytes",
                limits.max_tile_bytes,
            ));
        }
    }
    Ok(())
}

/// Refuses preamble fields beyond the limits: the raster's size and bands, the number of
/// aux planes, the header's length and the index's entry count.
fn check_limits(p: &Preamble, l: &Limits) -> Result<()> {
    let over = |field: &str, value: u64, key: &str, limit: u64| {
        Err(Error::limit_exceeded(field, value.into(), key, limit))
    };
    let aux_planes = u64::from(p.plane_count) - 1;
    if p.width > l.max_width {
        return over("width", p.width.into(), "max_width", l.max_width.into());
    }
    if p.height > l.max_height {
        return over("height", p.height.into(), "max_height", l.max_height.into());
    }
    if p.band_count > l.max_bands {
        return over(
            "band_count",
            p.band_count.into(),
            "max_bands",
            l.max_bands.into(),
        );
    }
    if aux_planes > u64::from(l.max_aux_planes) {
        let limit = l.max_aux_planes.into();
        return over("aux plane count", aux_planes, "max_aux_planes", limit);
    }
    if p.header_length > l.max_header_bytes {
        let limit = l.max_header_bytes.into();
        return over(
            "header_length",
            p.header_length.into(),
            "max_header_bytes",
            limit,
        );
    }
    if p.block_count > l.max_blocks {
        return over("block_count", p.block_count, "max_blocks", l.max_blocks);
    }
    Ok(())
}

/// How errors name a block: `tile (tx, ty)`, or `... of aux plane N`.
pub fn tile_name(plane: usize, tx: u32, ty: u32) -> String {
    if plane == 0 {
        format!("tile ({tx}, {ty})")
    } else {
        format!("tile ({tx}, {ty}) of aux plane {}", plane - 1)
    }
}

/// A block's payload as read, with plane 0's payload of its tile when the block is coded
/// from the bands ([`Reader::read_block_payloads`]).
#[derive(Clone, Debug, Default)]
pub struct BlockPayloads {
    /// The block's payload (CRC-checked).
    pub payload: Vec<u8>,
    /// Plane 0's payload of the same tile (CRC-checked), when the block needs it.
    pub bands: Option<Vec<u8>>,
}

/// Whether decoding the block of `entry` needs plane 0's decoded block of the same tile:
/// an aux plane coded from the bands (codec `scales-from-codes`).
pub fn needs_bands(entry: &IndexEntry) -> bool {
    entry.codec == CodecId::ScalesFromCodes as u16
}

/// Decodes block `(plane, tx, ty)` from payloads read by [`Reader::read_block_payloads`]
/// (`entries`: the file's index): plane 0's block first when the block is coded from it.
pub fn decode_block_payloads_into(
    h: &Header,
    entries: &[IndexEntry],
    plane: usize,
    tx: u32,
    ty: u32,
    payloads: &BlockPayloads,
    out: &mut Vec<u8>,
) -> Result<()> {
    let entry = |plane| &entries[h.block_index(plane, tx, ty) as usize];
    let bands = match &payloads.bands {
        Some(bands_payload) => Some(
            decode_block(h, 0, tx, ty, entry(0), bands_payload)
                .map_err(|err| err.context(bands_failed(plane, tx, ty)))?,
        ),
        None => None,
    };
    let block = (plane, tx, ty);
    decode_block_given_bands(
        h,
        block,
        entry(plane),
        &payloads.payload,
        bands.as_deref(),
        out,
    )
}

/// Decodes a payload already read (and CRC-checked) and verifies the decoded samples
/// against the CRC stored at encode time.
pub fn decode_block(
    h: &Header,
    plane: usize,
    tx: u32,
    ty: u32,
    e: &IndexEntry,
    payload: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    decode_block_into(h, plane, tx, ty, e, payload, &mut out)?;
    Ok(out)
}

/// [`decode_block`] into a caller's buffer (cleared first), so a reader decoding many tiles
/// reuses one allocation per thread. A block coded from the bands fails with an error that
/// says so: decode it with [`decode_block_given_bands`] or [`decode_block_payloads_into`].
pub fn decode_block_into(
    h: &Header,
    plane: usize,
    tx: u32,
    ty: u32,
    e: &IndexEntry,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    decode_block_given_bands(h, (plane, tx, ty), e, payload, None, out)
}

/// [`decode_block_into`] of block `(plane, tx, ty)` with plane 0's decoded block of the
/// tile (`bands`), which a block coded from the bands needs and other blocks ignore.
pub fn decode_block_given_bands(
    h: &Header,
    (plane, tx, ty): (usize, u32, u32),
    e: &IndexEntry,
    payload: &[u8],
    bands: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let name = || tile_name(plane, tx, ty);
    let shape = block_shape(h, plane, tx, ty)?;
    let codec = CodecId::from_code(e.codec).map_err(|err| err.context(name()))?;
    let effort = match e.codec_param {
        0 => Effort::Fast,
        2 => Effort::Max,
        _ => Effort::Default,
    };
    out.clear();
    allocation::reserve(out, shape.bytes(), "a decoded tile").map_err(|err| err.context(name()))?;
    let decoded = match codec {
        CodecId::ScalesFromCodes => decode_from_bands(h, plane, &shape, payload, bands, out),
        _ => codec::decode(codec, &shape, payload, &plane_params(h, plane, effort), out),
    };
    decoded.map_err(|err| err.context(format!("{} ({codec})", name())))?;
    if crc32fast::hash(out) != e.raw_crc {
        return Err(Error::new(
            ErrorKind::Checksum,
            format!(
                "{} ({codec}): decoded samples do not match their checksum",
                name()
            ),
        ));
    }
    Ok(())
}

/// How an error in the bands' block names the aux block coded from them.
fn bands_failed(plane: usize, tx: u32, ty: u32) -> String {
    format!(
        "{} (scales-from-codes) is coded from the bands' block, which failed",
        tile_name(plane, tx, ty)
    )
}

/// Decodes a `scales-from-codes` block of aux plane `plane - 1` from plane 0's decoded
/// block of its tile (`bands`): refused as corrupt on a plane the codec cannot code.
fn decode_from_bands(
    h: &Header,
    plane: usize,
    shape: &TileShape,
    payload: &[u8],
    bands: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let (codes_type, codes_per_pixel) = h.plane_layout(0)?;
    if plane == 0 || !scales_from_codes::applies(codes_type, shape.sample_type, shape.bands) {
        return Err(Error::corrupt(format!(
            "scales-from-codes codes a one-band float32 aux plane beside 8- or 16-bit integer \
             bands, not a {}-band {} plane {plane} beside {codes_type} bands",
            shape.bands, shape.sample_type
        )));
    }
    let bands = bands.ok_or_else(|| {
        Error::invalid(
            "the block is coded from the bands: plane 0's decoded block of the tile is needed \
             (Reader::read_block, decode_block_given_bands or decode_block_payloads_into)",
        )
    })?;
    let codes = CodesTile {
        sample_type: codes_type,
        bands: codes_per_pixel,
        samples: bands,
    };
    scales_from_codes::decode(shape, payload, &codes, out)
}

/// Finds a block's index entry with two range reads (the preamble, then the entry), the
/// access pattern for remote files. `read_at(offset, len)` returns exactly `len` bytes.
pub fn locate_block(
    mut read_at: impl FnMut(u64, usize) -> Result<Vec<u8>>,
    plane: usize,
    tx: u32,
    ty: u32,
) -> Result<IndexEntry> {
    let preamble = Preamble::decode(&read_at(0, PREAMBLE_LEN)?)?;
    let across = preamble.width.div_ceil(preamble.tile_width);
    let down = preamble.height.div_ceil(preamble.tile_height);
    if plane >= preamble.plane_count as usize || tx >= across || ty >= down {
        return Err(Error::invalid(format!(
            "{} is outside the file's tile grid",
            tile_name(plane, tx, ty)
        )));
    }
    let block = plane as u64 * across as u64 * down as u64 + ty as u64 * across as u64 + tx as u64;
    let offset = (block * ENTRY_LEN as u64)
        .checked_add(preamble.index_offset)
        .ok_or_else(|| {
            Error::corrupt(format!(
                "index_offset {} puts the tile index past 2^64",
                preamble.index_offset
            ))
        })?;
    IndexEntry::decode(&read_at(offset, ENTRY_LEN)?, block)
}
