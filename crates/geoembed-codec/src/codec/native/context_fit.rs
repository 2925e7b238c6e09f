//! Encoder side of the context model: the estimator's weights and per-position means fitted
//! by least squares on the tile's residual magnitudes, then the contexts (thresholds on the
//! activity level) chosen by coding cost, and every sample's context under them.
//!
//! The decoder only evaluates what is fitted here (`context.rs`); the fit itself runs in
//! float64 because only the stored integer weights must match.

use super::context::{context_row, ContextModel, MagnitudeRows, LEVELS, W_TOKENS};
use super::fit::{self, Tile};
use super::neighbourhood::{flat_row, segment_start, zero_flat_levels, Rows};
use super::plan::{ContextParams, Plan, CONTEXT_WEIGHTS, MAX_CONTEXTS};
use super::repeats::Repeats;
use super::Geometry;
use crate::entropy::tables::Tables;
use crate::entropy::tokens;
use nalgebra::DMatrix;

/// The residual tokens of a tile and how they are coded.
pub(super) struct CodedTokens {
    /// Every sample's token, band-interleaved by line.
    pub(super) tokens: Vec<u8>,
    /// Every sample's context (0 for positions that code nothing).
    pub(super) contexts: Vec<u8>,
    pub(super) tables: Tables,
    /// The normalised frequencies `tables` was built from, as the payload stores them.
    pub(super) frequencies: Vec<Vec<u16>>,
}

/// Fits the plan's context model to the tile's zigzag residuals (`magnitudes`), choosing at
/// most `max_contexts` contexts, and assigns every sample its context. Samples of pixels
/// that copy a source (`repeats`) are coded as token 0 in one more context, after the
/// model's; their residual (what it would have been) still feeds the context model, as the
/// decoder recomputes it.
pub(super) fn fit_contexts(
    plan: &mut Plan,
    tile: &Tile,
    magnitudes: &Tile,
    geometry: &Geometry,
    max_contexts: usize,
    repeats: Option<&Repeats>,
) -> CodedTokens {
    plan.context = fit_estimator(tile, magnitudes, plan.w_context);
    let model = ContextModel::new(&plan.context);
    let tokens: Vec<u8> = magnitudes
        .data
        .iter()
        .map(|&u| tokens::split(u as u32).0 as u8)
        .collect();
    let alphabet = tokens::alphabet(geometry.bits);
    let (levels, mut per_level) =
        activity_levels(&model, plan, tile, magnitudes, &tokens, geometry);
    // A copy is coded as token 0 in the copy context, not at its activity level.
    let copies = for_each_copied(tile, geometry, repeats, |i| {
        per_level[levels[i] as usize * alphabet + tokens[i] as usize] -= 1;
    });
    let per_level: Vec<&[u64]> = per_level.chunks_exact(alphabet).collect();
    plan.context.thresholds = thresholds(&per_level, max_contexts.min(MAX_CONTEXTS));
    plan.context.contexts = plan.context.thresholds.len() + 1;
    let context_of: Vec<u8> = (0..LEVELS as u32)
        .map(|level| {
            let below = plan.context.thresholds.iter().filter(|&&t| t <= level);
            below.count() as u8
        })
        .collect();
    // Token counts per context: the activity levels' counts merged.
    let mut counts = vec![vec![0u64; alphabet]; plan.context.contexts];
    for (level, level_counts) in per_level.iter().enumerate() {
        let context_counts = &mut counts[context_of[level] as usize];
        for (total, &count) in context_counts.iter_mut().zip(level_counts.iter()) {
            *total += count;
        }
    }
    let copy_context = plan.context.contexts as u8;
    let mut contexts: Vec<u8> = levels.iter().map(|&l| context_of[l as usize]).collect();
    let mut tokens = tokens;
    if repeats.is_some() {
        let mut copy_counts = vec![0u64; alphabet];
        copy_counts[0] = copies;
        counts.push(copy_counts);
        for_each_copied(tile, geometry, repeats, |i| {
            (contexts[i], tokens[i]) = (copy_context, 0);
        });
    }
    let (tables, frequencies) = Tables::from_counts(&counts);
    CodedTokens {
        tokens,
        contexts,
        tables,
        frequencies,
    }
}

/// Calls `visit` with the index (band-interleaved by line) of every sample that copies its
/// pixel's source (every coded band of the pixels `repeats` marks) and returns how many.
/// Walked row by row: a division per sample cost 5% of the encoder's time on 128 bands.
fn for_each_copied(
    tile: &Tile,
    geometry: &Geometry,
    repeats: Option<&Repeats>,
    mut visit: impl FnMut(usize),
) -> u64 {
    let Some(repeats) = repeats else {
        return 0;
    };
    let (width, channels) = (tile.width, tile.channels);
    let mut copies = 0;
    for row in 0..tile.data.len() / width {
        let (y, position) = (row / channels, row % channels);
        if geometry.lo[position] == geometry.hi[position] {
            continue;
        }
        for x in (0..width).filter(|&x| repeats.copies(y * width + x)) {
            visit(row * width + x);
            copies += 1;
        }
    }
    copies
}

/// Every coded sample's activity level (W included) and the token counts per level, which
/// merged into contexts are also the contexts' counts. A sample's level comes from its
/// W-free level and, with W contexts, its W neighbour's token in decoding order.
fn activity_levels(
    model: &ContextModel,
    plan: &Plan,
    tile: &Tile,
    magnitudes: &Tile,
    tokens: &[u8],
    geometry: &Geometry,
) -> (Vec<u8>, Vec<u64>) {
    let (width, channels) = (tile.width, tile.channels);
    let alphabet = tokens::alphabet(geometry.bits);
    let mut levels = vec![0u8; tokens.len()];
    let mut per_level = vec![0u64; LEVELS * alphabet];
    let segments = plan.segments as usize;
    for_each_context_row(model, plan, tile, magnitudes, |y, pos, w_free_levels| {
        // A position with one possible value codes nothing.
        if geometry.lo[pos] == geometry.hi[pos] {
            return;
        }
        let start = (y * channels + pos) * width;
        let row_tokens = &tokens[start..start + width];
        let row_levels = &mut levels[start..start + width];
        if !plan.w_context {
            for ((level, &w_free), &token) in
                row_levels.iter_mut().zip(w_free_levels).zip(row_tokens)
            {
                *level = model.levels[w_free as usize * W_TOKENS];
                per_level[*level as usize * alphabet + token as usize] += 1;
            }
            return;
        }
        for segment in 0..segments {
            let first = segment_start(width, segment, segments);
            let end = segment_start(width, segment + 1, segments);
            // A segment's first sample takes W's token from the row above.
            let mut w_token = if y > 0 && first < width {
                tokens[start - channels * width + first] as usize
            } else {
                0
            };
            for x in first..end {
                let level =
                    model.levels[w_free_levels[x] as usize * W_TOKENS + w_token.min(W_TOKENS - 1)];
                row_levels[x] = level;
                w_token = row_tokens[x] as usize;
                per_level[level as usize * alphabet + w_token] += 1;
            }
        }
    });
    (levels, per_level)
}

/// The W-free context level of every sample, row by row, exactly as the decoder computes
/// it; calls `visit(y, pos, levels)`.
fn for_each_context_row(
    model: &ContextModel,
    plan: &Plan,
    tile: &Tile,
    magnitudes: &Tile,
    mut visit: impl FnMut(usize, usize, &[u8]),
) {
    let width = tile.width;
    let mut levels = vec![0u8; width];
    let mut flat_marks = vec![0u8; width];
    let mut pixel_sum = vec![0i32; width];
    let zeros = vec![0i32; width];
    for y in 0..tile.height {
        pixel_sum.fill(0);
        for pos in 0..tile.channels {
            let neighbourhood = MagnitudeRows::gather(y, pos, magnitudes, tile, &pixel_sum, &zeros);
            context_row(&model.positions[pos], &neighbourhood, &mut levels);
            if plan.flat && y > 0 {
                let nn_row = (!plan.flat_uses_w()).then(|| tile.row(y.saturating_sub(2), pos));
                flat_row(tile.row(y - 1, pos), nn_row, &mut flat_marks);
                zero_flat_levels(&flat_marks, &mut levels);
            }
            visit(y, pos, &levels);
            for (sum, &u) in pixel_sum.iter_mut().zip(magnitudes.row(y, pos)) {
                *sum = sum.wrapping_add(u);
            }
        }
    }
}

/// Mean zigzag residual of every position, ×16 as the plan stores it (at least 1).
fn mean_magnitudes(magnitudes: &Tile) -> Vec<u32> {
    let pixels = (magnitudes.width * magnitudes.height) as f64;
    (0..magnitudes.channels)
        .map(|pos| {
            let rows = (0..magnitudes.height).flat_map(|y| magnitudes.row(y, pos).iter());
            let sum: i64 = rows.map(|&u| u as i64).sum();
            let mean = (sum as f64 / pixels).max(1.0 / 16.0);
            ((16.0 * mean).round() as u32).max(1)
        })
        .collect()
}

/// The estimator's normalised features at one sample (the decoder's `P` terms, in float64),
/// then the sample's own normalised magnitude, the least-squares target.
struct Features<'a> {
    tile: &'a Tile,
    magnitudes: &'a Tile,
    /// Per position: mean magnitude, and the sum of the means of all earlier positions.
    means: Vec<f64>,
    prefix: Vec<f64>,
    w_context: bool,
}

impl Features<'_> {
    fn at(&self, y: usize, pos: usize, x: usize, pixel_sum: f64) -> [f64; CONTEXT_WEIGHTS + 1] {
        let u = |y: usize, pos: usize, x: usize| self.magnitudes.at(y, pos, x) as f64;
        let width = self.tile.width;
        let (left, right) = (x.saturating_sub(1), (x + 1).min(width - 1));
        // W (or, at column 0, the row above's first sample), as the decoder's W token.
        let w_prev = |pos: usize| match (x > 0, y > 0) {
            (true, _) => u(y, pos, x - 1),
            (false, true) => u(y - 1, pos, 0),
            (false, false) => 0.0,
        };
        let above = |pos: usize, x: usize| if y > 0 { u(y - 1, pos, x) } else { 0.0 };
        let u_w = if self.w_context { w_prev(pos) } else { 0.0 };
        let (previous, previous_wn, pixel) = if pos > 0 {
            let mean = self.means[pos - 1];
            (
                u(y, pos - 1, x) / mean,
                (w_prev(pos - 1) + above(pos - 1, x)) / mean,
                pixel_sum / self.prefix[pos],
            )
        } else {
            (0.0, 0.0, 0.0)
        };
        let gradient = if y > 0 {
            let value = |y: usize, x: usize| self.tile.at(y, pos, x) as f64;
            let north = value(y - 1, x);
            (north - value(y - 1, left)).abs()
                + (north - value(y - 1, right)).abs()
                + (north - value(y.saturating_sub(2), x)).abs()
        } else {
            0.0
        };
        let mean = self.means[pos];
        [
            1.0,
            (u_w + above(pos, x)) / mean,
            (above(pos, left) + above(pos, right)) / mean,
            previous,
            previous_wn,
            pixel,
            gradient / mean,
            u(y, pos, x) / mean,
        ]
    }
}

/// About how many samples the estimator's weights are fitted on: eight weights need far
/// fewer, and every sample costs 36 products.
const ESTIMATOR_SAMPLES: usize = 65_536;

/// The least step ≥ `step` sharing no factor with the tile's width or its channel count, so
/// that every `step`-th sample does not keep to a few columns or bands (a step of 128 on a
/// 256-wide, 128-band tile would sample one band only).
fn coprime_step(step: usize, width: usize, channels: usize) -> usize {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    (step.max(1)..)
        .find(|&s| s == 1 || (gcd(s, width) == 1 && gcd(s, channels) == 1))
        .expect("an unbounded range has a coprime number")
}

/// Fits the context estimator: per-position mean magnitudes, then least-squares weights of
/// the normalised features on a sample of the tile's samples (the same features the decoder
/// sums, in float64 here: only the stored integer weights must match).
fn fit_estimator(tile: &Tile, magnitudes: &Tile, w_context: bool) -> ContextParams {
    let (width, height, channels) = (tile.width, tile.height, tile.channels);
    let means = mean_magnitudes(magnitudes);
    let mean_values: Vec<f64> = means.iter().map(|&m| m as f64 / 16.0).collect();
    let mut prefix = vec![0f64; channels];
    for pos in 1..channels {
        prefix[pos] = prefix[pos - 1] + mean_values[pos - 1];
    }
    let features = Features {
        tile,
        magnitudes,
        means: mean_values,
        prefix,
        w_context,
    };
    let step = coprime_step(
        (width * height * channels) / ESTIMATOR_SAMPLES,
        width,
        channels,
    );
    // The lower triangle of the features' Gram matrix, in a plain array: indexing a DMatrix
    // per product was a fifth of the encoder's time on 3-band tiles.
    let mut lower = [[0f64; CONTEXT_WEIGHTS + 1]; CONTEXT_WEIGHTS + 1];
    let mut sample = 0usize;
    let mut pixel_sum = vec![0f64; width];
    for y in 0..height {
        pixel_sum.fill(0.0);
        for pos in 0..channels {
            for (x, sum) in pixel_sum.iter_mut().enumerate() {
                if sample.is_multiple_of(step) {
                    let v = features.at(y, pos, x, *sum);
                    for (a, row) in lower.iter_mut().enumerate() {
                        for (b, cell) in row[..=a].iter_mut().enumerate() {
                            *cell += v[a] * v[b];
                        }
                    }
                }
                sample += 1;
                *sum += magnitudes.at(y, pos, x) as f64;
            }
        }
    }
    let gram = DMatrix::from_fn(CONTEXT_WEIGHTS + 1, CONTEXT_WEIGHTS + 1, |a, b| {
        lower[a.max(b)][a.min(b)]
    });
    let solution = fit::solve(&gram);
    let mut weights = [0i32; CONTEXT_WEIGHTS];
    for (weight, &w) in weights.iter_mut().zip(&solution) {
        *weight = (w * 256.0)
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
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let entropy: f64 = counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| -(count as f64) * (count as f64 / total as f64).log2())
        .sum();
    let stored = counts
        .iter()
        .rposition(|&count| count > 0)
        .map_or(0, |i| i + 1);
    entropy + 12.0 * stored as f64 + 8.0
}

/// Context thresholds chosen by cost: start from every activity level that occurs, then
/// repeatedly merge the adjacent pair whose merge costs least (the entropy it adds minus the
/// table it saves) while merging pays or there are more than `max_contexts`.
fn thresholds(per_level: &[&[u64]], max_contexts: usize) -> Vec<u32> {
    // (first level, token counts) of each run of merged levels.
    let mut runs: Vec<(u32, Vec<u64>)> = per_level
        .iter()
        .enumerate()
        .filter(|(_, counts)| counts.iter().any(|&count| count > 0))
        .map(|(level, counts)| (level as u32, counts.to_vec()))
        .collect();
    if runs.is_empty() {
        return Vec::new();
    }
    let merged =
        |a: &[u64], b: &[u64]| -> Vec<u64> { a.iter().zip(b).map(|(x, y)| x + y).collect() };
    let mut cost: Vec<f64> = runs
        .iter()
        .map(|(_, counts)| segment_cost(counts))
        .collect();
    // What merging run i with run i + 1 would change the cost by.
    let merge_delta = |runs: &[(u32, Vec<u64>)], cost: &[f64], i: usize| {
        segment_cost(&merged(&runs[i].1, &runs[i + 1].1)) - cost[i] - cost[i + 1]
    };
    let mut delta: Vec<f64> = (0..runs.len() - 1)
        .map(|i| merge_delta(&runs, &cost, i))
        .collect();
    while runs.len() > 1 {
        let (i, &cheapest) = delta
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.partial_cmp(b.1).unwrap())
            .expect("at least one pair");
        if cheapest >= 0.0 && runs.len() <= max_contexts {
            break;
        }
        runs[i].1 = merged(&runs[i].1, &runs[i + 1].1);
        runs.remove(i + 1);
        cost[i] = segment_cost(&runs[i].1);
        cost.remove(i + 1);
        delta.remove(i);
        if i > 0 {
            delta[i - 1] = merge_delta(&runs, &cost, i - 1);
        }
        if i + 1 < runs.len() {
            delta[i] = merge_delta(&runs, &cost, i);
        }
    }
    runs[1..].iter().map(|(level, _)| *level).collect()
}
