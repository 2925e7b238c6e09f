//! Context-modelled coding of 64-bit residuals, shared by every band of a tile.
//!
//! A zigzagged residual becomes a token plus raw low bits (`entropy::tokens::wide`: the
//! native codec's hybrid uint for up to 64-bit values). The token is coded with static rANS
//! (the native codec's coder and tables) in one of up to 16 contexts chosen from the
//! "activity": the bit lengths of the residuals already decoded at W, N, NW, NE and at the
//! same pixel of the previous band. The encoder picks the number of contexts and their
//! activity thresholds that make the tile smallest, tables included: quantiles, or the
//! optimal partition of the activities (`optimal_thresholds`).

use crate::entropy::bits::{BitReader, BitWriter};
use crate::entropy::partition;
use crate::entropy::rans::{self, PROB_SCALE};
use crate::entropy::tables::Tables;
use crate::entropy::tokens::wide::{split as token, ALPHABET, TOKENS};
use crate::entropy::varint::{put_u, Cursor};
use crate::error::{Error, Result};

/// Activities run from 0 to 8·64.
pub(super) const ACTIVITIES: usize = 513;
const MAX_CONTEXTS: usize = 16;

/// Bit length of a zigzagged residual (0 for 0).
#[inline(always)]
pub(super) fn bit_len(u: u64) -> u8 {
    (64 - u.leading_zeros()) as u8
}

#[inline(always)]
pub(super) fn activity(w: u8, n: u8, nw: u8, ne: u8, b: u8) -> usize {
    2 * w as usize + 2 * n as usize + nw as usize + ne as usize + 2 * b as usize
}

/// Context of every activity, from ascending thresholds.
fn lut(thresholds: &[u16]) -> Vec<u8> {
    (0..ACTIVITIES)
        .map(|a| thresholds.iter().filter(|&&t| t as usize <= a).count() as u8)
        .collect()
}

/// Thresholds splitting the activity histogram into about `k` equally filled contexts.
fn quantile_thresholds(hist: &[u64], k: usize) -> Vec<u16> {
    let total: u64 = hist.iter().sum();
    let mut thresholds = Vec::new();
    let mut acc = 0u64;
    let mut next = 1;
    for (a, &h) in hist.iter().enumerate() {
        acc += h;
        while next < k && acc * k as u64 >= next as u64 * total {
            if a + 1 < ACTIVITIES && thresholds.last() != Some(&((a + 1) as u16)) {
                thresholds.push((a + 1) as u16);
            }
            next += 1;
        }
    }
    thresholds
}

/// A context's coded bits: its tokens' entropy and its table.
fn entropy_bits(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let total_f = total as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| -(c as f64) * (c as f64 / total_f).log2())
        .sum::<f64>()
        + table_bits(counts.iter().rposition(|&c| c > 0).map_or(0, |i| i + 1))
}

/// A context's table of `symbols` symbols (up to the last one used): about 1.5 bytes each.
fn table_bits(symbols: usize) -> f64 {
    12.0 * (symbols as f64 + 1.0)
}

/// Activity cells the optimal partition works on: the activities cut into about this many
/// equally filled runs. Against 64 cells: tmmx -0.13%, ERA5 interpolated -0.56%, at no
/// measurable cost in time; every activity its own cell (512) gained at most 0.03% more.
const CELLS: usize = 256;

/// [`entropy_bits`] of a run of cells, from its summary.
fn run_bits(run: &partition::RunCounts) -> f64 {
    if run.total == 0 {
        return 0.0;
    }
    let total = run.total as f64;
    total * total.log2() - run.count_log_count + table_bits(run.symbols)
}

/// The thresholds that make the tile smallest by [`entropy_bits`] (tables included), over
/// every partition of the activities into at most [`MAX_CONTEXTS`] runs of whole cells
/// ([`partition::cheapest_runs`]). Equally filled contexts (the quantiles) put as many
/// boundaries among the quiet activities as among the busy ones, where the token
/// statistics change faster.
fn optimal_thresholds(hist: &[u64], joint: &[u64]) -> Vec<u16> {
    // Cell c covers activities starts[c]..starts[c + 1].
    let mut starts: Vec<usize> = std::iter::once(0)
        .chain(quantile_thresholds(hist, CELLS).iter().map(|&t| t as usize))
        .collect();
    starts.push(ACTIVITIES);
    let cells: Vec<Vec<u64>> = starts
        .windows(2)
        .map(|cell| {
            let mut counts = vec![0u64; ALPHABET];
            for row in joint[cell[0] * ALPHABET..cell[1] * ALPHABET].chunks_exact(ALPHABET) {
                counts.iter_mut().zip(row).for_each(|(sum, &v)| *sum += v);
            }
            counts
        })
        .collect();
    let runs = partition::cheapest_runs(&cells, MAX_CONTEXTS, run_bits);
    runs[1..].iter().map(|&cell| starts[cell] as u16).collect()
}

/// Encodes the residuals (`zz`, zigzagged, in decoding order) given each one's activity.
pub(super) fn encode(acts: &[u16], zz: &[u64], out: &mut Vec<u8>) {
    debug_assert_eq!(acts.len(), zz.len());
    let toks: Vec<u8> = zz.iter().map(|&u| token(u).0 as u8).collect();
    let mut joint = vec![0u64; ACTIVITIES * ALPHABET];
    let mut hist = vec![0u64; ACTIVITIES];
    for (&a, &t) in acts.iter().zip(&toks) {
        joint[a as usize * ALPHABET + t as usize] += 1;
        hist[a as usize] += 1;
    }
    let counts_for = |thresholds: &[u16]| {
        let context_of = lut(thresholds);
        let mut c = vec![vec![0u64; ALPHABET]; thresholds.len() + 1];
        for a in 0..ACTIVITIES {
            if hist[a] == 0 {
                continue;
            }
            let row = &joint[a * ALPHABET..(a + 1) * ALPHABET];
            for (dst, &v) in c[context_of[a] as usize].iter_mut().zip(row) {
                *dst += v;
            }
        }
        c
    };
    let mut best: Option<(f64, Vec<u16>, Vec<Vec<u64>>)> = None;
    for k in [1, 2, 3, 4, 6, 8, 12, MAX_CONTEXTS] {
        let thresholds = quantile_thresholds(&hist, k);
        if best.as_ref().is_some_and(|b| b.1 == thresholds) {
            continue;
        }
        let c = counts_for(&thresholds);
        let bits: f64 = c.iter().map(|v| entropy_bits(v)).sum();
        if best.as_ref().is_none_or(|b| bits < b.0) {
            best = Some((bits, thresholds, c));
        }
    }
    let thresholds = optimal_thresholds(&hist, &joint);
    if best.as_ref().is_none_or(|b| b.1 != thresholds) {
        let c = counts_for(&thresholds);
        let bits: f64 = c.iter().map(|v| entropy_bits(v)).sum();
        if best.as_ref().is_none_or(|b| bits < b.0) {
            best = Some((bits, thresholds, c));
        }
    }
    let (_, thresholds, counts) = best.expect("one context count");
    put_u(out, thresholds.len() as u64);
    thresholds.iter().for_each(|&t| put_u(out, t as u64));
    let (tables, freqs) = Tables::from_counts(&counts);
    Tables::write(&freqs, out);
    let context_of = lut(&thresholds);
    let mut enc = rans::Encoder::new(1);
    for (&a, &t) in acts.iter().zip(&toks).rev() {
        let (r, reciprocal) = tables.range(context_of[a as usize] as usize, t as usize);
        enc.put(r, reciprocal, 0);
    }
    let stream = enc.finish();
    let mut raw = BitWriter::new();
    for &u in zz {
        let (_, extra, bits) = token(u);
        if extra > 32 {
            raw.put(bits as u32, 32);
            raw.put((bits >> 32) as u32, extra - 32);
        } else {
            raw.put(bits as u32, extra);
        }
    }
    let raw = raw.finish();
    put_u(out, stream.len() as u64);
    put_u(out, raw.len() as u64);
    out.extend_from_slice(&stream);
    out.extend_from_slice(&raw);
}

/// Decodes residuals one at a time; errors are collected and reported by [`Decoder::finish`].
pub(super) struct Decoder {
    lut: [u8; ACTIVITIES],
    tables: Tables,
    rans: rans::Decoder,
    state: u32,
    bits: BitReader,
    bad_symbol: bool,
}

impl Decoder {
    pub(super) fn new(r: &mut Cursor) -> Result<Decoder> {
        let context_count = r.bounded("context count", MAX_CONTEXTS as u64 - 1)? as usize;
        let mut thresholds = Vec::with_capacity(context_count);
        for _ in 0..context_count {
            thresholds.push(r.bounded("context threshold", ACTIVITIES as u64 - 1)? as u16);
        }
        let tables = Tables::read(r, context_count + 1, ALPHABET)?;
        let left = (r.data.len() - r.pos) as u64;
        let slen = r.bounded("rANS stream length", left)? as usize;
        let blen = r.bounded("raw bits length", left)? as usize;
        let stream = r.bytes(slen, "rANS stream")?;
        let raw = r.bytes(blen, "raw bits")?;
        let rans = rans::Decoder::new(stream, 1, "float")?;
        let state = rans.states[0];
        let mut table = [0u8; ACTIVITIES];
        table.copy_from_slice(&lut(&thresholds));
        Ok(Decoder {
            lut: table,
            tables,
            rans,
            state,
            bits: BitReader::new(raw),
            bad_symbol: false,
        })
    }

    /// The next zigzagged residual and its bit length, given its activity.
    #[inline(always)]
    pub(super) fn next(&mut self, act: usize) -> (u64, u8) {
        let ctx = self.lut[act.min(ACTIVITIES - 1)] as usize;
        let slots: &[u32; PROB_SCALE as usize] = &self.tables.slots[ctx];
        let (sym, next_state, pos) = rans::step(self.state, self.rans.pos, &self.rans.words, slots);
        self.state = next_state;
        self.rans.pos = pos;
        let token = sym as usize;
        if token >= ALPHABET {
            self.bad_symbol = true;
            return (0, 0);
        }
        let extra = TOKENS.extra[token];
        let bits = &mut self.bits;
        let raw = if extra > 32 {
            let low = bits.take(32) as u64;
            low | (bits.take(extra - 32) as u64) << 32
        } else {
            bits.take(extra) as u64
        };
        (TOKENS.base[token] | raw, TOKENS.bit_len[token])
    }

    pub(super) fn finish(mut self) -> Result<()> {
        if self.bad_symbol {
            return Err(Error::corrupt(
                "float: residual stream holds an unused token",
            ));
        }
        if self.bits.overrun() {
            return Err(Error::corrupt("float: residual raw bits end early"));
        }
        self.rans.states[0] = self.state;
        self.rans.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the token statistics change at a quiet activity, the optimal partition puts a
    /// boundary there and beats every quantile cut; its thresholds ascend and are at most
    /// 15 (16 contexts).
    #[test]
    fn optimal_thresholds_cut_where_the_statistics_change() {
        let mut hist = vec![0u64; ACTIVITIES];
        let mut joint = vec![0u64; ACTIVITIES * ALPHABET];
        // Activities 0..40 hold 90% of the samples, all token 0 up to 20, token 1 above;
        // activities 40..200 are spread over tokens 2..12.
        for a in 0..200usize {
            let (count, tokens) = match a {
                0..=19 => (450, 0..1),
                20..=39 => (450, 1..2),
                _ => (12, 2..12),
            };
            for t in tokens.clone() {
                joint[a * ALPHABET + t] += count / tokens.len() as u64;
                hist[a] += count / tokens.len() as u64;
            }
        }
        let bits_of = |thresholds: &[u16]| {
            let context_of = lut(thresholds);
            let mut counts = vec![vec![0u64; ALPHABET]; thresholds.len() + 1];
            for a in 0..ACTIVITIES {
                for t in 0..ALPHABET {
                    counts[context_of[a] as usize][t] += joint[a * ALPHABET + t];
                }
            }
            counts.iter().map(|c| entropy_bits(c)).sum::<f64>()
        };
        let optimal = optimal_thresholds(&hist, &joint);
        assert!(
            optimal.contains(&20) && optimal.contains(&40),
            "{optimal:?}"
        );
        assert!(optimal.windows(2).all(|w| w[0] < w[1]) && optimal.len() < MAX_CONTEXTS);
        for k in [1, 2, 3, 4, 6, 8, 12, MAX_CONTEXTS] {
            let quantiles = quantile_thresholds(&hist, k);
            assert!(
                bits_of(&optimal) < bits_of(&quantiles),
                "{k} contexts: {quantiles:?}"
            );
        }
    }

    #[test]
    fn tokens_cover_64_bits_and_streams_round_trip() {
        for u in [0u64, 7, 8, 9, 1000, u32::MAX as u64, 1 << 40, u64::MAX] {
            let (t, extra, raw) = token(u);
            assert!(t < ALPHABET);
            assert_eq!(TOKENS.extra[t], extra);
            assert_eq!(TOKENS.base[t] | raw, u);
            assert_eq!(TOKENS.bit_len[t], bit_len(u));
        }
        let mut seed = 99u64;
        let magnitudes: Vec<u64> = (0..5000)
            .map(|i| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if i % 97 == 0 {
                    seed
                } else {
                    (seed >> 58) >> (i % 5)
                }
            })
            .collect();
        let acts: Vec<u16> = (0..5000).map(|i| (i * 7 % 300) as u16).collect();
        let mut buf = Vec::new();
        encode(&acts, &magnitudes, &mut buf);
        let mut cursor = Cursor::new(&buf, "float");
        let mut decoder = Decoder::new(&mut cursor).unwrap();
        for (&a, &u) in acts.iter().zip(&magnitudes) {
            assert_eq!(decoder.next(a as usize).0, u);
        }
        decoder.finish().unwrap();
    }
}
