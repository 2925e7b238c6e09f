//! Per-context frequency tables of the residual tokens: built by the encoder from the tile's
//! own statistics, stored in the payload, expanded by the decoder into slot lookups.

use super::rans::{self, SymbolRange, PROB_SCALE};
use super::varint::{put_u, Cursor};
use crate::error::{Error, Result};

pub struct Tables {
    /// Per context: symbol ranges (empty for unused contexts).
    pub ranges: Vec<Vec<SymbolRange>>,
    /// Per context: slot → symbol, `PROB_SCALE` entries (empty for unused contexts).
    pub slots: Vec<Vec<u8>>,
}

impl Tables {
    /// Normalises token counts (`counts[ctx][token]`) into tables.
    pub fn from_counts(counts: &[Vec<u64>]) -> (Tables, Vec<Vec<u16>>) {
        let freqs: Vec<Vec<u16>> = counts.iter().map(|c| rans::normalize(c)).collect();
        (Self::from_freqs(&freqs), freqs)
    }

    fn from_freqs(freqs: &[Vec<u16>]) -> Tables {
        let mut ranges = Vec::with_capacity(freqs.len());
        let mut slots = Vec::with_capacity(freqs.len());
        for f in freqs {
            if f.iter().all(|&v| v == 0) {
                ranges.push(Vec::new());
                slots.push(Vec::new());
                continue;
            }
            let r = rans::ranges(f);
            let mut s = vec![0u8; PROB_SCALE as usize];
            for (sym, rg) in r.iter().enumerate() {
                s[rg.start as usize..rg.start as usize + rg.freq as usize].fill(sym as u8);
            }
            ranges.push(r);
            slots.push(s);
        }
        Tables { ranges, slots }
    }

    /// Writes the frequencies: per context the number of symbols up to the last used one,
    /// then each frequency.
    pub fn write(freqs: &[Vec<u16>], out: &mut Vec<u8>) {
        for f in freqs {
            let n = f.iter().rposition(|&v| v != 0).map_or(0, |i| i + 1);
            put_u(out, n as u64);
            f[..n].iter().for_each(|&v| put_u(out, v as u64));
        }
    }

    pub fn read(r: &mut Cursor, contexts: usize, alphabet: usize) -> Result<Tables> {
        let mut freqs = Vec::with_capacity(contexts);
        for ctx in 0..contexts {
            let n = r.bounded("table size", alphabet as u64)? as usize;
            let mut f = vec![0u16; alphabet];
            let mut sum = 0u32;
            for v in f.iter_mut().take(n) {
                *v = r.bounded("frequency", PROB_SCALE as u64)? as u16;
                sum += *v as u32;
            }
            if n > 0 && sum != PROB_SCALE {
                return Err(Error::corrupt(format!(
                    "native: context {ctx} frequencies sum to {sum}, not {PROB_SCALE}"
                )));
            }
            freqs.push(f);
        }
        Ok(Self::from_freqs(&freqs))
    }
}
