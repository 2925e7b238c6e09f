//! Raw bits beside the rANS stream (the low bits of large residuals): packed LSB first
//! into 64-bit little-endian words. Hot decoding loops read them through a [`BitCursor`],
//! the reader's state held by value so it stays in registers.

use super::unloaded::{Fetch, Unloaded};
use crate::error::Result;

pub(crate) struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    pub(crate) fn new() -> Self {
        BitWriter {
            out: Vec::new(),
            acc: 0,
            n: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn put(&mut self, value: u32, bits: u32) {
        if bits == 0 {
            return;
        }
        self.acc |= (value as u64) << self.n;
        self.n += bits;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        while self.n > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        self.out
    }
}

impl Default for BitWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads the raw bits. The bytes are copied with 8 bytes of zero padding so a refill is one
/// unaligned 64-bit load.
pub(crate) struct BitReader {
    /// The bytes loaded so far (all of them unless the stream is read in chunks), then
    /// the padding.
    data: Vec<u8>,
    /// Bytes of `data` before the padding.
    len: usize,
    pos: usize,
    acc: u64,
    count: u32,
    /// Bytes of the stream dropped before `data[0]`, its whole length, and the part still
    /// in the file ([`BitReader::refill`]).
    dropped: usize,
    total: usize,
    rest: Unloaded,
}

impl BitReader {
    pub(crate) fn new(data: &[u8]) -> Self {
        let mut padded = Vec::with_capacity(data.len() + 8);
        padded.extend_from_slice(data);
        padded.extend_from_slice(&[0; 8]);
        BitReader {
            data: padded,
            len: data.len(),
            pos: 0,
            acc: 0,
            count: 0,
            dropped: 0,
            total: data.len(),
            rest: Unloaded::default(),
        }
    }

    /// Reads a stream of which `first` is loaded and `rest_len` bytes at `rest` are still
    /// in the file; [`BitReader::refill`] loads them as reading goes.
    pub(crate) fn in_chunks(first: &[u8], rest: Unloaded, rest_len: usize) -> Self {
        let mut reader = BitReader::new(first);
        reader.total += rest_len;
        reader.rest = rest;
        reader
    }

    /// Makes sure `need` more bytes are loaded (or the whole stream is), dropping the bytes
    /// already read.
    pub(crate) fn refill(&mut self, need: usize, fetch: &mut Fetch) -> Result<()> {
        // A refill of the accumulator reads 8 bytes from `pos`.
        while !self.rest.is_empty() && self.pos + need + 8 > self.len {
            let chunk = self.rest.take(4 * need, 1, fetch)?;
            let read = self.pos.min(self.len);
            self.data.truncate(self.len);
            self.data.drain(..read);
            self.dropped += read;
            self.pos -= read;
            self.data.extend_from_slice(&chunk);
            self.len = self.data.len();
            self.data.extend_from_slice(&[0; 8]);
        }
        Ok(())
    }

    /// Takes `bits` (at most 32) raw bits.
    #[inline(always)]
    pub(crate) fn take(&mut self, bits: u32) -> u32 {
        let (data, len) = (&self.data[..], self.len);
        take_bits(
            data,
            len,
            &mut self.acc,
            &mut self.count,
            &mut self.pos,
            bits,
        )
    }

    /// Whether more bits were read than the stream holds. Bytes left unread after the last
    /// bit are not an overrun, whether loaded or still in the file (a stream read whole
    /// and one read in chunks accept the same payloads).
    pub(crate) fn overrun(&self) -> bool {
        let consumed_bits = (self.dropped + self.pos) as u64 * 8 - self.count as u64;
        consumed_bits > self.total as u64 * 8
    }

    /// A copy of the reading state for a hot loop (see [`BitCursor`]).
    pub(crate) fn cursor(&self) -> BitCursor<'_> {
        BitCursor {
            data: &self.data,
            len: self.len,
            pos: self.pos,
            acc: self.acc,
            count: self.count,
        }
    }

    /// Continues where `cursor` (taken from this reader) stopped.
    pub(crate) fn resume(&mut self, position: BitPosition) {
        (self.pos, self.acc, self.count) = (position.pos, position.acc, position.count);
    }
}

/// A [`BitReader`]'s state held by value in a hot decoding loop, so that it stays in
/// registers across the rANS steps instead of being reloaded through a reference; handed
/// back with [`BitReader::resume`] once per row.
pub(crate) struct BitCursor<'a> {
    data: &'a [u8],
    len: usize,
    pos: usize,
    acc: u64,
    count: u32,
}

/// Where a [`BitCursor`] stopped.
pub(crate) struct BitPosition {
    pos: usize,
    acc: u64,
    count: u32,
}

impl BitCursor<'_> {
    /// Takes `bits` (at most 32) raw bits.
    #[inline(always)]
    pub(crate) fn take(&mut self, bits: u32) -> u32 {
        take_bits(
            self.data,
            self.len,
            &mut self.acc,
            &mut self.count,
            &mut self.pos,
            bits,
        )
    }

    /// Where reading stopped.
    pub(crate) fn position(&self) -> BitPosition {
        BitPosition {
            pos: self.pos,
            acc: self.acc,
            count: self.count,
        }
    }
}

/// Takes `bits` (at most 32) raw bits from a reader's parts, refilling the accumulator a
/// word at a time; `data` must carry the reader's 8 bytes of padding. Reading past the end
/// yields zeros, and [`BitReader::overrun`] reports it afterwards.
#[inline(always)]
fn take_bits(
    data: &[u8],
    len: usize,
    acc: &mut u64,
    count: &mut u32,
    pos: &mut usize,
    bits: u32,
) -> u32 {
    if *count < 32 {
        let at = (*pos).min(len);
        *acc |=
            u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes of padding")) << *count;
        let bytes = (63 - *count) / 8;
        *pos += bytes as usize;
        *count += bytes * 8;
    }
    let value = (*acc & ((1u64 << bits) - 1)) as u32;
    *acc >>= bits;
    *count -= bits;
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let mut w = BitWriter::new();
        let items: Vec<(u32, u32)> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2654435761) & ((1 << (i % 17)) - 1), i % 17))
            .collect();
        for &(v, b) in &items {
            w.put(v, b);
        }
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        for &(v, b) in &items {
            assert_eq!(r.take(b), v);
        }
        r.take(16);
        assert!(r.overrun());
    }
}
