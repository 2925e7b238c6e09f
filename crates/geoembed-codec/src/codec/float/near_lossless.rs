//! Near-lossless floats (`max_error`, docs/format.md §5.4.2 kind 5 and §4.8): every sample
//! `x` of a band with bound `E > 0` is replaced, before anything else, by the nearest point
//! `x̂ = fl(k·q)` of a lattice of step `q ≤ 2E`, and the tile of those `x̂` is then coded
//! *losslessly*, the band in the lattice's own domain (its plane holds `k`).
//!
//! Why quantise first (as LERC does) instead of quantising prediction residuals (as the
//! native codec does, §5.3.9): the closed loop is then trivial — the encoder predicts from
//! exactly the values the decoder rebuilds, because both see only `x̂` — and every transform
//! and predictor of the lossless float codec, which is bit exact by construction, keeps
//! working unchanged.
//!
//! Why the bound holds. With `k = round(x / q)` in binary64, `|x − k·q| ≤ q/2` up to the
//! rounding of the division (a relative 2^−53); `fl` (binary64 product, then the rounding to
//! the sample type) moves `k·q` by at most half a spacing `u` of the sample type at the
//! band's largest magnitude (plus `2E`). Taking `q = 2E − 4u` leaves `E − 2u + u/2 + (the
//! division's error, ≤ u)` `< E`. So every sample is within the bound by construction; the
//! encoder still checks each one exactly ([`within`]) and keeps any that is not (none in
//! practice) exact, and after encoding decodes the tile and checks it again ([`check`]).
//! A sample whose own spacing `u` has `2E ≤ 8u` (a bound near the sample's precision, or
//! a value near float32's maximum) stays exact: there the lattice would be no coarser than
//! the samples; `u` above is the spacing of the largest of the other samples.
//!
//! What stays exact: NaN (with its payload), ±Inf, and samples equal to the band's nodata
//! value; a sample whose `x̂` would equal nodata is kept exact too, so nodata keeps meaning
//! nodata.
//!
//! 32-bit integers (which the native codec does not take) are quantised the same way, with
//! whole bounds: `x̂ = k·(2E + 1)`, `k = ⌊(x + E) / (2E + 1)⌋`, so `|x − x̂| ≤ E` exactly;
//! a sample whose `x̂` would leave the type's range stays exact. Their tile is then coded by
//! the lossless float codec in its integer domain, where the multiples of `2E + 1` a band
//! takes become a palette of ranks (§5.4): no lattice domain, no format change.

use super::domain::{float_value, pow2};
use super::{bands_of, interleave, Band};
use crate::codec::TileShape;
use crate::error::{Error, Result};
use crate::sample::SampleType;

/// The caller's near-lossless request for a float tile, in value units, per band.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bounds {
    /// Largest absolute error allowed per band (0: that band stays lossless).
    pub max_error: Vec<f64>,
    /// Per band, the nodata value when the sample type holds it exactly.
    pub nodata: Vec<Option<f64>>,
}

/// A tile quantised to its bands' lattices: the samples the payload will hold, and per
/// band the lattice step (`None`: the band is exact).
pub(crate) struct Quantised {
    pub samples: Vec<u8>,
    pub steps: Vec<Option<f64>>,
}

/// Largest `|k|` of a lattice point (the float codec's lattices stay below 2^50, so `k·q`
/// is exact before its one rounding).
const MAX_K: f64 = (1u64 << 50) as f64;

/// Quantises every band of a tile with a nonzero bound; other bands are copied.
pub(crate) fn quantise(shape: &TileShape, samples: &[u8], bounds: &Bounds) -> Quantised {
    let ty = shape.sample_type;
    let mut bands = bands_of(shape, samples);
    let mut steps = vec![None; shape.bands];
    for (b, band) in bands.iter_mut().enumerate() {
        let max_error = bounds.max_error.get(b).copied().unwrap_or(0.0);
        let nodata = bounds.nodata.get(b).copied().flatten();
        if max_error > 0.0 && ty.is_float() {
            steps[b] = quantise_band(ty, band, max_error, nodata);
        } else if max_error > 0.0 {
            quantise_int_band(ty, band, max_error as i64, nodata);
        }
    }
    let mut out = Vec::with_capacity(samples.len());
    interleave(shape, &bands, &mut out);
    Quantised {
        samples: out,
        steps,
    }
}

/// Whether a sample stays exact whatever the bound: non-finite, or the nodata value.
pub(crate) fn kept_exact(value: f64, nodata: Option<f64>) -> bool {
    !value.is_finite() || nodata.is_some_and(|n| value == n || (n.is_nan() && value.is_nan()))
}

/// Replaces a band's samples by their lattice points; returns the step, or `None` when the
/// bound is too fine for every sample of the band (it then stays exact).
fn quantise_band(
    ty: SampleType,
    band: &mut Band,
    max_error: f64,
    nodata: Option<f64>,
) -> Option<f64> {
    let quantisable = |x: f64| !kept_exact(x, nodata) && coarse_enough(ty, max_error, x.abs());
    let largest = band
        .iter()
        .map(|&bits| float_value(ty, bits))
        .filter(|&x| quantisable(x))
        .fold(None, |m: Option<f64>, x| {
            Some(m.map_or(x.abs(), |m| m.max(x.abs())))
        })?;
    let step = step_for(ty, max_error, largest)?;
    for bits in band.iter_mut() {
        let x = float_value(ty, *bits);
        if !quantisable(x) || x.abs() > largest {
            continue;
        }
        let k = (x / step).round();
        let x_hat = fl(ty, k * step);
        let becomes_nodata = nodata.is_some_and(|n| x_hat == n);
        if within(x, x_hat, max_error) && !becomes_nodata {
            // `k = 0` rebuilds +0.0 (as the decoder does), never −0.0.
            *bits = fl_bits(ty, if k == 0.0 { 0.0 } else { k * step });
        }
    }
    Some(step)
}

/// A 32-bit integer sample's value.
fn int_value(ty: SampleType, bits: u64) -> i64 {
    match ty {
        SampleType::I32 => bits as u32 as i32 as i64,
        _ => bits as u32 as i64,
    }
}

/// The value of a sample of a tile this module quantises (floats or 32-bit integers;
/// exact in binary64 for both).
fn value(ty: SampleType, bits: u64) -> f64 {
    if ty.is_float() {
        float_value(ty, bits)
    } else {
        int_value(ty, bits) as f64
    }
}

/// Replaces a 32-bit integer band's samples by the multiples of `2E + 1` within `E` of
/// them (see the module's doc); samples equal to nodata, or whose multiple would be nodata
/// or out of the type's range, stay as they are.
fn quantise_int_band(ty: SampleType, band: &mut Band, max_error: i64, nodata: Option<f64>) {
    let (min, max) = match ty {
        SampleType::I32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (0, u32::MAX as i64),
    };
    let step = 2 * max_error + 1;
    for bits in band.iter_mut() {
        let x = int_value(ty, *bits);
        if nodata == Some(x as f64) {
            continue;
        }
        let x_hat = (x + max_error).div_euclid(step) * step;
        if (min..=max).contains(&x_hat) && nodata != Some(x_hat as f64) {
            *bits = x_hat as u32 as u64;
        }
    }
}

/// Whether a bound `E` is coarse enough to quantise a value of magnitude `m`: the sample
/// type's spacing around `m + 2E` is below `2E / 8` (else the value stays exact: at such
/// magnitudes, as near a float32's maximum, the lattice would be no coarser than the
/// samples). The band's step then leaves room for the largest such value's spacing.
fn coarse_enough(ty: SampleType, max_error: f64, m: f64) -> bool {
    let reach = m + 2.0 * max_error;
    let representable = reach.is_finite() && (ty != SampleType::F32 || reach < f32::MAX as f64);
    representable && 2.0 * max_error > 8.0 * spacing(ty, reach)
}

/// The lattice step for a bound `E` on values up to `largest` in magnitude: `2E − 4u`, with
/// `u` the sample type's spacing at `largest + 2E` (see the module's proof), or `None` when
/// [`coarse_enough`] fails for `largest` or the lattice needs `|k| ≥ 2^50`.
pub(crate) fn step_for(ty: SampleType, max_error: f64, largest: f64) -> Option<f64> {
    if !coarse_enough(ty, max_error, largest) {
        return None;
    }
    let reach = largest + 2.0 * max_error;
    let step = 2.0 * max_error - 4.0 * spacing(ty, reach);
    (reach / step < MAX_K).then_some(step)
}

/// The distance between consecutive values of the sample type around `v` (`v ≥ 0`,
/// finite): `2^(e − 23)` for float32, `2^(e − 52)` for float64, `e = ⌊log2 v⌋`, and the
/// subnormal spacing below the normal range.
pub(crate) fn spacing(ty: SampleType, v: f64) -> f64 {
    let exponent = ((v.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    let (mantissa_bits, min_exponent) = match ty {
        SampleType::F32 => (23, -126),
        _ => (52, -1022),
    };
    pow2(exponent.max(min_exponent) - mantissa_bits)
}

/// `v` rounded to the sample type, as a value.
fn fl(ty: SampleType, v: f64) -> f64 {
    float_value(ty, fl_bits(ty, v))
}

fn fl_bits(ty: SampleType, v: f64) -> u64 {
    match ty {
        SampleType::F32 => (v as f32).to_bits() as u64,
        _ => v.to_bits(),
    }
}

/// Whether `|x − x̂| ≤ E` holds exactly (in real numbers, not after rounding the
/// difference): a rounded difference below or above `E` decides by monotonicity of
/// rounding; one equal to `E` is settled by its exact rounding error (Knuth's TwoSum).
pub(crate) fn within(x: f64, x_hat: f64, max_error: f64) -> bool {
    let difference = x - x_hat;
    if difference.abs() != max_error {
        return difference.abs() < max_error;
    }
    let moved = difference - x;
    let error = (x - (difference - moved)) + (-x_hat - moved);
    if difference > 0.0 {
        error <= 0.0
    } else {
        error >= 0.0
    }
}

/// Checks a decoded near-lossless float tile against the samples it was encoded from:
/// bands with a bound within it (NaN, ±Inf and nodata samples bit for bit, no other sample
/// decoded as nodata), bands without one bit for bit. Returns each band's largest error.
pub(crate) fn check(
    shape: &TileShape,
    original: &[u8],
    decoded: &[u8],
    bounds: &Bounds,
) -> Result<Vec<f64>> {
    let ty = shape.sample_type;
    let (before, after) = (bands_of(shape, original), bands_of(shape, decoded));
    let mut largest = vec![0.0f64; shape.bands];
    for band in 0..shape.bands {
        let max_error = bounds.max_error.get(band).copied().unwrap_or(0.0);
        let nodata = bounds.nodata.get(band).copied().flatten();
        let samples = before[band].iter().zip(&after[band]).enumerate();
        for (i, (&x_bits, &x_hat_bits)) in samples {
            let (x, x_hat) = (value(ty, x_bits), value(ty, x_hat_bits));
            let exact = max_error == 0.0 || kept_exact(x, nodata);
            let fine = if exact {
                x_bits == x_hat_bits
            } else {
                within(x, x_hat, max_error) && !kept_exact(x_hat, nodata)
            };
            if !fine {
                let (col, row) = (i % shape.width, i / shape.width);
                return Err(Error::invalid(format!(
                    "near-lossless check failed: band {} at pixel ({col}, {row}) of the tile \
                     is {x} and decodes as {x_hat} (bound {max_error}, nodata {nodata:?})",
                    band + 1
                )));
            }
            if x_bits != x_hat_bits {
                largest[band] = largest[band].max((x - x_hat).abs());
            }
        }
    }
    Ok(largest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_is_exact_where_the_difference_rounds_to_the_bound() {
        assert!(within(1.0, 0.5, 0.5));
        assert!(!within(1.0, 0.4, 0.5));
        // 1 − (0.5 − 2^−54) = 0.5 + 2^−54 rounds (to even) to 0.5 but exceeds it.
        let x_hat = 0.5 - 2f64.powi(-54);
        assert_ne!(x_hat, 0.5);
        assert_eq!(1.0 - x_hat, 0.5);
        assert!(!within(1.0, x_hat, 0.5));
        assert!(within(1.0, 0.5 + 2f64.powi(-53), 0.5));
        assert!(!within(f64::NAN, 0.0, 1.0));
    }

    #[test]
    fn steps_leave_room_for_the_sample_types_rounding() {
        // float32 around 3000 m: spacing 2^−12.
        let step = step_for(SampleType::F32, 0.01, 3000.0).unwrap();
        assert_eq!(step, 0.02 - 4.0 * 2f64.powi(-12));
        // A bound finer than the samples: exact.
        assert_eq!(step_for(SampleType::F32, 1e-4, 3000.0), None);
        assert!(step_for(SampleType::F64, 1e-4, 3000.0).is_some());
        assert_eq!(step_for(SampleType::F32, 1.0, 3.0e38), None);
    }
}
