//! What a row of one coding position reads around it, and how both the encoder and the
//! decoder index it: rows of earlier positions and earlier rows ([`Rows`], kept whole by the
//! encoder and in a [`Ring`] by the decoder), the row segments decoded in lockstep
//! ([`SegmentStarts`]), and the flat rule's marks.
//!
//! Neighbour rules (docs/format.md §5.3.4): a segment's first sample reads W and WW from the
//! first sample of its segment in the row above (0 on row 0); the flat rule compares N, NW
//! and NE (and NN when the plan has no W) at clamped columns.

use crate::entropy::tokens;

/// Rows of centred samples (or of residual magnitudes), by row and coding position.
/// Implemented by the encoder's whole-tile array and the decoder's rings.
pub(super) trait Rows {
    /// Row `y` of coding position `pos`.
    fn row(&self, y: usize, pos: usize) -> &[i32];
}

/// The last `ROWS` rows of every coding position: what the decoder keeps of the tile.
pub(super) struct Ring<const ROWS: usize> {
    data: Vec<i32>,
    channels: usize,
    width: usize,
}

impl<const ROWS: usize> Ring<ROWS> {
    pub(super) fn new(channels: usize, width: usize) -> Self {
        Ring {
            data: vec![0; ROWS * channels * width],
            channels,
            width,
        }
    }

    fn start(&self, y: usize, pos: usize) -> usize {
        ((y % ROWS) * self.channels + pos) * self.width
    }

    /// Row `y` of position `pos`, to be written.
    pub(super) fn row_mut(&mut self, y: usize, pos: usize) -> &mut [i32] {
        let start = self.start(y, pos);
        &mut self.data[start..start + self.width]
    }
}

impl<const ROWS: usize> Rows for Ring<ROWS> {
    fn row(&self, y: usize, pos: usize) -> &[i32] {
        let start = self.start(y, pos);
        &self.data[start..start + self.width]
    }
}

/// Start column of row segment `segment` of `segments` (docs/format.md §5.3.4).
#[inline(always)]
pub(super) fn segment_start(width: usize, segment: usize, segments: usize) -> usize {
    segment * width / segments
}

/// The sample order within a row of one position: sample `i` of every segment, then sample
/// `i + 1`, as (column, segment). The decoder walks it implicitly; the encoder writes raw
/// bits in it and rANS symbols in its reverse.
pub(super) fn lockstep_order(width: usize, segments: usize) -> Vec<(usize, u8)> {
    let starts: Vec<usize> = (0..=segments)
        .map(|segment| segment_start(width, segment, segments))
        .collect();
    let longest = starts.windows(2).map(|s| s[1] - s[0]).max().unwrap_or(0);
    let mut order = Vec::with_capacity(width);
    for i in 0..longest {
        for segment in 0..segments {
            if starts[segment] + i < starts[segment + 1] {
                order.push((starts[segment] + i, segment as u8));
            }
        }
    }
    order
}

/// Where each of the `S` row segments starts and ends, and what its first sample reads: W
/// (= WW) and W's token, from the segment's first column in the row above (0 on row 0).
pub(super) struct SegmentStarts<const S: usize> {
    pub(super) start: [usize; S],
    pub(super) end: [usize; S],
    pub(super) first_value: [i32; S],
    pub(super) first_token: [u32; S],
}

impl<const S: usize> SegmentStarts<S> {
    /// The segments of row `y` of a position whose previous row holds `above` (values) and
    /// `magnitudes_above` (zigzag residuals); both are ignored on row 0.
    pub(super) fn new(width: usize, y: usize, above: &[i32], magnitudes_above: &[i32]) -> Self {
        let start: [usize; S] = std::array::from_fn(|s| segment_start(width, s, S));
        let end = std::array::from_fn(|s| segment_start(width, s + 1, S));
        let has_above = |s: usize| y > 0 && start[s] < width;
        let first_value = std::array::from_fn(|s| if has_above(s) { above[start[s]] } else { 0 });
        let first_token = std::array::from_fn(|s| {
            if has_above(s) {
                tokens::split(magnitudes_above[start[s]] as u32).0
            } else {
                0
            }
        });
        SegmentStarts {
            start,
            end,
            first_value,
            first_token,
        }
    }

    /// Samples in the shortest and in the longest segment.
    pub(super) fn shortest_and_longest(&self) -> (usize, usize) {
        let lengths = (0..S).map(|s| self.end[s] - self.start[s]);
        (
            lengths.clone().min().unwrap_or(0),
            lengths.max().unwrap_or(0),
        )
    }
}

/// Flat-rule marks of row `y` (y ≥ 1): 1 where N, NW and NE are equal and, when `nn` is
/// given (the plan has no W), NN too. Columns clamp at the edges like the predictor's.
pub(super) fn flat_row(above: &[i32], nn: Option<&[i32]>, out: &mut [u8]) {
    let w = above.len();
    let out = &mut out[..w];
    let edge = |x: usize| {
        let n = above[x];
        let same = above[x.saturating_sub(1)] == n && above[(x + 1).min(w - 1)] == n;
        (same && nn.is_none_or(|r| r[x] == n)) as u8
    };
    out[0] = edge(0);
    out[w - 1] = edge(w - 1);
    if w > 2 {
        // Interior columns: shifted views zipped, so the loop vectorises.
        let trio = above[1..w - 1].iter().zip(&above[..w - 2]).zip(&above[2..]);
        match nn {
            None => {
                for (o, ((&n, &nw), &ne)) in out[1..w - 1].iter_mut().zip(trio) {
                    *o = ((n == nw) & (n == ne)) as u8;
                }
            }
            Some(r) => {
                for ((o, ((&n, &nw), &ne)), &v) in
                    out[1..w - 1].iter_mut().zip(trio).zip(&r[1..w - 1])
                {
                    *o = ((n == nw) & (n == ne) & (n == v)) as u8;
                }
            }
        }
    }
}

/// Applies the flat rule to a row of predictions (plans without W).
pub(super) fn flatten_row(marks: &[u8], above: &[i32], pred: &mut [i32]) {
    for ((p, &m), &n) in pred.iter_mut().zip(marks).zip(above) {
        if m != 0 {
            *p = n;
        }
    }
}

/// Flat-marked samples take activity level 0 (their own context): where the flat rule
/// applies the residual is almost always zero, and sharing a context with merely quiet
/// samples would make every sample of a nodata frame cost a fraction of a bit.
pub(super) fn zero_flat_levels(marks: &[u8], levels: &mut [u8]) {
    for (l, &m) in levels.iter_mut().zip(marks) {
        if m != 0 {
            *l = 0;
        }
    }
}
