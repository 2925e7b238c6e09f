//! Predictors on `i64` planes: fixed ones (W, N, planar, MED, previous band, cross-band
//! planar) and a least-squares linear predictor fitted per band and tile (Gridfour's
//! "optimal predictor", LSOP, uses the same idea with a 12-neighbour template). The encoder
//! picks whichever costs fewest estimated bits on the band.
//!
//! A linear predictor is `R + round(Σ c_j (n_j − R) / 2^shift)`: a reference neighbour `R`
//! plus weighted differences, so a predictor whose weights sum to one is exact on planes.
//! Arithmetic wraps (it is only a prediction; the residual is taken modulo 2^64), and
//! planes whose span could overflow `i64` products are computed in `i128` (`wide`).

use crate::entropy::tokens::wide::zigzag;
use crate::entropy::varint::{put_i, Cursor};
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};

/// Neighbour indices: the plane's causal neighbours, then the previous band's.
pub(super) const W: u8 = 0;
pub(super) const N: u8 = 1;
pub(super) const NW: u8 = 2;
pub(super) const NE: u8 = 3;
pub(super) const WW: u8 = 4;
pub(super) const NN: u8 = 5;
pub(super) const B: u8 = 6;
pub(super) const BW: u8 = 7;
pub(super) const BN: u8 = 8;
pub(super) const NWW: u8 = 9;
pub(super) const NNW: u8 = 10;
pub(super) const NNE: u8 = 11;
pub(super) const NEE: u8 = 12;
pub(super) const NEIGHBOURS: usize = 13;

/// Whether neighbour `j` lies in the previous band.
#[inline]
pub(super) fn in_previous_band(j: u8) -> bool {
    (B..=BN).contains(&j)
}

/// Fixed-point precision of fitted weights.
const FIT_SHIFT: u8 = 12;
/// Largest |weight| (in units of 2^-shift) a stored predictor may have.
const MAX_COEF: i64 = 1 << 20;
/// Planes whose span is below this use `i64` arithmetic: |c|·span·taps < 2^63.
const NARROW_SPAN: i128 = 1 << 38;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Predictor {
    Linear {
        reference: u8,
        shift: u8,
        taps: Vec<(u8, i32)>,
        wide: bool,
    },
    /// LOCO-I's median edge detector on W, N, NW.
    Med,
}

/// A band being predicted: its plane (causal part valid) and the previous band's plane.
pub(super) struct Planes<'a> {
    pub cur: &'a [i64],
    pub prev: Option<&'a [i64]>,
    pub width: usize,
}

impl Planes<'_> {
    #[inline(always)]
    pub(super) fn neighbours(&self, y: usize, x: usize) -> [i64; NEIGHBOURS] {
        neighbours(self.cur, self.prev, self.width, y, x)
    }
}

/// [`neighbours`] of sample `i` at y >= 2, 2 <= x < w - 2, where all of them exist.
#[inline(always)]
pub(super) fn interior_neighbours(
    c: &[i64],
    prev: Option<&[i64]>,
    w: usize,
    i: usize,
) -> [i64; NEIGHBOURS] {
    let (west, north) = (c[i - 1], c[i - w]);
    let (band, vbw, vbn) = match prev {
        Some(p) => (p[i], p[i - 1], p[i - w]),
        None => (west, west, north),
    };
    let nn_start = i - 2 * w;
    [
        west,
        north,
        c[i - w - 1],
        c[i - w + 1],
        c[i - 2],
        c[nn_start],
        band,
        vbw,
        vbn,
        c[i - w - 2],
        c[nn_start - 1],
        c[nn_start + 1],
        c[i - w + 2],
    ]
}

/// The neighbours of (y, x) in `cur` (valid before (y, x) in raster order) and `prev`,
/// with fallbacks at the edges: a missing neighbour takes the value of the nearest one that
/// exists, so no edge needs its own predictor.
#[inline(always)]
pub(super) fn neighbours(
    c: &[i64],
    prev: Option<&[i64]>,
    w: usize,
    y: usize,
    x: usize,
) -> [i64; NEIGHBOURS] {
    let i = y * w + x;
    let west = if x > 0 {
        c[i - 1]
    } else if y > 0 {
        c[i - w]
    } else {
        prev.map_or(0, |p| p[i])
    };
    let north = if y > 0 { c[i - w] } else { west };
    let vnw = if y > 0 && x > 0 { c[i - w - 1] } else { north };
    let vne = if y > 0 && x + 1 < w {
        c[i - w + 1]
    } else {
        north
    };
    let vww = if x > 1 { c[i - 2] } else { west };
    let vnn = if y > 1 { c[i - 2 * w] } else { north };
    let (band, vbw, vbn) = match prev {
        Some(p) => {
            let west_in_band = if x > 0 {
                p[i - 1]
            } else if y > 0 {
                p[i - w]
            } else {
                p[i]
            };
            let north_in_band = if y > 0 { p[i - w] } else { west_in_band };
            (p[i], west_in_band, north_in_band)
        }
        None => (west, west, north),
    };
    let vnww = if y > 0 && x > 1 { c[i - w - 2] } else { vnw };
    let vnnw = if y > 1 && x > 0 {
        c[i - 2 * w - 1]
    } else {
        vnn
    };
    let vnne = if y > 1 && x + 1 < w {
        c[i - 2 * w + 1]
    } else {
        vnn
    };
    let vnee = if y > 0 && x + 2 < w {
        c[i - w + 2]
    } else {
        vne
    };
    [
        west, north, vnw, vne, vww, vnn, band, vbw, vbn, vnww, vnnw, vnne, vnee,
    ]
}

impl Predictor {
    pub(super) fn fixed(reference: u8, taps: &[(u8, i32)]) -> Self {
        Predictor::Linear {
            reference,
            shift: 0,
            taps: taps.to_vec(),
            wide: false,
        }
    }

    pub(super) fn uses_prev(&self) -> bool {
        match self {
            Predictor::Linear {
                reference, taps, ..
            } => in_previous_band(*reference) || taps.iter().any(|t| in_previous_band(t.0)),
            Predictor::Med => false,
        }
    }

    pub(super) fn name(&self) -> String {
        const NAMES: [&str; NEIGHBOURS] = [
            "W", "N", "NW", "NE", "WW", "NN", "B", "BW", "BN", "NWW", "NNW", "NNE", "NEE",
        ];
        match self {
            Predictor::Med => "MED".into(),
            Predictor::Linear {
                reference,
                taps,
                shift,
                ..
            } if *shift == 0 => {
                let mut label = NAMES[*reference as usize].to_string();
                for (n, c) in taps {
                    label += &format!(
                        "{c:+}({}-{})",
                        NAMES[*n as usize], NAMES[*reference as usize]
                    );
                }
                label
            }
            Predictor::Linear {
                reference, taps, ..
            } => {
                let tap_names: Vec<&str> = taps
                    .iter()
                    .map(|tap_names| NAMES[tap_names.0 as usize])
                    .collect();
                format!("LS({};{})", NAMES[*reference as usize], tap_names.join(","))
            }
        }
    }

    #[inline(always)]
    pub(super) fn predict(&self, n: &[i64; NEIGHBOURS]) -> i64 {
        match self {
            Predictor::Med => {
                let (west, north, north_west) = (n[W as usize], n[N as usize], n[NW as usize]);
                if north_west >= west.max(north) {
                    west.min(north)
                } else if north_west <= west.min(north) {
                    west.max(north)
                } else {
                    west.wrapping_add(north).wrapping_sub(north_west)
                }
            }
            Predictor::Linear {
                reference,
                shift,
                taps,
                wide,
            } => {
                let reference_value = n[*reference as usize];
                let round = (1i64 << *shift) >> 1;
                if *wide {
                    let mut sum = 0i128;
                    for &(j, c) in taps {
                        sum += c as i128 * (n[j as usize] as i128 - reference_value as i128);
                    }
                    let prediction = reference_value as i128 + ((sum + round as i128) >> *shift);
                    prediction.clamp(i64::MIN as i128, i64::MAX as i128) as i64
                } else {
                    let mut sum = 0i64;
                    for &(j, c) in taps {
                        sum = sum.wrapping_add(
                            (c as i64).wrapping_mul(n[j as usize].wrapping_sub(reference_value)),
                        );
                    }
                    reference_value.wrapping_add(sum.wrapping_add(round) >> *shift)
                }
            }
        }
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Predictor::Med => out.push(1),
            Predictor::Linear {
                reference,
                shift,
                taps,
                wide,
            } => {
                out.extend_from_slice(&[0, *reference, *shift, *wide as u8, taps.len() as u8]);
                for &(j, c) in taps {
                    out.push(j);
                    put_i(out, c as i64);
                }
            }
        }
    }

    pub(super) fn read(r: &mut Cursor, has_prev: bool) -> Result<Predictor> {
        let neighbour = |r: &mut Cursor| -> Result<u8> {
            let neighbour_index = r.bytes(1, "predictor neighbour")?[0];
            if neighbour_index as usize >= NEIGHBOURS
                || (in_previous_band(neighbour_index) && !has_prev)
            {
                return Err(Error::corrupt(format!(
                    "float: predictor neighbour {neighbour_index} does not exist for this band"
                )));
            }
            Ok(neighbour_index)
        };
        match r.bytes(1, "predictor kind")?[0] {
            1 => Ok(Predictor::Med),
            0 => {
                let reference = neighbour(r)?;
                let header = r.bytes(3, "predictor shift, wide flag and taps")?;
                let (shift, wide, count) = (header[0], header[1] != 0, header[2]);
                if shift > 30 || count as usize > NEIGHBOURS {
                    return Err(Error::corrupt(format!(
                        "float: predictor shift {shift} or tap count {count} out of range"
                    )));
                }
                let mut taps = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let neighbour_index = neighbour(r)?;
                    taps.push((
                        neighbour_index,
                        r.signed("predictor weight", MAX_COEF)? as i32,
                    ));
                }
                Ok(Predictor::Linear {
                    reference,
                    shift,
                    taps,
                    wide,
                })
            }
            k => Err(Error::corrupt(format!("float: unknown predictor kind {k}"))),
        }
    }
}

/// A predictor laid out for the decoder's inner loop: a linear predictor's weights as a
/// dense array over all nine neighbours (zeros where unused), so a prediction is nine
/// independent multiply-adds instead of a loop over taps.
pub(super) struct Compiled {
    kind: u8,
    reference: usize,
    shift: u32,
    weights: [i64; NEIGHBOURS],
    general: Predictor,
}

const COMPILED_NARROW: u8 = 0;
const COMPILED_OTHER: u8 = 1;

impl Compiled {
    pub(super) fn new(p: &Predictor) -> Compiled {
        let mut compiled = Compiled {
            kind: COMPILED_OTHER,
            reference: 0,
            shift: 0,
            weights: [0; NEIGHBOURS],
            general: p.clone(),
        };
        if let Predictor::Linear {
            reference,
            shift,
            taps,
            wide: false,
        } = p
        {
            compiled.kind = COMPILED_NARROW;
            compiled.reference = *reference as usize;
            compiled.shift = *shift as u32;
            for &(j, w) in taps {
                compiled.weights[j as usize] = compiled.weights[j as usize].wrapping_add(w as i64);
            }
        }
        compiled
    }

    /// Same value as [`Predictor::predict`].
    #[inline(always)]
    pub(super) fn predict(&self, n: &[i64; NEIGHBOURS]) -> i64 {
        if self.kind == COMPILED_NARROW {
            let reference_value = n[self.reference];
            let mut sum = 0i64;
            for (w, v) in self.weights.iter().zip(n) {
                sum = sum.wrapping_add(w.wrapping_mul(v.wrapping_sub(reference_value)));
            }
            reference_value.wrapping_add(sum.wrapping_add((1i64 << self.shift) >> 1) >> self.shift)
        } else {
            self.general.predict(n)
        }
    }
}

/// Rows the encoder evaluates candidates on: all of a small band, every k-th row of a
/// large one (at least ~16k pixels).
pub(super) fn sample_rows(height: usize, width: usize, all: bool) -> Vec<usize> {
    let step = if all {
        1
    } else {
        (height * width / 16_384).max(1).min(height)
    };
    (0..height).step_by(step).collect()
}

/// Calls `f(value, neighbours)` for every non-special sample of the sampled rows.
fn each_sample(
    planes: &Planes,
    specials: &[bool],
    rows: &[usize],
    mut f: impl FnMut(i64, &[i64; NEIGHBOURS]),
) {
    let w = planes.width;
    for &y in rows {
        for x in 0..w {
            let index = y * w + x;
            if !specials.get(index).copied().unwrap_or(false) {
                f(planes.cur[index], &planes.neighbours(y, x));
            }
        }
    }
}

/// Estimated bits of a band under `p`: the bit length of every residual plus one.
pub(super) fn cost(p: &Predictor, planes: &Planes, specials: &[bool], rows: &[usize]) -> u64 {
    let mut bits = 0u64;
    each_sample(planes, specials, rows, |v, n| {
        bits += 65 - zigzag(v.wrapping_sub(p.predict(n))).leading_zeros() as u64;
    });
    bits
}

/// Span of the plane's values (max − min), in i128.
pub(super) fn span(plane: &[i64]) -> i128 {
    let (low, high) = plane
        .iter()
        .fold((i64::MAX, i64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    if low > high {
        0
    } else {
        high as i128 - low as i128
    }
}

/// Least-squares weights of `taps` around reference `W` (or `B` for cross-band fits),
/// fitted on the sampled rows and quantised to 2^-FIT_SHIFT. `None` if the system is
/// degenerate.
pub(super) fn fit(
    planes: &Planes,
    specials: &[bool],
    rows: &[usize],
    reference: u8,
    taps: &[u8],
) -> Option<Predictor> {
    let tap_count = taps.len();
    let mut gram = DMatrix::<f64>::zeros(tap_count, tap_count);
    let mut rhs = DVector::<f64>::zeros(tap_count);
    let mut features = vec![0f64; tap_count];
    let mut count = 0usize;
    each_sample(planes, specials, rows, |v, n| {
        let reference_value = n[reference as usize] as f64;
        let target = v as f64 - reference_value;
        for (fj, &j) in features.iter_mut().zip(taps) {
            *fj = n[j as usize] as f64 - reference_value;
        }
        for a in 0..tap_count {
            rhs[a] += features[a] * target;
            for c in 0..=a {
                gram[(a, c)] += features[a] * features[c];
            }
        }
        count += 1;
    });
    if count < 4 * tap_count {
        return None;
    }
    for a in 0..tap_count {
        for c in 0..a {
            gram[(c, a)] = gram[(a, c)];
        }
    }
    let ridge = (0..tap_count).map(|a| gram[(a, a)]).sum::<f64>() / tap_count as f64 * 1e-9 + 1e-12;
    for a in 0..tap_count {
        gram[(a, a)] += ridge;
    }
    let sol = gram.cholesky()?.solve(&rhs);
    let scale = (1u64 << FIT_SHIFT) as f64;
    let quantised: Vec<(u8, i32)> = taps
        .iter()
        .zip(sol.iter())
        .filter_map(|(&j, &c)| {
            let v = (c * scale).round();
            (v.is_finite() && v.abs() < MAX_COEF as f64 && v != 0.0).then_some((j, v as i32))
        })
        .collect();
    Some(Predictor::Linear {
        reference,
        shift: FIT_SHIFT,
        taps: quantised,
        wide: span(planes.cur) >= NARROW_SPAN
            || planes.prev.is_some_and(|p| span(p) >= NARROW_SPAN),
    })
}

/// The candidates for a band: fixed predictors, then fitted ones (`fit` effort), with the
/// cross-band ones when a previous band in the same domain exists.
pub(super) fn choose(
    planes: &Planes,
    specials: &[bool],
    fit_ls: bool,
    all_rows: bool,
) -> (Predictor, u64) {
    let rows = sample_rows(
        planes.cur.len() / planes.width.max(1),
        planes.width,
        all_rows,
    );
    let mut cands = vec![
        Predictor::fixed(W, &[]),
        Predictor::fixed(N, &[]),
        Predictor::fixed(N, &[(W, 1), (NW, -1)]),
        Predictor::Med,
    ];
    if planes.prev.is_some() {
        cands.push(Predictor::fixed(B, &[]));
        cands.push(Predictor::fixed(B, &[(W, 1), (BW, -1)]));
        cands.push(Predictor::fixed(B, &[(N, 1), (BN, -1)]));
    }
    // Fixed predictors on planes that could overflow i64 products need no wide
    // arithmetic: their weights are ±1 and sums wrap consistently on both sides.
    if fit_ls {
        if let Some(p) = fit(planes, specials, &rows, W, &[N, NW, NE, WW, NN]) {
            cands.push(p);
        }
        // The wider template (LSOP-like): pays on smooth fields such as DEMs and winds.
        if let Some(p) = fit(
            planes,
            specials,
            &rows,
            W,
            &[N, NW, NE, WW, NN, NWW, NNW, NNE, NEE],
        ) {
            cands.push(p);
        }
        if planes.prev.is_some() {
            if let Some(p) = fit(planes, specials, &rows, B, &[W, N, NW, NE, BW, BN]) {
                cands.push(p);
            }
        }
    }
    // Estimated bits for the whole band: the sampled rows' cost scaled by the rows.
    let height = planes.cur.len() / planes.width.max(1);
    let scale = |scaled_cost: u64| scaled_cost * height as u64 / rows.len().max(1) as u64;
    cands
        .into_iter()
        .map(|p| {
            let scaled_cost = scale(cost(&p, planes, specials, &rows));
            (p, scaled_cost)
        })
        .min_by_key(|(_, scaled_cost)| *scaled_cost)
        .expect("candidates")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::tokens::wide::unzigzag;

    #[test]
    fn planar_is_exact_on_a_plane_and_fit_finds_it() {
        let (w, height) = (40, 30);
        let plane: Vec<i64> = (0..height * w)
            .map(|i| 1000 + 3 * (i % w) as i64 - 7 * (i / w) as i64)
            .collect();
        let planes = Planes {
            cur: &plane,
            prev: None,
            width: w,
        };
        let specials = vec![false; plane.len()];
        let rows: Vec<usize> = (2..height).collect();
        let planar = Predictor::fixed(N, &[(W, 1), (NW, -1)]);
        for &y in &rows {
            for x in 1..w {
                assert_eq!(planar.predict(&planes.neighbours(y, x)), plane[y * w + x]);
            }
        }
        let (best, _) = choose(&planes, &specials, true, true);
        let best_cost = cost(&best, &planes, &specials, &rows);
        assert!(
            best_cost <= cost(&planar, &planes, &specials, &rows),
            "{best:?}"
        );
        let mut buf = Vec::new();
        best.write(&mut buf);
        assert_eq!(
            Predictor::read(&mut Cursor::new(&buf, "float"), false).unwrap(),
            best
        );
    }

    #[test]
    fn wide_and_narrow_arithmetic_agree_when_nothing_overflows() {
        let neighbours = [5i64, -9, 100, 3, 7, 8, 0, 0, 0, 4, -2, 11, 6];
        let taps = vec![(N, 1234), (NW, -2222), (NE, 999), (NNE, -77)];
        let make = |wide| Predictor::Linear {
            reference: W,
            shift: 12,
            taps: taps.clone(),
            wide,
        };
        assert_eq!(
            make(true).predict(&neighbours),
            make(false).predict(&neighbours)
        );
        assert_eq!(
            Compiled::new(&make(false)).predict(&neighbours),
            make(false).predict(&neighbours)
        );
        let med = Predictor::Med;
        assert_eq!(
            Compiled::new(&med).predict(&neighbours),
            med.predict(&neighbours)
        );
        for r in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(r)), r);
        }
    }
}
