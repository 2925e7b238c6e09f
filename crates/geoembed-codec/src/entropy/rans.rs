//! Static rANS with 11-bit probabilities and 16-bit renormalisation (after Duda's ANS and
//! Giesen's public-domain ryg_rans). One state per row segment ("lane"): the segments of a
//! row are decoded in lockstep, so their state updates are independent chains a CPU overlaps.
//!
//! The encoder works backwards: symbols are pushed in reverse order and the word stream is
//! reversed at the end, so the decoder reads forwards.

use super::unloaded::{Fetch, Unloaded};
use crate::error::{Error, Result};

pub(crate) const PROB_BITS: u32 = 11;
pub(crate) const PROB_SCALE: u32 = 1 << PROB_BITS;
const RANS_L: u32 = 1 << 16;

/// One symbol's frequency and cumulative start, in units of 2^-PROB_BITS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SymbolRange {
    pub start: u16,
    pub freq: u16,
}

/// `x / freq` for any `x < 2^32` as a multiplication: with `m = ceil(2^43 / freq)` the
/// error of `x·m / 2^43` is below `2^-11 <= 1/freq`, too little to reach the next integer.
#[inline(always)]
pub(crate) fn reciprocal(freq: u16) -> u64 {
    (1u64 << 43).div_ceil(freq.max(1) as u64)
}

#[inline(always)]
fn div(x: u32, rcp: u64) -> u32 {
    ((x as u128 * rcp as u128) >> 43) as u32
}

/// Encodes symbols given their ranges, last symbol first.
pub(crate) struct Encoder {
    states: Vec<u32>,
    words: Vec<u16>,
}

impl Encoder {
    /// An encoder with `lanes` independent states (the decoder interleaves them).
    pub(crate) fn new(lanes: usize) -> Self {
        Encoder {
            states: vec![RANS_L; lanes],
            words: Vec::new(),
        }
    }

    /// Puts a symbol on state `lane`. Symbols are put in the reverse of decoding order.
    /// `rcp` is [`reciprocal`]`(r.freq)`.
    #[inline]
    pub(crate) fn put(&mut self, r: SymbolRange, rcp: u64, lane: usize) {
        debug_assert!(r.freq > 0, "a coded symbol needs a non-zero frequency");
        let s = &mut self.states[lane];
        let freq = r.freq as u32;
        // Largest state that stays below 2^32 after the update.
        let x_max = ((RANS_L >> PROB_BITS) << 16) as u64 * freq as u64;
        if *s as u64 >= x_max {
            self.words.push(*s as u16);
            *s >>= 16;
        }
        let quotient = div(*s, rcp);
        *s = (quotient << PROB_BITS) + (*s - quotient * freq) + r.start as u32;
    }

    /// Finishes the stream: it starts with every state (high then low half), lane 0 first.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        // Reversed below, so push the last lane first, low half before high.
        for s in self.states.iter().rev() {
            self.words.push(*s as u16);
            self.words.push((*s >> 16) as u16);
        }
        self.words.reverse();
        let mut out = Vec::with_capacity(self.words.len() * 2);
        for w in self.words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// Decodes the symbols of one stream in order. The stream is copied into 16-bit words with
/// zero padding, so renormalisation can read the next word unconditionally and choose it
/// with a conditional move instead of an unpredictable branch.
pub(crate) struct Decoder {
    pub states: Vec<u32>,
    /// The stream's words loaded so far (all of them unless it is read in chunks), then
    /// the zero padding.
    pub words: Vec<u16>,
    /// Index of the next word to read.
    pub pos: usize,
    /// Words of `words` before the padding.
    len: usize,
    /// The rest of the stream, for a stream read in chunks ([`Decoder::refill`]).
    rest: Unloaded,
    /// The codec whose stream this is, prefixed to error messages.
    codec: &'static str,
}

impl Decoder {
    /// Starts decoding `lanes` interleaved states from `data`, a stream of `codec`'s payload.
    pub(crate) fn new(data: &[u8], lanes: usize, codec: &'static str) -> Result<Self> {
        if data.len() < 4 * lanes || !data.len().is_multiple_of(2) {
            return Err(Error::corrupt(format!(
                "{codec}: rANS stream is shorter than its initial states"
            )));
        }
        let mut words: Vec<u16> = data
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        let len = words.len();
        words.extend_from_slice(&[0; 2]);
        let states: Vec<u32> = (0..lanes)
            .map(|l| (words[2 * l] as u32) << 16 | words[2 * l + 1] as u32)
            .collect();
        if states.iter().any(|&s| s < RANS_L) {
            return Err(Error::corrupt(format!(
                "{codec}: rANS initial state out of range"
            )));
        }
        Ok(Decoder {
            states,
            words,
            pos: 2 * lanes,
            len,
            rest: Unloaded::default(),
            codec,
        })
    }

    /// Starts decoding a stream of which `first` is loaded (at least the initial states)
    /// and `rest` is still in the file; [`Decoder::refill`] loads it as decoding goes.
    pub(crate) fn in_chunks(
        first: &[u8],
        rest: Unloaded,
        lanes: usize,
        codec: &'static str,
    ) -> Result<Self> {
        if !(first.len() + rest.len()).is_multiple_of(2) {
            return Err(Error::corrupt(format!(
                "{codec}: rANS stream is shorter than its initial states"
            )));
        }
        let mut decoder = Decoder::new(first, lanes, codec)?;
        decoder.rest = rest;
        Ok(decoder)
    }

    /// Makes sure `need` more words are loaded (or the whole stream is), dropping the words
    /// already read.
    pub(crate) fn refill(&mut self, need: usize, fetch: &mut Fetch) -> Result<()> {
        while !self.rest.is_empty() && self.pos + need > self.len {
            let chunk = self.rest.take(4 * need, 2, fetch)?;
            let read = self.pos.min(self.len);
            self.words.truncate(self.len);
            self.words.drain(..read);
            self.pos -= read;
            let words = chunk
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]));
            self.words.extend(words);
            self.len = self.words.len();
            self.words.extend_from_slice(&[0; 2]);
        }
        Ok(())
    }

    /// After the last symbol the state returns to its initial value and every word has been
    /// read: anything else means the stream was corrupt.
    pub(crate) fn finish(&self) -> Result<()> {
        let ended = self.pos == self.len && self.rest.is_empty();
        if self.states.iter().any(|&s| s != RANS_L) || !ended {
            return Err(Error::corrupt(format!(
                "{}: rANS stream did not end where its symbols did",
                self.codec
            )));
        }
        Ok(())
    }
}

/// One decoding step on a state held in registers: returns (symbol, state, position). The
/// table holds packed slot entries: symbol | start << 8 | (freq − 1) << 20. Reading past the
/// end yields zeros; [`Decoder::finish`] reports that as corrupt.
#[inline(always)]
pub(crate) fn step(
    state: u32,
    pos: usize,
    words: &[u16],
    slots: &[u32; PROB_SCALE as usize],
) -> (u32, u32, usize) {
    let slot = state & (PROB_SCALE - 1);
    let entry = slots[slot as usize];
    let start = (entry >> 8) & (PROB_SCALE - 1);
    let freq = (entry >> 20) + 1;
    let next_state = freq * (state >> PROB_BITS) + slot - start;
    let next = words.get(pos).copied().unwrap_or(0) as u32;
    let need = next_state < RANS_L;
    let next_state = if need {
        (next_state << 16) | next
    } else {
        next_state
    };
    (entry & 0xff, next_state, pos + need as usize)
}

/// Normalises symbol counts to frequencies summing to [`PROB_SCALE`], every used symbol
/// keeping at least 1. Returns all zeros if no symbol was used.
pub(crate) fn normalize(counts: &[u64]) -> Vec<u16> {
    let total: u64 = counts.iter().sum();
    let mut freqs = vec![0u32; counts.len()];
    if total == 0 {
        return vec![0; counts.len()];
    }
    let mut sum = 0u32;
    for (i, &c) in counts.iter().enumerate() {
        if c > 0 {
            freqs[i] = ((c as u128 * PROB_SCALE as u128 / total as u128) as u32).max(1);
            sum += freqs[i];
        }
    }
    // Fix the total by adjusting the symbols where it costs least: take from (or give to)
    // the most frequent symbols, never below 1.
    while sum != PROB_SCALE {
        let mut best = usize::MAX;
        let mut best_cost = f64::INFINITY;
        for i in 0..freqs.len() {
            if counts[i] == 0 {
                continue;
            }
            let cost = if sum > PROB_SCALE {
                if freqs[i] <= 1 {
                    continue;
                }
                counts[i] as f64 * ((freqs[i] as f64) / (freqs[i] as f64 - 1.0)).log2()
            } else {
                -(counts[i] as f64 * ((freqs[i] as f64 + 1.0) / freqs[i] as f64).log2())
            };
            if cost < best_cost {
                best_cost = cost;
                best = i;
            }
        }
        if sum > PROB_SCALE {
            freqs[best] -= 1;
            sum -= 1;
        } else {
            freqs[best] += 1;
            sum += 1;
        }
    }
    freqs.into_iter().map(|v| v as u16).collect()
}

/// Cumulative ranges from frequencies.
pub(crate) fn ranges(freqs: &[u16]) -> Vec<SymbolRange> {
    let mut start = 0u32;
    freqs
        .iter()
        .map(|&f| {
            let range = SymbolRange {
                start: start as u16,
                freq: f,
            };
            start += f as u32;
            range
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_skewed_and_degenerate_tables() {
        let counts = [1000u64, 300, 50, 7, 1, 0, 2];
        let freqs = normalize(&counts);
        assert_eq!(freqs.iter().map(|&v| v as u32).sum::<u32>(), PROB_SCALE);
        assert!(freqs
            .iter()
            .zip(&counts)
            .all(|(&fi, &c)| (fi == 0) == (c == 0)));
        let symbol_ranges = ranges(&freqs);
        let mut slot_to_sym = vec![0u8; PROB_SCALE as usize];
        for (s, rg) in symbol_ranges.iter().enumerate() {
            for k in rg.start..rg.start + rg.freq {
                slot_to_sym[k as usize] = s as u8;
            }
        }
        let mut seed = 12345u64;
        let syms: Vec<usize> = (0..20_001)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                [0, 0, 0, 1, 1, 2, 3, 4, 6, 0][(seed >> 60) as usize % 10]
            })
            .collect();
        let mut encoder = Encoder::new(2);
        for (i, &s) in syms.iter().enumerate().rev() {
            encoder.put(symbol_ranges[s], reciprocal(symbol_ranges[s].freq), i % 2);
        }
        let bytes = encoder.finish();
        let packed: Vec<u32> = slot_to_sym
            .iter()
            .map(|&s| {
                s as u32
                    | (symbol_ranges[s as usize].start as u32) << 8
                    | (symbol_ranges[s as usize].freq as u32 - 1) << 20
            })
            .collect();
        let packed: &[u32; PROB_SCALE as usize] = packed.as_slice().try_into().unwrap();
        let mut decoder = Decoder::new(&bytes, 2, "test").unwrap();
        for (i, &s) in syms.iter().enumerate() {
            let (sym, next_state, pos) =
                step(decoder.states[i % 2], decoder.pos, &decoder.words, packed);
            decoder.states[i % 2] = next_state;
            decoder.pos = pos;
            assert_eq!(sym as usize, s);
        }
        decoder.finish().unwrap();

        // A table with one certain symbol costs nothing per symbol.
        let one = ranges(&normalize(&[0, 5]));
        let mut encoder = Encoder::new(1);
        for _ in 0..1000 {
            encoder.put(one[1], reciprocal(one[1].freq), 0);
        }
        assert_eq!(encoder.finish().len(), 4);
    }

    #[test]
    fn reciprocal_division_is_exact() {
        let mut seed = 0x9E37_79B9u32;
        for f in 1..=PROB_SCALE as u16 {
            let rcp = reciprocal(f);
            for v in [
                0,
                1,
                f as u32 - 1,
                f as u32,
                u32::MAX,
                u32::MAX - 1,
                u32::MAX - f as u32,
            ] {
                assert_eq!(div(v, rcp), v / f as u32, "{v} / {f}");
            }
            for _ in 0..200 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                assert_eq!(div(seed, rcp), seed / f as u32, "{seed} / {f}");
            }
        }
    }
}
