//! Unsigned machine words of 1, 2, 4 or 8 bytes: what filters and predictors work on.
//! Samples become words through [`SampleType::to_word`], so every codec sees an unsigned
//! integer whose order follows the sample's numeric order.

use crate::sample::SampleType;

/// An unsigned word of 1, 2, 4 or 8 bytes (`u8`, `u16`, `u32`, `u64`).
pub trait Word: Copy + Default + Eq + Ord + Send + Sync + 'static {
    /// Bytes per word.
    const BYTES: usize;
    /// The low `BYTES` bytes of `v`.
    fn from_u64(v: u64) -> Self;
    /// The word, widened.
    fn to_u64(self) -> u64;
    /// Addition modulo 2^(8·BYTES).
    fn wrapping_add(self, o: Self) -> Self;
    /// Subtraction modulo 2^(8·BYTES).
    fn wrapping_sub(self, o: Self) -> Self;
    /// `floor((a + b) / 2)` without overflow (PNG's Average filter).
    fn average(a: Self, b: Self) -> Self;
    /// PNG's Paeth predictor evaluated on full-width words.
    fn paeth(a: Self, b: Self, c: Self) -> Self;
    /// |self| when the word is read as a two's-complement residual: the filter-choice
    /// heuristic's cost.
    fn signed_magnitude(self) -> u64;
    /// The word with every byte 0x80: cbloom's bias that keeps small residuals from
    /// toggling the high bytes.
    const BIAS: Self;
}

macro_rules! word {
    ($t:ty, $s:ty, $wide:ty) => {
        impl Word for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            const BIAS: Self = (0x8080_8080_8080_8080u64 as $t);
            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_u64(self) -> u64 {
                self as u64
            }
            #[inline(always)]
            fn wrapping_add(self, o: Self) -> Self {
                <$t>::wrapping_add(self, o)
            }
            #[inline(always)]
            fn wrapping_sub(self, o: Self) -> Self {
                <$t>::wrapping_sub(self, o)
            }
            #[inline(always)]
            fn average(a: Self, b: Self) -> Self {
                (a >> 1) + (b >> 1) + (a & b & 1)
            }
            #[inline(always)]
            fn paeth(a: Self, b: Self, c: Self) -> Self {
                let (wa, wb, wc) = (a as $wide, b as $wide, c as $wide);
                let p = wa + wb - wc;
                let pa = (p - wa).abs();
                let pb = (p - wb).abs();
                let pc = (p - wc).abs();
                if pa <= pb && pa <= pc {
                    a
                } else if pb <= pc {
                    b
                } else {
                    c
                }
            }
            #[inline(always)]
            fn signed_magnitude(self) -> u64 {
                (self as $s).unsigned_abs() as u64
            }
        }
    };
}

word!(u8, i8, i16);
word!(u16, i16, i32);
word!(u32, i32, i64);
word!(u64, i64, i128);

/// Loads little-endian samples as words.
pub(crate) fn load<W: Word>(ty: SampleType, bytes: &[u8]) -> Vec<W> {
    debug_assert_eq!(ty.size(), W::BYTES);
    let mut raw = [0u8; 8];
    bytes
        .chunks_exact(W::BYTES)
        .map(|c| {
            raw[..W::BYTES].copy_from_slice(c);
            W::from_u64(ty.to_word(u64::from_le_bytes(raw)))
        })
        .collect()
}

/// Stores words as little-endian samples, appending to `out`.
pub(crate) fn store<W: Word>(ty: SampleType, words: &[W], out: &mut Vec<u8>) {
    out.reserve(words.len() * W::BYTES);
    for &w in words {
        out.extend_from_slice(&ty.from_word(w.to_u64()).to_le_bytes()[..W::BYTES]);
    }
}

/// Byte de-interleave: word bytes split into planes, most significant byte plane first
/// (cbloom: bytes of like statistics next to each other help byte-oriented coders).
pub(crate) fn split_bytes<W: Word>(words: &[W], out: &mut Vec<u8>) {
    let count = words.len();
    let start = out.len();
    out.resize(start + count * W::BYTES, 0);
    let planes = &mut out[start..];
    for (i, w) in words.iter().enumerate() {
        let value = w.to_u64();
        for k in 0..W::BYTES {
            planes[(W::BYTES - 1 - k) * count + i] = (value >> (8 * k)) as u8;
        }
    }
}

/// Inverse of [`split_bytes`].
pub(crate) fn join_bytes<W: Word>(planes: &[u8], n: usize) -> Vec<W> {
    debug_assert_eq!(planes.len(), n * W::BYTES);
    (0..n)
        .map(|i| {
            let mut value = 0u64;
            for k in 0..W::BYTES {
                value |= (planes[(W::BYTES - 1 - k) * n + i] as u64) << (8 * k);
            }
            W::from_u64(value)
        })
        .collect()
}

/// Calls `$body` with `$W` bound to the word type of `$ty` (u8, u16, u32 or u64).
macro_rules! with_word {
    ($ty:expr, $W:ident => $body:expr) => {
        match $ty.size() {
            1 => {
                type $W = u8;
                $body
            }
            2 => {
                type $W = u16;
                $body
            }
            4 => {
                type $W = u32;
                $body
            }
            _ => {
                type $W = u64;
                $body
            }
        }
    };
}
pub(crate) use with_word;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paeth_matches_png_definition_on_bytes() {
        // PNG spec example values: p = a + b - c, nearest of a, b, c, ties a, b, c.
        assert_eq!(u8::paeth(10, 20, 15), 15);
        assert_eq!(u8::paeth(200, 100, 50), 200);
        assert_eq!(u8::paeth(0, 255, 255), 0);
        assert_eq!(u16::paeth(1000, 3000, 1000), 3000);
    }

    #[test]
    fn split_and_join_are_inverse() {
        let words: Vec<u32> = (0..1000u32).map(|i| i.wrapping_mul(2654435761)).collect();
        let mut planes = Vec::new();
        split_bytes(&words, &mut planes);
        assert_eq!(planes[0], (words[0] >> 24) as u8);
        assert_eq!(join_bytes::<u32>(&planes, words.len()), words);
    }
}
