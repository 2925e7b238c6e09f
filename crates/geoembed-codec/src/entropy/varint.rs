//! LEB128 varints and zigzag-signed varints: the side information (plans, tables, domains,
//! palettes) at the head of every payload. A [`Cursor`] knows which codec's payload it reads,
//! so a truncated float payload says `float:`, not `native:`.

use crate::error::{Error, Result};

pub(crate) fn put_u(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_i(out: &mut Vec<u8>, v: i64) {
    put_u(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Ascending positions as gaps (the first, then each minus the previous minus 1), the way
/// every list of exceptions in a payload stores them.
pub(crate) fn put_gaps(out: &mut Vec<u8>, positions: impl IntoIterator<Item = u64>) {
    let mut next = 0u64;
    for position in positions {
        put_u(out, position - next);
        next = position + 1;
    }
}

/// Reads varints from a slice, naming the field on failure.
pub(crate) struct Cursor<'a> {
    pub data: &'a [u8],
    pub pos: usize,
    /// The codec whose payload this is, prefixed to every error message.
    codec: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], codec: &'static str) -> Self {
        Cursor {
            data,
            pos: 0,
            codec,
        }
    }

    /// The codec name errors are prefixed with.
    pub(crate) fn codec(&self) -> &'static str {
        self.codec
    }

    pub(crate) fn u(&mut self, field: &str) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.data.get(self.pos).ok_or_else(|| {
                Error::truncated(format!("{}: payload ends inside {field}", self.codec))
            })?;
            self.pos += 1;
            value |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Error::corrupt(format!(
            "{}: varint too long in {field}",
            self.codec
        )))
    }

    pub(crate) fn i(&mut self, field: &str) -> Result<i64> {
        let zigzagged = self.u(field)?;
        Ok(((zigzagged >> 1) as i64) ^ -((zigzagged & 1) as i64))
    }

    /// An unsigned varint that must be at most `max`.
    pub(crate) fn bounded(&mut self, field: &str, max: u64) -> Result<u64> {
        let value = self.u(field)?;
        if value > max {
            return Err(Error::corrupt(format!(
                "{}: {field} = {value} exceeds {max}",
                self.codec
            )));
        }
        Ok(value)
    }

    /// A signed varint within `[-max, max]`.
    pub(crate) fn signed(&mut self, field: &str, max: i64) -> Result<i64> {
        let value = self.i(field)?;
        if value.unsigned_abs() > max.unsigned_abs() {
            return Err(Error::corrupt(format!(
                "{}: {field} = {value} out of range",
                self.codec
            )));
        }
        Ok(value)
    }

    pub(crate) fn bytes(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        if self.data.len() - self.pos < n {
            return Err(Error::truncated(format!(
                "{}: payload ends inside {field}",
                self.codec
            )));
        }
        let slice = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }
}
