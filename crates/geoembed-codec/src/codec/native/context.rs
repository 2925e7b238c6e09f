//! The context model: an estimate of the expected residual magnitude of each sample,
//! quantised on a log scale into at most 32 contexts whose thresholds the encoder chose.
//!
//! The estimate is a weighted sum of residual magnitudes the decoder already knows, each
//! normalised by the mean magnitude of its channel (channels differ by orders of magnitude):
//! the same channel at W+N and NW+NE, the previous channel in coding order at the same pixel
//! and at W+N, and the mean over all earlier channels at this pixel — the pixel's own noise
//! level, which for per-pixel quantised embeddings varies as 1/scale. All arithmetic is
//! integer so encoder and decoder agree bit for bit.

use super::plan::{ContextParams, CONTEXT_WEIGHTS};

/// Log-scale quantisation of an unsigned magnitude into 0..256 (8 steps per octave).
#[inline(always)]
pub fn logq(v: u64) -> usize {
    let v = v.min(u32::MAX as u64) as u32;
    if v < 32 {
        return v as usize;
    }
    let n = 31 - v.leading_zeros();
    (32 + 8 * (n - 5) + ((v >> (n - 3)) & 7)) as usize
}

pub const LOGQ_LEVELS: usize = 256;

/// Everything derived from [`ContextParams`] that the per-sample computation needs.
#[derive(Clone, Debug)]
pub struct ContextModel {
    pub weights: [i64; CONTEXT_WEIGHTS],
    /// Per coding position: 2^20 / mean (means are ×16).
    pub recip: Vec<i64>,
    /// Per coding position: 2^20 / (sum of the means of earlier positions); 0 for position 0.
    pub prefix_recip: Vec<i64>,
    pub means: Vec<i64>,
    /// logq level → context.
    pub lut: [u8; LOGQ_LEVELS],
}

impl ContextModel {
    pub fn new(p: &ContextParams) -> Self {
        let recip: Vec<i64> = p
            .means
            .iter()
            .map(|&m| (1i64 << 20) / m.max(1) as i64)
            .collect();
        let mut prefix_recip = Vec::with_capacity(p.means.len());
        let mut sum = 0i64;
        for &m in &p.means {
            prefix_recip.push(if sum == 0 { 0 } else { (1i64 << 20) / sum });
            sum += m as i64;
        }
        let mut lut = [0u8; LOGQ_LEVELS];
        for (q, l) in lut.iter_mut().enumerate() {
            *l = p.thresholds.iter().filter(|&&t| t as usize <= q).count() as u8;
        }
        ContextModel {
            weights: p.weights.map(|w| w as i64),
            recip,
            prefix_recip,
            means: p.means.iter().map(|&m| m as i64).collect(),
            lut,
        }
    }

    /// The part of the activity sum that does not depend on the W neighbour:
    /// `w0·2^16 + w1·uN·R + w2·(uNW+uNE)·R + w3·prev·R' + w4·(pW+pN)·R' + w5·S·P`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn partial(
        &self,
        pos: usize,
        u_n: u32,
        u_nw_ne: u32,
        prev: u32,
        p_wn: u32,
        pixel_sum: u32,
    ) -> i64 {
        let w = &self.weights;
        let r = self.recip[pos];
        let rp = if pos > 0 { self.recip[pos - 1] } else { 0 };
        (w[0] << 16)
            + w[1] * (u_n as i64 * r)
            + w[2] * (u_nw_ne as i64 * r)
            + w[3] * (prev as i64 * rp)
            + w[4] * (p_wn as i64 * rp)
            + w[5] * (pixel_sum as i64 * self.prefix_recip[pos])
    }

    /// Context of a sample from its partial sum and the W neighbour's magnitude.
    #[inline(always)]
    pub fn context(&self, pos: usize, partial: i64, u_w: u32) -> usize {
        let t = partial + self.weights[1] * (u_w as i64 * self.recip[pos]);
        let est = (t.max(0) >> 16) as u64;
        let v = (est * self.means[pos] as u64) >> 8;
        self.lut[logq(v)] as usize
    }

    /// Like [`ContextModel::context`] but returns the log level (the encoder picks the
    /// thresholds from their distribution).
    #[inline(always)]
    pub fn level(&self, pos: usize, partial: i64, u_w: u32) -> usize {
        let t = partial + self.weights[1] * (u_w as i64 * self.recip[pos]);
        let est = (t.max(0) >> 16) as u64;
        logq((est * self.means[pos] as u64) >> 8)
    }
}
