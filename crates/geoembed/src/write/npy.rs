//! `.npy` files written the way NumPy's `np.save` writes them, byte for byte (format 1.0,
//! the header dict in sorted key order, the spare room NumPy leaves for growing the first
//! axis, padding to 64 bytes), so that a GeoTessera tile converted to `.emb` and back is the
//! very file GeoTessera shipped. Data is C-ordered little-endian and streamed in.

use crate::error::{Error, Result};
use geoembed_codec::SampleType;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// NumPy's `ARRAY_ALIGN`: the header is padded so that data starts on a multiple of it.
const ARRAY_ALIGN: usize = 64;
/// NumPy's `GROWTH_AXIS_MAX_DIGITS`: room left in the header for the first axis to grow.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Magic string and version 1.0.
const MAGIC_V1: &[u8] = b"\x93NUMPY\x01\x00";

/// NumPy's `descr` of a sample type (little-endian; `|` for single bytes).
pub fn descr(ty: SampleType) -> &'static str {
    match ty {
        SampleType::U8 => "|u1",
        SampleType::I8 => "|i1",
        SampleType::U16 => "<u2",
        SampleType::I16 => "<i2",
        SampleType::U32 => "<u4",
        SampleType::I32 => "<i4",
        SampleType::F32 => "<f4",
        SampleType::F64 => "<f8",
    }
}

/// The header `np.save` writes for a C-ordered array of `shape` and `ty`.
pub fn header(ty: SampleType, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    // Python's tuple repr: "(5,)" for one axis, "(60, 50, 128)" for more.
    let shape_repr = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_repr}, }}",
        descr(ty)
    );
    if let Some(first) = dims.first() {
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(first.len())));
    }
    let text_len = dict.len() + 1; // with the closing newline
    let padding = ARRAY_ALIGN - (MAGIC_V1.len() + 2 + text_len) % ARRAY_ALIGN;
    let mut out = MAGIC_V1.to_vec();
    out.extend_from_slice(&((text_len + padding) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padding));
    out.push(b'\n');
    out
}

/// A `.npy` being written: the header first, then the data in C order.
pub struct NpyWriter {
    path: PathBuf,
    file: BufWriter<File>,
    remaining: u64,
}

impl NpyWriter {
    pub fn create(path: &Path, ty: SampleType, shape: &[usize]) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut file = BufWriter::with_capacity(1 << 20, file);
        file.write_all(&header(ty, shape))
            .map_err(|e| Error::io(path, e))?;
        let remaining = shape.iter().product::<usize>() as u64 * ty.size() as u64;
        Ok(NpyWriter {
            path: path.to_path_buf(),
            file,
            remaining,
        })
    }

    /// Appends little-endian samples (the next ones in C order).
    pub fn write(&mut self, samples: &[u8]) -> Result<()> {
        self.remaining = self
            .remaining
            .checked_sub(samples.len() as u64)
            .expect("no more samples than the shape holds");
        self.file
            .write_all(samples)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Flushes and syncs; every sample of the shape must have been written.
    pub fn finish(self) -> Result<()> {
        assert_eq!(self.remaining, 0, "every sample written");
        let path = self.path;
        let file = self
            .file
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_numpys() {
        // np.save of an int8 (60, 50, 128) array: a 128-byte header, as in the fixtures.
        let h = header(SampleType::I8, &[60, 50, 128]);
        assert_eq!(h.len(), 128);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(
            text.starts_with("{'descr': '|i1', 'fortran_order': False, 'shape': (60, 50, 128), }")
        );
        assert!(text.ends_with(" \n"));
        assert_eq!(&h[8..10], &118u16.to_le_bytes());
        let one = header(SampleType::F32, &[7]);
        assert!(String::from_utf8_lossy(&one).contains("'shape': (7,), }"));
        assert_eq!(one.len() % ARRAY_ALIGN, 0);
    }
}
