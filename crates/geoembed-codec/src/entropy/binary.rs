//! An adaptive binary range coder (docs/format.md §5.7.6): bits coded with probabilities
//! that learn as they go, and non-negative integers binarised onto such bits.
//!
//! Why a second entropy coder beside the static rANS: the `klt` transform's wavelet
//! coefficients are mostly zero at the rates lossy files are written at, and which ones are
//! not depends on the neighbours just decoded. A binary coder whose probabilities adapt
//! codes a zero in a quiet context for a fraction of a bit without tables to transmit,
//! where static tables would cost more than the plane. The coder is the classic carry-
//! propagating range coder (32-bit range, a byte at a time); every probability is an
//! integer, so every platform decodes the same bits.

use crate::error::{Error, Result};
use std::sync::OnceLock;

/// Probabilities are in units of 2⁻¹⁶.
const PROBABILITY_BITS: u32 = 16;
const ONE: u32 = 1 << PROBABILITY_BITS;
/// A probability is kept this far from 0 and 1, so that no bit costs more than ~10 bits.
const MARGIN: u32 = 64;
/// The range is renormalised (a byte shifted out) whenever it drops below this.
const TOP: u32 = 1 << 24;
/// Adaptation rates of the two estimators a model averages: a fast one for local change,
/// a slow one for a stable estimate.
const FAST_SHIFT: u32 = 4;
const SLOW_SHIFT: u32 = 7;
/// Largest binary exponent of an integer coded by [`MagnitudeModel`] (values < 2³¹).
pub(crate) const MAX_EXPONENT: u32 = 30;
/// Exponent and leading-bit contexts a [`MagnitudeModel`] keeps; higher ones share the last.
const EXPONENT_CONTEXTS: usize = 20;

/// The adaptive probability that a bit is 1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BitModel {
    fast: u16,
    slow: u16,
}

impl Default for BitModel {
    fn default() -> Self {
        BitModel {
            fast: (ONE / 2) as u16,
            slow: (ONE / 2) as u16,
        }
    }
}

impl BitModel {
    fn probability_of_one(&self) -> u32 {
        ((self.fast as u32 + self.slow as u32) >> 1).clamp(MARGIN, ONE - MARGIN)
    }

    /// What coding `bit` would cost now, in bits (an encoder's rate–distortion choices).
    pub(crate) fn cost(&self, bit: bool) -> f64 {
        let one = self.probability_of_one();
        let p = if bit { one } else { ONE - one };
        PROBABILITY_BITS as f64 - log2_of_probability(p)
    }

    fn update(&mut self, bit: bool) {
        let toward = |p: u16, shift: u32| -> u16 {
            let p = p as u32;
            match bit {
                true => (p + ((ONE - p) >> shift)) as u16,
                false => (p - (p >> shift)) as u16,
            }
        };
        self.fast = toward(self.fast, FAST_SHIFT);
        self.slow = toward(self.slow, SLOW_SHIFT);
    }
}

/// Resolution of [`log2_of_probability`]'s table, which holds `log₂(1 + i/2⁸)` for `i` in
/// `0..=2⁸`.
const LOG2_TABLE_BITS: u32 = 8;

/// `log₂ p` of a probability `p` in `[1, ONE)`, within 3·10⁻⁶: the exponent, then the
/// mantissa's logarithm interpolated in a 257-entry table. The encoder asks for a cost at
/// every coefficient it weighs; libm's `log2` was a seventh of its time (the proxy at 1%).
fn log2_of_probability(p: u32) -> f64 {
    static TABLE: OnceLock<[f64; (1 << LOG2_TABLE_BITS) + 1]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        std::array::from_fn(|i| (1.0 + i as f64 / (1 << LOG2_TABLE_BITS) as f64).log2())
    });
    debug_assert!((1..ONE).contains(&p));
    let exponent = 31 - p.leading_zeros();
    // The mantissa as PROBABILITY_BITS bits below the leading one (p < ONE: no bit lost).
    let mantissa = (p << (PROBABILITY_BITS - exponent)) - ONE;
    let below = PROBABILITY_BITS - LOG2_TABLE_BITS;
    let index = (mantissa >> below) as usize;
    let between = (mantissa & ((1 << below) - 1)) as f64 / (1 << below) as f64;
    exponent as f64 + table[index] + between * (table[index + 1] - table[index])
}

/// Binarisation of an integer `v ≥ 1` onto adaptive bits: its exponent `e = ⌊log₂ v⌋` in
/// unary, the bit below the leading one, then the remaining `e − 1` bits at even odds.
#[derive(Clone, Debug)]
pub(crate) struct MagnitudeModel {
    exponent: [BitModel; EXPONENT_CONTEXTS],
    leading: [BitModel; EXPONENT_CONTEXTS],
}

impl Default for MagnitudeModel {
    fn default() -> Self {
        MagnitudeModel {
            exponent: [BitModel::default(); EXPONENT_CONTEXTS],
            leading: [BitModel::default(); EXPONENT_CONTEXTS],
        }
    }
}

impl MagnitudeModel {
    /// What coding `v ≥ 1` would cost now, in bits (as [`RangeEncoder::magnitude`] codes it).
    pub(crate) fn cost(&self, v: u32) -> f64 {
        let exponent = 31 - v.leading_zeros();
        let mut bits: f64 = (0..exponent)
            .map(|j| self.exponent[context(j)].cost(true))
            .sum();
        if exponent < MAX_EXPONENT {
            bits += self.exponent[context(exponent)].cost(false);
        }
        if exponent >= 1 {
            let leading = (v >> (exponent - 1)) & 1 == 1;
            bits += self.leading[context(exponent)].cost(leading) + (exponent - 1) as f64;
        }
        bits
    }

    /// What coding `v ≥ 2` costs over coding `v − 1`, in bits: where the two share their
    /// exponent (every `v` but a power of two) only the leading bit below the exponent can
    /// differ, so no exponent bit is costed (the encoder asks at every nonzero coefficient).
    pub(crate) fn cost_over_one_less(&self, v: u32) -> f64 {
        debug_assert!(v >= 2);
        let exponent = 31 - v.leading_zeros();
        if v.is_power_of_two() {
            return self.cost(v) - self.cost(v - 1);
        }
        let leading = |v: u32| (v >> (exponent - 1)) & 1 == 1;
        let model = &self.leading[context(exponent)];
        model.cost(leading(v)) - model.cost(leading(v - 1))
    }
}

fn context(i: u32) -> usize {
    (i as usize).min(EXPONENT_CONTEXTS - 1)
}

/// Writes bits into a growing byte vector.
pub(crate) struct RangeEncoder {
    low: u64,
    range: u32,
    /// The last byte not yet written: a carry may still increment it.
    cache: u8,
    /// `cache` and the 0xff bytes after it that a carry would also change.
    pending: u64,
    out: Vec<u8>,
}

impl Default for RangeEncoder {
    fn default() -> Self {
        RangeEncoder {
            low: 0,
            range: u32::MAX,
            cache: 0,
            pending: 1,
            out: Vec::new(),
        }
    }
}

impl RangeEncoder {
    fn shift_low(&mut self) {
        if self.low < 0xff00_0000 || self.low > u32::MAX as u64 {
            let carry = (self.low >> 32) as u8;
            let mut byte = self.cache;
            for _ in 0..self.pending {
                self.out.push(byte.wrapping_add(carry));
                byte = 0xff;
            }
            self.pending = 0;
            self.cache = (self.low >> 24) as u8;
        }
        self.pending += 1;
        self.low = (self.low & 0x00ff_ffff) << 8;
    }

    fn encode_with(&mut self, bit: bool, probability_of_one: u32) {
        let bound = (self.range >> PROBABILITY_BITS) * probability_of_one;
        match bit {
            true => self.range = bound,
            false => {
                self.low += bound as u64;
                self.range -= bound;
            }
        }
        while self.range < TOP {
            self.range <<= 8;
            self.shift_low();
        }
    }

    pub(crate) fn bit(&mut self, model: &mut BitModel, bit: bool) {
        self.encode_with(bit, model.probability_of_one());
        model.update(bit);
    }

    /// A bit at even odds (signs, low mantissa bits).
    pub(crate) fn even_bit(&mut self, bit: bool) {
        self.encode_with(bit, ONE / 2);
    }

    /// Codes `v ≥ 1` (below 2³¹) with `model`.
    pub(crate) fn magnitude(&mut self, model: &mut MagnitudeModel, v: u32) {
        debug_assert!((1..1 << (MAX_EXPONENT + 1)).contains(&v));
        let exponent = 31 - v.leading_zeros();
        for j in 0..exponent {
            self.bit(&mut model.exponent[context(j)], true);
        }
        if exponent < MAX_EXPONENT {
            self.bit(&mut model.exponent[context(exponent)], false);
        }
        if exponent >= 1 {
            let leading = (v >> (exponent - 1)) & 1 == 1;
            self.bit(&mut model.leading[context(exponent)], leading);
            for i in (0..exponent - 1).rev() {
                self.even_bit((v >> i) & 1 == 1);
            }
        }
    }

    /// Codes any integer below 2³¹ in magnitude: a zero flag, then sign and magnitude.
    pub(crate) fn signed(&mut self, zero: &mut BitModel, model: &mut MagnitudeModel, v: i32) {
        self.bit(zero, v != 0);
        if v != 0 {
            self.even_bit(v < 0);
            self.magnitude(model, v.unsigned_abs());
        }
    }

    /// Flushes the coder and returns its bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        for _ in 0..5 {
            self.shift_low();
        }
        self.out
    }
}

/// Reads the bits a [`RangeEncoder`] wrote, with the same models in the same order.
pub(crate) struct RangeDecoder<'a> {
    data: &'a [u8],
    pos: usize,
    range: u32,
    code: u32,
}

impl<'a> RangeDecoder<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        let mut decoder = RangeDecoder {
            data,
            pos: 0,
            range: u32::MAX,
            code: 0,
        };
        for _ in 0..5 {
            decoder.code = (decoder.code << 8) | decoder.next_byte();
        }
        decoder
    }

    /// The next byte, or 0 past the end (caught by [`RangeDecoder::finish`]).
    fn next_byte(&mut self) -> u32 {
        let byte = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        byte as u32
    }

    fn decode_with(&mut self, probability_of_one: u32) -> bool {
        let bound = (self.range >> PROBABILITY_BITS) * probability_of_one;
        let bit = self.code < bound;
        match bit {
            true => self.range = bound,
            false => {
                self.code -= bound;
                self.range -= bound;
            }
        }
        while self.range < TOP {
            self.range <<= 8;
            self.code = (self.code << 8) | self.next_byte();
        }
        bit
    }

    pub(crate) fn bit(&mut self, model: &mut BitModel) -> bool {
        let bit = self.decode_with(model.probability_of_one());
        model.update(bit);
        bit
    }

    pub(crate) fn even_bit(&mut self) -> bool {
        self.decode_with(ONE / 2)
    }

    pub(crate) fn magnitude(&mut self, model: &mut MagnitudeModel) -> u32 {
        let mut exponent = 0;
        while exponent < MAX_EXPONENT && self.bit(&mut model.exponent[context(exponent)]) {
            exponent += 1;
        }
        if exponent == 0 {
            return 1;
        }
        let leading = self.bit(&mut model.leading[context(exponent)]) as u32;
        let mut v = 2 | leading;
        for _ in 0..exponent - 1 {
            v = (v << 1) | self.even_bit() as u32;
        }
        v
    }

    pub(crate) fn signed(&mut self, zero: &mut BitModel, model: &mut MagnitudeModel) -> i32 {
        if !self.bit(zero) {
            return 0;
        }
        let negative = self.even_bit();
        let magnitude = self.magnitude(model) as i32;
        match negative {
            true => -magnitude,
            false => magnitude,
        }
    }

    /// Fails when decoding read past the end of the stream: the encoder's flush writes
    /// every byte its decoder reads, so a stream that runs out is truncated or corrupt.
    pub(crate) fn finish(self, codec: &str) -> Result<()> {
        match self.pos <= self.data.len() {
            true => Ok(()),
            false => Err(Error::truncated(format!(
                "{codec}: the range-coded stream ends {} bytes early",
                self.pos - self.data.len()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_over_one_less_is_the_difference_of_the_costs() {
        // A model trained on small magnitudes, so its probabilities are far from even.
        let mut model = MagnitudeModel::default();
        let mut coder = RangeEncoder::default();
        for i in 0..5_000u32 {
            coder.magnitude(&mut model, 1 + (i * 7919) % 13);
        }
        for v in 2..5_000u32 {
            let difference = model.cost(v) - model.cost(v - 1);
            let over = model.cost_over_one_less(v);
            assert!(
                (difference - over).abs() < 1e-9,
                "{v}: {difference} vs {over}"
            );
        }
    }

    #[test]
    fn the_table_logarithm_is_within_its_bound_on_every_probability() {
        let worst = (1..ONE)
            .map(|p| (log2_of_probability(p) - (p as f64).log2()).abs())
            .fold(0.0, f64::max);
        assert!(worst < 3e-6, "worst error {worst}");
        assert_eq!(log2_of_probability(1), 0.0);
        assert_eq!(log2_of_probability(ONE / 2), 15.0);
    }

    #[test]
    fn bits_and_integers_round_trip_and_skewed_bits_cost_little() {
        let values: Vec<i32> = (0..20_000i64)
            .map(|i| match i % 7 {
                0 => ((i * 7919) % 2001 - 1000) as i32,
                1 => (1 << 30) - 1 - (i as i32 % 5),
                2 => -(1 << 30) + 1,
                _ => 0,
            })
            .collect();
        let (mut zero, mut model) = (BitModel::default(), MagnitudeModel::default());
        let mut encoder = RangeEncoder::default();
        values
            .iter()
            .for_each(|&v| encoder.signed(&mut zero, &mut model, v));
        let mut skewed = BitModel::default();
        (0..100_000).for_each(|i| encoder.bit(&mut skewed, i % 1000 == 0));
        let bytes = encoder.finish();
        let (mut zero, mut model) = (BitModel::default(), MagnitudeModel::default());
        let mut decoder = RangeDecoder::new(&bytes);
        let decoded: Vec<i32> = values
            .iter()
            .map(|_| decoder.signed(&mut zero, &mut model))
            .collect();
        assert_eq!(decoded, values);
        let mut skewed = BitModel::default();
        assert!((0..100_000).all(|i| decoder.bit(&mut skewed) == (i % 1000 == 0)));
        decoder
            .finish("test")
            .expect("the whole stream was written");
        // 100,000 bits at p = 0.001 hold ~1,141 bits of information; the integers
        // about 48 KB of mantissas.
        assert!(bytes.len() < 60_000, "{}", bytes.len());
    }

    #[test]
    fn a_cost_is_what_the_coder_spends() {
        let mut model = BitModel::default();
        assert_eq!(model.cost(true), 1.0);
        assert_eq!(model.cost(false), 1.0);
        (0..1000).for_each(|_| model.update(false));
        // Zeros are now cheap and a one dear (~10 bits, the probability's margin), as the
        // coder would code them.
        assert!(model.cost(false) < 0.01, "{}", model.cost(false));
        assert!(model.cost(true) > 9.0, "{}", model.cost(true));
        let mut encoder = RangeEncoder::default();
        (0..1000).for_each(|_| encoder.encode_with(true, model.probability_of_one()));
        let spent = encoder.finish().len() as f64 * 8.0;
        assert!(
            (spent / (1000.0 * model.cost(true)) - 1.0).abs() < 0.02,
            "{spent}"
        );
    }

    #[test]
    fn a_truncated_stream_is_reported() {
        let mut encoder = RangeEncoder::default();
        let mut model = BitModel::default();
        (0..10_000).for_each(|i| encoder.bit(&mut model, (i * 31) % 7 < 3));
        let bytes = encoder.finish();
        let mut decoder = RangeDecoder::new(&bytes[..bytes.len() / 2]);
        let mut model = BitModel::default();
        (0..10_000).for_each(|_| {
            decoder.bit(&mut model);
        });
        let error = decoder.finish("klt").unwrap_err().to_string();
        assert!(
            error.contains("klt: the range-coded stream ends"),
            "{error}"
        );
    }
}
