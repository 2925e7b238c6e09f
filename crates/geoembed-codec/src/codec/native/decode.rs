//! Native tile decoder: one pass, band-interleaved by line, keeping the rows predictors read
//! (four rows of values, two of residual magnitudes, one of spatial predictions).
//!
//! The segment count `S` is dispatched on once per tile ([`decode`]); every row loop below
//! runs with it known at compile time, so the lanes of a row are unrolled. Per row and
//! position, everything that does not depend on the row's own samples is done first with
//! vectorised loops (the prediction base, the W-free context level, the flat marks); the
//! sample loop is left with a table lookup for the context, one rANS step, raw bits, and,
//! for sequential plans, the W/WW terms of the prediction.

use super::context::{context_row, ContextModel, MagnitudeRows, LEVELS, W_TOKENS};
use super::near_lossless::NearLossless;
use super::neighbourhood::{flat_row, flatten_row, zero_flat_levels, Ring, Rows, SegmentStarts};
use super::palette::Palette;
use super::plan::{Plan, ROWS_ABOVE};
use super::reconstruction::{Exact, Quantised, Reconstruct};
use super::repeats::{CopiedRow, Repeats, SourcePixels, SourceStore};
use super::row_predictor::{row_base, spatial_row, Acc, FinalPredictor, PairRows};
use super::simd;
use super::Geometry;
use crate::entropy::bits::{BitCursor, BitReader};
use crate::entropy::rans::{self, Decoder};
use crate::entropy::tables::Tables;
use crate::entropy::tokens::{self, TOKENS};
use crate::entropy::unloaded::{Fetch, Unloaded};
use crate::error::{Error, Result};
use std::sync::Arc;

/// Rows of values the decoder keeps per position: the current one and those predictors read.
const VALUE_ROWS: usize = ROWS_ABOVE + 1;

/// What a tile's samples are decoded with besides the streams: the plan, the shape, the
/// context tables, the whole-pixel repeats (none in version-1 payloads) and the near-lossless
/// bounds. Owned, so that a row-by-row decoder ([`RowDecoder`]) can keep them after the
/// payload is parsed.
pub(super) struct Parts {
    pub plan: Plan,
    pub geometry: Geometry,
    pub tables: Tables,
    pub repeats: Repeats,
    /// The context of copied samples (the table after the model's).
    pub copy_context: u8,
    /// Version 3: the bounds and exact samples of near-lossless coding.
    pub near_lossless: Option<NearLossless>,
}

/// The payload's two streams: rANS tokens and the tokens' raw low bits, and where they
/// start in the payload.
pub(super) struct StreamBytes<'a> {
    pub rans: &'a [u8],
    pub raw: &'a [u8],
    pub rans_at: usize,
    pub raw_at: usize,
}

/// Decodes a tile into numeric sample values, pixel-interleaved by band, appended to `out`.
pub(super) fn decode<A: Acc>(parts: Parts, bytes: StreamBytes, out: &mut Vec<u8>) -> Result<()> {
    let segments = parts.plan.segments;
    let parts = Arc::new(parts);
    let streams = Streams::new(&parts.plan, bytes)?;
    match segments {
        1 => TileDecoder::<A, 1>::new(parts, streams).decode(out),
        2 => TileDecoder::<A, 2>::new(parts, streams).decode(out),
        _ => TileDecoder::<A, 4>::new(parts, streams).decode(out),
    }
}

/// A tile decoded one image row at a time, for readers that want a few rows of many tiles
/// (a row-by-row copy of a wide raster) without holding every tile whole: the decoder keeps
/// only the rows its predictors read, a small fraction of the tile for many bands.
pub(crate) trait RowDecoder: Send {
    /// Decodes the next row into `row_out` (one image row's bytes), reading what it needs
    /// of its streams from the file with `fetch`.
    fn next_row(&mut self, row_out: &mut [u8], fetch: &mut Fetch) -> Result<()>;
}

impl<A: Acc, const S: usize> RowDecoder for TileDecoder<A, S> {
    fn next_row(&mut self, row_out: &mut [u8], fetch: &mut Fetch) -> Result<()> {
        // A sample reads at most one rANS word and 32 raw bits.
        let geometry = &self.parts.geometry;
        let symbols = geometry.width * geometry.channels;
        self.streams.tokens.refill(symbols, fetch)?;
        self.streams.raw_bits.refill(4 * symbols, fetch)?;
        self.decode_row(row_out, &[])
    }
}

/// A [`RowDecoder`] for a tile (see [`decode`]) whose payload is at `payload_offset` in the
/// file: it keeps the part of its streams the first rows need and reads the rest as it goes.
/// Whole-pixel repeats read their sources from a store of the source pixels, not from the
/// rows above, which the caller may drop.
pub(super) fn row_decoder<A: Acc>(
    parts: Parts,
    bytes: StreamBytes,
    payload_offset: u64,
) -> Result<Box<dyn RowDecoder>> {
    fn boxed<A: Acc, const S: usize>(parts: Arc<Parts>, streams: Streams) -> Box<dyn RowDecoder> {
        let mut decoder = TileDecoder::<A, S>::new(parts, streams);
        decoder.keep_sources();
        Box::new(decoder)
    }
    let segments = parts.plan.segments;
    let symbols = parts.geometry.width * parts.geometry.channels;
    let parts = Arc::new(parts);
    let streams = Streams::in_chunks(&parts.plan, bytes, payload_offset, symbols)?;
    Ok(match segments {
        1 => boxed::<A, 1>(parts, streams),
        2 => boxed::<A, 2>(parts, streams),
        _ => boxed::<A, 4>(parts, streams),
    })
}

/// The two streams samples are read from: rANS tokens (one state per segment) and the
/// tokens' raw low bits.
struct Streams {
    tokens: Decoder,
    raw_bits: BitReader,
}

impl Streams {
    fn new(plan: &Plan, bytes: StreamBytes) -> Result<Self> {
        Ok(Streams {
            tokens: Decoder::new(bytes.rans, plan.segments as usize, "native")?,
            raw_bits: BitReader::new(bytes.raw),
        })
    }

    /// The streams with only what the first row may need loaded (a row reads at most one
    /// word and 32 raw bits per sample of `row_symbols`); the rest stays in the file, the
    /// payload being at `payload_offset`.
    fn in_chunks(
        plan: &Plan,
        bytes: StreamBytes,
        payload_offset: u64,
        row_symbols: usize,
    ) -> Result<Self> {
        let lanes = plan.segments as usize;
        let split = |stream: &[u8], at: usize, first: usize| {
            let first = first.min(stream.len());
            let rest_at = payload_offset + (at + first) as u64;
            (first, Unloaded::new(rest_at, stream.len() - first))
        };
        let words_first = 2 * (2 * lanes + 2 * row_symbols);
        let (first, rest) = split(bytes.rans, bytes.rans_at, words_first);
        let tokens = Decoder::in_chunks(&bytes.rans[..first], rest, lanes, "native")?;
        let (first, rest) = split(bytes.raw, bytes.raw_at, 8 * row_symbols + 8);
        let raw_bits = BitReader::in_chunks(&bytes.raw[..first], rest, bytes.raw.len() - first);
        Ok(Streams { tokens, raw_bits })
    }
}

/// A near-lossless tile's quantisation, as the decoder walks it: every position's step and
/// the exact samples in decoding order, `next` being the first not yet reached.
struct Quantisation {
    steps: Vec<i32>,
    exact: Vec<[u32; 3]>,
    next: usize,
    /// The current row's steps.
    row_steps: Vec<i32>,
}

impl Quantisation {
    fn new(near_lossless: &NearLossless, plan: &Plan, width: usize) -> Self {
        Quantisation {
            steps: near_lossless.steps(plan),
            exact: near_lossless.exact_in_decoding_order(plan, width),
            next: 0,
            row_steps: vec![1; width],
        }
    }

    /// Fills `row_steps` for row `y` of position `pos`: the position's step, 1 where a
    /// sample is exact.
    fn prepare_row(&mut self, y: usize, pos: usize) {
        self.row_steps.fill(self.steps[pos]);
        let here = [y as u32, pos as u32];
        while let Some(&[ey, epos, x]) = self.exact.get(self.next) {
            if [ey, epos] != here {
                break;
            }
            self.row_steps[x as usize] = 1;
            self.next += 1;
        }
    }
}

/// A token's zigzag residual: its base value and its raw low bits.
#[inline(always)]
fn magnitude(token: u32, raw_bits: &mut BitCursor) -> u32 {
    TOKENS.base[token as usize] | raw_bits.take(TOKENS.extra[token as usize])
}

fn context_without_table(context: usize) -> Error {
    Error::corrupt(format!(
        "native: sample uses context {context}, which has no table"
    ))
}

fn token_outside_alphabet() -> Error {
    Error::corrupt("native: a token outside the alphabet (corrupt stream)")
}

/// Per-row buffers, reused for every row and position.
struct RowScratch<A> {
    /// The prediction base (everything but W and WW).
    base: Vec<A>,
    /// The spatial predictor's accumulators.
    spatial_acc: Vec<A>,
    /// W-free activity levels.
    levels: Vec<u8>,
    /// Whole-row predictions and contexts (row-parallel plans).
    predictions: Vec<i32>,
    contexts: Vec<u8>,
    /// Flat-rule marks (all zero without the rule and on row 0).
    flat_marks: Vec<u8>,
    /// A copy of the position's row above (the flat rule's N).
    above: Vec<i32>,
    /// Sequential rows: which columns copy a source pixel, and the copied values.
    copy_marks: Vec<u8>,
    copy_values: Vec<i32>,
    /// Row-parallel rows: the predictions the copied samples replace.
    copy_predictions: Vec<i32>,
    /// What missing rows read.
    zeros: Vec<i32>,
}

impl<A: Acc> RowScratch<A> {
    fn new(width: usize) -> Self {
        RowScratch {
            base: vec![A::default(); width],
            spatial_acc: vec![A::default(); width],
            levels: vec![0; width],
            predictions: vec![0; width],
            contexts: vec![0; width],
            flat_marks: vec![0; width],
            above: vec![0; width],
            copy_marks: vec![0; width],
            copy_values: vec![0; width],
            copy_predictions: Vec::with_capacity(width),
            zeros: vec![0; width],
        }
    }
}

/// The decoder's state over one tile of `S` segments per row.
struct TileDecoder<A, const S: usize> {
    parts: Arc<Parts>,
    /// The row [`TileDecoder::decode_row`] decodes next.
    next_row: usize,
    /// Row-by-row decoding of a tile with repeats: the source pixels decoded so far.
    sources: Option<SourceStore>,
    samples: SampleWriter,
    /// The current row's copied pixels and their values.
    copied: CopiedRow,
    /// Near-lossless tiles (version 3): the quantisation steps.
    quantisation: Option<Quantisation>,
    model: ContextModel,
    streams: Streams,
    /// Centred values of the rows predictors read.
    values: Ring<VALUE_ROWS>,
    /// Zigzag residuals of this row and the row above (the context's neighbours).
    magnitudes: Ring<2>,
    /// Spatial predictions of the current row, one row per position.
    spatial_rows: Vec<i32>,
    /// 16-bit (value, spatial) pairs of the current row, for 8-bit samples.
    pairs: Option<PairRows>,
    /// Per pixel, the sum of the magnitudes of the positions decoded so far in this row.
    pixel_sum: Vec<i32>,
    scratch: RowScratch<A>,
}

impl<A: Acc, const S: usize> TileDecoder<A, S> {
    fn new(parts: Arc<Parts>, streams: Streams) -> Self {
        let (plan, geometry) = (&parts.plan, &parts.geometry);
        let (width, channels) = (geometry.width, geometry.channels);
        TileDecoder {
            next_row: 0,
            sources: None,
            samples: SampleWriter::new(plan, geometry),
            copied: CopiedRow::new(),
            quantisation: parts
                .near_lossless
                .as_ref()
                .map(|n| Quantisation::new(n, plan, width)),
            model: ContextModel::new(&plan.context),
            streams,
            values: Ring::new(channels, width),
            magnitudes: Ring::new(channels, width),
            spatial_rows: vec![0; channels * width],
            pairs: (geometry.bits == 8).then(|| PairRows::new(plan, width)),
            pixel_sum: vec![0; width],
            scratch: RowScratch::new(width),
            parts,
        }
    }

    fn decode(mut self, out: &mut Vec<u8>) -> Result<()> {
        let geometry = &self.parts.geometry;
        let row_bytes = geometry.width * geometry.channels * (geometry.bits / 8) as usize;
        let height = geometry.height;
        let start = out.len();
        out.resize(start + row_bytes * height, 0);
        for y in 0..height {
            let (above, rest) = out[start..].split_at_mut(y * row_bytes);
            self.decode_row(&mut rest[..row_bytes], above)?;
        }
        Ok(())
    }

    /// Copied pixels read their sources from a store of them, not from the rows above.
    fn keep_sources(&mut self) {
        let geometry = &self.parts.geometry;
        let repeats = &self.parts.repeats;
        if !repeats.sources.is_empty() {
            let pixel_bytes = geometry.channels * (geometry.bits / 8) as usize;
            self.sources = Some(SourceStore::new(repeats, pixel_bytes));
        }
    }

    /// Decodes the next row into `row_out`; `above` is every row before it (read only by
    /// whole-pixel repeats, unless the decoder keeps their sources). After the last row,
    /// checks that the streams ended there.
    fn decode_row(&mut self, row_out: &mut [u8], above: &[u8]) -> Result<()> {
        let parts = Arc::clone(&self.parts);
        let (plan, geometry) = (&parts.plan, &parts.geometry);
        let y = self.next_row;
        if y >= geometry.height {
            return Err(Error::corrupt(
                "native: a row past the tile's last was asked for",
            ));
        }
        let (ty, width) = (geometry.sample_type, geometry.width);
        let source_pixels = match &self.sources {
            Some(store) => store.pixels(),
            None => SourcePixels::Rows(above),
        };
        self.copied
            .fill(&parts.repeats, y, width, plan, ty, source_pixels)?;
        self.pixel_sum.fill(0);
        for pos in 0..geometry.channels {
            self.decode_position_row(y, pos)?;
        }
        self.samples.write_row(plan, &self.values, y, row_out)?;
        if let Some(store) = self.sources.as_mut() {
            store.capture(&parts.repeats, y, width, row_out);
        }
        self.next_row += 1;
        if self.next_row < geometry.height {
            return Ok(());
        }
        self.streams.tokens.finish()?;
        if self.streams.raw_bits.overrun() {
            return Err(Error::corrupt("native: raw bit stream ends early"));
        }
        Ok(())
    }

    /// Decodes row `y` of coding position `pos`, then derives what later positions and rows
    /// read from it.
    fn decode_position_row(&mut self, y: usize, pos: usize) -> Result<()> {
        let parts = Arc::clone(&self.parts);
        let predictor = self.prepare_row(y, pos);
        self.decode_samples(y, pos, &predictor)?;
        let width = parts.geometry.width;
        simd::add_assign_i32(&mut self.pixel_sum, self.magnitudes.row(y, pos));
        let spatial = &mut self.spatial_rows[pos * width..(pos + 1) * width];
        spatial_row(
            &parts.plan,
            pos,
            y,
            &self.values,
            predictor.lo,
            predictor.hi,
            &mut self.scratch.spatial_acc,
            spatial,
        );
        if let Some(pairs) = self.pairs.as_mut() {
            pairs.set(pos, self.values.row(y, pos), spatial);
        }
        Ok(())
    }

    /// Everything of row `y`, position `pos` that needs none of the row's own samples: the
    /// prediction base, the W-free context levels, the flat marks and the row above.
    fn prepare_row(&mut self, y: usize, pos: usize) -> FinalPredictor<A> {
        let parts = Arc::clone(&self.parts);
        let (plan, scratch) = (&parts.plan, &mut self.scratch);
        let spatial_rows = &self.spatial_rows;
        row_base(
            plan,
            pos,
            y,
            &self.values,
            spatial_rows,
            self.pairs.as_ref(),
            &mut scratch.base,
        );
        let neighbourhood = MagnitudeRows::gather(
            y,
            pos,
            &self.magnitudes,
            &self.values,
            &self.pixel_sum,
            &scratch.zeros,
        );
        context_row(
            &self.model.positions[pos],
            &neighbourhood,
            &mut scratch.levels,
        );
        if plan.flat && y > 0 {
            let nn_row = (!plan.flat_uses_w()).then(|| self.values.row(y.saturating_sub(2), pos));
            flat_row(self.values.row(y - 1, pos), nn_row, &mut scratch.flat_marks);
            zero_flat_levels(&scratch.flat_marks, &mut scratch.levels);
        }
        // The flat rule's N row (any row on row 0, where no sample is marked).
        scratch
            .above
            .copy_from_slice(self.values.row(y.saturating_sub(1), pos));
        FinalPredictor::new(plan, &parts.geometry, pos, y)
    }

    /// Decodes the samples of row `y`, position `pos` into the value and magnitude rings,
    /// with the lossless rule or the tile's quantisation.
    fn decode_samples(
        &mut self,
        y: usize,
        pos: usize,
        predictor: &FinalPredictor<A>,
    ) -> Result<()> {
        let exact = Exact {
            lo: predictor.lo,
            mask: ((1u64 << self.parts.geometry.bits) - 1) as i32,
            alphabet: self.parts.tables.alphabet as u32,
        };
        let Some(mut quantisation) = self.quantisation.take() else {
            return self.decode_samples_with(y, pos, predictor, exact);
        };
        quantisation.prepare_row(y, pos);
        let rule = Quantised {
            exact,
            hi: predictor.hi,
            steps: &quantisation.row_steps,
        };
        let decoded = self.decode_samples_with(y, pos, predictor, rule);
        self.quantisation = Some(quantisation);
        decoded
    }

    fn decode_samples_with<R: Reconstruct>(
        &mut self,
        y: usize,
        pos: usize,
        predictor: &FinalPredictor<A>,
        reconstruction: R,
    ) -> Result<()> {
        let parts = Arc::clone(&self.parts);
        let width = parts.geometry.width;
        let (above, magnitudes_above) = if y > 0 {
            (self.values.row(y - 1, pos), self.magnitudes.row(y - 1, pos))
        } else {
            (&self.scratch.zeros[..], &self.scratch.zeros[..])
        };
        let starts = SegmentStarts::<S>::new(width, y, above, magnitudes_above);
        let scratch = &mut self.scratch;
        let values = self.values.row_mut(y, pos);
        let magnitudes = self.magnitudes.row_mut(y, pos);
        if predictor.lo == predictor.hi {
            // One possible value (a constant band): nothing was coded.
            values.fill(predictor.lo);
            magnitudes.fill(0);
            return Ok(());
        }
        let plan = &parts.plan;
        if plan.row_parallel(predictor.is_sequential()) {
            // Row-parallel: the whole row's predictions and contexts first.
            predictor.predict_row(&scratch.base, &mut scratch.predictions);
            if plan.flat && y > 0 {
                flatten_row(
                    &scratch.flat_marks,
                    &scratch.above,
                    &mut scratch.predictions,
                );
            }
            for (context, &level) in scratch.contexts.iter_mut().zip(&scratch.levels) {
                *context = self.model.table[level as usize * W_TOKENS];
            }
            // Copied samples: the source's value, residual 0 in the copy context; the
            // residual the prediction would have left goes to the context model below.
            let copies = self.copied.position(pos);
            scratch.copy_predictions.clear();
            for (&x, &value) in self.copied.columns.iter().zip(copies) {
                scratch.copy_predictions.push(scratch.predictions[x]);
                scratch.predictions[x] = value;
                scratch.contexts[x] = parts.copy_context;
            }
            let row = ParallelRow {
                contexts: &scratch.contexts,
                predictions: &scratch.predictions,
                reconstruction,
            };
            decode_row_parallel(
                &row,
                &parts.tables,
                &mut self.streams,
                values,
                magnitudes,
                &starts,
            )?;
            let predictions = &scratch.copy_predictions;
            for (&x, &prediction) in self.copied.columns.iter().zip(predictions) {
                magnitudes[x] = reconstruction.magnitude(prediction, values[x]) as i32;
            }
            return Ok(());
        }
        scratch.copy_marks.fill(0);
        for (&x, &value) in self.copied.columns.iter().zip(self.copied.position(pos)) {
            scratch.copy_marks[x] = 1;
            scratch.copy_values[x] = value;
        }
        let row = SequentialRow {
            predictor: *predictor,
            reconstruction,
            table: &self.model.table,
            w_context: plan.w_context,
            flat_marks: &scratch.flat_marks,
            above: &scratch.above,
            flat_needs_w: plan.flat_uses_w(),
            copy_marks: &scratch.copy_marks,
            copy_values: &scratch.copy_values,
            copy_context: parts.copy_context as usize,
        };
        let decode_row = if self.copied.columns.is_empty() {
            decode_row_sequential::<A, R, S, false>
        } else {
            decode_row_sequential::<A, R, S, true>
        };
        decode_row(
            &row,
            &parts.tables,
            &mut self.streams,
            &scratch.levels,
            &scratch.base,
            values,
            magnitudes,
            &starts,
        )
    }
}

/// What the sequential sample loop of one row needs besides the streams.
struct SequentialRow<'a, A, R> {
    predictor: FinalPredictor<A>,
    reconstruction: R,
    /// `[level · W_TOKENS + token(W)]` → context.
    table: &'a [u8],
    w_context: bool,
    /// Flat-rule marks of the row, the row above, and whether the rule also needs W = N.
    flat_marks: &'a [u8],
    above: &'a [i32],
    flat_needs_w: bool,
    /// Columns that copy a source pixel (read only when the row has copies), their values
    /// and the context their residual 0 is coded in.
    copy_marks: &'a [u8],
    copy_values: &'a [i32],
    copy_context: usize,
}

/// Decodes one row of one position whose prediction or context reads W: the `S` segments
/// in lockstep (sample `i` of segment 0, of segment 1, ..., then sample `i + 1`). Kept out
/// of line, with the bit reader and rANS positions copied into locals, so the hot state
/// lives in registers.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn decode_row_sequential<A: Acc, R: Reconstruct, const S: usize, const COPIES: bool>(
    row: &SequentialRow<A, R>,
    tables: &Tables,
    streams: &mut Streams,
    levels: &[u8],
    base: &[A],
    values: &mut [i32],
    magnitudes: &mut [i32],
    starts: &SegmentStarts<S>,
) -> Result<()> {
    let width = values.len();
    assert!(levels.len() >= width && base.len() >= width && magnitudes.len() >= width);
    assert!(starts.end.iter().all(|&end| end <= width));
    assert!(row.flat_marks.len() >= width && row.above.len() >= width);
    assert!(row.copy_marks.len() >= width && row.copy_values.len() >= width);
    assert_eq!(row.table.len(), LEVELS * W_TOKENS);
    let (predictor, reconstruction, table) = (&row.predictor, row.reconstruction, row.table);
    let slots = &tables.slots[..];
    let mut lane_state: [u32; S] = std::array::from_fn(|s| streams.tokens.states[s]);
    let (words, mut word_pos) = (&streams.tokens.words[..], streams.tokens.pos);
    // The bit reader by value: `streams` is written back once at the end.
    let mut raw_bits = streams.raw_bits.cursor();
    let mut w_value = starts.first_value;
    let mut ww_value = starts.first_value;
    let mut w_token: [usize; S] = std::array::from_fn(|s| {
        if row.w_context {
            (starts.first_token[s] as usize).min(W_TOKENS - 1)
        } else {
            0
        }
    });
    let (_, longest) = starts.shortest_and_longest();
    for i in 0..longest {
        for s in 0..S {
            let x = starts.start[s] + i;
            if x >= starts.end[s] {
                continue;
            }
            let copied = COPIES && row.copy_marks[x] != 0;
            let context = if copied {
                row.copy_context
            } else {
                table[levels[x] as usize * W_TOKENS + w_token[s]] as usize
            };
            let Some(slot_table) = slots.get(context) else {
                return Err(context_without_table(context));
            };
            let (token, next_state, next_pos) =
                rans::step(lane_state[s], word_pos, words, slot_table);
            (lane_state[s], word_pos) = (next_state, next_pos);
            // Slots of a context without a table decode to a symbol outside the alphabet.
            if token >= reconstruction.alphabet() {
                return Err(context_without_table(context));
            }
            let magnitude = magnitude(token, &mut raw_bits);
            let north = row.above[x];
            let flat = row.flat_marks[x] != 0 && (!row.flat_needs_w || w_value[s] == north);
            let prediction = if flat {
                north
            } else {
                predictor.predict(base[x], w_value[s], ww_value[s])
            };
            let (value, magnitude, token) = if copied {
                // The source's value (plus the copy context's token, 0 unless corrupt);
                // the residual the prediction would have left feeds the contexts.
                let value = reconstruction.value(x, row.copy_values[x], magnitude);
                let virtual_magnitude = reconstruction.magnitude(prediction, value);
                (value, virtual_magnitude, tokens::split(virtual_magnitude).0)
            } else {
                (
                    reconstruction.value(x, prediction, magnitude),
                    magnitude,
                    token,
                )
            };
            values[x] = value;
            magnitudes[x] = magnitude as i32;
            // WW of a segment's second sample is the segment's start value, like W of its first.
            ww_value[s] = if i == 0 {
                starts.first_value[s]
            } else {
                w_value[s]
            };
            w_value[s] = value;
            w_token[s] = if row.w_context { token as usize } else { 0 };
        }
    }
    streams.tokens.states[..S].copy_from_slice(&lane_state);
    streams.tokens.pos = word_pos;
    let position = raw_bits.position();
    streams.raw_bits.resume(position);
    Ok(())
}

/// What the row-parallel sample loop of one row needs besides the streams: every sample's
/// context and prediction, computed for the whole row.
struct ParallelRow<'a, R> {
    contexts: &'a [u8],
    predictions: &'a [i32],
    reconstruction: R,
}

/// Decodes one row of one position whose predictions and contexts do not depend on the row
/// itself (no W, WW or W-context terms), so each sample is one rANS step and an addition.
/// The `S` segments run in lockstep, each with its own rANS state, so their state chains
/// overlap.
#[inline(never)]
fn decode_row_parallel<R: Reconstruct, const S: usize>(
    row: &ParallelRow<R>,
    tables: &Tables,
    streams: &mut Streams,
    values: &mut [i32],
    magnitudes: &mut [i32],
    starts: &SegmentStarts<S>,
) -> Result<()> {
    let width = values.len();
    let (contexts, predictions) = (row.contexts, row.predictions);
    assert!(contexts.len() >= width && predictions.len() >= width && magnitudes.len() >= width);
    assert!(starts.end.iter().all(|&end| end <= width));
    let reconstruction = row.reconstruction;
    let slots = &tables.slots[..];
    if contexts[..width].iter().any(|&c| c as usize >= slots.len()) {
        return Err(Error::corrupt(
            "native: a sample uses a context that has no table",
        ));
    }
    let (words, mut word_pos) = (&streams.tokens.words[..], streams.tokens.pos);
    let mut raw_bits = streams.raw_bits.cursor();
    // One sample of one lane; a macro so every lane's state is its own local variable.
    macro_rules! sample {
        ($state:ident, $x:expr) => {{
            let x = $x;
            let slot_table = &slots[contexts[x] as usize];
            let (token, next_state, next_pos) = rans::step($state, word_pos, words, slot_table);
            ($state, word_pos) = (next_state, next_pos);
            if token >= reconstruction.alphabet() {
                return Err(token_outside_alphabet());
            }
            let magnitude = magnitude(token, &mut raw_bits);
            values[x] = reconstruction.value(x, predictions[x], magnitude);
            magnitudes[x] = magnitude as i32;
        }};
    }
    let (shortest, longest) = starts.shortest_and_longest();
    // Lanes past `S` repeat the last one and are never run.
    let [x0, x1, x2, x3] = std::array::from_fn::<usize, 4, _>(|s| starts.start[s.min(S - 1)]);
    let [end0, end1, end2, end3] = std::array::from_fn::<usize, 4, _>(|s| starts.end[s.min(S - 1)]);
    let [mut lane0, mut lane1, mut lane2, mut lane3] =
        std::array::from_fn::<u32, 4, _>(|s| streams.tokens.states[s.min(S - 1)]);
    // Every segment still has samples: the lanes unrolled, no per-lane test.
    for i in 0..shortest {
        sample!(lane0, x0 + i);
        if S > 1 {
            sample!(lane1, x1 + i);
        }
        if S > 2 {
            sample!(lane2, x2 + i);
            sample!(lane3, x3 + i);
        }
    }
    // Segments of unequal length: the longer ones finish alone.
    for i in shortest..longest {
        if x0 + i < end0 {
            sample!(lane0, x0 + i);
        }
        if S > 1 && x1 + i < end1 {
            sample!(lane1, x1 + i);
        }
        if S > 2 && x2 + i < end2 {
            sample!(lane2, x2 + i);
        }
        if S > 3 && x3 + i < end3 {
            sample!(lane3, x3 + i);
        }
    }
    streams.tokens.states[..S].copy_from_slice(&[lane0, lane1, lane2, lane3][..S]);
    streams.tokens.pos = word_pos;
    let position = raw_bits.position();
    streams.raw_bits.resume(position);
    Ok(())
}

/// Turns decoded rows of centred values into output samples: each position's offset added
/// back, palette indices looked up (and checked: a corrupt stream can produce any index),
/// little-endian bytes stored pixel-interleaved, one band at a time (a strided store per
/// band, no per-sample dispatch).
struct SampleWriter {
    /// Per coding position: its band and offset (its palette is the plan's).
    bands: Vec<usize>,
    offsets: Vec<i32>,
    sample_bytes: usize,
    /// One row of one band's sample values.
    row: Vec<i32>,
}

impl SampleWriter {
    fn new(plan: &Plan, geometry: &Geometry) -> Self {
        let bands: Vec<usize> = plan.order.iter().map(|&b| b as usize).collect();
        SampleWriter {
            offsets: bands.iter().map(|&b| plan.offsets[b]).collect(),
            bands,
            sample_bytes: (geometry.bits / 8) as usize,
            row: vec![0; geometry.width],
        }
    }

    /// Stores row `y` of every position into `out`, that image row's bytes.
    fn write_row(
        &mut self,
        plan: &Plan,
        values: &impl Rows,
        y: usize,
        out: &mut [u8],
    ) -> Result<()> {
        let channels = self.bands.len();
        for pos in 0..channels {
            let centred = values.row(y, pos);
            let offset = self.offsets[pos];
            match &plan.palettes[self.bands[pos]] {
                Palette::Identity => {
                    for (sample, &v) in self.row.iter_mut().zip(centred) {
                        *sample = v.wrapping_add(offset);
                    }
                }
                palette => {
                    let size = palette.len() as u32;
                    if centred
                        .iter()
                        .any(|&v| (v.wrapping_add(offset) as u32) >= size)
                    {
                        return Err(Error::corrupt("native: a palette index out of range"));
                    }
                    for (sample, &v) in self.row.iter_mut().zip(centred) {
                        *sample = palette.value((v + offset) as usize);
                    }
                }
            }
            let first = self.bands[pos] * self.sample_bytes;
            if self.sample_bytes == 1 {
                for (byte, &v) in out[first..].iter_mut().step_by(channels).zip(&self.row) {
                    *byte = v as u8;
                }
            } else {
                for (pixel, &v) in out[first..].chunks_mut(2 * channels).zip(&self.row) {
                    pixel[..2].copy_from_slice(&(v as u16).to_le_bytes());
                }
            }
        }
        Ok(())
    }
}
