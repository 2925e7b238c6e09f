//! Native tile encoder: fit the plan, predict every sample, fit the context model, then
//! entropy-code the residual tokens (rANS, written backwards) and their raw bits.

use super::context::{ContextModel, LEVELS, W_TOKENS};
use super::decode::{context_row, MagnitudeRows};
use super::engine::{
    flat_row, row_base, segment_start, sequential_coefs, spatial_row, zero_flat_levels, Acc,
    PairRows, Rows,
};
use super::fit::{self, Pool, Tile};
use super::palette::Palette;
use super::plan::{
    self, ChannelPredictor, ContextParams, Plan, Spatial, CONTEXT_WEIGHTS, MAX_CONTEXTS,
};
use super::{Geometry, Settings};
use crate::entropy::bits::BitWriter;
use crate::entropy::rans::Encoder;
use crate::entropy::tables::Tables;
use crate::entropy::tokens;
use crate::entropy::varint::put_u;
use crate::sample::SampleType;
use nalgebra::DMatrix;

/// Row `y` of the pixel-interleaved little-endian samples as numbers.
fn sample_row(ty: SampleType, samples: &[u8], y: usize, n: usize, out: &mut [i32]) {
    let size = ty.size();
    let bytes = &samples[y * n * size..(y + 1) * n * size];
    match ty {
        SampleType::U8 => out.iter_mut().zip(bytes).for_each(|(o, &b)| *o = b as i32),
        SampleType::I8 => out
            .iter_mut()
            .zip(bytes)
            .for_each(|(o, &b)| *o = b as i8 as i32),
        SampleType::U16 => out
            .iter_mut()
            .zip(bytes.chunks_exact(2))
            .for_each(|(o, b)| *o = u16::from_le_bytes([b[0], b[1]]) as i32),
        _ => out
            .iter_mut()
            .zip(bytes.chunks_exact(2))
            .for_each(|(o, b)| *o = i16::from_le_bytes([b[0], b[1]]) as i32),
    }
}

/// Every band's palette, from the distinct values it takes (one pass, pixel by pixel).
fn palettes(ty: SampleType, samples: &[u8], g: &Geometry) -> Vec<Palette> {
    let (w, c) = (g.width, g.channels);
    let span = (g.max - g.min + 1) as usize;
    let words = span.div_ceil(64);
    let mut seen = vec![0u64; c * words];
    let mut row = vec![0i32; w * c];
    for y in 0..g.height {
        sample_row(ty, samples, y, w * c, &mut row);
        for px in row.chunks_exact(c) {
            for (b, &v) in px.iter().enumerate() {
                let i = (v - g.min) as usize;
                seen[b * words + i / 64] |= 1 << (i % 64);
            }
        }
    }
    (0..c)
        .map(|b| {
            let bits = &seen[b * words..(b + 1) * words];
            let values: Vec<i32> = (0..span)
                .filter(|&i| bits[i / 64] & (1 << (i % 64)) != 0)
                .map(|i| g.min + i as i32)
                .collect();
            Palette::choose(&values)
        })
        .collect()
}

/// Centred tile (band-interleaved by line) and per-band offsets (the rounded mean), from
/// the pixel-interleaved samples, palette bands as indices.
fn centre(
    ty: SampleType,
    samples: &[u8],
    g: &Geometry,
    order: &[u16],
    palettes: &[Palette],
) -> (Tile, Vec<i32>) {
    let (w, h, c) = (g.width, g.height, g.channels);
    // Per band: sample value → coded value (the identity, or the palette index).
    let maps: Vec<Option<Vec<i32>>> = palettes
        .iter()
        .map(|p| {
            (!p.is_identity()).then(|| (g.min..=g.max).map(|v| p.index(v).unwrap_or(0)).collect())
        })
        .collect();
    // Coded values, band-interleaved by line, and their sums per band.
    let mut data = vec![0i32; w * h * c];
    let mut sums = vec![0i64; c];
    let mut row = vec![0i32; w * c];
    for y in 0..h {
        sample_row(ty, samples, y, w * c, &mut row);
        for (pos, &band) in order.iter().enumerate() {
            let b = band as usize;
            let dst = &mut data[(y * c + pos) * w..(y * c + pos + 1) * w];
            match &maps[b] {
                None => dst
                    .iter_mut()
                    .zip(row[b..].iter().step_by(c))
                    .for_each(|(d, &v)| *d = v),
                Some(m) => dst
                    .iter_mut()
                    .zip(row[b..].iter().step_by(c))
                    .for_each(|(d, &v)| *d = m[(v - g.min) as usize]),
            }
            sums[b] += dst.iter().map(|&v| v as i64).sum::<i64>();
        }
    }
    let n = (w * h) as i64;
    let offsets: Vec<i32> = sums
        .iter()
        .map(|&s| (s + n / 2).div_euclid(n) as i32)
        .collect();
    for (i, chunk) in data.chunks_exact_mut(w).enumerate() {
        let off = offsets[order[i % c] as usize];
        chunk.iter_mut().for_each(|v| *v -= off);
    }
    (
        Tile {
            data,
            width: w,
            height: h,
            channels: c,
        },
        offsets,
    )
}

/// Row segments decoded in lockstep: enough independent chains to keep a core busy, each at
/// least 16 samples long so the restart at a segment's start costs little.
fn segments_for(width: usize, most: u8) -> u8 {
    let s = if width >= 64 {
        4
    } else if width >= 32 {
        2
    } else {
        1
    };
    s.min(most)
}

/// Spatial predictions of every row of every channel (the encoder's whole-tile view of what
/// the decoder computes row by row).
fn spatial_all<A: Acc>(plan: &Plan, tile: &Tile, g: &Geometry) -> Tile {
    let (w, h, c) = (tile.width, tile.height, tile.channels);
    let mut out = Tile {
        data: vec![0; w * h * c],
        width: w,
        height: h,
        channels: c,
    };
    let mut acc = vec![A::default(); w];
    for y in 0..h {
        for pos in 0..c {
            let s = (y * c + pos) * w;
            spatial_row(
                plan,
                pos,
                y,
                tile,
                g.lo[pos],
                g.hi[pos],
                &mut acc,
                &mut out.data[s..s + w],
            );
        }
    }
    out
}

/// Fits the plan: spatial predictors, the pooled Gram matrix, taps and final predictors.
/// Returns the plan and the spatial predictions.
fn fit_plan<A: Acc>(
    tile: &Tile,
    g: &Geometry,
    s: &Settings,
    order: Vec<u16>,
    offsets: Vec<i32>,
    palettes: Vec<Palette>,
) -> (Plan, Tile) {
    let acc32 = std::mem::size_of::<A>() == 4;
    let c = tile.channels;
    let pixels = fit::sample_pixels(tile.width, tile.height, s.fit_pixels);
    // Pixels flat in every band (a nodata frame) are left to the flat rule: fitting them
    // would bend the predictors of the textured part towards predicting a constant.
    let flat_everywhere = |&(y, x): &(usize, usize)| {
        (0..c).all(|pos| {
            let n = tile.at(y - 1, pos, x);
            tile.at(y, pos, x) == n
                && tile.at(y - 1, pos, x.saturating_sub(1)) == n
                && tile.at(y - 1, pos, (x + 1).min(tile.width - 1)) == n
        })
    };
    let textured: Vec<(usize, usize)> = pixels
        .iter()
        .filter(|p| !flat_everywhere(p))
        .cloned()
        .collect();
    let pixels = if textured.len() >= 64 {
        textured
    } else {
        pixels
    };
    let own_mask = s.own_mask;
    let own: Vec<(i32, i32)> = plan::offsets(own_mask).collect();
    let chan_max: Vec<f64> = (0..c)
        .map(|pos| {
            (0..tile.height)
                .flat_map(|y| tile.row(y, pos).iter())
                .fold(0i32, |m, &v| m.max(v.abs()))
                .max(1) as f64
        })
        .collect();
    // Coefficient precision: `max_shift` suits 8-bit magnitudes; wider values need finer
    // coefficients for the same error in the prediction.
    let widest = chan_max.iter().cloned().fold(1.0, f64::max);
    let max_shift = (s.max_shift as f64 + (widest / 128.0).log2().ceil().max(0.0)).min(20.0) as u8;
    let context = ContextParams {
        contexts: 1,
        weights: [0; CONTEXT_WEIGHTS],
        means: vec![1; c],
        thresholds: Vec::new(),
    };
    let mut plan = Plan {
        order,
        offsets,
        palettes,
        own_mask,
        w_context: s.w_context,
        segments: segments_for(tile.width, s.max_segments),
        flat: false,
        channels: Vec::new(),
        context,
    };
    if pixels.len() < 8 {
        // Too small to fit anything: predict from W (or N) only.
        let pick = |o: &[(i32, i32)]| -> Vec<i32> {
            let first = o
                .iter()
                .position(|&d| d == (0, -1))
                .or_else(|| o.iter().position(|&d| d == (-1, 0)));
            (0..o.len()).map(|i| (Some(i) == first) as i32).collect()
        };
        let spatial = Spatial {
            shift: 0,
            bias: 0,
            own: pick(&own),
        };
        plan.channels = (0..c)
            .map(|pos| {
                if plan.constant(pos) {
                    return ChannelPredictor::zero(own.len());
                }
                ChannelPredictor {
                    spatial: spatial.clone(),
                    shift: 0,
                    bias: 0,
                    own: spatial.own.clone(),
                    taps: Vec::new(),
                }
            })
            .collect();
        let s_all = spatial_all::<A>(&plan, tile, g);
        return (plan, s_all);
    }
    plan.channels = (0..c)
        .map(|pos| ChannelPredictor {
            spatial: if plan.constant(pos) {
                ChannelPredictor::zero(own.len()).spatial
            } else {
                fit::fit_spatial(
                    tile,
                    &pixels,
                    tile.width * tile.height,
                    &own,
                    pos,
                    chan_max[pos],
                    max_shift,
                    acc32,
                )
            },
            ..Default::default()
        })
        .collect();
    let s_all = spatial_all::<A>(&plan, tile, g);
    let pool = Pool { channels: c };
    let gram = fit::pool_gram(tile, &s_all, &pixels, &pool);
    let joint = fit::Joint {
        tile,
        s_all: &s_all,
        pixels: &pixels,
        own: &own,
    };
    let joint = s.joint_fit.then_some(&joint);
    for pos in 0..c {
        if plan.constant(pos) {
            plan.channels[pos] = ChannelPredictor::zero(own.len());
            continue;
        }
        let spatial = std::mem::take(&mut plan.channels[pos].spatial);
        plan.channels[pos] = fit::fit_channel(
            &gram,
            &pool,
            pos,
            spatial,
            s.taps,
            tile.width * tile.height,
            &chan_max,
            max_shift,
            acc32,
            joint,
        );
    }
    (plan, s_all)
}

/// Predicts every sample; returns the zigzagged residuals, band-interleaved by line, and
/// what the flat rule would save (or, when the plan has it, saves): the sum over flat-marked
/// samples of the linear predictor's zigzagged residual minus the flat rule's.
fn residuals<A: Acc>(plan: &Plan, tile: &Tile, s_all: &Tile, g: &Geometry) -> (Vec<i32>, i64) {
    let (w, h, c) = (tile.width, tile.height, tile.channels);
    let mut u = vec![0i32; w * h * c];
    let mut base = vec![A::default(); w];
    let mut marks = vec![0u8; w];
    let mask = ((1u64 << g.bits) - 1) as i32;
    let half = 1i32 << (g.bits - 1);
    let residual =
        |v: i32, pred: i32| tokens::zigzag((v.wrapping_sub(pred).wrapping_add(half) & mask) - half);
    let mut flat_gain = 0i64;
    let mut pairs = (g.bits == 8).then(|| PairRows::new(plan, w));
    // The encoder knows whole rows, so even the sequential W and WW terms are row
    // operations here: W and WW of every column under the segment rules, then axpy.
    let (mut wrow, mut wwrow, mut pred) = (vec![0i32; w], vec![0i32; w], vec![0i32; w]);
    let segs = plan.segments as usize;
    for y in 0..h {
        let srows = &s_all.data[y * c * w..(y + 1) * c * w];
        if let Some(p) = pairs.as_mut() {
            for pos in 0..c {
                p.set(pos, tile.row(y, pos), &srows[pos * w..(pos + 1) * w]);
            }
        }
        for pos in 0..c {
            let ch = &plan.channels[pos];
            row_base(plan, pos, y, tile, srows, pairs.as_ref(), &mut base);
            let (cw, cww) = sequential_coefs(plan, ch, y);
            let cur = tile.row(y, pos);
            let above = if y > 0 { tile.row(y - 1, pos) } else { cur };
            for sg in 0..segs {
                let (x0, x1) = (segment_start(w, sg, segs), segment_start(w, sg + 1, segs));
                // A segment's first sample reads W (and WW) from the row above.
                let first = if y > 0 && x0 < w { above[x0] } else { 0 };
                for x in x0..x1 {
                    wrow[x] = if x > x0 { cur[x - 1] } else { first };
                    wwrow[x] = if x > x0 + 1 { cur[x - 2] } else { first };
                }
            }
            if cw != 0 {
                A::axpy(&mut base, A::from_i64(cw as i64), &wrow);
            }
            if cww != 0 {
                A::axpy(&mut base, A::from_i64(cww as i64), &wwrow);
            }
            let round = A::from_i64(if ch.shift > 0 {
                1i64 << (ch.shift - 1)
            } else {
                0
            });
            A::predict_row(
                &base,
                round,
                ch.shift as u32,
                g.lo[pos],
                g.hi[pos],
                &mut pred,
            );
            let dst = (y * c + pos) * w;
            let out = &mut u[dst..dst + w];
            for ((o, &v), &p) in out.iter_mut().zip(cur).zip(&pred) {
                *o = residual(v, p) as i32;
            }
            if y == 0 {
                continue;
            }
            let nn = (!plan.flat_uses_w()).then(|| tile.row(y.saturating_sub(2), pos));
            flat_row(above, nn, &mut marks);
            let uses_w = plan.flat_uses_w();
            for x in 0..w {
                if marks[x] != 0 && (!uses_w || wrow[x] == above[x]) {
                    let flat = residual(cur[x], above[x]);
                    let linear = out[x] as u32;
                    flat_gain += linear as i64 - flat as i64;
                    if plan.flat {
                        out[x] = flat as i32;
                    }
                }
            }
        }
    }
    (u, flat_gain)
}

/// The W-free context level of every sample, row by row, exactly as the decoder computes
/// it; calls `f(y, pos, levels, magnitudes of the row)`.
#[allow(clippy::too_many_arguments)]
fn for_each_context_row(
    model: &ContextModel,
    plan: &Plan,
    tile: &Tile,
    u: &[i32],
    w: usize,
    h: usize,
    c: usize,
    mut f: impl FnMut(usize, usize, &[u8], &[i32]),
) {
    let mut levels = vec![0u8; w];
    let mut marks = vec![0u8; w];
    let mut pixel_sum = vec![0i32; w];
    let zeros = vec![0i32; w];
    let row = |yy: usize, pp: usize| &u[(yy * c + pp) * w..(yy * c + pp + 1) * w];
    for y in 0..h {
        pixel_sum.iter_mut().for_each(|v| *v = 0);
        for pos in 0..c {
            let m = MagnitudeRows {
                above: if y > 0 { row(y - 1, pos) } else { &zeros },
                prev: if pos > 0 { row(y, pos - 1) } else { &zeros },
                prev_above: if pos > 0 && y > 0 {
                    row(y - 1, pos - 1)
                } else {
                    &zeros
                },
                pixel_sum: &pixel_sum,
                values_above: if y > 0 { tile.row(y - 1, pos) } else { &zeros },
                values_above2: if y > 0 {
                    tile.row(y.saturating_sub(2), pos)
                } else {
                    &zeros
                },
            };
            let cst = &model.positions[pos];
            context_row(&cst.k, cst.mean, &m, &mut levels);
            if plan.flat && y > 0 {
                let nn = (!plan.flat_uses_w()).then(|| tile.row(y.saturating_sub(2), pos));
                flat_row(tile.row(y - 1, pos), nn, &mut marks);
                zero_flat_levels(&marks, &mut levels);
            }
            let cur = row(y, pos);
            f(y, pos, &levels, cur);
            for (s, &v) in pixel_sum.iter_mut().zip(cur) {
                *s = s.wrapping_add(v);
            }
        }
    }
}

/// Fits the context estimator: per-position mean magnitudes, then least-squares weights of
/// the normalised features on a sample of the tile's samples (the same features the
/// decoder sums, in float64 here: only the stored integer weights must match).
// `x` indexes several rows and neighbours at once.
#[allow(clippy::needless_range_loop)]
fn fit_context(tile: &Tile, u: &[i32], w_context: bool) -> ContextParams {
    let (w, h, c) = (tile.width, tile.height, tile.channels);
    let n = (w * h) as f64;
    let mean: Vec<f64> = (0..c)
        .map(|pos| {
            let s: i64 = (0..h)
                .flat_map(|y| u[(y * c + pos) * w..(y * c + pos + 1) * w].iter())
                .map(|&v| v as i64)
                .sum();
            (s as f64 / n).max(1.0 / 16.0)
        })
        .collect();
    let means: Vec<u32> = mean
        .iter()
        .map(|&m| ((16.0 * m).round() as u32).max(1))
        .collect();
    let mq: Vec<f64> = means.iter().map(|&m| m as f64 / 16.0).collect();
    let mut prefix = vec![0f64; c];
    for pos in 1..c {
        prefix[pos] = prefix[pos - 1] + mq[pos - 1];
    }
    let at = |y: usize, pos: usize, x: usize| u[(y * c + pos) * w + x] as f64;
    let step = ((w * h * c) / 200_000).max(1);
    let mut g = DMatrix::<f64>::zeros(CONTEXT_WEIGHTS + 1, CONTEXT_WEIGHTS + 1);
    let mut k = 0usize;
    let mut pixel_sum = vec![0f64; w];
    for y in 0..h {
        pixel_sum.iter_mut().for_each(|v| *v = 0.0);
        for pos in 0..c {
            for x in 0..w {
                if k.is_multiple_of(step) {
                    let uw = if !w_context {
                        0.0
                    } else if x > 0 {
                        at(y, pos, x - 1)
                    } else if y > 0 {
                        at(y - 1, pos, 0)
                    } else {
                        0.0
                    };
                    let (un, unwne) = if y > 0 {
                        (
                            at(y - 1, pos, x),
                            at(y - 1, pos, x.saturating_sub(1))
                                + at(y - 1, pos, (x + 1).min(w - 1)),
                        )
                    } else {
                        (0.0, 0.0)
                    };
                    let (prev, pwn) = if pos > 0 {
                        let pw = if x > 0 {
                            at(y, pos - 1, x - 1)
                        } else if y > 0 {
                            at(y - 1, pos - 1, 0)
                        } else {
                            0.0
                        };
                        let pn = if y > 0 { at(y - 1, pos - 1, x) } else { 0.0 };
                        (at(y, pos - 1, x) / mq[pos - 1], (pw + pn) / mq[pos - 1])
                    } else {
                        (0.0, 0.0)
                    };
                    let ps = if pos > 0 {
                        pixel_sum[x] / prefix[pos]
                    } else {
                        0.0
                    };
                    let grad = if y > 0 {
                        let t = |yy: usize, xx: usize| tile.at(yy, pos, xx) as f64;
                        let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
                        let n = t(y - 1, x);
                        (n - t(y - 1, l)).abs()
                            + (n - t(y - 1, r)).abs()
                            + (n - t(y.saturating_sub(2), x)).abs()
                    } else {
                        0.0
                    };
                    let v = [
                        1.0,
                        (uw + un) / mq[pos],
                        unwne / mq[pos],
                        prev,
                        pwn,
                        ps,
                        grad / mq[pos],
                        at(y, pos, x) / mq[pos],
                    ];
                    for a in 0..v.len() {
                        for b in 0..=a {
                            g[(a, b)] += v[a] * v[b];
                        }
                    }
                }
                k += 1;
                pixel_sum[x] += at(y, pos, x);
            }
        }
    }
    for a in 0..=CONTEXT_WEIGHTS {
        for b in 0..a {
            g[(b, a)] = g[(a, b)];
        }
    }
    let wts = fit::solve(&g);
    let mut weights = [0i32; CONTEXT_WEIGHTS];
    for (i, wq) in weights.iter_mut().enumerate() {
        *wq = (wts[i] * 256.0)
            .round()
            .clamp(-(1 << 20) as f64, (1 << 20) as f64) as i32;
    }
    // The W term enters through a table of non-negative magnitudes.
    weights[1] = weights[1].max(0);
    ContextParams {
        contexts: 1,
        weights,
        means,
        thresholds: Vec::new(),
    }
}

/// Coded size in bits of tokens with these counts under one static table, plus the
/// table itself (about 12 bits per stored frequency).
fn segment_cost(counts: &[u64]) -> f64 {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return 0.0;
    }
    let entropy: f64 = counts
        .iter()
        .filter(|&&k| k > 0)
        .map(|&k| -(k as f64) * (k as f64 / n as f64).log2())
        .sum();
    let stored = counts.iter().rposition(|&k| k > 0).map_or(0, |i| i + 1);
    entropy + 12.0 * stored as f64 + 8.0
}

/// Context thresholds chosen by cost: start from every activity level that occurs, then
/// repeatedly merge the adjacent pair whose merge costs least (the entropy it adds minus the
/// table it saves) while merging pays or there are more than `max_contexts`.
fn thresholds(per_level: &[&[u64]], max_contexts: usize) -> Vec<u32> {
    let mut segs: Vec<(u32, Vec<u64>)> = per_level
        .iter()
        .enumerate()
        .filter(|(_, c)| c.iter().any(|&k| k > 0))
        .map(|(l, c)| (l as u32, c.to_vec()))
        .collect();
    if segs.is_empty() {
        return Vec::new();
    }
    let merged =
        |a: &[u64], b: &[u64]| -> Vec<u64> { a.iter().zip(b).map(|(x, y)| x + y).collect() };
    let mut cost: Vec<f64> = segs.iter().map(|(_, c)| segment_cost(c)).collect();
    let mut delta: Vec<f64> = (0..segs.len() - 1)
        .map(|i| segment_cost(&merged(&segs[i].1, &segs[i + 1].1)) - cost[i] - cost[i + 1])
        .collect();
    while segs.len() > 1 {
        let (i, &d) = delta
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.partial_cmp(b.1).unwrap())
            .expect("at least one pair");
        if d >= 0.0 && segs.len() <= max_contexts {
            break;
        }
        let m = merged(&segs[i].1, &segs[i + 1].1);
        segs[i].1 = m;
        segs.remove(i + 1);
        cost[i] = segment_cost(&segs[i].1);
        cost.remove(i + 1);
        delta.remove(i);
        if i > 0 {
            delta[i - 1] =
                segment_cost(&merged(&segs[i - 1].1, &segs[i].1)) - cost[i - 1] - cost[i];
        }
        if i + 1 < segs.len() {
            delta[i] = segment_cost(&merged(&segs[i].1, &segs[i + 1].1)) - cost[i] - cost[i + 1];
        }
    }
    segs[1..].iter().map(|(l, _)| *l).collect()
}

pub(super) fn encode<A: Acc>(
    ty: SampleType,
    samples: &[u8],
    g: &Geometry,
    s: &Settings,
) -> Vec<u8> {
    let (w, h, c) = (g.width, g.height, g.channels);
    let order: Vec<u16> = (0..c as u16).collect();
    let palettes = palettes(ty, samples, g);
    let (tile, offsets) = centre(ty, samples, g, &order, &palettes);
    let g = g.with_plan(&offsets, &palettes, &order);
    let (mut plan, s_all) = fit_plan::<A>(&tile, &g, s, order, offsets, palettes);
    let (mut u, flat_gain) = residuals::<A>(&plan, &tile, &s_all, &g);
    if flat_gain > 0 {
        plan.flat = true;
        u = residuals::<A>(&plan, &tile, &s_all, &g).0;
    }
    drop(s_all);

    // Context model: weights and means, then thresholds from the level histogram. A
    // sample's level comes from its W-free level and its W neighbour's token.
    let samples = w * h * c;
    plan.context = fit_context(&tile, &u, plan.w_context);
    let model = ContextModel::new(&plan.context);
    // Every sample's token, split once, and its activity level (W included).
    let toks: Vec<u8> = u.iter().map(|&v| tokens::split(v as u32).0 as u8).collect();
    let mut lv = vec![0u8; samples];
    let alphabet = tokens::alphabet(g.bits);
    // Token counts per activity level: merged into contexts below, they are also the
    // contexts' counts.
    let mut per_level = vec![0u64; LEVELS * alphabet];
    let segs = plan.segments as usize;
    let w_context = plan.w_context;
    // A position with one possible value codes nothing.
    let coded = |pos: usize| g.lo[pos] != g.hi[pos];
    for_each_context_row(&model, &plan, &tile, &u, w, h, c, |y, pos, levels, _| {
        if !coded(pos) {
            return;
        }
        let dst = (y * c + pos) * w;
        let (toks_row, lv_row) = (&toks[dst..dst + w], &mut lv[dst..dst + w]);
        if !w_context {
            for ((l, &pl), &tok) in lv_row.iter_mut().zip(levels).zip(toks_row) {
                *l = model.levels[pl as usize * W_TOKENS];
                per_level[*l as usize * alphabet + tok as usize] += 1;
            }
            return;
        }
        for sg in 0..segs {
            let (x0, x1) = (segment_start(w, sg, segs), segment_start(w, sg + 1, segs));
            let mut tw = if y > 0 && x0 < w {
                toks[((y - 1) * c + pos) * w + x0] as usize
            } else {
                0
            };
            for x in x0..x1 {
                let l = model.levels[levels[x] as usize * W_TOKENS + tw.min(W_TOKENS - 1)];
                lv_row[x] = l;
                tw = toks_row[x] as usize;
                per_level[l as usize * alphabet + tw] += 1;
            }
        }
    });
    let per_level: Vec<&[u64]> = per_level.chunks_exact(alphabet).collect();
    plan.context.thresholds = thresholds(&per_level, s.max_contexts.min(MAX_CONTEXTS));
    plan.context.contexts = plan.context.thresholds.len() + 1;
    let context_of: Vec<u8> = (0..LEVELS as u32)
        .map(|l| plan.context.thresholds.iter().filter(|&&t| t <= l).count() as u8)
        .collect();
    let mut counts = vec![vec![0u64; alphabet]; plan.context.contexts];
    for (l, c) in per_level.iter().enumerate() {
        for (a, &b) in counts[context_of[l] as usize].iter_mut().zip(c.iter()) {
            *a += b;
        }
    }
    let (tables, freqs) = Tables::from_counts(&counts);

    // Decoding order within a row of a channel: the segments in lockstep.
    let starts: Vec<usize> = (0..=segs).map(|sg| segment_start(w, sg, segs)).collect();
    let longest = (0..segs)
        .map(|sg| starts[sg + 1] - starts[sg])
        .max()
        .unwrap_or(0);
    let mut order = Vec::with_capacity(w);
    for i in 0..longest {
        for sg in 0..segs {
            if starts[sg] + i < starts[sg + 1] {
                order.push((starts[sg] + i, sg as u8));
            }
        }
    }
    // Raw bits go forwards; rANS then runs backwards over the same order.
    let mut raw = BitWriter::new();
    for row in (0..h * c).filter(|row| coded(row % c)) {
        let toks_row = &toks[row * w..(row + 1) * w];
        if toks_row.iter().all(|&t| (t as u32) < tokens::DIRECT) {
            continue;
        }
        for &(x, _) in &order {
            if toks_row[x] as u32 >= tokens::DIRECT {
                let (_, nbits, bits) = tokens::split(u[row * w + x] as u32);
                raw.put(bits, nbits);
            }
        }
    }
    let mut enc = Encoder::new(segs);
    for row in (0..h * c).rev().filter(|row| coded(row % c)) {
        for &(x, lane) in order.iter().rev() {
            let i = row * w + x;
            let (range, rcp) = tables.range(context_of[lv[i] as usize] as usize, toks[i] as usize);
            enc.put(range, rcp, lane as usize);
        }
    }
    let stream = enc.finish();
    let mut out = vec![super::VERSION];
    plan.write(&mut out);
    Tables::write(&freqs, &mut out);
    put_u(&mut out, stream.len() as u64);
    out.extend_from_slice(&stream);
    out.extend_from_slice(&raw.finish());
    out
}
