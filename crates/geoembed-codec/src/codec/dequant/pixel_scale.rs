//! The per-pixel lattice of GeoTessera's float download: every sample of a pixel is
//! `fl(q_c × s)`, the float product of an integer code `q_c` (int8: |q| ≤ 127) and one scale
//! `s` per pixel, the scale being the pixel's largest magnitude divided by 127. The float
//! tile then holds the int8 tile and its scale plane, four times larger.
//!
//! A pixel's lattice is found from its largest magnitude `m`: the scale is `m / reach`
//! rounded to the sample type, or one of its float neighbours (the product `fl(reach × s)`
//! rounds, so the scale that made `m` may be a neighbour of `m / reach`). Every sample is
//! then checked bit for bit: the code is `round(x / s)` and the sample must be exactly
//! `fl(code × s)`. Any scale that rebuilds the samples will do; it need not be the one the
//! producer used. A pixel of zeros has scale +0.0 (codes 0 for +0.0, −1 for −0.0).

use crate::sample::SampleType;

/// The codes a lattice may use: an integer sample type's range and the magnitude its
/// largest sample is assumed to have (127 for int8, 32767 for int16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CodeRange {
    pub code_type: SampleType,
    pub min: i32,
    pub max: i32,
    pub reach: i32,
}

impl CodeRange {
    /// The range of int8 or int16 codes.
    pub(super) fn of(code_type: SampleType) -> CodeRange {
        let (min, max) = code_type.small_int_range().expect("8/16-bit code type");
        CodeRange {
            code_type,
            min,
            max,
            reach: max,
        }
    }
}

/// One sample's value as f64 (`bits` little-endian, float32 or float64).
#[inline(always)]
pub(super) fn value(ty: SampleType, bits: u64) -> f64 {
    if ty == SampleType::F32 {
        f32::from_bits(bits as u32) as f64
    } else {
        f64::from_bits(bits)
    }
}

/// The sample `fl(code × scale)` in the sample type's arithmetic (IEEE-754, round to
/// nearest even): what the decoder computes for every lattice sample.
#[inline(always)]
pub(super) fn rebuild(ty: SampleType, code: i32, scale_bits: u64) -> u64 {
    if ty == SampleType::F32 {
        (code as f32 * f32::from_bits(scale_bits as u32)).to_bits() as u64
    } else {
        (code as f64 * f64::from_bits(scale_bits)).to_bits()
    }
}

/// Whether a scale (its bits) is finite, which every lattice pixel's scale must be: the
/// bits of NaN products depend on the machine.
#[inline]
pub(super) fn finite_scale(ty: SampleType, scale_bits: u64) -> bool {
    value(ty, scale_bits).is_finite()
}

/// The code that rebuilds `bits` on the lattice of `scale`, if any.
#[inline(always)]
fn code_of(
    ty: SampleType,
    bits: u64,
    scale: f64,
    scale_bits: u64,
    range: CodeRange,
) -> Option<i32> {
    let ratio = value(ty, bits) / scale;
    // Rounded half away from zero without a libm call; the check below is what counts.
    let whole = ratio as i64;
    let fraction = ratio - whole as f64;
    let code = whole + (fraction >= 0.5) as i64 - (fraction <= -0.5) as i64;
    if code < range.min as i64 || code > range.max as i64 {
        return None;
    }
    (rebuild(ty, code as i32, scale_bits) == bits).then_some(code as i32)
}

/// The scales worth trying for a pixel whose largest magnitude is `largest`: the nearest
/// sample-type value of `largest / reach`, then its neighbours one and two steps away.
fn candidate_scales(ty: SampleType, largest: f64, reach: i32) -> [u64; 5] {
    let base = if ty == SampleType::F32 {
        ((largest / reach as f64) as f32).to_bits() as u64
    } else {
        (largest / reach as f64).to_bits()
    };
    // Positive finite floats: the next value up or down is the next bit pattern.
    [
        base,
        base + 1,
        base.saturating_sub(1),
        base + 2,
        base.saturating_sub(2),
    ]
}

/// A pixel on its lattice: the scale and how many samples it does not rebuild (their codes
/// are 0 and the encoder stores them as sample exceptions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PixelFit {
    pub scale_bits: u64,
    pub broken: usize,
}

/// Finds the lattice of one pixel (`pixel` holds its samples' bits) and writes its codes.
/// `None` if a sample is not finite or more than `max_broken` samples miss every
/// candidate lattice: the pixel is then stored verbatim.
pub(super) fn fit_pixel(
    ty: SampleType,
    pixel: &[u64],
    range: CodeRange,
    max_broken: usize,
    codes: &mut [i32],
) -> Option<PixelFit> {
    // The two largest distinct magnitudes: the second stands in when the largest is a
    // stray sample off the lattice.
    let (mut largest, mut second) = (0f64, 0f64);
    for &bits in pixel {
        let v = value(ty, bits);
        if !v.is_finite() {
            return None;
        }
        let magnitude = v.abs();
        if magnitude > largest {
            (largest, second) = (magnitude, largest);
        } else if magnitude > second && magnitude < largest {
            second = magnitude;
        }
    }
    if largest == 0.0 {
        // Every sample ±0: scale +0.0, and the code's sign makes the zero's sign.
        let sign_bit = 1u64 << (ty.bits() - 1);
        for (code, &bits) in codes.iter_mut().zip(pixel) {
            *code = -((bits & sign_bit != 0) as i32);
        }
        return Some(PixelFit {
            scale_bits: 0,
            broken: 0,
        });
    }
    let mut best: Option<PixelFit> = None;
    let from_second = || candidate_scales(ty, second, range.reach);
    let candidates = candidate_scales(ty, largest, range.reach);
    for (k, scale_bits) in candidates.into_iter().chain(from_second()).enumerate() {
        if k == candidates.len() && (best.is_some_and(|b| b.broken == 0) || second == 0.0) {
            break;
        }
        let scale = value(ty, scale_bits);
        if !(scale.is_finite() && scale > 0.0) {
            continue;
        }
        let mut broken = 0;
        for &bits in pixel {
            if code_of(ty, bits, scale, scale_bits, range).is_none() {
                broken += 1;
                if broken > max_broken || best.is_some_and(|b| broken >= b.broken) {
                    break;
                }
            }
        }
        if broken <= max_broken && best.is_none_or(|b| broken < b.broken) {
            best = Some(PixelFit { scale_bits, broken });
            if broken == 0 {
                break;
            }
        }
    }
    let fit = best?;
    let scale = value(ty, fit.scale_bits);
    for (code, &bits) in codes.iter_mut().zip(pixel) {
        *code = code_of(ty, bits, scale, fit.scale_bits, range).unwrap_or(0);
    }
    Some(fit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits32(values: &[f32]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits() as u64).collect()
    }

    #[test]
    fn geotessera_pixels_fit_with_their_codes() {
        let range = CodeRange::of(SampleType::I8);
        let scale = 0.031_415_93f32;
        let q = [127i32, -3, 0, 55, -127, 1];
        let pixel = bits32(&q.map(|c| c as f32 * scale));
        let mut codes = vec![9; q.len()];
        let fit = fit_pixel(SampleType::F32, &pixel, range, 0, &mut codes).unwrap();
        assert_eq!(fit.broken, 0);
        for (&code, &bits) in codes.iter().zip(&pixel) {
            assert_eq!(rebuild(SampleType::F32, code, fit.scale_bits), bits);
        }
        assert_eq!(codes, q);
    }

    #[test]
    fn zeros_broken_samples_and_non_finite_pixels() {
        let range = CodeRange::of(SampleType::I8);
        let mut codes = vec![0; 3];
        let zeros = bits32(&[0.0, -0.0, 0.0]);
        let fit = fit_pixel(SampleType::F32, &zeros, range, 0, &mut codes).unwrap();
        assert_eq!((fit.scale_bits, codes.as_slice()), (0, &[0, -1, 0][..]));
        for (&code, &bits) in codes.iter().zip(&zeros) {
            assert_eq!(rebuild(SampleType::F32, code, 0), bits);
        }
        let s = 0.5f32;
        let off = bits32(&[127.0 * s, 3.0 * s, 0.123_456_7]);
        assert!(fit_pixel(SampleType::F32, &off, range, 0, &mut codes).is_none());
        let fit = fit_pixel(SampleType::F32, &off, range, 1, &mut codes).unwrap();
        assert_eq!(fit.broken, 1);
        let nan = bits32(&[1.0, f32::NAN, 2.0]);
        assert!(fit_pixel(SampleType::F32, &nan, range, 3, &mut codes).is_none());
    }
}
