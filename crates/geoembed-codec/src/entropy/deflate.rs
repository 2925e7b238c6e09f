//! Deflate through flate2 (zlib-rs back-end), in the two framings the format uses.
//! [`compress`]/[`decompress`] are raw deflate (RFC 1951), for png128 and the float codec's
//! byte planes and Gridfour streams: the container already checksums every payload, so
//! zlib's Adler-32 would be redundant there. [`zlib`]/[`unzlib`] are zlib-wrapped
//! (RFC 1950), only for the float codec's specials and palettes, whose format (docs/format.md
//! §5.4.3, §5.4.3a) was specified as zlib streams.

use crate::entropy::varint::{put_u, Cursor};
use crate::error::{Error, Result};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

pub(crate) fn compress(data: &[u8], level: u32) -> Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level.min(9)), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(4096));
        }
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], &mut out, FlushCompress::Finish)
            .map_err(|e| Error::invalid(format!("deflate failed: {e}")))?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
    }
}

/// Inflates exactly `expected` bytes; anything else means the payload is corrupt.
pub(crate) fn decompress(data: &[u8], expected: usize) -> Result<Vec<u8>> {
    let mut d = Decompress::new(false);
    // One spare byte: a stream that fills it inflates to more than the tile holds.
    let mut out = Vec::with_capacity(expected + 1);
    loop {
        let before = (d.total_in(), d.total_out());
        let status = d
            .decompress_vec(
                &data[d.total_in() as usize..],
                &mut out,
                FlushDecompress::Finish,
            )
            .map_err(|e| Error::corrupt(format!("deflate stream is corrupt: {e}")))?;
        match status {
            Status::StreamEnd => break,
            _ if out.len() > expected => {
                // More output than the tile can hold: corrupt, not a reason to grow.
                return Err(Error::corrupt(format!(
                    "deflate stream inflates beyond the expected {expected} bytes"
                )));
            }
            _ if (d.total_in(), d.total_out()) == before => {
                return Err(Error::truncated("deflate stream ends early"));
            }
            _ => {}
        }
    }
    if out.len() != expected {
        return Err(Error::corrupt(format!(
            "deflate stream inflates to {} bytes, expected {expected}",
            out.len()
        )));
    }
    Ok(out)
}

/// A zlib stream (RFC 1950) of `data`: the float codec's small side blocks (specials,
/// palettes), which the format describes as zlib.
pub(crate) fn zlib(data: &[u8], level: u32) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::new(level.min(9)));
    z.write_all(data)
        .map_err(|e| Error::invalid(format!("zlib failed: {e}")))?;
    z.finish()
        .map_err(|e| Error::invalid(format!("zlib failed: {e}")))
}

/// Appends a side block as the format frames it: `uv length`, then the zlib stream of `raw`
/// at `level` (specials, palettes, exceptions, repeats, exact samples).
pub(crate) fn put_zlib_block(out: &mut Vec<u8>, raw: &[u8], level: u32) -> Result<()> {
    let compressed = zlib(raw, level)?;
    put_u(out, compressed.len() as u64);
    out.extend_from_slice(&compressed);
    Ok(())
}

/// Reads a block [`put_zlib_block`] wrote, inflating at most `cap` bytes.
pub(crate) fn read_zlib_block(cursor: &mut Cursor, cap: usize, what: &str) -> Result<Vec<u8>> {
    let length = cursor.bounded(what, (cursor.data.len() - cursor.pos) as u64)? as usize;
    unzlib(cursor.bytes(length, what)?, cap, what)
}

/// Inflates a zlib stream, keeping at most `cap` bytes (what the block can hold: hostile
/// input cannot make it allocate more). `what` names the block in the error.
pub(crate) fn unzlib(data: &[u8], cap: usize, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(cap as u64)
        .read_to_end(&mut out)
        .map_err(|e| Error::corrupt(format!("{what}: {e}")))?;
    Ok(out)
}

/// Inflates a zlib stream that must fill `data` exactly (no bytes after its end) and inflate
/// to exactly `expected` bytes (a length the caller has checked against its limits).
pub(crate) fn unzlib_exact(data: &[u8], expected: usize, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::with_capacity(expected);
    let mut inflater = flate2::read::ZlibDecoder::new(data);
    (&mut inflater)
        .take(expected as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::corrupt(format!("{what}: {e}")))?;
    if out.len() != expected {
        return Err(Error::corrupt(format!(
            "{what}: the zlib stream inflates to {}{} bytes, expected {expected}",
            if out.len() > expected {
                "more than "
            } else {
                ""
            },
            out.len().min(expected)
        )));
    }
    if inflater.total_in() != data.len() as u64 {
        return Err(Error::corrupt(format!(
            "{what}: {} bytes after the end of the zlib stream",
            data.len() as u64 - inflater.total_in()
        )));
    }
    Ok(out)
}
