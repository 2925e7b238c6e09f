//! A fast keyed hash for the encoder's hash maps (whole-pixel vectors, distinct float
//! values). The standard library's SipHash cost 2-3% of the native encoder's time hashing
//! every 128-byte pixel of a tile; this one mixes eight bytes per multiply. Its key comes
//! from the standard library's per-process random state, so a crafted raster cannot aim for
//! collisions (hash-flooding) any more easily than against SipHash's default maps.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// A `HashMap` hashed with [`WordHasher`].
pub(crate) type WordHashMap<K, V> = HashMap<K, V, WordHashState>;

/// Builds [`WordHasher`]s sharing one random key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WordHashState {
    key: u64,
}

impl Default for WordHashState {
    fn default() -> Self {
        // Any value hashed by a fresh RandomState is a per-process random number.
        let key = RandomState::new().hash_one(0x6765_6f65_6d62_u64) | 1;
        WordHashState { key }
    }
}

impl BuildHasher for WordHashState {
    type Hasher = WordHasher;

    fn build_hasher(&self) -> WordHasher {
        WordHasher { state: self.key }
    }
}

/// Folds input eight bytes at a time: `state = mix(state ^ word)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WordHasher {
    state: u64,
}

impl WordHasher {
    #[inline]
    fn absorb(&mut self, word: u64) {
        // A 64x64 -> 128-bit multiply folded to 64 bits (the "folded multiply" of wyhash
        // and foldhash): every input bit reaches every output bit in one step.
        let product = u128::from(self.state ^ word) * 0x9e37_79b9_7f4a_7c15_u128;
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.absorb(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut last = [0u8; 8];
            last[..tail.len()].copy_from_slice(tail);
            // The length keeps "ab" and "ab\0" apart.
            self.absorb(u64::from_le_bytes(last) ^ ((tail.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.absorb(value);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // One more round so the last word's high bits reach the low bits hashbrown uses.
        let product = u128::from(self.state) * 0xd6e8_feb8_6659_fd93_u128;
        (product as u64) ^ ((product >> 64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_inputs_hash_equal_and_nearby_inputs_differ() {
        let state = WordHashState::default();
        let pixel: Vec<u8> = (0..128u8).collect();
        assert_eq!(
            state.hash_one(&pixel[..]),
            state.hash_one(pixel.clone().as_slice())
        );
        let mut other = pixel.clone();
        other[127] ^= 1;
        assert_ne!(state.hash_one(&pixel[..]), state.hash_one(&other[..]));
        assert_ne!(state.hash_one(&b"ab"[..]), state.hash_one(&b"ab\0"[..]));
        assert_ne!(state.hash_one(1u64), state.hash_one(2u64));
    }

    #[test]
    fn a_map_of_pixels_finds_what_it_holds() {
        let mut map: WordHashMap<Vec<u8>, usize> = WordHashMap::default();
        for n in 0..10_000usize {
            map.insert(n.to_le_bytes().repeat(3), n);
        }
        assert!((0..10_000usize).all(|n| map[&n.to_le_bytes().repeat(3)] == n));
    }
}
