//! Native tile decoder: one pass, band-interleaved by line, keeping three rows of samples,
//! two rows of residual magnitudes and one row of spatial predictions.
//!
//! Per row and channel, everything that does not depend on the row's own samples is done
//! first with vectorised loops (the prediction base, the W-free context level); the
//! sequential loop is left with a table lookup for the context, one rANS step, and the
//! W/WW terms of the prediction.

use super::context::{ContextModel, W_TOKENS};
use super::engine::{
    flat_row, flatten_row, row_base, segment_start, sequential_coefs, spatial_row,
    zero_flat_levels, Acc, PairRows, Rows,
};
use super::palette::Palette;
use super::plan::{Plan, CONTEXT_WEIGHTS, ROWS_ABOVE};
use super::Geometry;
use crate::entropy::bits::{take_bits, BitReader};
use crate::entropy::rans::{self, Decoder};
use crate::entropy::tables::Tables;
use crate::entropy::tokens::{self, TOKENS};
use crate::error::{Error, Result};

/// The last three rows of centred samples, by coding position.
/// Rows the decoder keeps per channel: the current one and those predictors read.
const RING_ROWS: usize = ROWS_ABOVE + 1;

struct Ring {
    data: Vec<i32>,
    channels: usize,
    width: usize,
}

impl Ring {
    fn slot(&self, y: usize, pos: usize) -> usize {
        ((y % RING_ROWS) * self.channels + pos) * self.width
    }
}

impl Rows for Ring {
    fn row(&self, y: usize, pos: usize) -> &[i32] {
        let s = self.slot(y, pos);
        &self.data[s..s + self.width]
    }
}

/// The neighbourhood of one row of residual magnitudes, for the context estimate: the same
/// position in the row above, the previous position in this row and in the row above, and
/// the per-pixel sum over earlier positions. Missing rows and positions are all zero.
pub(super) struct MagnitudeRows<'a> {
    pub above: &'a [i32],
    pub prev: &'a [i32],
    pub prev_above: &'a [i32],
    pub pixel_sum: &'a [i32],
    /// The channel's values in the rows y−1 and y−2 (the row above twice on row 1, zeros
    /// on row 0).
    pub values_above: &'a [i32],
    pub values_above2: &'a [i32],
}

/// The value gradient |N−NW| + |N−NE| + |N−NN| at column `x` (columns clamp at the edges).
#[inline(always)]
fn gradient(n: i32, nw: i32, ne: i32, nn: i32) -> f32 {
    (n.wrapping_sub(nw).unsigned_abs()
        + n.wrapping_sub(ne).unsigned_abs()
        + n.wrapping_sub(nn).unsigned_abs()) as f32
}

#[inline(always)]
fn context_row_body(k: &[f32; CONTEXT_WEIGHTS], mean: f32, m: &MagnitudeRows, out: &mut [u8]) {
    let w = out.len();
    // A local copy: the compiler then knows the weights do not alias `out`.
    let k = &{ *k };
    let f = |v: i32| v as f32;
    let edge = |x: usize| {
        let (un, unw, une) = (
            m.above[x],
            m.above[x.saturating_sub(1)],
            m.above[(x + 1).min(w - 1)],
        );
        let pw = if x > 0 {
            m.prev[x - 1]
        } else {
            m.prev_above[0]
        };
        let (va, l, r) = (m.values_above, x.saturating_sub(1), (x + 1).min(w - 1));
        let p = ContextModel::partial(
            k,
            f(un),
            f(unw + une),
            f(m.prev[x]),
            f(pw + m.prev_above[x]),
            f(m.pixel_sum[x]),
            gradient(va[x], va[l], va[r], m.values_above2[x]),
        );
        ContextModel::partial_level(p, mean)
    };
    out[0] = edge(0);
    if w > 1 {
        out[w - 1] = edge(w - 1);
    }
    if w > 2 {
        // Shifted views of the rows, zipped so the loop has no bounds checks and vectorises.
        let n = w - 2;
        let (above, prev, prev_above) = (m.above, m.prev, m.prev_above);
        let (va, va2) = (m.values_above, &m.values_above2[1..w - 1]);
        let it = out[1..w - 1]
            .iter_mut()
            .zip(&m.pixel_sum[1..w - 1])
            .zip(above[1..].iter().zip(&above[..n]).zip(&above[2..]));
        let values = va[1..].iter().zip(&va[..n]).zip(&va[2..]).zip(va2);
        for ((((o, &ps), ((&an, &anw), &ane)), ((&pc, &pw), &pn)), (((&vn, &vnw), &vne), &vnn)) in
            it.zip(prev[1..].iter().zip(&prev[..n]).zip(&prev_above[1..]))
                .zip(values)
        {
            let g = gradient(vn, vnw, vne, vnn);
            let p = ContextModel::partial(k, f(an), f(anw + ane), f(pc), f(pw + pn), f(ps), g);
            *o = ContextModel::partial_level(p, mean);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn context_row_avx2(
    k: &[f32; CONTEXT_WEIGHTS],
    mean: f32,
    m: &MagnitudeRows,
    out: &mut [u8],
) {
    context_row_body(k, mean, m, out)
}

/// The W-free context level of every sample of a row, 8 lanes at a time with AVX2.
pub(super) fn context_row(
    k: &[f32; CONTEXT_WEIGHTS],
    mean: f32,
    m: &MagnitudeRows,
    out: &mut [u8],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 support was just checked.
        return unsafe { context_row_avx2(k, mean, m, out) };
    }
    context_row_body(k, mean, m, out)
}

/// Per-row constants of the sequential loop.
struct RowConstants<'a, A> {
    cw: A,
    cww: A,
    round: A,
    shift: u32,
    lo: i32,
    hi: i32,
    mask: i32,
    alphabet: u32,
    table: &'a [u8],
    w_context: bool,
    /// Flat-rule marks of the row (all zero without the rule or on row 0), the row above,
    /// and whether the rule also needs W = N.
    marks: &'a [u8],
    above: &'a [i32],
    flat_w: bool,
}

/// Where each row segment starts and what its first sample reads: W (= WW) and W's token,
/// taken from the row above (zero on row 0).
pub(super) struct SegmentStarts<const S: usize> {
    pub x0: [usize; S],
    pub end: [usize; S],
    pub first: [i32; S],
    pub token: [u32; S],
}

/// Decodes one row of one channel, its `S` segments in lockstep (sample `i` of segment 0,
/// of segment 1, ..., then sample `i + 1`). Kept out of line, with the bit reader and rANS
/// positions copied into locals, so the hot state lives in registers.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn decode_row<A: Acc, const S: usize>(
    cx: &RowConstants<A>,
    tables: &Tables,
    dec: &mut Decoder,
    bits: &mut BitReader,
    levels: &[u8],
    base: &[A],
    cur: &mut [i32],
    ucur: &mut [i32],
    st: &SegmentStarts<S>,
) -> Result<()> {
    let w = cur.len();
    assert!(
        levels.len() >= w && base.len() >= w && ucur.len() >= w && st.end.iter().all(|&e| e <= w)
    );
    assert!(cx.marks.len() >= w && cx.above.len() >= w);
    assert_eq!(cx.table.len(), super::context::LEVELS * W_TOKENS);
    let slots = &tables.slots[..];
    let table = cx.table;
    let mut state: [u32; S] = std::array::from_fn(|s| dec.states[s]);
    let mut wpos = dec.pos;
    let words = &dec.words[..];
    // The bit reader in locals: `bits` is written back once at the end.
    let (bdata, blen) = (&bits.data[..], bits.len);
    let (mut bacc, mut bn, mut bpos) = (bits.acc, bits.n, bits.pos);
    let mut wv = st.first;
    let mut wwv = st.first;
    let mut tw: [usize; S] = std::array::from_fn(|s| {
        if cx.w_context {
            (st.token[s] as usize).min(W_TOKENS - 1)
        } else {
            0
        }
    });
    let longest = (0..S).map(|s| st.end[s] - st.x0[s]).max().unwrap_or(0);
    for i in 0..longest {
        for s in 0..S {
            let x = st.x0[s] + i;
            if x >= st.end[s] {
                continue;
            }
            let ctx = table[levels[x] as usize * W_TOKENS + tw[s]] as usize;
            let Some(slot_table) = slots.get(ctx) else {
                return Err(Error::corrupt(format!(
                    "native: sample uses context {ctx}, which has no table"
                )));
            };
            let (sym, ns, p) = rans::step(state[s], wpos, words, slot_table);
            state[s] = ns;
            wpos = p;
            if sym >= cx.alphabet {
                return Err(Error::corrupt(format!(
                    "native: sample uses context {ctx}, which has no table"
                )));
            }
            let extra = TOKENS.extra[sym as usize];
            let raw = take_bits(bdata, blen, &mut bacc, &mut bn, &mut bpos, extra);
            let u = TOKENS.base[sym as usize] | raw;
            let linear = A::predict(
                base[x].mul_add(cx.cw, wv[s]).mul_add(cx.cww, wwv[s]),
                cx.round,
                cx.shift,
                cx.lo,
                cx.hi,
            );
            let n = cx.above[x];
            let flat = cx.marks[x] != 0 && (!cx.flat_w || wv[s] == n);
            let pred = if flat { n } else { linear };
            let v = (pred.wrapping_add(tokens::unzigzag(u)).wrapping_sub(cx.lo) & cx.mask) + cx.lo;
            cur[x] = v;
            ucur[x] = u as i32;
            // WW of a segment's second sample is the segment's start value, like W of its first.
            wwv[s] = if i == 0 { st.first[s] } else { wv[s] };
            wv[s] = v;
            tw[s] = if cx.w_context { sym as usize } else { 0 };
        }
    }
    dec.states[..S].copy_from_slice(&state);
    dec.pos = wpos;
    bits.acc = bacc;
    bits.n = bn;
    bits.pos = bpos;
    Ok(())
}

/// Decodes one row of one channel whose predictions and contexts do not depend on the row
/// itself (no W, WW or W-context terms): `pred` and `ctx` were computed for the whole row,
/// so each sample is one rANS step and an addition. The `S` segments run in lockstep, each
/// with its own rANS state, so their state chains overlap.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn decode_row_parallel<const S: usize>(
    tables: &Tables,
    dec: &mut Decoder,
    bits: &mut BitReader,
    ctx: &[u8],
    pred: &[i32],
    lo: i32,
    mask: i32,
    alphabet: u32,
    cur: &mut [i32],
    ucur: &mut [i32],
    st: &SegmentStarts<S>,
) -> Result<()> {
    let w = cur.len();
    assert!(ctx.len() >= w && pred.len() >= w && ucur.len() >= w && st.end.iter().all(|&e| e <= w));
    let slots = &tables.slots[..];
    if ctx[..w].iter().any(|&c| c as usize >= slots.len()) {
        return Err(Error::corrupt(
            "native: a sample uses a context that has no table",
        ));
    }
    let words = &dec.words[..];
    let (bdata, blen) = (&bits.data[..], bits.len);
    let (mut wpos, mut bacc, mut bn, mut bpos) = (dec.pos, bits.acc, bits.n, bits.pos);
    // One sample of one lane; a macro so every lane's state is its own local variable.
    macro_rules! sample {
        ($state:ident, $x:expr) => {{
            let x = $x;
            let (sym, ns, p) = rans::step($state, wpos, words, &slots[ctx[x] as usize]);
            $state = ns;
            wpos = p;
            if sym >= alphabet {
                return Err(Error::corrupt(
                    "native: a token outside the alphabet (corrupt stream)",
                ));
            }
            let extra = TOKENS.extra[sym as usize];
            let raw = take_bits(bdata, blen, &mut bacc, &mut bn, &mut bpos, extra);
            let u = TOKENS.base[sym as usize] | raw;
            cur[x] = (pred[x].wrapping_add(tokens::unzigzag(u)).wrapping_sub(lo) & mask) + lo;
            ucur[x] = u as i32;
        }};
    }
    let shortest = (0..S).map(|s| st.end[s] - st.x0[s]).min().unwrap_or(0);
    let longest = (0..S).map(|s| st.end[s] - st.x0[s]).max().unwrap_or(0);
    let [x0, x1, x2, x3] = std::array::from_fn::<usize, 4, _>(|s| st.x0[s.min(S - 1)]);
    let [mut s0, mut s1, mut s2, mut s3] =
        std::array::from_fn::<u32, 4, _>(|s| dec.states[s.min(S - 1)]);
    // Every segment still has samples: the lanes unrolled, no per-lane test.
    for i in 0..shortest {
        sample!(s0, x0 + i);
        if S > 1 {
            sample!(s1, x1 + i);
        }
        if S > 2 {
            sample!(s2, x2 + i);
            sample!(s3, x3 + i);
        }
    }
    // Segments of unequal length: the longer ones finish alone.
    for i in shortest..longest {
        if x0 + i < st.end[0] {
            sample!(s0, x0 + i);
        }
        if S > 1 && x1 + i < st.end[1.min(S - 1)] {
            sample!(s1, x1 + i);
        }
        if S > 2 && x2 + i < st.end[2.min(S - 1)] {
            sample!(s2, x2 + i);
        }
        if S > 3 && x3 + i < st.end[3.min(S - 1)] {
            sample!(s3, x3 + i);
        }
    }
    let lanes = [s0, s1, s2, s3];
    dec.states[..S].copy_from_slice(&lanes[..S]);
    dec.pos = wpos;
    bits.acc = bacc;
    bits.n = bn;
    bits.pos = bpos;
    Ok(())
}

/// Segment starts of row `y` of a channel (`above`: its previous row, `u_above`: that row's
/// residual magnitudes).
pub(super) fn segment_starts<const S: usize>(
    w: usize,
    y: usize,
    above: &[i32],
    u_above: &[i32],
) -> SegmentStarts<S> {
    let x0: [usize; S] = std::array::from_fn(|s| segment_start(w, s, S));
    let end: [usize; S] = std::array::from_fn(|s| segment_start(w, s + 1, S));
    let first = std::array::from_fn(|s| if y > 0 && x0[s] < w { above[x0[s]] } else { 0 });
    let token = std::array::from_fn(|s| {
        if y > 0 && x0[s] < w {
            tokens::split(u_above[x0[s]] as u32).0
        } else {
            0
        }
    });
    SegmentStarts {
        x0,
        end,
        first,
        token,
    }
}

/// Checks that a palette band's decoded row holds valid indices (a corrupt stream can
/// produce any value in the sample type's range).
fn palette_row(palette: &Palette, offset: i32, row: &[i32]) -> Result<()> {
    if row
        .iter()
        .any(|&v| (v.wrapping_add(offset) as u32) >= palette.len() as u32)
    {
        return Err(Error::corrupt("native: a palette index out of range"));
    }
    Ok(())
}

/// Decodes a tile into numeric sample values, pixel-interleaved by band.
pub(super) fn decode<A: Acc>(
    plan: &Plan,
    g: &Geometry,
    tables: &Tables,
    rans_bytes: &[u8],
    raw: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let (w, h, c) = (g.width, g.height, g.channels);
    let model = ContextModel::new(&plan.context);
    let mut ring = Ring {
        data: vec![0; RING_ROWS * c * w],
        channels: c,
        width: w,
    };
    let mut mags = vec![0i32; 2 * c * w];
    let mut base = vec![A::default(); w];
    let mut sacc = vec![A::default(); w];
    let mut srows = vec![0i32; c * w];
    let mut pairs = (g.bits == 8).then(|| PairRows::new(plan, w));
    let mut levels = vec![0u8; w];
    let mut predrow = vec![0i32; w];
    let mut ctxrow = vec![0u8; w];
    let mut marks = vec![0u8; w];
    let mut aboverow = vec![0i32; w];
    let mut values = vec![0i32; w];
    let mut pixel_sum = vec![0i32; w];
    let zeros = vec![0i32; w];
    let mut dec = Decoder::new(rans_bytes, plan.segments as usize, "native")?;
    let mut bits = BitReader::new(raw);
    let size = (g.bits / 8) as usize;
    let start = out.len();
    out.resize(start + w * h * c * size, 0);
    let out = &mut out[start..];
    let offsets: Vec<i32> = plan
        .order
        .iter()
        .map(|&b| plan.offsets[b as usize])
        .collect();
    let bands: Vec<usize> = plan.order.iter().map(|&b| b as usize).collect();
    let palettes: Vec<&Palette> = plan
        .order
        .iter()
        .map(|&b| &plan.palettes[b as usize])
        .collect();
    for y in 0..h {
        pixel_sum.iter_mut().for_each(|s| *s = 0);
        for pos in 0..c {
            let ch = &plan.channels[pos];
            row_base(plan, pos, y, &ring, &srows, pairs.as_ref(), &mut base);
            let (cw, cww) = sequential_coefs(plan, ch, y);
            let cst = model.positions[pos];
            {
                let mrow = |yy: usize, pp: usize| {
                    &mags[((yy % 2) * c + pp) * w..((yy % 2) * c + pp + 1) * w]
                };
                let m = MagnitudeRows {
                    above: if y > 0 { mrow(y - 1, pos) } else { &zeros },
                    prev: if pos > 0 { mrow(y, pos - 1) } else { &zeros },
                    prev_above: if pos > 0 && y > 0 {
                        mrow(y - 1, pos - 1)
                    } else {
                        &zeros
                    },
                    pixel_sum: &pixel_sum,
                    values_above: if y > 0 { ring.row(y - 1, pos) } else { &zeros },
                    values_above2: if y > 0 {
                        ring.row(y.saturating_sub(2), pos)
                    } else {
                        &zeros
                    },
                };
                context_row(&cst.k, cst.mean, &m, &mut levels);
            }
            let (lo, hi) = (g.lo[pos], g.hi[pos]);
            if plan.flat && y > 0 {
                let nn = (!plan.flat_uses_w()).then(|| ring.row(y.saturating_sub(2), pos));
                flat_row(ring.row(y - 1, pos), nn, &mut marks);
                zero_flat_levels(&marks, &mut levels);
            }
            // The flat rule's N row (any row on row 0, where no sample is marked).
            let above_copy = &mut aboverow;
            above_copy.copy_from_slice(ring.row(y.saturating_sub(1), pos));
            let cx = RowConstants {
                cw: A::from_i64(cw as i64),
                cww: A::from_i64(cww as i64),
                round: A::from_i64(if ch.shift > 0 {
                    1i64 << (ch.shift - 1)
                } else {
                    0
                }),
                shift: ch.shift as u32,
                lo,
                hi,
                mask: ((1u64 << g.bits) - 1) as i32,
                alphabet: tables.alphabet as u32,
                table: &model.table,
                w_context: plan.w_context,
                marks: &marks,
                above: above_copy,
                flat_w: plan.flat_uses_w(),
            };
            let xs = ring.slot(y, pos);
            let us = ((y % 2) * c + pos) * w;
            // Segment starts read the row above; take them before borrowing this row mutably.
            let zeros_row = &zeros[..];
            let (above, u_above) = if y > 0 {
                (
                    ring.row(y - 1, pos),
                    &mags[(((y - 1) % 2) * c + pos) * w..(((y - 1) % 2) * c + pos + 1) * w],
                )
            } else {
                (zeros_row, zeros_row)
            };
            let (s1, s2, s4) = match plan.segments {
                1 => (Some(segment_starts::<1>(w, y, above, u_above)), None, None),
                2 => (None, Some(segment_starts::<2>(w, y, above, u_above)), None),
                _ => (None, None, Some(segment_starts::<4>(w, y, above, u_above))),
            };
            let (cur, ucur) = (&mut ring.data[xs..xs + w], &mut mags[us..us + w]);
            if lo == hi {
                // One possible value (a constant band): nothing was coded.
                cur.fill(lo);
                ucur.fill(0);
            } else if plan.row_parallel(cw, cww) {
                // Row-parallel: the whole row's predictions and contexts first.
                A::predict_row(&base, cx.round, cx.shift, lo, hi, &mut predrow);
                if plan.flat && y > 0 {
                    flatten_row(&marks, cx.above, &mut predrow);
                }
                for (c, &l) in ctxrow.iter_mut().zip(&levels) {
                    *c = model.table[l as usize * W_TOKENS];
                }
                let (pr, cr, al) = (&predrow[..], &ctxrow[..], cx.alphabet);
                if let Some(st) = s1 {
                    decode_row_parallel(
                        tables, &mut dec, &mut bits, cr, pr, lo, cx.mask, al, cur, ucur, &st,
                    )?;
                } else if let Some(st) = s2 {
                    decode_row_parallel(
                        tables, &mut dec, &mut bits, cr, pr, lo, cx.mask, al, cur, ucur, &st,
                    )?;
                } else if let Some(st) = s4 {
                    decode_row_parallel(
                        tables, &mut dec, &mut bits, cr, pr, lo, cx.mask, al, cur, ucur, &st,
                    )?;
                }
            } else if let Some(st) = s1 {
                decode_row(
                    &cx, tables, &mut dec, &mut bits, &levels, &base, cur, ucur, &st,
                )?;
            } else if let Some(st) = s2 {
                decode_row(
                    &cx, tables, &mut dec, &mut bits, &levels, &base, cur, ucur, &st,
                )?;
            } else if let Some(st) = s4 {
                decode_row(
                    &cx, tables, &mut dec, &mut bits, &levels, &base, cur, ucur, &st,
                )?;
            }
            super::simd::add_assign_i32(&mut pixel_sum, &mags[us..us + w]);
            spatial_row(
                plan,
                pos,
                y,
                &ring,
                lo,
                hi,
                &mut sacc,
                &mut srows[pos * w..(pos + 1) * w],
            );
            if let Some(p) = pairs.as_mut() {
                p.set(pos, ring.row(y, pos), &srows[pos * w..(pos + 1) * w]);
            }
        }
        // This image row, all channels decoded: pixel-interleaved little-endian samples,
        // one band at a time (a strided store per band, no per-sample dispatch).
        let row_out = &mut out[y * w * c * size..(y + 1) * w * c * size];
        for pos in 0..c {
            let row = ring.row(y, pos);
            let (off, b) = (offsets[pos], bands[pos] * size);
            match palettes[pos] {
                Palette::Identity => {
                    for (v, &r) in values.iter_mut().zip(row) {
                        *v = r.wrapping_add(off);
                    }
                }
                p => {
                    palette_row(p, off, row)?;
                    for (v, &r) in values.iter_mut().zip(row) {
                        *v = p.value((r + off) as usize);
                    }
                }
            }
            if size == 1 {
                for (px, &v) in row_out[b..].iter_mut().step_by(c).zip(&values) {
                    *px = v as u8;
                }
            } else {
                for (px, &v) in row_out[b..].chunks_mut(2 * c).zip(&values) {
                    px[..2].copy_from_slice(&(v as u16).to_le_bytes());
                }
            }
        }
    }
    dec.finish()?;
    if bits.overrun() {
        return Err(Error::corrupt("native: raw bit stream ends early"));
    }
    Ok(())
}
