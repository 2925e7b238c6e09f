//! Static rANS with 12-bit probabilities, two interleaved states and 16-bit renormalisation
//! (after Duda's ANS and Giesen's public-domain ryg_rans). Two states let the decoder
//! overlap the latency of consecutive symbols, which is where a single-state decoder
//! spends its time.
//!
//! The encoder works backwards: symbols are pushed in reverse order and the word stream is
//! reversed at the end, so the decoder reads forwards.

use crate::error::{Error, Result};

pub const PROB_BITS: u32 = 12;
pub const PROB_SCALE: u32 = 1 << PROB_BITS;
const RANS_L: u32 = 1 << 16;

/// One symbol's frequency and cumulative start, in units of 2^-PROB_BITS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SymbolRange {
    pub start: u16,
    pub freq: u16,
}

/// Encodes symbols given their ranges, last symbol first.
pub struct Encoder {
    states: [u32; 2],
    words: Vec<u16>,
    count: usize,
}

impl Encoder {
    /// `total` is the number of symbols that will be put (it fixes which state each uses).
    pub fn new(total: usize) -> Self {
        Encoder {
            states: [RANS_L; 2],
            words: Vec::new(),
            count: total,
        }
    }

    /// Puts the symbol with index `count - 1`, then `count - 2`, ...
    #[inline]
    pub fn put(&mut self, r: SymbolRange) {
        debug_assert!(r.freq > 0, "a coded symbol needs a non-zero frequency");
        self.count -= 1;
        let s = &mut self.states[self.count & 1];
        let freq = r.freq as u32;
        // Largest state that stays below 2^32 after the update.
        let x_max = (((RANS_L >> PROB_BITS) << 16) as u64 * freq as u64) as u64;
        if *s as u64 >= x_max {
            self.words.push(*s as u16);
            *s >>= 16;
        }
        *s = ((*s / freq) << PROB_BITS) + (*s % freq) + r.start as u32;
    }

    /// Finishes the stream: the decoder's first words are the two final states.
    pub fn finish(mut self) -> Vec<u8> {
        debug_assert_eq!(self.count, 0, "every announced symbol was put");
        // Reversed below, so push low then high, state 1 before state 0: the stream then
        // starts with state 0 high, state 0 low, state 1 high, state 1 low.
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

/// Decodes the symbols of one stream in order.
pub struct Decoder<'a> {
    states: [u32; 2],
    data: &'a [u8],
    pos: usize,
    index: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(data: &'a [u8]) -> Result<Self> {
        if data.len() < 8 || data.len() % 2 != 0 {
            return Err(Error::corrupt(
                "native: rANS stream is shorter than its initial states",
            ));
        }
        let w = |i: usize| u16::from_le_bytes([data[2 * i], data[2 * i + 1]]) as u32;
        let states = [(w(0) << 16) | w(1), (w(2) << 16) | w(3)];
        if states.iter().any(|s| *s < RANS_L) {
            return Err(Error::corrupt("native: rANS initial state out of range"));
        }
        Ok(Decoder {
            states,
            data,
            pos: 8,
            index: 0,
        })
    }

    /// The current slot (in `0..PROB_SCALE`) of the next symbol's state.
    #[inline(always)]
    pub fn peek(&self) -> u32 {
        self.states[self.index & 1] & (PROB_SCALE - 1)
    }

    /// Consumes the symbol whose range contains the slot returned by [`Decoder::peek`].
    #[inline(always)]
    pub fn advance(&mut self, r: SymbolRange) {
        let s = &mut self.states[self.index & 1];
        let slot = *s & (PROB_SCALE - 1);
        *s = r.freq as u32 * (*s >> PROB_BITS) + slot - r.start as u32;
        if *s < RANS_L {
            // Reading past the end yields zeros; the final check catches corrupt streams.
            let w = if self.pos + 1 < self.data.len() {
                u16::from_le_bytes([self.data[self.pos], self.data[self.pos + 1]]) as u32
            } else {
                0
            };
            self.pos += 2;
            *s = (*s << 16) | w;
        }
        self.index += 1;
    }

    /// After the last symbol the states return to their initial value and every word has
    /// been read: anything else means the stream was corrupt.
    pub fn finish(self) -> Result<()> {
        if self.states != [RANS_L; 2] || self.pos != self.data.len() {
            return Err(Error::corrupt(
                "native: rANS stream did not end where its symbols did",
            ));
        }
        Ok(())
    }
}

/// Normalises symbol counts to frequencies summing to [`PROB_SCALE`], every used symbol
/// keeping at least 1. Returns all zeros if no symbol was used.
pub fn normalize(counts: &[u64]) -> Vec<u16> {
    let total: u64 = counts.iter().sum();
    let mut f = vec![0u32; counts.len()];
    if total == 0 {
        return vec![0; counts.len()];
    }
    let mut sum = 0u32;
    for (i, &c) in counts.iter().enumerate() {
        if c > 0 {
            f[i] = ((c as u128 * PROB_SCALE as u128 / total as u128) as u32).max(1);
            sum += f[i];
        }
    }
    // Fix the total by adjusting the symbols where it costs least: take from (or give to)
    // the most frequent symbols, never below 1.
    while sum != PROB_SCALE {
        let mut best = usize::MAX;
        let mut best_cost = f64::INFINITY;
        for i in 0..f.len() {
            if counts[i] == 0 {
                continue;
            }
            let cost = if sum > PROB_SCALE {
                if f[i] <= 1 {
                    continue;
                }
                counts[i] as f64 * ((f[i] as f64) / (f[i] as f64 - 1.0)).log2()
            } else {
                -(counts[i] as f64 * ((f[i] as f64 + 1.0) / f[i] as f64).log2())
            };
            if cost < best_cost {
                best_cost = cost;
                best = i;
            }
        }
        if sum > PROB_SCALE {
            f[best] -= 1;
            sum -= 1;
        } else {
            f[best] += 1;
            sum += 1;
        }
    }
    f.into_iter().map(|v| v as u16).collect()
}

/// Cumulative ranges from frequencies.
pub fn ranges(freqs: &[u16]) -> Vec<SymbolRange> {
    let mut start = 0u32;
    freqs
        .iter()
        .map(|&f| {
            let r = SymbolRange {
                start: start as u16,
                freq: f,
            };
            start += f as u32;
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_skewed_and_degenerate_tables() {
        let counts = [1000u64, 300, 50, 7, 1, 0, 2];
        let f = normalize(&counts);
        assert_eq!(f.iter().map(|&v| v as u32).sum::<u32>(), PROB_SCALE);
        assert!(f.iter().zip(&counts).all(|(&fi, &c)| (fi == 0) == (c == 0)));
        let r = ranges(&f);
        let mut slot_to_sym = vec![0u8; PROB_SCALE as usize];
        for (s, rg) in r.iter().enumerate() {
            for k in rg.start..rg.start + rg.freq {
                slot_to_sym[k as usize] = s as u8;
            }
        }
        let mut x = 12345u64;
        let syms: Vec<usize> = (0..20_001)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                [0, 0, 0, 1, 1, 2, 3, 4, 6, 0][(x >> 60) as usize % 10]
            })
            .collect();
        let mut e = Encoder::new(syms.len());
        for &s in syms.iter().rev() {
            e.put(r[s]);
        }
        let bytes = e.finish();
        let mut d = Decoder::new(&bytes).unwrap();
        for &s in &syms {
            let got = slot_to_sym[d.peek() as usize] as usize;
            assert_eq!(got, s);
            d.advance(r[got]);
        }
        d.finish().unwrap();

        // A table with one certain symbol costs nothing per symbol.
        let one = ranges(&normalize(&[0, 5]));
        let mut e = Encoder::new(1000);
        for _ in 0..1000 {
            e.put(one[1]);
        }
        assert_eq!(e.finish().len(), 8);
    }
}
