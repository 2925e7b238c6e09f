//! The near-lossless encoder's closed loop: every sample is predicted from values already
//! *rebuilt* the way the decoder will rebuild them, then its residual is quantised and the
//! sample rebuilt in turn. Predicting from the original values instead would let the
//! decoder's predictions drift from the encoder's, and errors would pile up past the bound.
//!
//! The loop walks the tile in the decoder's order (rows, coding positions, columns with the
//! segment rules) and calls the decoder's own pieces: [`row_base`], [`FinalPredictor`],
//! [`spatial_row`], the flat rule and [`Quantised::value`]. Only the order of columns within
//! a row differs (left to right, not segments in lockstep), which nothing depends on: a
//! segment reads only its own columns and the rows above.

use super::fit::Tile;
use super::neighbourhood::{flat_row, segment_start, Rows};
use super::plan::Plan;
use super::reconstruction::{Exact, Quantised, Reconstruct};
use super::row_predictor::{row_base, spatial_row, Acc, FinalPredictor, PairRows};
use super::Geometry;
use crate::entropy::tokens;

/// What the loop codes: per coding position its quantisation step, and its nodata value as
/// a centred value (if the band has one the tile can hold).
pub(super) struct Quantisation {
    pub steps: Vec<i32>,
    pub nodata: Vec<Option<i32>>,
}

/// The loop's result: the rebuilt tile, every sample's zigzag residual (both
/// band-interleaved by line), and the samples coded exactly as `pixel × bands + band`.
pub(super) struct ClosedLoop {
    pub rebuilt: Tile,
    pub magnitudes: Tile,
    pub exact: Vec<u64>,
}

/// Per-row buffers of the loop.
struct Scratch<A> {
    base: Vec<A>,
    spatial_acc: Vec<A>,
    spatial_rows: Vec<i32>,
    flat_marks: Vec<u8>,
    steps: Vec<i32>,
}

/// Runs the closed loop over `original` (centred values) with the fitted `plan`.
pub(super) fn closed_loop<A: Acc>(
    plan: &Plan,
    original: &Tile,
    geometry: &Geometry,
    quantisation: &Quantisation,
) -> ClosedLoop {
    let (width, height, channels) = (original.width, original.height, original.channels);
    let mut out = ClosedLoop {
        rebuilt: original.clone(),
        magnitudes: Tile {
            data: vec![0; original.data.len()],
            width,
            height,
            channels,
        },
        exact: Vec::new(),
    };
    let mut scratch = Scratch {
        base: vec![A::default(); width],
        spatial_acc: vec![A::default(); width],
        spatial_rows: vec![0; channels * width],
        flat_marks: vec![0; width],
        steps: vec![1; width],
    };
    let mut pairs = (geometry.bits == 8).then(|| PairRows::new(plan, width));
    for y in 0..height {
        for pos in 0..channels {
            let (lo, hi) = (geometry.lo[pos], geometry.hi[pos]);
            if lo == hi {
                // A constant position codes nothing; the decoder fills it with `lo`.
                row_mut(&mut out.rebuilt, y, pos).fill(lo);
            } else {
                code_row(
                    plan,
                    geometry,
                    quantisation,
                    y,
                    pos,
                    &mut out,
                    &mut scratch,
                    &pairs,
                );
            }
            let spatial = &mut scratch.spatial_rows[pos * width..(pos + 1) * width];
            let acc = &mut scratch.spatial_acc;
            spatial_row(plan, pos, y, &out.rebuilt, lo, hi, acc, spatial);
            if let Some(pairs) = pairs.as_mut() {
                pairs.set(pos, out.rebuilt.row(y, pos), spatial);
            }
        }
    }
    out.exact.sort_unstable();
    out
}

fn row_mut(tile: &mut Tile, y: usize, pos: usize) -> &mut [i32] {
    let start = (y * tile.channels + pos) * tile.width;
    &mut tile.data[start..start + tile.width]
}

/// Codes row `y` of position `pos`: predictions from rebuilt values, quantised residuals,
/// rebuilt values; samples whose nodata status would change are coded exactly.
#[allow(clippy::too_many_arguments)]
fn code_row<A: Acc>(
    plan: &Plan,
    geometry: &Geometry,
    quantisation: &Quantisation,
    y: usize,
    pos: usize,
    out: &mut ClosedLoop,
    scratch: &mut Scratch<A>,
    pairs: &Option<PairRows>,
) {
    let width = geometry.width;
    let rebuilt = &out.rebuilt;
    row_base(
        plan,
        pos,
        y,
        rebuilt,
        &scratch.spatial_rows,
        pairs.as_ref(),
        &mut scratch.base,
    );
    let predictor = FinalPredictor::<A>::new(plan, geometry, pos, y);
    if plan.flat && y > 0 {
        let nn_row = (!plan.flat_uses_w()).then(|| rebuilt.row(y.saturating_sub(2), pos));
        flat_row(rebuilt.row(y - 1, pos), nn_row, &mut scratch.flat_marks);
    }
    scratch.steps.fill(quantisation.steps[pos]);
    let above: Vec<i32> = if y > 0 {
        rebuilt.row(y - 1, pos).to_vec()
    } else {
        vec![0; width]
    };
    let start = (y * geometry.channels + pos) * width;
    let exact = Exact {
        lo: geometry.lo[pos],
        mask: ((1u64 << geometry.bits) - 1) as i32,
        alphabet: tokens::alphabet(geometry.bits) as u32,
    };
    let (hi, nodata) = (geometry.hi[pos], quantisation.nodata[pos]);
    let segments = plan.segments as usize;
    let uses_w = plan.flat_uses_w();
    let band = plan.order[pos] as usize;
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
            let current = &out.rebuilt.data[start..start + width];
            let w = if x > first {
                current[x - 1]
            } else {
                start_value
            };
            let ww = if x > first + 1 {
                current[x - 2]
            } else {
                start_value
            };
            let flat = y > 0 && scratch.flat_marks[x] != 0 && (!uses_w || w == above[x]);
            let prediction = if flat {
                above[x]
            } else {
                predictor.predict(scratch.base[x], w, ww)
            };
            let value = current[x];
            let steps = &scratch.steps;
            let (mut magnitude, mut rebuilt_value) =
                Quantised { exact, hi, steps }.quantise(x, prediction, value);
            if nodata.is_some_and(|n| (value == n) != (rebuilt_value == n)) {
                // Coded exactly (step 1): the decoder finds the sample in the exact list.
                (magnitude, rebuilt_value) = (exact.magnitude(prediction, value), value);
                scratch.steps[x] = 1;
                let pixel = (y * width + x) as u64;
                out.exact
                    .push(pixel * geometry.channels as u64 + band as u64);
            }
            out.rebuilt.data[start + x] = rebuilt_value;
            out.magnitudes.data[start + x] = magnitude as i32;
        }
    }
}
