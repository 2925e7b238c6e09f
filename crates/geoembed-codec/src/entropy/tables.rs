//! Per-context frequency tables of the residual tokens: built by the encoder from the tile's
//! own statistics, stored in the payload, expanded by the decoder into one packed lookup
//! entry per slot (symbol, start, frequency), so decoding a symbol is a single load.

use super::rans::{self, SymbolRange, PROB_SCALE};
use super::varint::{put_u, Cursor};
use crate::error::{Error, Result};

/// Marks slots of contexts that have no table: decodes to an out-of-alphabet symbol.
const UNUSED: u32 = 0xff;

pub(crate) struct Tables {
    /// Symbol ranges, `alphabet` per context (encoder side).
    pub ranges: Vec<SymbolRange>,
    /// `rans::reciprocal` of every range's frequency (encoder side).
    pub reciprocals: Vec<u64>,
    pub alphabet: usize,
    /// Per context, one packed entry per slot: symbol | start << 8 | (freq − 1) << 20.
    pub slots: Vec<[u32; PROB_SCALE as usize]>,
}

impl Tables {
    /// Normalises token counts (`counts[ctx][token]`) into tables.
    pub(crate) fn from_counts(counts: &[Vec<u64>]) -> (Tables, Vec<Vec<u16>>) {
        let freqs: Vec<Vec<u16>> = counts.iter().map(|c| rans::normalize(c)).collect();
        (Self::from_freqs(&freqs), freqs)
    }

    fn from_freqs(freqs: &[Vec<u16>]) -> Tables {
        let alphabet = freqs.first().map_or(0, |f| f.len());
        let mut ranges = Vec::with_capacity(freqs.len() * alphabet);
        let mut slots = vec![[UNUSED; PROB_SCALE as usize]; freqs.len()];
        for (ctx, f) in freqs.iter().enumerate() {
            let symbol_ranges = rans::ranges(f);
            if f.iter().any(|&v| v != 0) {
                for (sym, rg) in symbol_ranges.iter().enumerate() {
                    let entry = sym as u32
                        | (rg.start as u32) << 8
                        | (rg.freq as u32).saturating_sub(1) << 20;
                    slots[ctx][rg.start as usize..rg.start as usize + rg.freq as usize].fill(entry);
                }
            }
            ranges.extend(symbol_ranges);
        }
        let reciprocals = ranges
            .iter()
            .map(|symbol_ranges| rans::reciprocal(symbol_ranges.freq))
            .collect();
        Tables {
            ranges,
            reciprocals,
            alphabet,
            slots,
        }
    }

    #[inline(always)]
    pub(crate) fn range(&self, ctx: usize, sym: usize) -> (SymbolRange, u64) {
        let index = ctx * self.alphabet + sym;
        (self.ranges[index], self.reciprocals[index])
    }

    /// Writes the frequencies: per context the number of symbols up to the last used one,
    /// then each frequency.
    pub(crate) fn write(freqs: &[Vec<u16>], out: &mut Vec<u8>) {
        for f in freqs {
            let stored = f.iter().rposition(|&v| v != 0).map_or(0, |i| i + 1);
            put_u(out, stored as u64);
            f[..stored].iter().for_each(|&v| put_u(out, v as u64));
        }
    }

    pub(crate) fn read(r: &mut Cursor, contexts: usize, alphabet: usize) -> Result<Tables> {
        let mut freqs = Vec::with_capacity(contexts);
        for ctx in 0..contexts {
            let stored = r.bounded("table size", alphabet as u64)? as usize;
            let mut f = vec![0u16; alphabet];
            let mut sum = 0u32;
            for v in f.iter_mut().take(stored) {
                *v = r.bounded("frequency", PROB_SCALE as u64)? as u16;
                sum += *v as u32;
            }
            if stored > 0 && sum != PROB_SCALE {
                return Err(Error::corrupt(format!(
                    "{}: context {ctx} frequencies sum to {sum}, not {PROB_SCALE}",
                    r.codec()
                )));
            }
            freqs.push(f);
        }
        Ok(Self::from_freqs(&freqs))
    }
}
