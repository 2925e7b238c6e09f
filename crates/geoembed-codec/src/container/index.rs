//! The tile index: one fixed-size entry per block, each with its own checksum so a reader
//! that fetches a single entry can trust it.

use super::bytes::{ByteReader, ByteWriter};
use crate::error::{Error, ErrorKind, Result};

pub(super) const ENTRY_LEN: usize = 32;

/// Where a block's payload is and how to decode and check it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexEntry {
    /// Absolute file offset of the payload.
    pub offset: u64,
    /// Payload length in bytes.
    pub length: u64,
    /// Codec id (see [`crate::codec::CodecId`]).
    pub codec: u16,
    /// Codec-specific parameter recorded for information (e.g. the effort level used).
    pub codec_param: u16,
    /// CRC-32 of the payload bytes: detects storage corruption before decoding.
    pub payload_crc: u32,
    /// CRC-32 of the decoded samples (little-endian, pixel-interleaved): detects any
    /// decoding error end to end.
    pub raw_crc: u32,
}

impl IndexEntry {
    pub(crate) fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut w = ByteWriter::default();
        w.u64(self.offset);
        w.u64(self.length);
        w.u16(self.codec);
        w.u16(self.codec_param);
        w.u32(self.payload_crc);
        w.u32(self.raw_crc);
        let crc = crc32fast::hash(&w.buf);
        w.u32(crc);
        w.buf.try_into().expect("entry is 32 bytes")
    }

    /// Decodes entry number `i` (the number is only used in error messages).
    pub(crate) fn decode(bytes: &[u8], i: u64) -> Result<Self> {
        let what = format!("tile index entry {i}");
        let mut r = ByteReader::new(bytes, &what);
        let e = IndexEntry {
            offset: r.u64("offset")?,
            length: r.u64("length")?,
            codec: r.u16("codec")?,
            codec_param: r.u16("codec_param")?,
            payload_crc: r.u32("payload_crc")?,
            raw_crc: r.u32("raw_crc")?,
        };
        let stored = r.u32("entry_crc")?;
        if crc32fast::hash(&bytes[..ENTRY_LEN - 4]) != stored {
            return Err(Error::new(
                ErrorKind::Checksum,
                format!("{what}: checksum mismatch"),
            ));
        }
        Ok(e)
    }
}
