//! How a coded residual becomes a centred value, in one place for the decoder and for the
//! near-lossless encoder's closed loop: the encoder reconstructs every sample with the very
//! function the decoder will call, so what later predictions read on either side is the
//! same by construction, not by two implementations agreeing.
//!
//! Lossless samples add the residual to the prediction modulo 2^bits (docs/format.md
//! §5.3.4). Near-lossless samples (payload version 3, §5.3.9) carry a quantised residual
//! `q` with step `2E + 1`; the value is `clamp(P + q·(2E + 1), lo, hi)`. A step of 1 is the
//! lossless rule, so exact samples and bands with `E = 0` need no rule of their own.

use crate::entropy::tokens;

/// How one sample's value follows from its prediction and its zigzag residual.
pub(super) trait Reconstruct: Copy {
    /// Tokens at or above this are outside the alphabet (a corrupt stream).
    fn alphabet(&self) -> u32;
    /// The value of the sample at column `x` predicted as `prediction`.
    fn value(&self, x: usize, prediction: i32, magnitude: u32) -> i32;
    /// The zigzag residual that gives `value` from `prediction` losslessly: what a copied
    /// sample's residual would have been, which the context model reads (version 2 only).
    fn magnitude(&self, prediction: i32, value: i32) -> u32;
}

/// The lossless rule of one coding position: the residual is added to the prediction
/// modulo 2^bits, inside the position's range.
#[derive(Clone, Copy)]
pub(super) struct Exact {
    pub(super) lo: i32,
    pub(super) mask: i32,
    pub(super) alphabet: u32,
}

impl Reconstruct for Exact {
    #[inline(always)]
    fn alphabet(&self) -> u32 {
        self.alphabet
    }

    #[inline(always)]
    fn value(&self, _: usize, prediction: i32, magnitude: u32) -> i32 {
        let residual = tokens::unzigzag(magnitude);
        (prediction.wrapping_add(residual).wrapping_sub(self.lo) & self.mask) + self.lo
    }

    #[inline(always)]
    fn magnitude(&self, prediction: i32, value: i32) -> u32 {
        let half = (self.mask >> 1) + 1;
        tokens::zigzag((value.wrapping_sub(prediction).wrapping_add(half) & self.mask) - half)
    }
}

/// The near-lossless rule of one row of one coding position: each column's quantisation
/// step (`2E + 1`, or 1 where the sample is coded exactly).
#[derive(Clone, Copy)]
pub(super) struct Quantised<'a> {
    pub(super) exact: Exact,
    pub(super) hi: i32,
    pub(super) steps: &'a [i32],
}

impl Reconstruct for Quantised<'_> {
    #[inline(always)]
    fn alphabet(&self) -> u32 {
        self.exact.alphabet
    }

    #[inline(always)]
    fn value(&self, x: usize, prediction: i32, magnitude: u32) -> i32 {
        let step = self.steps[x];
        if step == 1 {
            return self.exact.value(x, prediction, magnitude);
        }
        // 64 bits: a corrupt residual times a large step must clamp, not wrap.
        let value = prediction as i64 + tokens::unzigzag(magnitude) as i64 * step as i64;
        value.clamp(self.exact.lo as i64, self.hi as i64) as i32
    }

    #[inline(always)]
    fn magnitude(&self, prediction: i32, value: i32) -> u32 {
        self.exact.magnitude(prediction, value)
    }
}

impl Quantised<'_> {
    /// *(encoder)* The residual to code for `value` at column `x` and the value the decoder
    /// will rebuild from it: `q = sign(r)·⌊(|r| + E)/(2E + 1)⌋` for `r = value − prediction`,
    /// so the rebuilt value is within `E` of `value` (clamping to the range only moves it
    /// closer, `value` being inside the range).
    #[inline(always)]
    pub(super) fn quantise(&self, x: usize, prediction: i32, value: i32) -> (u32, i32) {
        let step = self.steps[x];
        let magnitude = if step == 1 {
            self.exact.magnitude(prediction, value)
        } else {
            let residual = value - prediction;
            let half_step = (step - 1) / 2;
            let q = residual.signum() * ((residual.abs() + half_step) / step);
            tokens::zigzag(q)
        };
        (magnitude, self.value(x, prediction, magnitude))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantised_values_stay_within_the_bound_and_the_range() {
        let exact = Exact {
            lo: -100,
            mask: 255,
            alphabet: 32,
        };
        for e in [0, 1, 2, 7] {
            let steps = [2 * e + 1];
            let rule = Quantised {
                exact,
                hi: 155,
                steps: &steps,
            };
            for prediction in -100..=155 {
                for value in -100..=155 {
                    let (magnitude, rebuilt) = rule.quantise(0, prediction, value);
                    assert!(
                        (rebuilt - value).abs() <= e,
                        "E {e} P {prediction} x {value}"
                    );
                    assert_eq!(rule.value(0, prediction, magnitude), rebuilt);
                    assert!((-100..=155).contains(&rebuilt));
                }
            }
        }
    }
}
