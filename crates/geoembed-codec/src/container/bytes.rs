//! Little-endian field encoding for the `.emb` header, with errors that name the field.

use crate::error::{Error, Result};

/// Appends little-endian fields to a byte vector.
#[derive(Default)]
pub(super) struct ByteWriter {
    pub buf: Vec<u8>,
}

impl ByteWriter {
    pub(super) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(super) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// f64 are stored as their exact IEEE-754 bit pattern (NaN payloads included).
    pub(super) fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    /// Strings: u32 byte length, then UTF-8 bytes (no terminator).
    pub(super) fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
    }
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
}

/// Reads little-endian fields from a slice; every read names the field it is for, so a
/// truncated or corrupt header is reported as e.g. `BNDS band[2].description`.
pub(super) struct ByteReader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'a str,
}

impl<'a> ByteReader<'a> {
    /// `what` names the structure being read ("header chunk BNDS", "tile payload"); it
    /// prefixes every error.
    pub(super) fn new(data: &'a [u8], what: &'a str) -> Self {
        ByteReader { data, pos: 0, what }
    }

    pub(super) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(super) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(super) fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(Error::truncated(format!(
                "{}: field {field} needs {n} bytes at offset {}, only {} left",
                self.what,
                self.pos,
                self.remaining()
            )));
        }
        let slice = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let mut bytes = [0u8; N];
        bytes.copy_from_slice(self.take(N, field)?);
        Ok(bytes)
    }

    pub(super) fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }
    pub(super) fn u16(&mut self, field: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    pub(super) fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    pub(super) fn i32(&mut self, field: &str) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }
    pub(super) fn u64(&mut self, field: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    pub(super) fn i64(&mut self, field: &str) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }
    pub(super) fn f64(&mut self, field: &str) -> Result<f64> {
        Ok(f64::from_bits(self.u64(field)?))
    }

    pub(super) fn str(&mut self, field: &str) -> Result<String> {
        let length = self.u32(field)? as usize;
        let bytes = self.take(length, field)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::corrupt(format!("{}: field {field} is not valid UTF-8", self.what)))
    }

    /// A count that is about to size an allocation: it must be coverable by the bytes
    /// left, given that each item takes at least `min_item_bytes`. This keeps a corrupt
    /// count from allocating gigabytes.
    pub(super) fn count(&mut self, field: &str, min_item_bytes: usize) -> Result<usize> {
        let n = self.u32(field)? as usize;
        if n.saturating_mul(min_item_bytes.max(1)) > self.remaining() {
            return Err(Error::corrupt(format!(
                "{}: field {field} = {n} items cannot fit in the {} bytes left",
                self.what,
                self.remaining()
            )));
        }
        Ok(n)
    }

    /// Fails if bytes are left over: every structure has an exact length.
    pub(super) fn finish(&self) -> Result<()> {
        if self.remaining() != 0 {
            return Err(Error::corrupt(format!(
                "{}: {} unexpected trailing bytes",
                self.what,
                self.remaining()
            )));
        }
        Ok(())
    }
}
