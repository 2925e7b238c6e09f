//! Raw bits beside the rANS stream (the low bits of large residuals): packed LSB first
//! into 64-bit little-endian words.

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
    pub data: Vec<u8>,
    pub len: usize,
    pub pos: usize,
    pub acc: u64,
    pub n: u32,
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
            n: 0,
        }
    }

    /// Whether more bits were read than the stream holds.
    pub(crate) fn overrun(&self) -> bool {
        let consumed_bits = self.pos as u64 * 8 - self.n as u64;
        consumed_bits > self.len as u64 * 8
    }
}

/// Takes `bits` (at most 32) raw bits from a [`BitReader`]'s parts, refilling the
/// accumulator a word at a time. The hot decode loops keep the parts in local variables (so
/// they stay in registers across the rANS steps) and call this; `data` must carry the
/// reader's 8 bytes of padding. Reading past the end yields zeros, and
/// [`BitReader::overrun`] reports it afterwards.
#[inline(always)]
pub(crate) fn take_bits(
    data: &[u8],
    len: usize,
    acc: &mut u64,
    n: &mut u32,
    pos: &mut usize,
    bits: u32,
) -> u32 {
    if *n < 32 {
        let at = (*pos).min(len);
        *acc |= u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes of padding")) << *n;
        let bytes = (63 - *n) / 8;
        *pos += bytes as usize;
        *n += bytes * 8;
    }
    let v = (*acc & ((1u64 << bits) - 1)) as u32;
    *acc >>= bits;
    *n -= bits;
    v
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
        let mut take = |b| take_bits(&r.data, r.len, &mut r.acc, &mut r.n, &mut r.pos, b);
        for &(v, b) in &items {
            assert_eq!(take(b), v);
        }
        take(16);
        assert!(r.overrun());
    }
}
