//! Native tile encoder: fit the plan, predict every sample, fit the context model, then
//! entropy-code the residual tokens (rANS, written backwards) and their raw bits.

use super::bits::BitWriter;
use super::context::{ContextModel, LOGQ_LEVELS};
use super::decode::context_partials;
use super::engine::{
    finish_prediction, left_values, row_base, sequential_coefs, spatial_row, Acc, Rows,
};
use super::fit::{self, Pool, Tile};
use super::plan::{ChannelPredictor, ContextParams, Plan, Spatial, CONTEXT_WEIGHTS, MAX_CONTEXTS};
use super::rans::{self, Encoder};
use super::tables::Tables;
use super::tokens;
use super::varint::put_u;
use super::{Geometry, Settings};
use nalgebra::DMatrix;

/// Centred tile (band-interleaved by line) and per-band offsets from pixel-interleaved values.
fn centre(values: &[i32], g: &Geometry, order: &[u16]) -> (Tile, Vec<i32>) {
    let (w, h, c) = (g.width, g.height, g.channels);
    let mut offsets = vec![0i32; c];
    let n = (w * h) as i64;
    for (band, o) in offsets.iter_mut().enumerate() {
        let sum: i64 = values.iter().skip(band).step_by(c).map(|&v| v as i64).sum();
        *o = ((sum + n / 2).div_euclid(n)) as i32;
    }
    let mut data = vec![0i32; w * h * c];
    for y in 0..h {
        for (pos, &band) in order.iter().enumerate() {
            let off = offsets[band as usize];
            let dst = (y * c + pos) * w;
            for x in 0..w {
                data[dst + x] = values[(y * w + x) * c + band as usize] - off;
            }
        }
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

/// Fits the plan: spatial predictors, then latent basis, pooled Gram, taps and final
/// predictors. Returns the plan, the spatial predictions and the latent scores.
fn fit_plan<A: Acc>(
    tile: &Tile,
    g: &Geometry,
    s: &Settings,
    order: Vec<u16>,
    offsets: Vec<i32>,
) -> (Plan, Tile, Option<Vec<Vec<Vec<i32>>>>) {
    let acc32 = std::mem::size_of::<A>() == 4;
    let max_shift = if acc32 { 14 } else { 16 };
    let c = tile.channels;
    let pixels = fit::sample_pixels(tile.width, tile.height, s.fit_pixels);
    let own_mask = s.own_mask;
    let own: Vec<(i32, i32)> = (0..8)
        .filter(|b| own_mask & (1 << b) != 0)
        .map(|b| super::plan::OWN[b])
        .collect();
    let chan_max: Vec<f64> = (0..c)
        .map(|pos| {
            (0..tile.height)
                .flat_map(|y| tile.row(y, pos).iter())
                .fold(0i32, |m, &v| m.max(v.abs()))
                .max(1) as f64
        })
        .collect();
    let context = ContextParams {
        contexts: 1,
        weights: [0; CONTEXT_WEIGHTS],
        means: vec![1; c],
        thresholds: Vec::new(),
    };
    if pixels.len() < 8 {
        // Too small to fit anything: predict from W only.
        let spatial = Spatial {
            shift: 0,
            bias: 0,
            own: own.iter().map(|&o| (o == (0, -1)) as i32).collect(),
        };
        let channels = (0..c)
            .map(|_| ChannelPredictor {
                spatial: spatial.clone(),
                shift: 0,
                bias: 0,
                own: spatial.own.clone(),
                taps: Vec::new(),
                latent: Vec::new(),
            })
            .collect();
        let plan = Plan {
            order,
            offsets,
            own_mask,
            latent: None,
            channels,
            context,
        };
        let s_all = spatial_all::<A>(&plan, tile, g);
        return (plan, s_all, None);
    }
    let channels: Vec<ChannelPredictor> = (0..c)
        .map(|pos| ChannelPredictor {
            spatial: fit::fit_spatial(tile, &pixels, &own, pos, chan_max[pos], max_shift, acc32),
            ..Default::default()
        })
        .collect();
    let mut plan = Plan {
        order,
        offsets,
        own_mask,
        latent: None,
        channels,
        context,
    };
    let s_all = spatial_all::<A>(&plan, tile, g);
    if s.latent_components > 0 && c > s.latent_components {
        plan.latent = Some(fit::latent_basis(
            tile,
            &pixels,
            s.latent_components,
            s.latent_positions,
        ));
    }
    let scores = plan.latent.as_ref().map(|l| fit::latent_scores(tile, l));
    let (npos, latent_max): (usize, Vec<f64>) = match (&plan.latent, &scores) {
        (Some(l), Some(z)) => (
            l.npos(),
            (0..l.components)
                .map(|k| {
                    z.iter()
                        .flat_map(|row| row[k].iter())
                        .fold(0i32, |m, &v| m.max(v.saturating_abs()))
                        .max(1) as f64
                })
                .collect(),
        ),
        _ => (0, Vec::new()),
    };
    let pool = Pool {
        channels: c,
        latent: plan.latent.as_ref().map_or(0, |l| l.components * l.npos()),
    };
    let gram = fit::pool_gram(
        tile,
        &s_all,
        plan.latent.as_ref().zip(scores.as_deref()),
        &pixels,
        &pool,
    );
    for pos in 0..c {
        let spatial = std::mem::take(&mut plan.channels[pos].spatial);
        plan.channels[pos] = fit::fit_channel(
            &gram,
            &pool,
            pos,
            spatial,
            s.taps,
            &chan_max,
            &latent_max,
            npos,
            max_shift,
            acc32,
        );
    }
    (plan, s_all, scores)
}

/// Predicts every sample; returns the zigzagged residuals, band-interleaved by line.
fn residuals<A: Acc>(
    plan: &Plan,
    tile: &Tile,
    s_all: &Tile,
    g: &Geometry,
    scores: Option<&[Vec<Vec<i32>>]>,
) -> Vec<u32> {
    let (w, h, c) = (tile.width, tile.height, tile.channels);
    let mut u = vec![0u32; w * h * c];
    let mut base = vec![A::default(); w];
    let empty: Vec<Vec<i32>> = Vec::new();
    let mask = ((1u64 << g.bits) - 1) as i64;
    let half = 1i64 << (g.bits - 1);
    for y in 0..h {
        let z = scores.map_or(&empty, |s| &s[y]);
        let srows = &s_all.data[y * c * w..(y + 1) * c * w];
        for pos in 0..c {
            let ch = &plan.channels[pos];
            row_base(plan, pos, y, tile, srows, z, &mut base);
            let (cw, cww) = sequential_coefs(plan, ch, y);
            let (cw, cww) = (A::from_i64(cw as i64), A::from_i64(cww as i64));
            let cur = tile.row(y, pos);
            let above_first = if y > 0 { tile.at(y - 1, pos, 0) } else { 0 };
            let dst = (y * c + pos) * w;
            for x in 0..w {
                let (wv, wwv) = left_values(cur, above_first, x);
                let acc = base[x].mul_add(cw, wv).mul_add(cww, wwv);
                let pred = finish_prediction(acc.to_i64(), ch.shift, g.lo[pos], g.hi[pos]) as i64;
                let r = ((cur[x] as i64 - pred + half) & mask) - half;
                u[dst + x] = tokens::zigzag(r as i32);
            }
        }
    }
    u
}

/// Fits the context estimator's weights (least squares on sampled samples) and the
/// per-position mean magnitudes.
fn fit_context(u: &[u32], w: usize, h: usize, c: usize, max_contexts: usize) -> ContextParams {
    let n = (w * h) as f64;
    let means: Vec<u32> = (0..c)
        .map(|pos| {
            let s: u64 = (0..h)
                .flat_map(|y| u[(y * c + pos) * w..(y * c + pos + 1) * w].iter())
                .map(|&v| v as u64)
                .sum();
            ((16.0 * s as f64 / n).round() as u32).max(1)
        })
        .collect();
    let mut params = ContextParams {
        contexts: 1,
        weights: [256, 0, 0, 0, 0, 0],
        means,
        thresholds: Vec::new(),
    };
    // Features in the same units as the integer model (normalised magnitudes, ×2^16).
    let model = ContextModel::new(&params);
    let total = w * h * c;
    let step = (total / 200_000).max(1);
    let mut g = DMatrix::<f64>::zeros(CONTEXT_WEIGHTS + 1, CONTEXT_WEIGHTS + 1);
    let mut pixel_sum = vec![0u32; w];
    let mut k = 0usize;
    let at = |y: usize, pos: usize, x: usize| u[(y * c + pos) * w + x];
    for y in 0..h {
        pixel_sum.iter_mut().for_each(|s| *s = 0);
        for pos in 0..c {
            for x in 0..w {
                if k % step == 0 {
                    let r = model.recip[pos] as f64;
                    let rp = if pos > 0 {
                        model.recip[pos - 1] as f64
                    } else {
                        0.0
                    };
                    let uw = if x > 0 {
                        at(y, pos, x - 1)
                    } else if y > 0 {
                        at(y - 1, pos, 0)
                    } else {
                        0
                    };
                    let (un, unwne) = if y > 0 {
                        (
                            at(y - 1, pos, x),
                            at(y - 1, pos, x.saturating_sub(1))
                                + at(y - 1, pos, (x + 1).min(w - 1)),
                        )
                    } else {
                        (0, 0)
                    };
                    let (prev, pwn) = if pos > 0 {
                        let pw = if x > 0 {
                            at(y, pos - 1, x - 1)
                        } else if y > 0 {
                            at(y - 1, pos - 1, 0)
                        } else {
                            0
                        };
                        let pn = if y > 0 { at(y - 1, pos - 1, x) } else { 0 };
                        (at(y, pos - 1, x), pw + pn)
                    } else {
                        (0, 0)
                    };
                    let v = [
                        1.0,
                        (uw + un) as f64 * r / 65536.0,
                        unwne as f64 * r / 65536.0,
                        prev as f64 * rp / 65536.0,
                        pwn as f64 * rp / 65536.0,
                        pixel_sum[x] as f64 * model.prefix_recip[pos] as f64 / 65536.0,
                        at(y, pos, x) as f64 * r / 65536.0,
                    ];
                    for a in 0..v.len() {
                        for b in 0..v.len() {
                            g[(a, b)] += v[a] * v[b];
                        }
                    }
                }
                k += 1;
                pixel_sum[x] += at(y, pos, x);
            }
        }
    }
    let wts = fit::solve(&g);
    for (i, wq) in params.weights.iter_mut().enumerate() {
        *wq = (wts[i] * 256.0)
            .round()
            .clamp(-(1 << 20) as f64, (1 << 20) as f64) as i32;
    }
    params.contexts = max_contexts.clamp(1, MAX_CONTEXTS);
    params
}

/// Picks context thresholds: quantiles of the activity levels, merged where equal.
fn thresholds(hist: &[u64; LOGQ_LEVELS], contexts: usize) -> Vec<u32> {
    let total: u64 = hist.iter().sum();
    let mut out = Vec::new();
    let mut acc = 0u64;
    let mut next = 1;
    for (q, &cnt) in hist.iter().enumerate() {
        acc += cnt;
        while next < contexts && acc * contexts as u64 >= total * next as u64 {
            next += 1;
            let t = q as u32 + 1;
            if out.last() != Some(&t) && (t as usize) < LOGQ_LEVELS {
                out.push(t);
            }
        }
    }
    out
}

pub fn encode<A: Acc>(values: &[i32], g: &Geometry, s: &Settings) -> Vec<u8> {
    let (w, h, c) = (g.width, g.height, g.channels);
    let order: Vec<u16> = (0..c as u16).collect();
    let (tile, offsets) = centre(values, g, &order);
    let g = g.with_offsets(&offsets, &order);
    let (mut plan, s_all, scores) = fit_plan::<A>(&tile, &g, s, order, offsets);
    let u = residuals::<A>(&plan, &tile, &s_all, &g, scores.as_deref());

    // Context model: weights and means, then thresholds from the level histogram.
    let samples = w * h * c;
    let contexts = (samples / 4096).clamp(1, s.max_contexts);
    plan.context = fit_context(&u, w, h, c, contexts);
    let model = ContextModel::new(&plan.context);
    let mut levels = vec![0u8; samples];
    let mut hist = [0u64; LOGQ_LEVELS];
    let mut partial = vec![0i64; w];
    let mut pixel_sum = vec![0u32; w];
    let row = |yy: usize, pp: usize| &u[(yy * c + pp) * w..(yy * c + pp + 1) * w];
    for y in 0..h {
        pixel_sum.iter_mut().for_each(|v| *v = 0);
        for pos in 0..c {
            context_partials(&model, pos, y, w, row, &pixel_sum, &mut partial);
            let cur = row(y, pos);
            let u_above_first = if y > 0 { row(y - 1, pos)[0] } else { 0 };
            let dst = (y * c + pos) * w;
            for x in 0..w {
                let u_w = if x > 0 { cur[x - 1] } else { u_above_first };
                let l = model.level(pos, partial[x], u_w);
                levels[dst + x] = l as u8;
                hist[l] += 1;
                pixel_sum[x] += cur[x];
            }
        }
    }
    plan.context.thresholds = thresholds(&hist, plan.context.contexts);
    plan.context.contexts = plan.context.thresholds.len() + 1;
    let model = ContextModel::new(&plan.context);

    // Token statistics per context, tables, then the streams.
    let alphabet = tokens::alphabet(g.bits);
    let mut counts = vec![vec![0u64; alphabet]; plan.context.contexts];
    let mut raw = BitWriter::new();
    let mut syms: Vec<(u8, u8)> = Vec::with_capacity(samples);
    for (i, &v) in u.iter().enumerate() {
        let ctx = model.lut[levels[i] as usize];
        let (tok, nbits, bits) = tokens::split(v);
        counts[ctx as usize][tok as usize] += 1;
        raw.put(bits, nbits);
        syms.push((ctx, tok as u8));
    }
    let (tables, freqs) = Tables::from_counts(&counts);
    let mut enc = Encoder::new(syms.len());
    for &(ctx, tok) in syms.iter().rev() {
        enc.put(tables.ranges[ctx as usize][tok as usize]);
    }
    let stream = enc.finish();
    if std::env::var_os("GEOEMBED_NATIVE_DEBUG").is_some() {
        let mut ent = 0.0;
        for cc in &counts {
            let n: u64 = cc.iter().sum();
            for &k in cc {
                if k > 0 {
                    ent -= k as f64 * (k as f64 / n as f64).log2();
                }
            }
        }
        let rawbits: u64 = u.iter().map(|&v| tokens::split(v).1 as u64).sum();
        let mut c0 = vec![0u64; alphabet];
        for cc in &counts {
            for (t, &k) in cc.iter().enumerate() {
                c0[t] += k;
            }
        }
        let e0: f64 = c0
            .iter()
            .filter(|&&k| k > 0)
            .map(|&k| -(k as f64) * (k as f64 / samples as f64).log2())
            .sum();
        eprintln!(
            "  zero-order token entropy {:.3} bps (+raw = {:.3}); per-position mean u: {:?}",
            e0 / samples as f64,
            (e0 + rawbits as f64) / samples as f64,
            plan.context
                .means
                .iter()
                .map(|m| *m as f64 / 16.0)
                .collect::<Vec<_>>()
        );
        eprintln!(
            "  predictors: {:?}",
            plan.channels
                .iter()
                .take(4)
                .map(|c| (c.shift, c.bias, c.own.clone(), c.taps.clone()))
                .collect::<Vec<_>>()
        );
        let mut plan_bytes = Vec::new();
        plan.write(&mut plan_bytes);
        let mut tb = Vec::new();
        Tables::write(&freqs, &mut tb);
        eprintln!(
            "native tile {}x{}x{}: samples {} mean u {:.3} entropy {:.3} bps raw {:.3} bps rans {:.3} bps plan {} B tables {} B ctx {} weights {:?}",
            w, h, c, samples, u.iter().map(|&v| v as f64).sum::<f64>() / samples as f64,
            ent / samples as f64, rawbits as f64 / samples as f64, 8.0 * stream.len() as f64 / samples as f64,
            plan_bytes.len(), tb.len(), plan.context.contexts, plan.context.weights
        );
    }
    let mut out = vec![super::VERSION];
    plan.write(&mut out);
    Tables::write(&freqs, &mut out);
    put_u(&mut out, stream.len() as u64);
    out.extend_from_slice(&stream);
    out.extend_from_slice(&raw.finish());
    let _ = rans::PROB_SCALE;
    out
}
