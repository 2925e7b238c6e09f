//! The tile plan: everything the decoder needs besides the entropy-coded residuals —
//! channel order, value offsets, per-channel predictor coefficients, and
//! the context model. Written at the start of every native payload (docs/format.md §5.3).

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

    pub(super) fn write(&self, out: &mut Vec<u8>) {
        let c = self.order.len();
        put_u(out, c as u64);
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
        for (pos, ch) in self.channels.iter().enumerate() {
            if self.constant(pos) {
                continue;
            }
            out.push(ch.spatial.shift);
            put_i(out, ch.spatial.bias);
            ch.spatial.own.iter().for_each(|&v| put_i(out, v as i64));
            out.push(ch.shift);
            put_i(out, ch.bias);
            ch.own.iter().for_each(|&v| put_i(out, v as i64));
            put_u(out, ch.taps.len() as u64);
            for t in &ch.taps {
                // Distance back from the current position: small numbers for near bands.
                put_u(out, (pos - 1 - t.pos as usize) as u64);
                put_i(out, t.value as i64);
                put_i(out, t.spatial as i64);
            }
        }
        let cx = &self.context;
        out.push(cx.contexts as u8);
        cx.weights.iter().for_each(|&w| put_i(out, w as i64));
        cx.means.iter().for_each(|&m| put_u(out, m as u64));
        let mut prev = 0;
        for &t in &cx.thresholds {
            put_u(out, (t - prev) as u64);
            prev = t;
        }
    }

    pub(super) fn read(r: &mut Cursor, bands: usize) -> Result<Plan> {
        let c = r.u("band count")? as usize;
        if c != bands {
            return Err(Error::corrupt(format!(
                "native: plan is for {c} bands, tile has {bands}"
            )));
        }
        let natural = r.bytes(1, "order flag")?[0];
        let order: Vec<u16> = if natural == 1 {
            (0..c as u16).collect()
        } else {
            let mut seen = vec![false; c];
            let mut o = Vec::with_capacity(c);
            for _ in 0..c {
                let b = r.bounded("order", c as u64 - 1)? as usize;
                if std::mem::replace(&mut seen[b], true) {
                    return Err(Error::corrupt("native: channel order repeats a band"));
                }
                o.push(b as u16);
            }
            o
        };
        let mut offsets = Vec::with_capacity(c);
        for _ in 0..c {
            offsets.push(r.signed("offset", 1 << 20)? as i32);
        }
        let palettes = (0..c)
            .map(|_| Palette::read(r))
            .collect::<Result<Vec<_>>>()?;
        let own_mask = r.bounded("own mask", OWN_ALL as u64)? as u32;
        let w_context = match r.bytes(1, "W context flag")?[0] {
            0 => false,
            1 => true,
            v => return Err(Error::corrupt(format!("native: W context flag {v}"))),
        };
        let segments = r.bytes(1, "segments")?[0];
        if !matches!(segments, 1 | 2 | 4) {
            return Err(Error::corrupt(format!(
                "native: {segments} row segments (must be 1, 2 or 4)"
            )));
        }
        let flat = match r.bytes(1, "flat rule flag")?[0] {
            0 => false,
            1 => true,
            v => return Err(Error::corrupt(format!("native: flat rule flag {v}"))),
        };
        let n_own = own_mask.count_ones() as usize;
        let mut channels = Vec::with_capacity(c);
        let read_linear =
            |r: &mut Cursor, what: &str, n_own: usize| -> Result<(u8, i64, Vec<i32>)> {
                let shift = r.bytes(1, what)?[0];
                if shift > MAX_SHIFT {
                    return Err(Error::corrupt(format!("native: {what} shift out of range")));
                }
                let bias = r.signed(what, 1 << 40)?;
                let mut own = Vec::with_capacity(n_own);
                for _ in 0..n_own {
                    own.push(r.signed(what, MAX_COEF)? as i32);
                }
                Ok((shift, bias, own))
            };
        let constant = |pos: usize| palettes[order[pos] as usize].len() == 1;
        for pos in 0..c {
            if constant(pos) {
                channels.push(ChannelPredictor::zero(n_own));
                continue;
            }
            let (s_shift, s_bias, s_own) = read_linear(r, "spatial predictor", n_own)?;
            let (shift, bias, own) = read_linear(r, "predictor", n_own)?;
            let nt = r.bounded("tap count", pos as u64)? as usize;
            let mut taps = Vec::with_capacity(nt);
            let mut used = vec![false; pos];
            for _ in 0..nt {
                let back = r.bounded("tap distance", pos as u64 - 1)? as usize;
                let p = pos - 1 - back;
                if std::mem::replace(&mut used[p], true) {
                    return Err(Error::corrupt("native: a channel taps the same band twice"));
                }
                let value = r.signed("tap coefficient", MAX_COEF)? as i32;
                let spatial = r.signed("tap coefficient", MAX_COEF)? as i32;
                taps.push(Tap {
                    pos: p as u16,
                    value,
                    spatial,
                });
            }
            channels.push(ChannelPredictor {
                spatial: Spatial {
                    shift: s_shift,
                    bias: s_bias,
                    own: s_own,
                },
                shift,
                bias,
                own,
                taps,
            });
        }
        let contexts = r.bytes(1, "context count")?[0] as usize;
        if contexts == 0 || contexts > MAX_CONTEXTS {
            return Err(Error::corrupt(format!("native: {contexts} contexts")));
        }
        let mut weights = [0i32; CONTEXT_WEIGHTS];
        for w in weights.iter_mut() {
            *w = r.signed("context weight", 1 << 20)? as i32;
        }
        let mut means = Vec::with_capacity(c);
        for _ in 0..c {
            means.push(r.bounded("context mean", 1 << 24)?.max(1) as u32);
        }
        let mut thresholds = Vec::with_capacity(contexts - 1);
        let mut t = 0u64;
        for _ in 1..contexts {
            t += r.bounded("context threshold", 1 << 16)?;
            if t > 1 << 16 {
                return Err(Error::corrupt("native: context threshold out of range"));
            }
            thresholds.push(t as u32);
        }
        Ok(Plan {
            order,
            offsets,
            palettes,
            own_mask,
            w_context,
            segments,
            flat,
            channels,
            context: ContextParams {
                contexts,
                weights,
                means,
                thresholds,
            },
        })
    }
}
