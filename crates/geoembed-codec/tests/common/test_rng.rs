//! The one pseudo-random generator of the codec crate's tests, examples and fuzz seeds.
//!
//! Test data must be the same on every run and every machine, and the crate takes no
//! dependency just to make noise, so this is Marsaglia's 64-bit xorshift (shifts 13, 7, 17):
//! three lines, full period 2^64 − 1, plenty for texture and byte-flip positions. Each test
//! file, example, fuzz target and the crate's unit tests (lib.rs) include it with `#[path]`;
//! none needs all of it, hence the `dead_code` allowance.
#![allow(dead_code)]

/// A deterministic xorshift64 stream; the same seed always gives the same numbers.
pub struct TestRng {
    state: u64,
}

impl TestRng {
    /// A stream for `seed`. The seed is spread over all 64 bits (golden-ratio multiply) and
    /// made odd, so 0 and small neighbouring seeds give unrelated, non-degenerate streams.
    pub fn new(seed: u64) -> Self {
        TestRng {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// A number in `0..n` (`n > 0`; the modulo bias is irrelevant for test data).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// An index into a collection of `len > 0` items.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}
