//! A band's planes: the domains worth trying on it, its plane in one of them with its
//! specials (NaN, ±Inf, sentinels, values the domain cannot rebuild) filled as the decoder
//! fills them, the previous band mapped into its domain, and the rank-space versions.

use super::domain::{self, Domain, MAX_DECIMALS};
use super::palette::Palette;
use super::specials::{self, Specials};
use crate::sample::SampleType;

/// Specials may be at most this fraction of a band for a lattice to be worth it.
pub(super) const MAX_SPECIAL_SHARE: usize = 8;

/// The lattice and fmap/int domains worth trying on a band.
pub(super) fn candidate_domains(ty: SampleType, bits: &[u64], special: &[bool]) -> Vec<Domain> {
    if !ty.is_float() {
        return vec![Domain::Int];
    }
    let mut domains = vec![Domain::Fmap];
    let finite = || {
        bits.iter()
            .zip(special)
            .filter(|(_, &s)| !s)
            .map(|(&b, _)| b)
    };
    let offset = finite()
        .map(|b| domain::float_value(ty, b))
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let exponent = offset
        .is_finite()
        .then(|| domain::binary_exponent(ty, offset, finite()))
        .flatten();
    if let Some(exponent) = exponent {
        domains.push(Domain::Binary(exponent, offset.to_bits()));
    }
    if exponent.is_none_or(|exponent| exponent < 0) {
        // The fewest decimals that rebuild almost every value (the rest become specials):
        // a sample first, then all.
        let probe: Vec<u64> = finite().step_by((bits.len() / 512).max(1)).collect();
        for dec in 1..=MAX_DECIMALS {
            let decimal = Domain::Decimal(dec);
            let decimal_mapper = decimal.mapper(ty);
            let probe_misses = probe
                .iter()
                .filter(|&&b| decimal_mapper.forward(b).is_none())
                .count();
            if probe_misses * MAX_SPECIAL_SHARE * 2 <= probe.len() {
                let misses = finite()
                    .filter(|&b| decimal_mapper.forward(b).is_none())
                    .count();
                if misses * MAX_SPECIAL_SHARE <= bits.len() {
                    domains.push(decimal);
                }
                break;
            }
        }
    }
    domains
}

/// The band's plane in `domain`, and its specials (non-finite values, sentinels, values the
/// domain does not rebuild), filled as the decoder will fill them.
pub(super) fn plane_in(
    ty: SampleType,
    bits: &[u64],
    base_special: &[bool],
    domain: Domain,
    width: usize,
) -> (Vec<i64>, Vec<bool>, Specials) {
    let mut mask = base_special.to_vec();
    let mut plane = vec![0i64; bits.len()];
    let mapper = domain.mapper(ty);
    for (i, &b) in bits.iter().enumerate() {
        if mask[i] {
            continue;
        }
        match mapper.forward(b) {
            Some(v) => plane[i] = v,
            None => mask[i] = true,
        }
    }
    specials::fill(&mut plane, width, &mask);
    let mut found = Specials::default();
    for (i, &mapper) in mask.iter().enumerate() {
        if mapper {
            found.positions.push(i as u32);
            found.bits.push(bits[i]);
        }
    }
    (plane, mask, found)
}

/// The previous band's samples as (approximate) plane values of `domain`, so any band can
/// predict from the one before it whatever their domains; values the domain cannot place
/// (NaN, ±Inf) are filled like specials.
pub(super) fn prev_plane(ty: SampleType, prev: &[u64], domain: Domain, width: usize) -> Vec<i64> {
    let mut mask = vec![false; prev.len()];
    let mapper = domain.mapper(ty);
    let mut plane: Vec<i64> = prev
        .iter()
        .zip(mask.iter_mut())
        .map(|(&b, m)| {
            mapper.approx(b).unwrap_or_else(|| {
                *m = true;
                0
            })
        })
        .collect();
    specials::fill(&mut plane, width, &mask);
    plane
}

/// A plane and the previous band's plane in rank space of `pal` (specials refilled the
/// way the decoder fills them).
pub(super) fn to_ranks(
    pal: &Palette,
    plane: &[i64],
    prev: Option<&[i64]>,
    mask: &[bool],
    width: usize,
) -> (Vec<i64>, Option<Vec<i64>>) {
    // A kept value is in the palette: its nearest rank is its rank. A special ranks as the
    // first value, 0, until `fill` replaces it.
    let first = pal.values[0];
    let kept = plane
        .iter()
        .zip(mask)
        .map(|(&v, &m)| if m { first } else { v });
    let mut ranked = pal.nearest_ranks(kept);
    specials::fill(&mut ranked, width, mask);
    let ranked_previous = prev.map(|p| pal.nearest_ranks(p.iter().copied()));
    (ranked, ranked_previous)
}

/// Non-finite values and far-off sentinels (nodata) of a band.
pub(super) fn base_specials(ty: SampleType, bits: &[u64]) -> Vec<bool> {
    let mut mask: Vec<bool> = bits.iter().map(|&b| specials::non_finite(ty, b)).collect();
    let value = |b: u64| {
        if ty.is_float() {
            domain::float_value(ty, b)
        } else {
            Domain::Int.mapper(ty).forward(b).expect("ints") as f64
        }
    };
    let vals: Vec<f64> = bits
        .iter()
        .zip(&mask)
        .filter(|(_, &m)| !m)
        .map(|(&b, _)| value(b))
        .collect();
    let sentinels = specials::sentinels(&vals);
    if !sentinels.is_empty() {
        for (m, &b) in mask.iter_mut().zip(bits) {
            let v = value(b);
            // Compare bits-equal values only (a sentinel 0.0 must not take −0.0 along).
            if sentinels
                .iter()
                .any(|&s| s == v && (s != 0.0 || s.to_bits() == v.to_bits()))
            {
                *m = true;
            }
        }
    }
    let distinct = {
        let mut d: Vec<u64> = bits
            .iter()
            .zip(&mask)
            .filter(|(_, &m)| m)
            .map(|(&b, _)| b)
            .collect();
        d.sort_unstable();
        d.dedup();
        d.len()
    };
    if distinct > specials::MAX_DISTINCT {
        // Too many distinct NaN payloads or sentinels to list: keep them in the plane.
        return vec![false; bits.len()];
    }
    mask
}
