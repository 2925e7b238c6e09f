//! LZ on the tile as it is (pixel-interleaved sample bytes) with zstd: for rasters that
//! repeat whole pixels or runs of them (lookup tables, quaternion and colour streams,
//! classified floats), which no predictor sees but a match finder does.

use super::super::Effort;
use crate::error::{Error, Result};

fn level(effort: Effort) -> i32 {
    match effort {
        Effort::Fast => 3,
        Effort::Default => 9,
        Effort::Max => 19,
    }
}

pub(super) fn encode(samples: &[u8], effort: Effort, out: &mut Vec<u8>) -> Result<()> {
    let z = zstd::bulk::compress(samples, level(effort))
        .map_err(|e| Error::invalid(format!("float: zstd failed: {e}")))?;
    out.extend_from_slice(&z);
    Ok(())
}

/// Decompresses exactly `expected` bytes (the tile); anything else is corrupt.
pub(super) fn decode(data: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<()> {
    let v = zstd::bulk::decompress(data, expected)
        .map_err(|e| Error::corrupt(format!("float: zstd stream: {e}")))?;
    if v.len() != expected {
        return Err(Error::corrupt(format!(
            "float: zstd stream holds {} bytes, the tile {expected}",
            v.len()
        )));
    }
    out.extend_from_slice(&v);
    Ok(())
}
