//! Native tile encoder: fit the plan, predict every sample, fit the context model, then
//! entropy-code the residual tokens (rANS, written backwards) and their raw bits.

use super::bits::BitWriter;
use super::context::{ContextModel, LEVELS, W_TOKENS};
use super::decode::{context_row, MagnitudeRows};
use super::engine::{
    finish_prediction, row_base, segment_start, sequential_coefs, spatial_row, Acc, PairRows, Rows,
};
use super::fit::{self, Pool, Tile};
use super::plan::{
    self, ChannelPredictor, ContextParams, Plan, Spatial, CONTEXT_WEIGHTS, MAX_CONTEXTS,
};
use super::rans::Encoder;
use super::tables::Tables;
use super::tokens;
use super::varint::put_u;
use super::{Geometry, Settings};
use nalgebra::DMatrix;

/// Centred tile (band-interleaved by line) and per-band offsets from pixel-interleaved values.
fn centre(values: &[i32], g: &Geometry, order: &[u16]) -> (Tile, Vec<i32>) {
    let (w, h, c) = (g.width, g.height, g.channels);
    let n = (w * h) as i64;
    let mut sums = vec![0i64; c];
    for px in values.chunks_exact(c) {
        for (s, &v) in sums.iter_mut().zip(px) {
            *s += v as i64;
        }
    }
    let offsets: Vec<i32> = sums
        .iter()
        .map(|&s| (s + n / 2).div_euclid(n) as i32)
        .collect();
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

/// Row segments decoded in lockstep: enough independent chains to keep a core busy, each at
/// least 16 samples long so the restart at a segment's start costs little.
fn segments_for(width: usize) -> u8 {
    if width >= 64 {
        4
    } else if width >= 32 {
        2
    } else {
        1
    }
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
) -> (Plan, Tile) {
    let acc32 = std::mem::size_of::<A>() == 4;
    let c = tile.channels;
    let pixels = fit::sample_pixels(tile.width, tile.height, s.fit_pixels);
    let own_mask = s.own_mask;
    let own = plan::offsets(own_mask);
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
        own_mask,
        w_context: s.w_context,
        segments: segments_for(tile.width),
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
            .map(|_| ChannelPredictor {
                spatial: spatial.clone(),
                shift: 0,
                bias: 0,
                own: spatial.own.clone(),
                taps: Vec::new(),
            })
            .collect();
        let s_all = spatial_all::<A>(&plan, tile, g);
        return (plan, s_all);
    }
    plan.channels = (0..c)
        .map(|pos| ChannelPredictor {
            spatial: fit::fit_spatial(tile, &pixels, &own, pos, chan_max[pos], max_shift, acc32),
            ..Default::default()
        })
        .collect();
    let s_all = spatial_all::<A>(&plan, tile, g);
    let pool = Pool { channels: c };
    let gram = fit::pool_gram(tile, &s_all, &pixels, &pool);
    for pos in 0..c {
        let spatial = std::mem::take(&mut plan.channels[pos].spatial);
        plan.channels[pos] = fit::fit_channel(
            &gram, &pool, pos, spatial, s.taps, &chan_max, max_shift, acc32,
        );
    }
    (plan, s_all)
}

/// Predicts every sample; returns the zigzagged residuals, band-interleaved by line.
fn residuals<A: Acc>(plan: &Plan, tile: &Tile, s_all: &Tile, g: &Geometry) -> Vec<i32> {
    let (w, h, c) = (tile.width, tile.height, tile.channels);
    let mut u = vec![0i32; w * h * c];
    let mut base = vec![A::default(); w];
    let mask = ((1u64 << g.bits) - 1) as i32;
    let half = 1i32 << (g.bits - 1);
    let mut pairs = (g.bits == 8).then(|| PairRows::new(plan, w));
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
            let (cw, cww) = (A::from_i64(cw as i64), A::from_i64(cww as i64));
            let cur = tile.row(y, pos);
            let dst = (y * c + pos) * w;
            let segs = plan.segments as usize;
            for sg in 0..segs {
                let (x0, x1) = (segment_start(w, sg, segs), segment_start(w, sg + 1, segs));
                // A segment's first sample reads W (and WW) from the row above.
                let first = if y > 0 && x0 < w {
                    tile.at(y - 1, pos, x0)
                } else {
                    0
                };
                let (mut wv, mut wwv) = (first, first);
                for x in x0..x1 {
                    let acc = base[x].mul_add(cw, wv).mul_add(cww, wwv);
                    let pred = finish_prediction(acc.to_i64(), ch.shift, g.lo[pos], g.hi[pos]);
                    let r = (cur[x].wrapping_sub(pred).wrapping_add(half) & mask) - half;
                    u[dst + x] = tokens::zigzag(r) as i32;
                    wwv = if x == x0 { first } else { wv };
                    wv = cur[x];
                }
            }
        }
    }
    u
}

/// The W-free context level of every sample, row by row, exactly as the decoder computes
/// it; calls `f(y, pos, levels, magnitudes of the row)`.
fn for_each_context_row(
    model: &ContextModel,
    u: &[i32],
    w: usize,
    h: usize,
    c: usize,
    mut f: impl FnMut(usize, usize, &[u8], &[i32]),
) {
    let mut levels = vec![0u8; w];
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
            };
            let cst = &model.positions[pos];
            context_row(&cst.k, cst.mean, &m, &mut levels);
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
fn fit_context(u: &[i32], w: usize, h: usize, c: usize, w_context: bool) -> ContextParams {
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
                if k % step == 0 {
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
                    let v = [
                        1.0,
                        (uw + un) / mq[pos],
                        unwne / mq[pos],
                        prev,
                        pwn,
                        ps,
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

/// Context thresholds: quantiles of the activity levels, merged where equal.
fn thresholds(hist: &[u64; LEVELS], contexts: usize) -> Vec<u32> {
    let total: u64 = hist.iter().sum();
    let mut out = Vec::new();
    let mut acc = 0u64;
    let mut next = 1;
    for (q, &cnt) in hist.iter().enumerate() {
        acc += cnt;
        while next < contexts && acc * contexts as u64 >= total * next as u64 {
            next += 1;
            let t = q as u32 + 1;
            if out.last() != Some(&t) && (t as usize) < LEVELS {
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
    let (mut plan, s_all) = fit_plan::<A>(&tile, &g, s, order, offsets);
    let u = residuals::<A>(&plan, &tile, &s_all, &g);
    drop(s_all);

    // Context model: weights and means, then thresholds from the level histogram. A
    // sample's level comes from its W-free level and its W neighbour's token.
    let samples = w * h * c;
    plan.context = fit_context(&u, w, h, c, plan.w_context);
    let model = ContextModel::new(&plan.context);
    let mut cells = vec![0u16; samples];
    let mut hist = [0u64; LEVELS];
    let segs = plan.segments as usize;
    let w_context = plan.w_context;
    for_each_context_row(&model, &u, w, h, c, |y, pos, levels, cur| {
        let dst = (y * c + pos) * w;
        for sg in 0..segs {
            let (x0, x1) = (segment_start(w, sg, segs), segment_start(w, sg + 1, segs));
            let mut tw = if y > 0 && x0 < w {
                tokens::split(u[((y - 1) * c + pos) * w + x0] as u32).0 as usize
            } else {
                0
            };
            for x in x0..x1 {
                let t = if w_context { tw.min(W_TOKENS - 1) } else { 0 };
                let cell = levels[x] as usize * W_TOKENS + t;
                cells[dst + x] = cell as u16;
                hist[model.levels[cell] as usize] += 1;
                tw = tokens::split(cur[x] as u32).0 as usize;
            }
        }
    });
    let contexts = (samples / 4096).clamp(1, s.max_contexts.min(MAX_CONTEXTS));
    plan.context.thresholds = thresholds(&hist, contexts);
    plan.context.contexts = plan.context.thresholds.len() + 1;
    let model = ContextModel::new(&plan.context);

    // Token statistics per context, tables, then the streams.
    let alphabet = tokens::alphabet(g.bits);
    let mut counts = vec![vec![0u64; alphabet]; plan.context.contexts];
    let mut raw = BitWriter::new();
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
    let mut syms: Vec<(u8, u8, u8)> = Vec::with_capacity(samples);
    for row in 0..h * c {
        for &(x, lane) in &order {
            let i = row * w + x;
            let ctx = model.table[cells[i] as usize];
            let (tok, nbits, bits) = tokens::split(u[i] as u32);
            counts[ctx as usize][tok as usize] += 1;
            raw.put(bits, nbits);
            syms.push((ctx, tok as u8, lane));
        }
    }
    let (tables, freqs) = Tables::from_counts(&counts);
    let mut enc = Encoder::new(segs);
    for &(ctx, tok, lane) in syms.iter().rev() {
        enc.put(tables.range(ctx as usize, tok as usize), lane as usize);
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
