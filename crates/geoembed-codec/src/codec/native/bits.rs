//! Raw bits beside the rANS stream (the low bits of large residuals): packed LSB first
//! into 64-bit little-endian words.

pub struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    pub fn new() -> Self {
        BitWriter {
            out: Vec::new(),
            acc: 0,
            n: 0,
        }
    }

    #[inline(always)]
    pub fn put(&mut self, value: u32, bits: u32) {
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

    pub fn finish(mut self) -> Vec<u8> {
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

pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            acc: 0,
            n: 0,
        }
    }

    /// Reads `bits` (≤ 32) bits; past the end it yields zeros, and [`BitReader::overrun`]
    /// tells the caller the stream was too short.
    #[inline(always)]
    pub fn get(&mut self, bits: u32) -> u32 {
        if bits == 0 {
            return 0;
        }
        if self.n < bits {
            self.refill();
        }
        let v = (self.acc & ((1u64 << bits) - 1)) as u32;
        self.acc >>= bits;
        self.n -= bits;
        v
    }

    #[inline(always)]
    fn refill(&mut self) {
        while self.n <= 56 {
            let b = if self.pos < self.data.len() {
                self.data[self.pos]
            } else {
                0
            };
            self.pos += 1;
            self.acc |= (b as u64) << self.n;
            self.n += 8;
        }
    }

    /// Whether more bits were read than the stream holds.
    pub fn overrun(&self) -> bool {
        let consumed_bits = self.pos as u64 * 8 - self.n as u64;
        consumed_bits > self.data.len() as u64 * 8
    }
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
            assert_eq!(r.get(b), v);
        }
        assert!(!r.overrun());
        r.get(16);
        assert!(r.overrun());
    }
}
