//! The fixed 64-byte preamble at offset 0: magic, version, the tile grid and where the
//! index and header are. With the preamble alone a reader can compute where any tile's
//! index entry is, so any tile is found with two range reads (preamble, entry).

use super::bytes::{ByteReader, ByteWriter};
use crate::error::{Error, ErrorKind, Result};
use crate::sample::SampleType;

/// PNG-style magic: a high-bit byte (catches 7-bit transfers), the name, CR LF (catches
/// line-ending conversion), ^Z (stops `type` on DOS), LF.
pub const MAGIC: [u8; 8] = *b"\x89EMB\r\n\x1a\n";
/// Readers refuse other major versions.
pub(crate) const VERSION_MAJOR: u16 = 1;
/// Minor versions add what older readers may ignore.
pub(crate) const VERSION_MINOR: u16 = 0;
/// The minor version of files that bound 32-bit integer samples (docs/format.md §4.8, §7).
pub(crate) const MINOR_BOUNDED_32_BIT_INTEGERS: u16 = 5;
/// The minor version of files whose band table is a `BNDZ` chunk (docs/format.md §4.1a, §7).
pub(crate) const MINOR_COMPRESSED_BAND_TABLE: u16 = 7;
pub(crate) const PREAMBLE_LEN: usize = 64;

/// The preamble's fields (docs/format.md §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Preamble {
    pub(crate) version_minor: u16,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) band_count: u32,
    pub(crate) tile_width: u32,
    pub(crate) tile_height: u32,
    pub(crate) sample_type: SampleType,
    pub(crate) plane_count: u8,
    pub(crate) block_count: u64,
    pub(crate) index_offset: u64,
    pub(crate) header_offset: u64,
    pub(crate) header_length: u32,
}

impl Preamble {
    pub(crate) fn encode(&self) -> [u8; PREAMBLE_LEN] {
        let mut w = ByteWriter::default();
        w.bytes(&MAGIC);
        w.u16(VERSION_MAJOR);
        w.u16(self.version_minor);
        w.u32(self.width);
        w.u32(self.height);
        w.u32(self.band_count);
        w.u32(self.tile_width);
        w.u32(self.tile_height);
        w.u8(self.sample_type as u8);
        w.u8(self.plane_count);
        w.u16(0);
        w.u32(self.block_count as u32);
        w.u64(self.index_offset);
        w.u64(self.header_offset);
        w.u32(self.header_length);
        let crc = crc32fast::hash(&w.buf);
        w.u32(crc);
        w.buf.try_into().expect("preamble is 64 bytes")
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(Error::corrupt("not a .emb file (bad magic number)"));
        }
        if bytes.len() < PREAMBLE_LEN {
            return Err(Error::truncated(format!(
                "file is {} bytes, shorter than the {PREAMBLE_LEN}-byte preamble",
                bytes.len()
            )));
        }
        let mut r = ByteReader::new(&bytes[..PREAMBLE_LEN], "preamble");
        r.take(8, "magic")?;
        let major = r.u16("version_major")?;
        if major != VERSION_MAJOR {
            return Err(Error::unsupported(format!(
                "format version {major}.x; this build reads version {VERSION_MAJOR}.x"
            )));
        }
        let stored_crc = u32::from_le_bytes(bytes[60..64].try_into().unwrap());
        if crc32fast::hash(&bytes[..60]) != stored_crc {
            return Err(Error::new(
                ErrorKind::Checksum,
                "preamble checksum mismatch",
            ));
        }
        let version_minor = r.u16("version_minor")?;
        let width = r.u32("width")?;
        let height = r.u32("height")?;
        let band_count = r.u32("band_count")?;
        let tile_width = r.u32("tile_width")?;
        let tile_height = r.u32("tile_height")?;
        let sample_type =
            SampleType::from_code(r.u8("sample_type")?).map_err(|e| e.context("preamble"))?;
        let plane_count = r.u8("plane_count")?;
        r.u16("reserved")?;
        let block_count = r.u32("block_count")? as u64;
        let index_offset = r.u64("index_offset")?;
        let header_offset = r.u64("header_offset")?;
        let header_length = r.u32("header_length")?;
        let p = Preamble {
            version_minor,
            width,
            height,
            band_count,
            tile_width,
            tile_height,
            sample_type,
            plane_count,
            block_count,
            index_offset,
            header_offset,
            header_length,
        };
        if width == 0
            || height == 0
            || band_count == 0
            || tile_width == 0
            || tile_height == 0
            || plane_count == 0
        {
            return Err(Error::corrupt(format!(
                "preamble: impossible grid {width}x{height}, {band_count} bands, tiles {tile_width}x{tile_height}, {plane_count} planes"
            )));
        }
        // In 128 bits: tiles across × down × planes can exceed u64 (2^32 × 2^32 × 255).
        let expect = u128::from(width.div_ceil(tile_width))
            * u128::from(height.div_ceil(tile_height))
            * u128::from(plane_count);
        if expect != u128::from(block_count) {
            return Err(Error::corrupt(format!(
                "preamble: block_count {block_count} does not match the grid ({expect})"
            )));
        }
        Ok(p)
    }
}
