//! Native tile encoder: centre the samples (palettes, offsets), fit the plan, predict every
//! sample (near-lossless: quantise in the closed loop), fit the context model, then
//! entropy-code the residual tokens (rANS, written backwards) and their raw bits.

use super::closed_loop::{closed_loop, Quantisation};
use super::context_fit::{fit_contexts, CodedTokens};
use super::fit::{self, Pool, Tile};
use super::near_lossless::{Bounds, NearLossless};
use super::neighbourhood::{flat_row, lockstep_order, segment_start, Rows};
use super::palette::Palette;
use super::plan::{self, ChannelPredictor, ContextParams, Plan, Spatial, CONTEXT_WEIGHTS};
use super::repeats::{self, Repeats};
use super::row_predictor::{row_base, spatial_row, Acc, FinalPredictor, PairRows};
use super::tile_buffers;
use super::{Geometry, Settings};
use crate::entropy::bits::BitWriter;
use crate::entropy::rans::Encoder;
use crate::entropy::tokens;
use crate::entropy::varint::put_u;
use crate::sample::SampleType;

/// Encodes a tile with one set of settings; losslessly unless `bounds` allow an error.
pub(super) fn encode<A: Acc>(
    ty: SampleType,
    samples: &[u8],
    geometry: &Geometry,
    settings: &Settings,
    bounds: &Bounds,
) -> Vec<u8> {
    let order: Vec<u16> = (0..geometry.channels as u16).collect();
    let palettes = palettes(ty, samples, geometry);
    let (tile, offsets) = centre(ty, samples, geometry, &order, &palettes);
    let geometry = geometry.with_plan(&offsets, &palettes, &order);
    let (mut plan, spatial) = fit_plan::<A>(&tile, &geometry, settings, order, offsets, palettes);
    let (mut magnitudes, flat) = residuals::<A>(&plan, &tile, &spatial, &geometry);
    if flat.gain > 0 {
        plan.flat = true;
        flat.apply(&tile, &geometry, &mut magnitudes);
    }
    tile_buffers::give_back(spatial.data);
    if bounds.is_lossy() {
        tile_buffers::give_back(magnitudes.data);
        let payload = encode_near_lossless::<A>(plan, &tile, &geometry, settings, bounds);
        tile_buffers::give_back(tile.data);
        return payload;
    }
    let pixel_bytes = geometry.channels * ty.size();
    let repeats = (geometry.channels >= repeats::MIN_BANDS)
        .then(|| Repeats::find(samples, geometry.width, pixel_bytes, plan.flat))
        .flatten();
    let coded = fit_contexts(
        &mut plan,
        &tile,
        &magnitudes,
        &geometry,
        settings.max_contexts,
        repeats.as_ref(),
    );
    let extra = match &repeats {
        Some(repeats) => Extra::Repeats(repeats),
        None => Extra::None,
    };
    let payload = write_payload(&plan, &magnitudes, &coded, &geometry, extra);
    tile_buffers::give_back(magnitudes.data);
    tile_buffers::give_back(tile.data);
    payload
}

/// The near-lossless rest of [`encode`], once the plan is fitted on the original values:
/// the closed loop, then the context model on what the decoder will see (rebuilt values,
/// quantised residuals). No repeats: a copied pixel would copy rebuilt values, which the
/// repeat search, on original values, does not know.
fn encode_near_lossless<A: Acc>(
    mut plan: Plan,
    tile: &Tile,
    geometry: &Geometry,
    settings: &Settings,
    bounds: &Bounds,
) -> Vec<u8> {
    let mut block = NearLossless {
        coded_bounds: NearLossless::coded_bounds(bounds, &plan.palettes),
        exact: Vec::new(),
    };
    let nodata = |pos: usize| {
        let band = plan.order[pos] as usize;
        let index = bounds.nodata[band].and_then(|n| plan.palettes[band].index(n));
        index.map(|i| i - plan.offsets[band])
    };
    let quantisation = Quantisation {
        steps: block.steps(&plan),
        nodata: (0..geometry.channels).map(nodata).collect(),
    };
    let looped = closed_loop::<A>(&plan, tile, geometry, &quantisation);
    block.exact = looped.exact;
    let max_contexts = settings.max_contexts;
    let (rebuilt, magnitudes) = (&looped.rebuilt, &looped.magnitudes);
    let coded = fit_contexts(&mut plan, rebuilt, magnitudes, geometry, max_contexts, None);
    write_payload(
        &plan,
        magnitudes,
        &coded,
        geometry,
        Extra::NearLossless(&block),
    )
}

/// What a payload holds besides version 1's: nothing, repeats or near-lossless coding.
enum Extra<'a> {
    None,
    Repeats(&'a Repeats),
    NearLossless(&'a NearLossless),
}

/// The payload: version, plan, repeats (version 2) or near-lossless block (version 3),
/// tables, then the rANS stream and the raw bits, both in the decoder's sample order (rows,
/// positions, segments in lockstep). Positions with one possible value code nothing.
fn write_payload(
    plan: &Plan,
    magnitudes: &Tile,
    coded: &CodedTokens,
    geometry: &Geometry,
    extra: Extra,
) -> Vec<u8> {
    let (width, channels) = (geometry.width, geometry.channels);
    let order = lockstep_order(width, plan.segments as usize);
    let coded_rows = || {
        (0..geometry.height * channels)
            .filter(|row| geometry.lo[row % channels] != geometry.hi[row % channels])
    };
    // Raw bits go forwards; rANS then runs backwards over the same order.
    let mut raw = BitWriter::new();
    for row in coded_rows() {
        let row_tokens = &coded.tokens[row * width..(row + 1) * width];
        if row_tokens.iter().all(|&t| (t as u32) < tokens::DIRECT) {
            continue;
        }
        for &(x, _) in &order {
            if row_tokens[x] as u32 >= tokens::DIRECT {
                let (_, bit_count, bits) = tokens::split(magnitudes.data[row * width + x] as u32);
                raw.put(bits, bit_count);
            }
        }
    }
    let mut rans = Encoder::new(plan.segments as usize);
    for row in coded_rows().rev() {
        for &(x, lane) in order.iter().rev() {
            let index = row * width + x;
            let (range, reciprocal) = coded
                .tables
                .range(coded.contexts[index] as usize, coded.tokens[index] as usize);
            rans.put(range, reciprocal, lane as usize);
        }
    }
    let stream = rans.finish();
    let version = match extra {
        Extra::None => super::VERSION,
        Extra::Repeats(_) => super::VERSION_REPEATS,
        Extra::NearLossless(_) => super::VERSION_NEAR_LOSSLESS,
    };
    let mut out = vec![version];
    plan.write(&mut out);
    let written = match extra {
        Extra::None => Ok(()),
        Extra::Repeats(repeats) => repeats.write(&mut out),
        Extra::NearLossless(block) => block.write(&mut out),
    };
    written.expect("zlib into memory does not fail");
    crate::entropy::tables::Tables::write(&coded.frequencies, &mut out);
    put_u(&mut out, stream.len() as u64);
    out.extend_from_slice(&stream);
    out.extend_from_slice(&raw.finish());
    out
}

/// Row `y` of the pixel-interleaved little-endian samples as numbers (`n` per row).
fn sample_row(ty: SampleType, samples: &[u8], y: usize, n: usize, out: &mut [i32]) {
    let size = ty.size();
    ty.small_int_values(&samples[y * n * size..(y + 1) * n * size], out);
}

/// Every band's palette, from the distinct values it takes (one pass, pixel by pixel).
fn palettes(ty: SampleType, samples: &[u8], g: &Geometry) -> Vec<Palette> {
    let (width, channels) = (g.width, g.channels);
    let span = (g.max - g.min + 1) as usize;
    let words = span.div_ceil(64);
    let mut seen = vec![0u64; channels * words];
    let mut row = vec![0i32; width * channels];
    for y in 0..g.height {
        sample_row(ty, samples, y, width * channels, &mut row);
        for px in row.chunks_exact(channels) {
            for (b, &v) in px.iter().enumerate() {
                let offset = (v - g.min) as usize;
                seen[b * words + offset / 64] |= 1 << (offset % 64);
            }
        }
    }
    (0..channels)
        .map(|b| {
            let bits = &seen[b * words..(b + 1) * words];
            let values: Vec<i32> = (0..span)
                .filter(|&offset| bits[offset / 64] & (1 << (offset % 64)) != 0)
                .map(|offset| g.min + offset as i32)
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
    let (width, height, channels) = (g.width, g.height, g.channels);
    // Per band: sample value → coded value (the identity, or the palette index).
    let maps: Vec<Option<Vec<i32>>> = palettes
        .iter()
        .map(|p| {
            (!p.is_identity()).then(|| (g.min..=g.max).map(|v| p.index(v).unwrap_or(0)).collect())
        })
        .collect();
    // Coded values, band-interleaved by line, and their sums per band.
    let mut data = tile_buffers::zeroed(width * height * channels);
    let mut sums = vec![0i64; channels];
    let mut row = vec![0i32; width * channels];
    for y in 0..height {
        sample_row(ty, samples, y, width * channels, &mut row);
        for (pos, &band) in order.iter().enumerate() {
            let band_index = band as usize;
            let dst = &mut data[(y * channels + pos) * width..(y * channels + pos + 1) * width];
            match &maps[band_index] {
                None => dst
                    .iter_mut()
                    .zip(row[band_index..].iter().step_by(channels))
                    .for_each(|(d, &v)| *d = v),
                Some(m) => dst
                    .iter_mut()
                    .zip(row[band_index..].iter().step_by(channels))
                    .for_each(|(d, &v)| *d = m[(v - g.min) as usize]),
            }
            sums[band_index] += dst.iter().map(|&v| v as i64).sum::<i64>();
        }
    }
    let pixels = (width * height) as i64;
    let offsets: Vec<i32> = sums
        .iter()
        .map(|&s| (s + pixels / 2).div_euclid(pixels) as i32)
        .collect();
    for (i, chunk) in data.chunks_exact_mut(width).enumerate() {
        let off = offsets[order[i % channels] as usize];
        chunk.iter_mut().for_each(|v| *v -= off);
    }
    (
        Tile {
            data,
            width,
            height,
            channels,
        },
        offsets,
    )
}

/// Row segments decoded in lockstep: enough independent chains to keep a core busy, each at
/// least 16 samples long so the restart at a segment's start costs little.
fn segments_for(width: usize, most: u8) -> u8 {
    let segments = if width >= 64 {
        4
    } else if width >= 32 {
        2
    } else {
        1
    };
    segments.min(most)
}

/// Spatial predictions of every row of every channel (the encoder's whole-tile view of what
/// the decoder computes row by row).
fn spatial_all<A: Acc>(plan: &Plan, tile: &Tile, g: &Geometry) -> Tile {
    let (width, height, channels) = (tile.width, tile.height, tile.channels);
    let mut out = Tile {
        data: tile_buffers::zeroed(width * height * channels),
        width,
        height,
        channels,
    };
    let mut acc = vec![A::default(); width];
    for y in 0..height {
        for pos in 0..channels {
            let start = (y * channels + pos) * width;
            spatial_row(
                plan,
                pos,
                y,
                tile,
                g.lo[pos],
                g.hi[pos],
                &mut acc,
                &mut out.data[start..start + width],
            );
        }
    }
    out
}

/// Pixels the predictors are fitted on: a thinned grid of the pixels whose every neighbour
/// lies inside the tile, without the pixels flat in every band (a nodata frame), which are
/// left to the flat rule: fitting them would bend the predictors of the textured part
/// towards predicting a constant. Edge pixels are left out for the same reason: there the
/// format's substitutes stand in for missing neighbours, and on a field with a strong
/// gradient their errors are hundreds of times the interior's (ERA-Interim geopotential:
/// a mean square of 92,000 in the first column against 0.7 inside), so the 1-2% of pixels
/// on the edges decided the least-squares fit (6.5 inside when they did; the tile was 39%
/// smaller without them).
fn training_pixels(tile: &Tile, settings: &Settings) -> Vec<(usize, usize)> {
    let all = fit::sample_pixels(tile.width, tile.height, settings.fit_pixels);
    let reach = plan::ROWS_ABOVE;
    let inside = |&(y, x): &(usize, usize)| y >= reach && x >= reach && x + reach < tile.width;
    let interior: Vec<(usize, usize)> = all.iter().filter(|p| inside(p)).cloned().collect();
    let pixels = if interior.len() >= 64 { interior } else { all };
    let flat_everywhere = |&(y, x): &(usize, usize)| {
        (0..tile.channels).all(|pos| {
            let north = tile.at(y - 1, pos, x);
            tile.at(y, pos, x) == north
                && tile.at(y - 1, pos, x.saturating_sub(1)) == north
                && tile.at(y - 1, pos, (x + 1).min(tile.width - 1)) == north
        })
    };
    let textured: Vec<(usize, usize)> = pixels
        .iter()
        .filter(|p| !flat_everywhere(p))
        .cloned()
        .collect();
    if textured.len() >= 64 {
        textured
    } else {
        pixels
    }
}

/// Largest |value| of every position (at least 1): bounds its coefficients.
fn position_magnitudes(tile: &Tile) -> Vec<f64> {
    (0..tile.channels)
        .map(|pos| {
            let values = (0..tile.height).flat_map(|y| tile.row(y, pos).iter());
            values.fold(0i32, |m, &v| m.max(v.abs())).max(1) as f64
        })
        .collect()
}

/// The plan before any fitting: no flat rule, no predictors, one context.
fn unfitted_plan(
    tile: &Tile,
    settings: &Settings,
    order: Vec<u16>,
    offsets: Vec<i32>,
    palettes: Vec<Palette>,
) -> Plan {
    Plan {
        order,
        offsets,
        palettes,
        own_mask: settings.own_mask,
        w_context: settings.w_context,
        segments: segments_for(tile.width, settings.max_segments),
        flat: false,
        channels: Vec::new(),
        context: ContextParams {
            contexts: 1,
            weights: [0; CONTEXT_WEIGHTS],
            means: vec![1; tile.channels],
            thresholds: Vec::new(),
        },
    }
}

/// Predictors for tiles too small to fit anything: W (or N) only.
fn nearest_neighbour_predictors(plan: &Plan, own: &[(i32, i32)]) -> Vec<ChannelPredictor> {
    let nearest = own
        .iter()
        .position(|&d| d == (0, -1))
        .or_else(|| own.iter().position(|&d| d == (-1, 0)));
    let spatial = Spatial {
        shift: 0,
        bias: 0,
        own: (0..own.len())
            .map(|i| (Some(i) == nearest) as i32)
            .collect(),
    };
    (0..plan.order.len())
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
        .collect()
}

/// Fits the plan: spatial predictors, the pooled Gram matrix, taps and final predictors.
/// Returns the plan and the spatial predictions.
fn fit_plan<A: Acc>(
    tile: &Tile,
    geometry: &Geometry,
    settings: &Settings,
    order: Vec<u16>,
    offsets: Vec<i32>,
    palettes: Vec<Palette>,
) -> (Plan, Tile) {
    let accumulator_is_i32 = std::mem::size_of::<A>() == 4;
    let channels = tile.channels;
    let samples = tile.width * tile.height;
    let pixels = training_pixels(tile, settings);
    let mut plan = unfitted_plan(tile, settings, order, offsets, palettes);
    if pixels.len() < 8 {
        let own: Vec<(i32, i32)> = plan::offsets(settings.own_mask).collect();
        plan.channels = nearest_neighbour_predictors(&plan, &own);
        let spatial = spatial_all::<A>(&plan, tile, geometry);
        return (plan, spatial);
    }
    let bounds = position_magnitudes(tile);
    // Coefficient precision: `max_shift` suits 8-bit magnitudes; wider values need finer
    // coefficients for the same error in the prediction.
    let widest = bounds.iter().cloned().fold(1.0, f64::max);
    let extra_bits = (widest / 128.0).log2().ceil().max(0.0);
    let max_shift = (settings.max_shift as f64 + extra_bits).min(20.0) as u8;
    let fit = SpatialFit {
        tile,
        pixels: &pixels,
        bounds: &bounds,
        max_shift,
        acc32: accumulator_is_i32,
    };
    let spatials = if settings.w_if_it_pays && samples >= W_MIN_PIXELS {
        fit.with_w_where_it_pays(&mut plan)
    } else {
        let own: Vec<(i32, i32)> = plan.own_offsets().collect();
        fit.spatials(&plan, &own)
    };
    let own: Vec<(i32, i32)> = plan.own_offsets().collect();
    plan.channels = spatials
        .into_iter()
        .map(|spatial| ChannelPredictor {
            spatial,
            ..Default::default()
        })
        .collect();
    let spatial = spatial_all::<A>(&plan, tile, geometry);
    let pool = Pool { channels };
    let gram = fit::pool_gram(tile, &spatial, &pixels, &pool, accumulator_is_i32);
    let joint = fit::Joint {
        tile,
        s_all: &spatial,
        pixels: &pixels,
        own: &own,
    };
    let joint = settings.joint_fit.then_some(&joint);
    for pos in 0..channels {
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
            settings.taps,
            samples,
            &bounds,
            max_shift,
            accumulator_is_i32,
            joint,
        );
    }
    (plan, spatial)
}

/// What the spatial fits of a tile's positions share.
struct SpatialFit<'a> {
    tile: &'a Tile,
    pixels: &'a [(usize, usize)],
    /// Per position: its largest |value|.
    bounds: &'a [f64],
    max_shift: u8,
    acc32: bool,
}

/// The factor by which W must lower a many-band tile's residual mean square for the tile to
/// read it: the spatial fits' median factor, of which only the share the earlier bands' taps
/// leave counts ([`spectral_share`]). The real Presto tiles: 1.63 and 1.24 with 15% and 11%
/// left to the taps, 1.53 and 1.22, and W (with the W context and one segment per row) made
/// them 2.3% and 1.4% smaller. The synthetic proxy: 1.07, 0.2% smaller. AVIRIS Jasper
/// Ridge: 1.66 in the spatial fits, but adjacent bands share 99% of their detail, 1.005,
/// 0.23% smaller. Neither is worth the decoder's 17-20% (a row with W is decoded sample by
/// sample, one without it as a whole).
const W_MIN_GAIN: f64 = 1.2;
/// Fewest pixels of a tile that may read W: W's coefficient in every band's predictor
/// costs more than it saves on small tiles (the Presto crop in 32 x 32 tiles: 0.8% larger
/// with W; 48 x 48: 0.13% smaller).
const W_MIN_PIXELS: usize = 2048;

impl SpatialFit<'_> {
    /// Every position's spatial predictor on the neighbours `own` (zero for constant bands).
    fn spatials(&self, plan: &Plan, own: &[(i32, i32)]) -> Vec<Spatial> {
        (0..self.tile.channels)
            .map(|pos| match plan.constant(pos) {
                true => ChannelPredictor::zero(own.len()).spatial,
                false => fit::fit_spatial(&self.target(pos), own),
            })
            .collect()
    }

    /// The spatial predictors of a many-band tile of [`W_MIN_PIXELS`] or more, with the W
    /// neighbour added to the plan's where it pays ([`W_MIN_GAIN`]): then the plan is
    /// sequential anyway, and its contexts read W's token too and its rows are one segment
    /// (presto_s2: 0.13% and 0.08% more). Otherwise the plan and every predictor are the
    /// ones fitted without W.
    fn with_w_where_it_pays(&self, plan: &mut Plan) -> Vec<Spatial> {
        let with_w_mask = plan.own_mask | 1;
        let own: Vec<(i32, i32)> = plan::offsets(with_w_mask).collect();
        let mut gains = Vec::new();
        let (mut with_w, mut without_w) = (Vec::new(), Vec::new());
        for pos in 0..self.tile.channels {
            if plan.constant(pos) {
                with_w.push(ChannelPredictor::zero(own.len()).spatial);
                without_w.push(ChannelPredictor::zero(own.len() - 1).spatial);
                continue;
            }
            let (with, without, gain) =
                fit::fit_spatial_with_and_without_w(&self.target(pos), &own);
            with_w.push(with);
            without_w.push(without);
            gains.push(gain);
        }
        gains.sort_by(f64::total_cmp);
        let median_gain = gains.get(gains.len() / 2).copied().unwrap_or(1.0);
        let left_to_w = 1.0 - spectral_share(self.tile, self.pixels);
        if 1.0 + (median_gain - 1.0) * left_to_w < W_MIN_GAIN {
            return without_w;
        }
        plan.own_mask = with_w_mask;
        plan.w_context = true;
        plan.segments = segments_for(self.tile.width, 1);
        with_w
    }

    fn target(&self, pos: usize) -> fit::SpatialTarget<'_> {
        fit::SpatialTarget {
            tile: self.tile,
            pixels: self.pixels,
            pos,
            bound: self.bounds[pos],
            max_shift: self.max_shift,
            acc32: self.acc32,
        }
    }
}

/// How much of a band's detail its neighbour band shares: the median over positions of the
/// squared correlation between their differences along the row (W to the sample) on every
/// fourth fitting pixel. What the final predictor's taps on the earlier bands will explain
/// of what W would: most of it on hyperspectral cubes (AVIRIS: 0.99), little on embeddings
/// (Presto: 0.11-0.18), whose dimensions are decorrelated by design.
fn spectral_share(tile: &Tile, pixels: &[(usize, usize)]) -> f64 {
    let mut shares: Vec<f64> = (1..tile.channels)
        .map(|pos| {
            let (mut product, mut own, mut neighbour) = (0f64, 0f64, 0f64);
            for &(y, x) in pixels.iter().step_by(4).filter(|&&(_, x)| x > 0) {
                let along = |pos: usize| (tile.at(y, pos, x) - tile.at(y, pos, x - 1)) as f64;
                let (a, b) = (along(pos), along(pos - 1));
                (product, own, neighbour) = (product + a * b, own + a * a, neighbour + b * b);
            }
            match own * neighbour {
                energy if energy > 0.0 => product * product / energy,
                _ => 0.0,
            }
        })
        .collect();
    shares.sort_by(f64::total_cmp);
    shares.get(shares.len() / 2).copied().unwrap_or(0.0)
}

/// W and WW of every column of a row under the segment rules: inside a segment the row's
/// own samples, at its start the first sample of the segment in the row above (0 on row 0).
fn w_rows(
    current: &[i32],
    above: &[i32],
    y: usize,
    segments: usize,
    w_row: &mut [i32],
    ww_row: &mut [i32],
) {
    let width = current.len();
    for segment in 0..segments {
        let (first, end) = (
            segment_start(width, segment, segments),
            segment_start(width, segment + 1, segments),
        );
        let start_value = if y > 0 && first < width {
            above[first]
        } else {
            0
        };
        for x in first..end {
            w_row[x] = if x > first {
                current[x - 1]
            } else {
                start_value
            };
            ww_row[x] = if x > first + 1 {
                current[x - 2]
            } else {
                start_value
            };
        }
    }
}

/// What the flat rule would change in a plan without it: the sum over the samples it applies
/// to of the linear predictor's zigzagged residual minus the rule's, and which samples those
/// are (a bit per sample of the residual tile). Nothing else changes with the rule: the
/// encoder predicts from the samples themselves, so their residuals are patched, not all
/// computed again (that second pass was 6% of the encode on the Presto tiles).
struct FlatRule {
    gain: i64,
    applies: Vec<u64>,
}

impl FlatRule {
    fn mark(&mut self, index: usize) {
        self.applies[index / 64] |= 1 << (index % 64);
    }

    /// Replaces the residuals of the samples the rule applies to by the rule's (N).
    fn apply(&self, tile: &Tile, geometry: &Geometry, magnitudes: &mut Tile) {
        let row_len = tile.channels * tile.width;
        for (word_index, &word) in self.applies.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let index = word_index * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let (y, within) = (index / row_len, index % row_len);
                let (pos, x) = (within / tile.width, within % tile.width);
                let north = tile.at(y - 1, pos, x);
                magnitudes.data[index] = zigzag_residual(tile.at(y, pos, x), north, geometry.bits);
            }
        }
    }
}

/// The zigzagged residual of `value` from `prediction`, wrapped to `bits` like the decoder's.
fn zigzag_residual(value: i32, prediction: i32, bits: u32) -> i32 {
    let mask = ((1u64 << bits) - 1) as i32;
    let half = 1i32 << (bits - 1);
    tokens::zigzag((value.wrapping_sub(prediction).wrapping_add(half) & mask) - half) as i32
}

/// Predicts every sample under a plan without the flat rule; returns the zigzagged
/// residuals, band-interleaved by line, and what the flat rule would change.
fn residuals<A: Acc>(
    plan: &Plan,
    tile: &Tile,
    spatial: &Tile,
    geometry: &Geometry,
) -> (Tile, FlatRule) {
    debug_assert!(!plan.flat, "the flat rule is patched in afterwards");
    let (width, height, channels) = (tile.width, tile.height, tile.channels);
    let mut magnitudes = Tile {
        data: tile_buffers::zeroed(width * height * channels),
        width,
        height,
        channels,
    };
    let mut base = vec![A::default(); width];
    let mut flat_marks = vec![0u8; width];
    let residual = |v: i32, prediction: i32| zigzag_residual(v, prediction, geometry.bits);
    let mut flat = FlatRule {
        gain: 0,
        applies: vec![0; (width * height * channels).div_ceil(64)],
    };
    let mut pairs = (geometry.bits == 8).then(|| PairRows::new(plan, width));
    // The encoder knows whole rows, so even the sequential W and WW terms are row
    // operations here: W and WW of every column under the segment rules, then axpy.
    let (mut w_row, mut ww_row, mut predictions) =
        (vec![0i32; width], vec![0i32; width], vec![0i32; width]);
    for y in 0..height {
        let spatial_rows = &spatial.data[y * channels * width..(y + 1) * channels * width];
        if let Some(pairs) = pairs.as_mut() {
            for pos in 0..channels {
                pairs.set(
                    pos,
                    tile.row(y, pos),
                    &spatial_rows[pos * width..(pos + 1) * width],
                );
            }
        }
        for pos in 0..channels {
            row_base(plan, pos, y, tile, spatial_rows, pairs.as_ref(), &mut base);
            let predictor = FinalPredictor::<A>::new(plan, geometry, pos, y);
            let current = tile.row(y, pos);
            let above = if y > 0 { tile.row(y - 1, pos) } else { current };
            w_rows(
                current,
                above,
                y,
                plan.segments as usize,
                &mut w_row,
                &mut ww_row,
            );
            if predictor.w_coef.to_i64() != 0 {
                A::axpy(&mut base, predictor.w_coef, &w_row);
            }
            if predictor.ww_coef.to_i64() != 0 {
                A::axpy(&mut base, predictor.ww_coef, &ww_row);
            }
            predictor.predict_row(&base, &mut predictions);
            let start = (y * channels + pos) * width;
            let out = &mut magnitudes.data[start..start + width];
            for ((o, &v), &prediction) in out.iter_mut().zip(current).zip(&predictions) {
                *o = residual(v, prediction);
            }
            if y == 0 {
                continue;
            }
            let nn_row = (!plan.flat_uses_w()).then(|| tile.row(y.saturating_sub(2), pos));
            flat_row(above, nn_row, &mut flat_marks);
            let uses_w = plan.flat_uses_w();
            for x in 0..width {
                if flat_marks[x] != 0 && (!uses_w || w_row[x] == above[x]) {
                    let rule = residual(current[x], above[x]);
                    flat.gain += out[x] as i64 - rule as i64;
                    flat.mark(start + x);
                }
            }
        }
    }
    (magnitudes, flat)
}
