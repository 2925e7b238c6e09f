//! The tile plan: everything the decoder needs besides the entropy-coded residuals —
//! channel order, value offsets, per-channel predictor coefficients, and the context model.
//! Written at the start of every native payload (docs/format.md §5.3.2); each part writes
//! and reads itself, and reading checks every field's range so a corrupt plan fails here,
//! not in the decoder's loops.

use super::palette::Palette;
use crate::entropy::varint::{put_i, put_u, Cursor};
use crate::error::{Error, Result};

/// Own-channel neighbours a predictor may use, as (dy, dx): every causal neighbour within
/// three rows and three columns except WWW (only W and WW are sequential terms). The index
/// is the bit in `own_mask`; the order is part of the format.
pub(super) const OWN: [(i32, i32); 23] = [
    (0, -1),
    (-1, 0),
    (-1, -1),
    (-1, 1),
    (0, -2),
    (-2, 0),
    (-2, 1),
    (-1, -2),
    (-2, -1),
    (-1, 2),
    (-2, -2),
    (-2, 2),
    (-1, -3),
    (-1, 3),
    (-2, -3),
    (-2, 3),
    (-3, -3),
    (-3, -2),
    (-3, -1),
    (-3, 0),
    (-3, 1),
    (-3, 2),
    (-3, 3),
];
/// Rows above the current one that predictors read.
pub(super) const ROWS_ABOVE: usize = 3;
/// The four nearest neighbours W, N, NW, NE.
pub(super) const OWN_NEAREST: u32 = 0x0f;
/// W, N, NW, NE, WW, NN, NNE, NWW, NNW, NEE, NNWW, NNEE: everything within two.
pub(super) const OWN_RADIUS2: u32 = 0xfff;
/// Radius two plus (-1, ±3), (-2, ±3) and (-3, 0): `default`'s neighbours for few bands.
/// On the SRTM and pysheds DEMs 0.5-1.3% smaller than radius two, for 10-16% of the encode
/// and 10% of the decode (every neighbour in [`OWN`], `max`'s: 0.2-1% smaller still, for
/// 25-30% of the encode).
pub(super) const OWN_RADIUS2_WIDE: u32 = 0x8ffff;
/// Every neighbour in [`OWN`].
pub(super) const OWN_ALL: u32 = (1 << OWN.len()) - 1;
/// The rows-above neighbours N, NW, NE, NN, NNE, NWW (no W, WW: row-parallel decoding).
pub(super) const OWN_ABOVE: u32 = 0xee;
/// Largest coefficient magnitude: keeps every product inside the accumulator.
pub(super) const MAX_COEF: i64 = (1 << 20) - 1;
pub(super) const MAX_SHIFT: u8 = 24;
/// Most contexts a tile may use.
pub(super) const MAX_CONTEXTS: usize = 32;
/// Weights of the context estimator (see `context.rs`).
pub(super) const CONTEXT_WEIGHTS: usize = 7;

/// A channel's purely spatial predictor `S`: `(bias + Σ own·neighbour) >> shift`, clamped to
/// the channel's range. Later channels use `S` of earlier channels at the same pixel as a
/// feature, so the difference `x − S` (CCSDS-123's "local difference") carries across bands.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Spatial {
    pub shift: u8,
    pub bias: i64,
    pub own: Vec<i32>,
}

/// A tap on an earlier channel at the same pixel: coefficients on its value and on its `S`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Tap {
    pub pos: u16,
    pub value: i32,
    pub spatial: i32,
}

/// Predictor of the channel at one coding position.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct ChannelPredictor {
    pub spatial: Spatial,
    pub shift: u8,
    pub bias: i64,
    /// One coefficient per set bit of `own_mask`, in bit order.
    pub own: Vec<i32>,
    /// Taps on earlier coding positions, in any order, each position at most once.
    pub taps: Vec<Tap>,
}

impl ChannelPredictor {
    /// The predictor of a constant band: every coefficient zero.
    pub(super) fn zero(n_own: usize) -> Self {
        ChannelPredictor {
            spatial: Spatial {
                shift: 0,
                bias: 0,
                own: vec![0; n_own],
            },
            shift: 0,
            bias: 0,
            own: vec![0; n_own],
            taps: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct ContextParams {
    pub contexts: usize,
    /// Q8 weights of the activity features (see `context.rs`).
    pub weights: [i32; CONTEXT_WEIGHTS],
    /// Per coding position: mean zigzag residual ×16, at least 1.
    pub means: Vec<u32>,
    /// `contexts − 1` increasing thresholds on the log-quantised activity.
    pub thresholds: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Plan {
    /// Coding position → band.
    pub order: Vec<u16>,
    /// Per band: subtracted from every sample before prediction.
    pub offsets: Vec<i32>,
    /// Per band: the map from coded indices to sample values (see `palette.rs`). A band
    /// whose palette has one value is constant: nothing is coded.
    pub palettes: Vec<Palette>,
    pub own_mask: u32,
    /// Whether a sample's context depends on its W neighbour's token. Without it (and
    /// without W and WW in `own_mask`) a row's predictions and contexts need nothing from
    /// the row itself: they are computed for the whole row at once.
    pub w_context: bool,
    /// Each row is cut into this many segments (1, 2 or 4) decoded in lockstep, each with its
    /// own rANS state: independent dependency chains a CPU overlaps.
    pub segments: u8,
    /// The flat rule: below row 0, a sample whose neighbours N, NW, NE and W (NN when the
    /// plan has no W neighbour) are all equal is predicted as that value, not by the linear
    /// predictor. Makes nodata borders and flat areas cost nothing.
    pub flat: bool,
    /// Per coding position.
    pub channels: Vec<ChannelPredictor>,
    pub context: ContextParams,
}

/// The (dy, dx) offsets of the neighbours whose bits are set.
pub(super) fn offsets(mask: u32) -> impl Iterator<Item = (i32, i32)> {
    (0..OWN.len())
        .filter(move |b| mask & (1 << b) != 0)
        .map(|b| OWN[b])
}

impl Plan {
    pub(super) fn own_offsets(&self) -> impl Iterator<Item = (i32, i32)> {
        offsets(self.own_mask)
    }

    /// Whether coding position `pos` holds a constant band (a one-value palette): it codes
    /// nothing and its predictor, all zero, is not stored.
    pub(super) fn constant(&self, pos: usize) -> bool {
        self.palettes[self.order[pos] as usize].len() == 1
    }

    /// Whether the flat rule reads W (else NN).
    pub(super) fn flat_uses_w(&self) -> bool {
        self.own_mask & 1 != 0
    }

    /// Whether a row whose final predictor has (`sequential_predictor`) or has not W or WW
    /// terms is decoded without any sequential term: no W context, no flat rule on W either.
    pub(super) fn row_parallel(&self, sequential_predictor: bool) -> bool {
        !(sequential_predictor || self.w_context || (self.flat && self.flat_uses_w()))
    }

    /// Writes the plan (docs/format.md §5.3.2).
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        put_u(out, self.order.len() as u64);
        let natural = self.order.iter().enumerate().all(|(i, &b)| i == b as usize);
        out.push(natural as u8);
        if !natural {
            self.order.iter().for_each(|&b| put_u(out, b as u64));
        }
        self.offsets.iter().for_each(|&o| put_i(out, o as i64));
        self.palettes.iter().for_each(|p| p.write(out));
        put_u(out, self.own_mask as u64);
        out.push(self.w_context as u8);
        out.push(self.segments);
        out.push(self.flat as u8);
        for (pos, channel) in self.channels.iter().enumerate() {
            if !self.constant(pos) {
                channel.write(pos, out);
            }
        }
        self.context.write(out);
    }

    /// Reads a plan for a tile of `bands` bands, checking every field's range.
    pub(super) fn read(r: &mut Cursor, bands: usize) -> Result<Plan> {
        let count = r.u("band count")? as usize;
        if count != bands {
            return Err(Error::corrupt(format!(
                "native: plan is for {count} bands, tile has {bands}"
            )));
        }
        let order = read_order(r, bands)?;
        let mut offsets = Vec::with_capacity(bands);
        for _ in 0..bands {
            offsets.push(r.signed("offset", 1 << 20)? as i32);
        }
        let palettes = (0..bands)
            .map(|_| Palette::read(r))
            .collect::<Result<Vec<_>>>()?;
        let own_mask = r.bounded("own mask", OWN_ALL as u64)? as u32;
        let w_context = read_flag(r, "W context flag")?;
        let segments = r.bytes(1, "segments")?[0];
        if !matches!(segments, 1 | 2 | 4) {
            return Err(Error::corrupt(format!(
                "native: {segments} row segments (must be 1, 2 or 4)"
            )));
        }
        let flat = read_flag(r, "flat rule flag")?;
        let own_count = own_mask.count_ones() as usize;
        let mut channels = Vec::with_capacity(bands);
        for pos in 0..bands {
            channels.push(if palettes[order[pos] as usize].len() == 1 {
                ChannelPredictor::zero(own_count)
            } else {
                ChannelPredictor::read(r, pos, own_count)?
            });
        }
        let context = ContextParams::read(r, bands)?;
        Ok(Plan {
            order,
            offsets,
            palettes,
            own_mask,
            w_context,
            segments,
            flat,
            channels,
            context,
        })
    }
}

/// The coding order: natural, or a permutation of the bands.
fn read_order(r: &mut Cursor, bands: usize) -> Result<Vec<u16>> {
    if r.bytes(1, "order flag")?[0] == 1 {
        return Ok((0..bands as u16).collect());
    }
    let mut seen = vec![false; bands];
    let mut order = Vec::with_capacity(bands);
    for _ in 0..bands {
        let band = r.bounded("order", bands as u64 - 1)? as usize;
        if std::mem::replace(&mut seen[band], true) {
            return Err(Error::corrupt("native: channel order repeats a band"));
        }
        order.push(band as u16);
    }
    Ok(order)
}

fn read_flag(r: &mut Cursor, what: &str) -> Result<bool> {
    match r.bytes(1, what)?[0] {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(Error::corrupt(format!("native: {what} {v}"))),
    }
}

fn write_linear(shift: u8, bias: i64, own: &[i32], out: &mut Vec<u8>) {
    out.push(shift);
    put_i(out, bias);
    own.iter().for_each(|&v| put_i(out, v as i64));
}

impl Spatial {
    /// Shift, bias, then one coefficient per own neighbour; the final predictor is stored
    /// the same way.
    fn write(&self, out: &mut Vec<u8>) {
        write_linear(self.shift, self.bias, &self.own, out);
    }

    fn read(r: &mut Cursor, what: &str, own_count: usize) -> Result<Spatial> {
        let shift = r.bytes(1, what)?[0];
        if shift > MAX_SHIFT {
            return Err(Error::corrupt(format!("native: {what} shift out of range")));
        }
        let bias = r.signed(what, 1 << 40)?;
        let mut own = Vec::with_capacity(own_count);
        for _ in 0..own_count {
            own.push(r.signed(what, MAX_COEF)? as i32);
        }
        Ok(Spatial { shift, bias, own })
    }
}

impl ChannelPredictor {
    /// The predictor of coding position `pos`: spatial and final predictors, then the taps
    /// (distance back from `pos`, so near bands take small numbers).
    fn write(&self, pos: usize, out: &mut Vec<u8>) {
        self.spatial.write(out);
        write_linear(self.shift, self.bias, &self.own, out);
        put_u(out, self.taps.len() as u64);
        for tap in &self.taps {
            put_u(out, (pos - 1 - tap.pos as usize) as u64);
            put_i(out, tap.value as i64);
            put_i(out, tap.spatial as i64);
        }
    }

    fn read(r: &mut Cursor, pos: usize, own_count: usize) -> Result<ChannelPredictor> {
        let spatial = Spatial::read(r, "spatial predictor", own_count)?;
        let own = Spatial::read(r, "predictor", own_count)?;
        let tap_count = r.bounded("tap count", pos as u64)? as usize;
        let mut taps = Vec::with_capacity(tap_count);
        let mut tapped = vec![false; pos];
        for _ in 0..tap_count {
            let back = r.bounded("tap distance", pos as u64 - 1)? as usize;
            let tapped_pos = pos - 1 - back;
            if std::mem::replace(&mut tapped[tapped_pos], true) {
                return Err(Error::corrupt("native: a channel taps the same band twice"));
            }
            taps.push(Tap {
                pos: tapped_pos as u16,
                value: r.signed("tap coefficient", MAX_COEF)? as i32,
                spatial: r.signed("tap coefficient", MAX_COEF)? as i32,
            });
        }
        Ok(ChannelPredictor {
            spatial,
            shift: own.shift,
            bias: own.bias,
            own: own.own,
            taps,
        })
    }
}

impl ContextParams {
    /// Contexts, weights, per-position means, thresholds as increments (§5.3.5).
    fn write(&self, out: &mut Vec<u8>) {
        out.push(self.contexts as u8);
        self.weights.iter().for_each(|&w| put_i(out, w as i64));
        self.means.iter().for_each(|&m| put_u(out, m as u64));
        let mut previous = 0;
        for &threshold in &self.thresholds {
            put_u(out, (threshold - previous) as u64);
            previous = threshold;
        }
    }

    fn read(r: &mut Cursor, positions: usize) -> Result<ContextParams> {
        let contexts = r.bytes(1, "context count")?[0] as usize;
        if contexts == 0 || contexts > MAX_CONTEXTS {
            return Err(Error::corrupt(format!("native: {contexts} contexts")));
        }
        let mut weights = [0i32; CONTEXT_WEIGHTS];
        for weight in weights.iter_mut() {
            *weight = r.signed("context weight", 1 << 20)? as i32;
        }
        let mut means = Vec::with_capacity(positions);
        for _ in 0..positions {
            means.push(r.bounded("context mean", 1 << 24)?.max(1) as u32);
        }
        let mut thresholds = Vec::with_capacity(contexts - 1);
        let mut threshold = 0u64;
        for _ in 1..contexts {
            threshold += r.bounded("context threshold", 1 << 16)?;
            if threshold > 1 << 16 {
                return Err(Error::corrupt("native: context threshold out of range"));
            }
            thresholds.push(threshold as u32);
        }
        Ok(ContextParams {
            contexts,
            weights,
            means,
            thresholds,
        })
    }
}
