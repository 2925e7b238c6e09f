//! Reading `.emb` files: open (preamble, index, header, all checked), then fetch and decode
//! tiles. Payload fetching ([`Reader::read_payload`]) and decoding ([`decode_block`]) are
//! separate so callers can decode many tiles in parallel.

use super::chunks;
use super::header::{BandInfo, Header};
use super::index::{IndexEntry, ENTRY_LEN};
use super::preamble::{Preamble, PREAMBLE_LEN};
use super::writer::{block_shape, plane_params};
use crate::codec::{self, CodecId, Effort};
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
}

fn read_exact_at<R: Read + Seek>(
    src: &mut R,
    offset: u64,
    len: usize,
    what: &str,
) -> Result<Vec<u8>> {
    src.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    src.by_ref().take(len as u64).read_to_end(&mut buf)?;
    if buf.len() != len {
        return Err(Error::truncated(format!(
            "file ends inside the {what} ({} of {len} bytes at offset {offset})",
            buf.len()
        )));
    }
    Ok(buf)
}

impl<R: Read + Seek> Reader<R> {
    /// Opens a file with the default [`Limits`].
    pub fn open(src: R) -> Result<Self> {
        Self::open_with_limits(src, Limits::default())
    }

    /// Opens a file: reads and checks the preamble, the tile index and the header, refusing
    /// declared sizes beyond `limits` before allocating for them.
    pub fn open_with_limits(mut src: R, limits: Limits) -> Result<Self> {
        let file_len = src.seek(SeekFrom::End(0))?;
        src.seek(SeekFrom::Start(0))?;
        let mut first = Vec::new();
        src.by_ref()
            .take(PREAMBLE_LEN as u64)
            .read_to_end(&mut first)?;
        let preamble = Preamble::decode(&first)?;
        check_limits(&preamble, &limits)?;
        let index_len = preamble.block_count * ENTRY_LEN as u64;
        if preamble.index_offset + index_len > file_len {
            return Err(Error::truncated(format!(
                "file is {file_len} bytes but its tile index ends at byte {}",
                preamble.index_offset + index_len
            )));
        }
        if preamble.header_offset + preamble.header_length as u64 > file_len {
            return Err(Error::truncated(format!(
                "file is {file_len} bytes but its header ends at byte {}",
                preamble.header_offset + preamble.header_length as u64
            )));
        }
        let index = read_exact_at(
            &mut src,
            preamble.index_offset,
            index_len as usize,
            "tile index",
        )?;
        let header = read_header(&mut src, &preamble)?;
        let entries = decode_index(&index, file_len)?;
        check_tile_limits(&header, &limits)?;
        Ok(Reader {
            src,
            header,
            entries,
            file_len,
            limits,
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
        let payload = read_exact_at(
            &mut self.src,
            entry.offset,
            entry.length as usize,
            "tile payload",
        )
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
    pub fn read_block(&mut self, plane: usize, tx: u32, ty: u32) -> Result<Vec<u8>> {
        let payload = self.read_payload(plane, tx, ty)?;
        let entry = *self.entry(plane, tx, ty)?;
        decode_block(&self.header, plane, tx, ty, &entry, &payload)
    }

    /// Gives the source back.
    pub fn into_inner(self) -> R {
        self.src
    }
}

/// Reads the header chunks (checksum first) into a header whose grid comes from the
/// preamble, and checks that the two agree.
fn read_header<R: Read + Seek>(src: &mut R, preamble: &Preamble) -> Result<Header> {
    let head = read_exact_at(
        src,
        preamble.header_offset,
        preamble.header_length as usize,
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
    header.bands = vec![BandInfo::default(); preamble.band_count as usize];
    chunks::decode(body, &mut header)?;
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

/// The index entries, each checked to point inside the file.
fn decode_index(index: &[u8], file_len: u64) -> Result<Vec<IndexEntry>> {
    let mut entries = Vec::with_capacity(index.len() / ENTRY_LEN);
    for (i, raw) in index.chunks_exact(ENTRY_LEN).enumerate() {
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
        entries.push(entry);
    }
    Ok(entries)
}

/// Refuses planes whose tiles would decode to more than the limit allows.
fn check_tile_limits(header: &Header, limits: &Limits) -> Result<()> {
    for plane in 0..header.plane_count() {
        let (sample_type, bands) = header.plane_layout(plane)?;
        let tile_bytes = header.tile_width as u64
            * header.tile_height as u64
            * bands as u64
            * sample_type.size() as u64;
        if tile_bytes > limits.max_tile_bytes {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "plane {plane} tiles decode to {tile_bytes} bytes, above the limit of {}",
                    limits.max_tile_bytes
                ),
            ));
        }
    }
    Ok(())
}

fn check_limits(p: &Preamble, l: &Limits) -> Result<()> {
    let over = |what: &str, v: u64, max: u64| {
        Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("{what} {v} exceeds the reader limit of {max}"),
        ))
    };
    if p.width > l.max_width {
        return over("width", p.width as u64, l.max_width as u64);
    }
    if p.height > l.max_height {
        return over("height", p.height as u64, l.max_height as u64);
    }
    if p.band_count > l.max_bands {
        return over("band count", p.band_count as u64, l.max_bands as u64);
    }
    if p.header_length > l.max_header_bytes {
        return over(
            "header length",
            p.header_length as u64,
            l.max_header_bytes as u64,
        );
    }
    if p.block_count > l.max_blocks {
        return over("block count", p.block_count, l.max_blocks);
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
/// reuses one allocation per thread.
pub fn decode_block_into(
    h: &Header,
    plane: usize,
    tx: u32,
    ty: u32,
    e: &IndexEntry,
    payload: &[u8],
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
    out.reserve(shape.bytes());
    codec::decode(codec, &shape, payload, &plane_params(h, plane, effort), out)
        .map_err(|err| err.context(format!("{} ({codec})", name())))?;
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
    IndexEntry::decode(
        &read_at(preamble.index_offset + block * ENTRY_LEN as u64, ENTRY_LEN)?,
        block,
    )
}
