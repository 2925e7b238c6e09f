//! The integer domain a band is predicted in. Every band becomes a plane of `i64` values
//! whose differences are meaningful, through one of:
//!
//! * `Int`: 32-bit integer samples, as they are;
//! * `Fmap`: cbloom's `fmap`: the float's bits read as an integer with the sign turned into
//!   two's complement, so neighbouring floats are neighbouring integers across zero. We use
//!   the bijective variant (negative floats are bit-inverted, see [`SampleType::to_word`]):
//!   cbloom's `-(bits & 0x7fff..)` maps −0.0 and +0.0 to the same integer;
//! * `Binary(e, o)`: every value is `o + k · 2^e` exactly (whole metres are `e = 0`; GRIB
//!   packing is `reference + k · 2^e`; fixed-point sensors): the plane holds `k`. The
//!   offset `o` is the band's minimum (f64 bits), so a lattice that does not pass through
//!   zero still has its own step;
//! * `Decimal(d)`: every value is the float nearest `k / 10^d` (centimetre DEMs, ASCII grids
//!   with `d` decimals, NetCDF packed data): the plane holds `k`.
//!
//! * `Quantised(q)`: the lattice `fl(k · q)` of a near-lossless band (any step `q > 0`,
//!   f64 bits): its samples were moved onto it by `near_lossless`, within the bound.
//!
//! Lattice domains code floats "as integers" with the same predictor and coder, which is
//! what makes decimal-quantised DEMs cost what their integer content costs. A value the
//! lattice does not reproduce bit for bit (−0.0, a stray full-precision value) is a special.

use crate::sample::SampleType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Domain {
    Int,
    Fmap,
    Binary(i16, u64),
    Decimal(u8),
    Quantised(u64),
}

/// The band-header kind of the near-lossless lattice (float payload version 3).
pub(super) const KIND_QUANTISED: u8 = 5;

/// Whether a stored step can be a near-lossless lattice's: finite and positive.
fn is_step(q: f64) -> bool {
    q.is_finite() && q > 0.0
}

/// Largest |k| a lattice may produce: k·2^e and k/10^d stay exact in f64 arithmetic.
const MAX_LATTICE: f64 = (1u64 << 50) as f64;
/// Decimal places tried for decimal lattices.
pub(super) const MAX_DECIMALS: u8 = 9;

impl Domain {
    /// Kind, parameter, offset bits.
    pub(super) fn code(self) -> (u8, i64, u64) {
        match self {
            Domain::Int => (0, 0, 0),
            Domain::Fmap => (1, 0, 0),
            Domain::Binary(e, o) => (2, e as i64, o),
            Domain::Decimal(d) => (3, d as i64, 0),
            Domain::Quantised(q) => (KIND_QUANTISED, 0, q),
        }
    }

    pub(super) fn from_code(kind: u8, param: i64, offset: u64) -> Option<Domain> {
        match kind {
            0 => Some(Domain::Int),
            1 => Some(Domain::Fmap),
            2 if (-1100..=1100).contains(&param) && f64::from_bits(offset).is_finite() => {
                Some(Domain::Binary(param as i16, offset))
            }
            3 if (0..=MAX_DECIMALS as i64).contains(&param) => Some(Domain::Decimal(param as u8)),
            KIND_QUANTISED if param == 0 && is_step(f64::from_bits(offset)) => {
                Some(Domain::Quantised(offset))
            }
            _ => None,
        }
    }

    pub(super) fn name(self) -> String {
        match self {
            Domain::Int => "int".into(),
            Domain::Fmap => "fmap".into(),
            Domain::Binary(e, o) => format!("{}+k*2^{e}", f64::from_bits(o)),
            Domain::Decimal(d) => format!("k/1e{d}"),
            Domain::Quantised(q) => format!("k*{} (near-lossless)", f64::from_bits(q)),
        }
    }

    /// The domain with its constants computed once, for per-sample use.
    pub(super) fn mapper(self, ty: SampleType) -> Mapper {
        let (scale, offset) = match self {
            Domain::Binary(e, o) => (pow2(e as i32), f64::from_bits(o)),
            Domain::Decimal(d) => (10f64.powi(-(d as i32)), 0.0),
            Domain::Quantised(q) => (f64::from_bits(q), 0.0),
            _ => (1.0, 0.0),
        };
        let p10 = match self {
            Domain::Decimal(d) => 10f64.powi(d as i32),
            _ => 1.0,
        };
        Mapper {
            domain: self,
            ty,
            scale,
            inv_scale: 1.0 / scale,
            p10,
            offset,
        }
    }
}

/// A [`Domain`] with its constants: 2^e (exact), 10^d (exact for d <= 22) and the offset.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mapper {
    domain: Domain,
    ty: SampleType,
    scale: f64,
    inv_scale: f64,
    p10: f64,
    offset: f64,
}

impl Mapper {
    /// The lattice coordinate of a value, rounded half away from zero, if it is a safe
    /// integer. (`f64::round` is a libm call on baseline x86-64; this is exact too.)
    #[inline(always)]
    fn coordinate(&self, v: f64) -> Option<i64> {
        let scaled = match self.domain {
            Domain::Binary(..) => (v - self.offset) * self.inv_scale,
            // Division: k·q was rounded from the exact product, so v / q is within a tiny
            // fraction of k (a multiplication by 1/q would add a rounding of its own).
            Domain::Quantised(_) => v / self.scale,
            _ => v * self.p10,
        };
        // NaN fails this comparison too.
        if scaled.abs().partial_cmp(&MAX_LATTICE) != Some(std::cmp::Ordering::Less) {
            return None;
        }
        let integer = scaled as i64;
        let fraction = scaled - integer as f64;
        Some(integer + (fraction >= 0.5) as i64 - (fraction <= -0.5) as i64)
    }

    /// The plane value of one sample (its little-endian bits), or `None` if this domain
    /// cannot reproduce the sample exactly (it is then a special).
    #[inline(always)]
    pub(super) fn forward(&self, bits: u64) -> Option<i64> {
        let ty = self.ty;
        match self.domain {
            Domain::Int => Some(int_value(ty, bits)),
            Domain::Fmap => Some(fmap(ty, bits)),
            Domain::Binary(..) | Domain::Decimal(_) | Domain::Quantised(_) => {
                let integer = self.coordinate(float_value(ty, bits))?;
                (self.inverse(integer) == bits).then_some(integer)
            }
        }
    }

    /// The sample bits of a plane value. Total: corrupt planes decode to some value.
    #[inline(always)]
    pub(super) fn inverse(&self, v: i64) -> u64 {
        let ty = self.ty;
        match self.domain {
            Domain::Int => (v as u64) & mask(ty),
            Domain::Fmap => ty.from_word((v as u64).wrapping_add(sign_bit(ty)) & mask(ty)),
            Domain::Binary(..) => float_bits(ty, self.offset + v as f64 * self.scale),
            Domain::Quantised(_) => float_bits(ty, v as f64 * self.scale),
            // Division, not multiplication by 10^-d: k / 10^d is correctly rounded.
            Domain::Decimal(_) => float_bits(ty, v as f64 / self.p10),
        }
    }

    /// An approximate plane value of any sample, to predict from another band's values:
    /// the nearest lattice point (the lattice need not hold it). `None` if non-finite.
    #[inline(always)]
    pub(super) fn approx(&self, bits: u64) -> Option<i64> {
        match self.domain {
            Domain::Int => Some(int_value(self.ty, bits)),
            Domain::Fmap => Some(fmap(self.ty, bits)),
            _ => self.coordinate(float_value(self.ty, bits)),
        }
    }
}

pub(super) fn pow2(e: i32) -> f64 {
    // Two steps keep 2^e finite for the whole f64 exponent range.
    let half = e / 2;
    2f64.powi(half) * 2f64.powi(e - half)
}

/// All ones in the sample's width.
pub(super) fn mask(ty: SampleType) -> u64 {
    if ty.size() == 8 {
        u64::MAX
    } else {
        (1u64 << ty.bits()) - 1
    }
}

fn sign_bit(ty: SampleType) -> u64 {
    1u64 << (ty.bits() - 1)
}

/// `v`'s low sample-width bits read as a signed integer.
#[inline(always)]
pub(super) fn sign_extend(ty: SampleType, v: u64) -> i64 {
    let shift = 64 - ty.bits();
    ((v << shift) as i64) >> shift
}

/// cbloom's fmap, bijective: the order-preserving word, centred on zero.
#[inline]
fn fmap(ty: SampleType, bits: u64) -> i64 {
    sign_extend(ty, ty.to_word(bits).wrapping_sub(sign_bit(ty)))
}

#[inline]
fn int_value(ty: SampleType, bits: u64) -> i64 {
    match ty {
        SampleType::I32 => bits as u32 as i32 as i64,
        SampleType::I16 => bits as u16 as i16 as i64,
        SampleType::I8 => bits as u8 as i8 as i64,
        _ => bits as i64,
    }
}

#[inline]
pub(super) fn float_value(ty: SampleType, bits: u64) -> f64 {
    if ty == SampleType::F32 {
        f32::from_bits(bits as u32) as f64
    } else {
        f64::from_bits(bits)
    }
}

#[inline]
fn float_bits(ty: SampleType, v: f64) -> u64 {
    if ty == SampleType::F32 {
        (v as f32).to_bits() as u64
    } else {
        v.to_bits()
    }
}

/// The coarsest binary lattice through `offset` holding every finite value: the smallest
/// exponent of the lowest set bit of any `v − offset`. `None` if all values equal the
/// offset or the lattice would be too fine.
pub(super) fn binary_exponent(
    ty: SampleType,
    offset: f64,
    values: impl Iterator<Item = u64>,
) -> Option<i16> {
    let mut e_min = i32::MAX;
    let mut v_max = 0f64;
    for bits in values {
        let value = float_value(ty, bits) - offset;
        if value == 0.0 || !value.is_finite() {
            continue;
        }
        let (mantissa, exponent) = frexp_int(value);
        e_min = e_min.min(exponent + mantissa.trailing_zeros() as i32);
        v_max = v_max.max(value.abs());
    }
    if e_min == i32::MAX || v_max * pow2(-e_min) >= MAX_LATTICE {
        return None;
    }
    Some(e_min as i16)
}

/// `v = m · 2^e` with integer `m` (the f64 mantissa with its implicit bit).
fn frexp_int(v: f64) -> (u64, i32) {
    let raw = v.to_bits();
    let exp = ((raw >> 52) & 0x7ff) as i32;
    let frac = raw & ((1u64 << 52) - 1);
    if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_inverts_what_it_accepts() {
        let ty = SampleType::F32;
        let vals = [
            0.0f32,
            -0.0,
            1.5,
            -2.25,
            123.45,
            1e-40,
            f32::NAN,
            f32::INFINITY,
            -7.0,
        ];
        for d in [
            Domain::Fmap,
            Domain::Binary(-2, 0),
            Domain::Decimal(2),
            Domain::Binary(0, 0),
            Domain::Binary(-1, 0.25f64.to_bits()),
        ] {
            for v in vals {
                let bits = v.to_bits() as u64;
                if let Some(k) = d.mapper(ty).forward(bits) {
                    assert_eq!(d.mapper(ty).inverse(k), bits, "{d:?} {v}");
                }
            }
        }
        // -0.0 is not on a lattice (k = 0 rebuilds +0.0); every float is in fmap.
        assert_eq!(
            Domain::Binary(0, 0)
                .mapper(ty)
                .forward((-0.0f32).to_bits() as u64),
            None
        );
        let off = Domain::Binary(-1, 0.25f64.to_bits());
        assert_eq!(off.mapper(ty).forward(1.75f32.to_bits() as u64), Some(3));
        assert_eq!(off.mapper(ty).forward(1.5f32.to_bits() as u64), None);
        assert_eq!(
            Domain::Decimal(2)
                .mapper(ty)
                .forward(123.45f32.to_bits() as u64),
            Some(12345)
        );
        let f = |v: f32| Domain::Fmap.mapper(ty).forward(v.to_bits() as u64).unwrap();
        assert_eq!(f(0.0) - f(-0.0), 1, "fmap: signed zeros are neighbours");
        assert!(f(-1.0) < f(-0.0) && f(0.0) < f(1e-45));
    }

    #[test]
    fn binary_exponent_finds_the_coarsest_lattice() {
        let ty = SampleType::F64;
        let values = [265.68017578125f64, 266.0, 0.0, -3.5];
        assert_eq!(
            binary_exponent(ty, 0.0, values.iter().map(|x| x.to_bits())),
            Some(-11)
        );
        let whole = [4.0f64, 12.0, -8.0];
        assert_eq!(
            binary_exponent(ty, 0.0, whole.iter().map(|x| x.to_bits())),
            Some(2)
        );
        // GRIB-style: reference + k·2^-12, the reference on a finer grid.
        let r = 265.0 + 2f64.powi(-15);
        let lattice = [r, r + 3.0 * 2f64.powi(-12), r + 2f64.powi(-12)];
        assert_eq!(
            binary_exponent(ty, r, lattice.iter().map(|x| x.to_bits())),
            Some(-12)
        );
    }
}
