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
    /// The non-zero weights (neighbour index, weight), `tap_count` of them; wrapping
    /// sums do not depend on the order or on zero terms, so this is the same value.
    taps: [(usize, i64); NEIGHBOURS],
    tap_count: usize,
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
            taps: [(0, 0); NEIGHBOURS],
            tap_count: 0,
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
            let mut weights = [0i64; NEIGHBOURS];
            for &(j, w) in taps {
                weights[j as usize] = weights[j as usize].wrapping_add(w as i64);
            }
            for (j, &w) in weights.iter().enumerate().filter(|(_, &w)| w != 0) {
                compiled.taps[compiled.tap_count] = (j, w);
                compiled.tap_count += 1;
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
            for &(j, w) in &self.taps[..self.tap_count] {
                sum = sum.wrapping_add(w.wrapping_mul(n[j].wrapping_sub(reference_value)));
            }
            reference_value.wrapping_add(sum.wrapping_add((1i64 << self.shift) >> 1) >> self.shift)
        } else {
            self.general.predict(n)
        }
    }
}

/// Pixels of a band the encoder costs predictors on at `default` effort (every pixel at
/// `max`).
pub(super) const SAMPLE_BUDGET: usize = 16_384;

/// Rows the encoder evaluates candidates on: all of a band that has at most `budget`
/// pixels, else every k-th row, about `budget` pixels in all.
pub(super) fn sample_rows(height: usize, width: usize, budget: usize) -> Vec<usize> {
    let step = (height * width / budget.max(1)).max(1).min(height.max(1));
    (0..height).step_by(step).collect()
}

/// Whether the template of the sample at `(y, x)` (W, WW, the row above from x − 2 to
/// x + 2, two rows above from x − 1 to x + 1) holds a special.
fn template_reads_a_special(specials: &[bool], width: usize, y: usize, x: usize) -> bool {
    let at = |dy: usize, x: usize| specials[(y - dy) * width + x];
    let (left, right) = (x.saturating_sub(2), (x + 2).min(width - 1));
    (left..x).any(|x| at(0, x))
        || (y >= 1 && (left..=right).any(|x| at(1, x)))
        || (y >= 2 && (x.saturating_sub(1)..=(x + 1).min(width - 1)).any(|x| at(2, x)))
}

/// The non-special samples of the sampled rows, each with its neighbours: gathered once,
/// then every candidate is costed and fitted on them (the edge fallbacks of
/// [`neighbours`] are worked out once, not once per candidate).
pub(super) struct Sampled {
    values: Vec<i64>,
    neighbours: Vec<[i64; NEIGHBOURS]>,
    /// Whether every neighbour of the sample is inside the plane (no edge fallback) and
    /// none is a special: the samples predictors are fitted on (when there are enough).
    ///
    /// Why not beside specials: a special's plane value is a fill (its W neighbour,
    /// §5.4.3), so a sample at the edge of a nodata region or a void is predicted from
    /// values that continue nothing, and its residual is an outlier that pulls the fit
    /// towards predictors suited to the edge, not the surface (SRTM N22W160 −1.0%,
    /// S16E166 −0.6%, tmmx −0.35%). Such samples are still costed, and coded.
    interior: Vec<bool>,
    /// How many samples are interior.
    interior_count: usize,
}

impl Sampled {
    pub(super) fn gather(planes: &Planes, specials: &[bool], rows: &[usize]) -> Sampled {
        let w = planes.width;
        let mut values = Vec::with_capacity(rows.len() * w);
        let mut neighbours = Vec::with_capacity(rows.len() * w);
        let mut interior = Vec::with_capacity(rows.len() * w);
        for &y in rows {
            for x in 0..w {
                let index = y * w + x;
                if specials.get(index).copied().unwrap_or(false) {
                    continue;
                }
                values.push(planes.cur[index]);
                let inside = y >= 2 && x >= 2 && x + 2 < w;
                neighbours.push(if inside {
                    interior_neighbours(planes.cur, planes.prev, w, index)
                } else {
                    planes.neighbours(y, x)
                });
                let clean = specials.is_empty() || !template_reads_a_special(specials, w, y, x);
                interior.push(inside && clean);
            }
        }
        let interior_count = interior.iter().filter(|&&i| i).count();
        Sampled {
            values,
            neighbours,
            interior,
            interior_count,
        }
    }

    fn each(&self) -> impl Iterator<Item = (i64, &[i64; NEIGHBOURS])> {
        self.values.iter().copied().zip(&self.neighbours)
    }
}

/// Estimated bits of the sampled samples under `p`: the bit length of every residual plus
/// one.
pub(super) fn cost(p: &Predictor, sampled: &Sampled) -> u64 {
    let compiled = Compiled::new(p);
    sampled
        .each()
        .map(|(v, n)| 65 - zigzag(v.wrapping_sub(compiled.predict(n))).leading_zeros() as u64)
        .sum()
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

/// A template of a fitted predictor: the reference neighbour (`W`, or `B` for cross-band
/// fits) and the taps weighed around it.
type Template<'a> = (u8, &'a [u8]);

/// Whether a fit of `tap_count` taps sums the samples on the plane's edges too: small bands
/// (fewer samples than a reweighted round takes) fit on every sample, as before edges were
/// left out: there the edges are a large share of the samples, and leaving them out cost
/// 0.08% on ERA5 t2m's 49 x 33 bands.
fn edges_too(sampled: &Sampled, tap_count: usize) -> bool {
    sampled.values.len() < REWEIGHTED_SAMPLES || sampled.interior_count < 4 * tap_count
}

/// Least-squares weights of each template, unweighted, on the sampled samples away from
/// the plane's edges (where the fallbacks of [`neighbours`] miss by a gradient's worth and
/// would steer the fit); `None` where the system is degenerate. A template whose taps begin
/// another's, around the same reference and over the same samples, is solved from the
/// leading block of the longer one's sums: the sums are the same, in the same order, and
/// summing was most of the float encoder's time on few-band grids (ERA-Interim).
fn plain_weights(sampled: &Sampled, templates: &[Template]) -> Vec<Option<Vec<f64>>> {
    let mut summed: Vec<(Template, bool, NormalEquations)> = Vec::new();
    let longest_first = {
        let mut order: Vec<usize> = (0..templates.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(templates[i].1.len()));
        order
    };
    let mut weights = vec![None; templates.len()];
    for i in longest_first {
        let (reference, taps) = templates[i];
        let edges = edges_too(sampled, taps.len());
        let shared = summed
            .iter()
            .find(|((r, longer), e, _)| *r == reference && *e == edges && longer.starts_with(taps));
        weights[i] = match shared {
            Some((_, _, sums)) => sums.solve(taps.len()),
            None => {
                let sums = NormalEquations::sum(sampled, templates[i], edges, 1, None);
                let solved = sums.solve(taps.len());
                summed.push((templates[i], edges, sums));
                solved
            }
        };
    }
    weights
}

/// `weights` of `template` refitted `rounds` times, each sample weighing `1/max(|r|, 1)`
/// (`r` its residual under the previous weights) on at most [`REWEIGHTED_SAMPLES`] of them:
/// towards the least absolute residual, which is what the entropy coder pays for; least
/// squares chases the largest residuals, such as a coast's.
fn reweighted(sampled: &Sampled, template: Template, weights: Vec<f64>, rounds: usize) -> Vec<f64> {
    let edges = edges_too(sampled, template.1.len());
    let step = (sampled.interior_count / REWEIGHTED_SAMPLES).max(1);
    let mut weights = weights;
    for _ in 0..rounds {
        let sums = NormalEquations::sum(sampled, template, edges, step, Some(&weights));
        match sums.solve(template.1.len()) {
            Some(next) => weights = next,
            None => break,
        }
    }
    weights
}

/// The predictor of `template` with `weights` quantised to 2^-FIT_SHIFT (zero weights
/// left out). `wide`: the planes' spans need 128-bit arithmetic.
fn quantised((reference, taps): Template, weights: &[f64], wide: bool) -> Predictor {
    let scale = (1u64 << FIT_SHIFT) as f64;
    let quantised: Vec<(u8, i32)> = taps
        .iter()
        .zip(weights)
        .filter_map(|(&j, &c)| {
            let v = (c * scale).round();
            (v.is_finite() && v.abs() < MAX_COEF as f64 && v != 0.0).then_some((j, v as i32))
        })
        .collect();
    Predictor::Linear {
        reference,
        shift: FIT_SHIFT,
        taps: quantised,
        wide,
    }
}

/// Reweighted rounds of the refit of the best template (see [`choose`]).
const REWEIGHTED_ROUNDS: usize = 2;
/// Most samples a reweighted round sums over.
const REWEIGHTED_SAMPLES: usize = 4096;

/// The (weighted) normal equations of a template: the lower triangle of the Gram matrix of
/// the taps' differences from the reference, the right-hand side and how many samples
/// were summed.
struct NormalEquations {
    gram: [[f64; NEIGHBOURS]; NEIGHBOURS],
    rhs: [f64; NEIGHBOURS],
    count: usize,
}

impl NormalEquations {
    /// The sums over every `step`-th sample away from the edges (of every sample with
    /// `edges_too`); with `previous`, each sample weighs `1/max(|r|, 1)`, `r` its residual
    /// under those weights.
    fn sum(
        sampled: &Sampled,
        (reference, taps): Template,
        edges_too: bool,
        step: usize,
        previous: Option<&[f64]>,
    ) -> Self {
        let tap_count = taps.len();
        let mut sums = NormalEquations {
            gram: [[0f64; NEIGHBOURS]; NEIGHBOURS],
            rhs: [0f64; NEIGHBOURS],
            count: 0,
        };
        let mut features = [0f64; NEIGHBOURS];
        let chosen = sampled
            .each()
            .zip(&sampled.interior)
            .filter(|(_, &interior)| interior || edges_too);
        for ((v, n), _) in chosen.step_by(step) {
            let reference_value = n[reference as usize] as f64;
            let target = v as f64 - reference_value;
            for (fj, &j) in features.iter_mut().zip(taps) {
                *fj = n[j as usize] as f64 - reference_value;
            }
            let weight = match previous {
                None => 1.0,
                Some(w) => {
                    let predicted: f64 = w.iter().zip(&features).map(|(c, f)| c * f).sum();
                    1.0 / (target - predicted).abs().max(1.0)
                }
            };
            for a in 0..tap_count {
                let fa = features[a] * weight;
                sums.rhs[a] += fa * target;
                for (g, &fc) in sums.gram[a][..=a].iter_mut().zip(&features[..=a]) {
                    *g += fa * fc;
                }
            }
            sums.count += 1;
        }
        sums
    }

    /// The weights of the first `tap_count` taps (one Cholesky solve of their block, with a
    /// tiny ridge), or `None` if the system is degenerate or has too few samples.
    fn solve(&self, tap_count: usize) -> Option<Vec<f64>> {
        if self.count < 4 * tap_count {
            return None;
        }
        let gram = &self.gram;
        let mut matrix =
            DMatrix::<f64>::from_fn(tap_count, tap_count, |a, c| gram[a.max(c)][a.min(c)]);
        let ridge =
            (0..tap_count).map(|a| gram[a][a]).sum::<f64>() / tap_count as f64 * 1e-9 + 1e-12;
        for a in 0..tap_count {
            matrix[(a, a)] += ridge;
        }
        let solution = matrix
            .cholesky()?
            .solve(&DVector::from_column_slice(&self.rhs[..tap_count]));
        Some(solution.iter().copied().collect())
    }
}

/// The fixed candidates: W, N, planar, MED, and with a previous band B and the cross-band
/// planar predictors.
fn fixed_candidates(has_previous: bool) -> Vec<Predictor> {
    let mut candidates = vec![
        Predictor::fixed(W, &[]),
        Predictor::fixed(N, &[]),
        Predictor::fixed(N, &[(W, 1), (NW, -1)]),
        Predictor::Med,
    ];
    if has_previous {
        candidates.push(Predictor::fixed(B, &[]));
        candidates.push(Predictor::fixed(B, &[(W, 1), (BW, -1)]));
        candidates.push(Predictor::fixed(B, &[(N, 1), (BN, -1)]));
    }
    candidates
}

/// A band's estimated bits under the best fixed predictor, from at most `budget` pixels:
/// how the encoder ranks domains before fitting predictors on the best.
pub(super) fn quick_cost(planes: &Planes, specials: &[bool], budget: usize) -> u64 {
    let height = planes.cur.len() / planes.width.max(1);
    let rows = sample_rows(height, planes.width, budget);
    let sampled = Sampled::gather(planes, specials, &rows);
    let best = fixed_candidates(planes.prev.is_some())
        .iter()
        .map(|p| cost(p, &sampled))
        .min()
        .unwrap_or(0);
    best * height as u64 / rows.len().max(1) as u64
}

/// The candidates for a band, costed on about `budget` of its pixels: fixed predictors,
/// then fitted ones (`fit_ls`), with the cross-band ones when a previous band in the same
/// domain exists. Returns the cheapest and its estimated bits for the whole band.
pub(super) fn choose(
    planes: &Planes,
    specials: &[bool],
    fit_ls: bool,
    budget: usize,
) -> (Predictor, u64) {
    let height = planes.cur.len() / planes.width.max(1);
    let rows = sample_rows(height, planes.width, budget);
    let sampled = Sampled::gather(planes, specials, &rows);
    let cands = fixed_candidates(planes.prev.is_some());
    // Estimated bits for the whole band: the sampled rows' cost scaled by the rows.
    let scale = |scaled_cost: u64| scaled_cost * height as u64 / rows.len().max(1) as u64;
    let costed = |p: Predictor| {
        let scaled_cost = scale(cost(&p, &sampled));
        (p, scaled_cost)
    };
    let cheapest = |a: (Predictor, u64), b: (Predictor, u64)| if b.1 < a.1 { b } else { a };
    let best_fixed = cands
        .into_iter()
        .map(costed)
        .reduce(cheapest)
        .expect("fixed candidates");
    if !fit_ls {
        return best_fixed;
    }
    // Fixed predictors on planes that could overflow i64 products need no wide
    // arithmetic: their weights are ±1 and sums wrap consistently on both sides.
    let wide =
        span(planes.cur) >= NARROW_SPAN || planes.prev.is_some_and(|p| span(p) >= NARROW_SPAN);
    // The wider template (LSOP-like) pays on smooth fields such as DEMs and winds.
    let wider: &[u8] = &[N, NW, NE, WW, NN, NWW, NNW, NNE, NEE];
    let mut templates: Vec<Template> = vec![(W, &[N, NW, NE, WW, NN]), (W, wider)];
    if planes.prev.is_some() {
        templates.push((B, &[W, N, NW, NE, BW, BN]));
    }
    let plain = plain_weights(&sampled, &templates);
    let best_fitted = templates
        .iter()
        .zip(plain)
        .filter_map(|(&template, weights)| {
            let weights = weights?;
            let fitted = costed(quantised(template, &weights, wide));
            Some((template, weights, fitted))
        })
        .reduce(|a, b| if b.2 .1 < a.2 .1 { b } else { a });
    let Some((template, weights, fitted)) = best_fitted else {
        return best_fixed;
    };
    // The best template refitted towards the least absolute residual (a fixed predictor
    // may lose to it where it beat the plain fit: planar on ERA-Interim geopotential).
    // Only on bands of at least the sample budget's pixels: on smaller ones the refit cost
    // a fifth of the encoding time for 0.04% (ERA5 t2m's 49 x 33 bands, the Landlab DEM's
    // 9,760 pixels).
    let large = planes.cur.len() >= SAMPLE_BUDGET;
    let refitted = large.then(|| {
        let weights = reweighted(&sampled, template, weights, REWEIGHTED_ROUNDS);
        costed(quantised(template, &weights, wide))
    });
    let best = cheapest(best_fixed, fitted);
    match refitted {
        Some(refitted) => cheapest(best, refitted),
        None => best,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_reads_the_specials_above_and_left_and_nothing_else() {
        // A 6 x 4 band with one special at (1, 3).
        let (width, height) = (6, 4);
        let mut specials = vec![false; width * height];
        specials[width + 3] = true;
        let reads: Vec<(usize, usize)> = (0..height)
            .flat_map(|y| (0..width).map(move |x| (y, x)))
            .filter(|&(y, x)| template_reads_a_special(&specials, width, y, x))
            .collect();
        // Right of it in its row (W, WW), below it in the next row (x ± 2) and two rows
        // down (x ± 1); never before it in raster order.
        let expected = vec![
            (1, 4),
            (1, 5),
            (2, 1),
            (2, 2),
            (2, 3),
            (2, 4),
            (2, 5),
            (3, 2),
            (3, 3),
            (3, 4),
        ];
        assert_eq!(reads, expected);
    }
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
        let (best, _) = choose(&planes, &specials, true, usize::MAX);
        let sampled = Sampled::gather(&planes, &specials, &rows);
        assert!(cost(&best, &sampled) <= cost(&planar, &sampled), "{best:?}");
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
