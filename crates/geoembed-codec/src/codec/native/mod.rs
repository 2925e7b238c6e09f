//! The native codec: a spectral + spatial least-squares predictor fitted per tile, a
//! context-modelled static rANS coder, and nothing else — no external library.
//!
//! For every channel (in coding order) the prediction is a fixed-point linear combination of
//! its own causal neighbours, of up to `taps` earlier channels at the same pixel (chosen by
//! forward selection), and of the principal-component scores of the row above (a low-noise
//! summary of all bands at the neighbouring pixels). Coefficients are least-squares fits on
//! the tile, stored in the payload: the decoder solves nothing. Residuals become hybrid-uint
//! tokens coded with per-context frequency tables, contexts coming from an integer estimate
//! of the local residual magnitude. See docs/format.md §5.3 for the byte layout.

mod bits;
mod context;
mod decode;
mod encode;
mod engine;
mod fit;
mod plan;
mod rans;
mod simd;
mod tables;
mod tokens;
mod varint;

use super::{Effort, TileShape};
use crate::error::{Error, Result};
use crate::sample::SampleType;
use plan::Plan;
use tables::Tables;
use varint::Cursor;

const VERSION: u8 = 1;

/// What the encoder may use, by effort level.
#[derive(Clone, Debug)]
pub struct Settings {
    pub taps: usize,
    /// Neighbours of the final predictor (see `plan::OWN`).
    pub own_mask: u8,
    /// Whether contexts use the W neighbour (sequential decoding).
    pub w_context: bool,
    /// Largest fixed-point shift of predictor coefficients (their precision).
    pub max_shift: u8,
    pub fit_pixels: usize,
    pub max_contexts: usize,
}

impl Settings {
    pub fn new(effort: Effort, bands: usize) -> Self {
        // Many bands: predictions use only the rows above of their own band (N, NW, NE,
        // NN, NNE, NWW) plus earlier bands at the same pixel, and contexts ignore W, so a
        // whole row is predicted at once and decoding is not a sample-by-sample chain.
        // Measured on the embedding proxy this costs ~0.2% in size. Few bands (DEMs, RGB)
        // keep W, which they cannot do without (+30% on a DEM), and more neighbours.
        let row_parallel = bands >= 8;
        let own_mask = if row_parallel {
            0xee
        } else if effort == Effort::Fast {
            0x0f
        } else {
            0xff
        };
        let base = Settings {
            taps: 64,
            own_mask,
            w_context: !row_parallel,
            max_shift: 10,
            fit_pixels: 16384,
            max_contexts: 24,
        };
        match effort {
            Effort::Fast => Settings {
                taps: 16,
                fit_pixels: 4096,
                max_contexts: 16,
                ..base
            },
            Effort::Default => base,
            Effort::Max => Settings {
                fit_pixels: 32768,
                max_shift: 12,
                max_contexts: 32,
                ..base
            },
        }
    }
}

/// Tile geometry and the valid range of centred values per coding position.
#[derive(Clone, Debug)]
pub struct Geometry {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub bits: u32,
    pub min: i32,
    pub max: i32,
    pub lo: Vec<i32>,
    pub hi: Vec<i32>,
}

impl Geometry {
    fn new(shape: &TileShape) -> Result<Self> {
        let (min, max) = match shape.sample_type {
            SampleType::U8 => (0, 255),
            SampleType::I8 => (-128, 127),
            SampleType::U16 => (0, 65535),
            SampleType::I16 => (-32768, 32767),
            t => {
                return Err(Error::invalid(format!(
                    "native codec handles 8- and 16-bit integers, not {t}"
                )))
            }
        };
        Ok(Geometry {
            width: shape.width,
            height: shape.height,
            channels: shape.bands,
            bits: shape.sample_type.bits(),
            min,
            max,
            lo: Vec::new(),
            hi: Vec::new(),
        })
    }

    fn with_offsets(&self, offsets: &[i32], order: &[u16]) -> Geometry {
        let mut g = self.clone();
        g.lo = order
            .iter()
            .map(|&b| self.min - offsets[b as usize])
            .collect();
        g.hi = order
            .iter()
            .map(|&b| self.max - offsets[b as usize])
            .collect();
        g
    }
}

fn to_values(ty: SampleType, bytes: &[u8]) -> Vec<i32> {
    super::decorrelate::to_values(ty, bytes)
}

pub fn encode(shape: &TileShape, samples: &[u8], effort: Effort) -> Result<Vec<u8>> {
    let g = Geometry::new(shape)?;
    let values = to_values(shape.sample_type, samples);
    let mut s = Settings::new(effort, shape.bands);
    // Experiment overrides (temporary).
    if let Some(v) = std::env::var("GEOEMBED_TAPS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        s.taps = v;
    }
    if let Some(v) = std::env::var("GEOEMBED_SHIFT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        s.max_shift = v;
    }
    if let Some(v) = std::env::var("GEOEMBED_FITPX")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        s.fit_pixels = v;
    }
    if let Some(v) = std::env::var("GEOEMBED_CTX")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        s.max_contexts = v;
    }
    if let Some(v) = std::env::var("GEOEMBED_OWN")
        .ok()
        .and_then(|v| u8::from_str_radix(&v, 16).ok())
    {
        s.own_mask = v;
    }
    Ok(if g.bits == 8 {
        encode::encode::<i32>(&values, &g, &s)
    } else {
        encode::encode::<i64>(&values, &g, &s)
    })
}

pub fn decode(shape: &TileShape, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let g = Geometry::new(shape)?;
    let version = *payload
        .first()
        .ok_or_else(|| Error::truncated("native: empty payload"))?;
    if version != VERSION {
        return Err(Error::unsupported(format!(
            "native codec version {version}; this build reads {VERSION}"
        )));
    }
    let mut r = Cursor::new(&payload[1..]);
    let plan = Plan::read(&mut r, shape.bands)?;
    let g = g.with_offsets(&plan.offsets, &plan.order);
    let tables = Tables::read(&mut r, plan.context.contexts, tokens::alphabet(g.bits))?;
    let n = r.u("rANS length")? as usize;
    let stream = r.bytes(n, "rANS stream")?;
    let raw = &r.data[r.pos..];
    for (pos, ch) in plan.channels.iter().enumerate() {
        if ch.own.len() != plan.own_mask.count_ones() as usize {
            return Err(Error::corrupt(format!(
                "native: channel {pos} has the wrong number of coefficients"
            )));
        }
    }
    // On a corrupt payload nothing half-decoded is left in `out`.
    let start = out.len();
    let r = if g.bits == 8 {
        decode::decode::<i32>(&plan, &g, &tables, stream, raw, out)
    } else {
        decode::decode::<i64>(&plan, &g, &tables, stream, raw, out)
    };
    if r.is_err() {
        out.truncate(start);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_first_mismatch() {
        let (w, h, c) = (33usize, 17usize, 40usize);
        let mut s = 7u64;
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                for b in 0..c {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    let v = ((x as f64 * 0.7 + y as f64 * 1.3).sin() * 40.0
                        + b as f64 * 0.5
                        + (s % 7) as f64) as i64
                        + 128;
                    data.push(v.clamp(0, 255) as u8);
                }
            }
        }
        let shape = TileShape {
            width: w,
            height: h,
            bands: c,
            sample_type: SampleType::U8,
        };
        let p = encode(&shape, &data, Effort::Default).unwrap();
        let mut out = Vec::new();
        decode(&shape, &p, &mut out).unwrap();
        let first = out.iter().zip(&data).position(|(a, b)| a != b);
        if let Some(i) = first {
            panic!(
                "first mismatch at y={} x={} band={}",
                i / c / w,
                (i / c) % w,
                i % c
            );
        }
    }
}
