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
    pub own_mask: u8,
    pub latent_components: usize,
    pub latent_positions: u8,
    pub fit_pixels: usize,
    pub max_contexts: usize,
}

impl Settings {
    pub fn new(effort: Effort, bands: usize) -> Self {
        // W, N, NW, NE; few-band rasters (DEMs, RGB) also get WW, NN, NNE, NWW.
        let own_mask = if bands <= 4 || effort == Effort::Max {
            0xff
        } else {
            0x0f
        };
        match effort {
            Effort::Fast => Settings {
                taps: 8,
                own_mask: 0x0f,
                latent_components: 0,
                latent_positions: 0,
                fit_pixels: 2048,
                max_contexts: 16,
            },
            Effort::Default => Settings {
                taps: 32,
                own_mask,
                latent_components: if bands >= 24 { 16 } else { 0 },
                latent_positions: 1,
                fit_pixels: 4096,
                max_contexts: 24,
            },
            Effort::Max => Settings {
                taps: 64,
                own_mask,
                latent_components: if bands >= 24 { 16 } else { 0 },
                latent_positions: 7,
                fit_pixels: 16384,
                max_contexts: 32,
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
    let s = Settings::new(effort, shape.bands);
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
    let values = if g.bits == 8 {
        decode::decode::<i32>(&plan, &g, &tables, stream, raw)?
    } else {
        decode::decode::<i64>(&plan, &g, &tables, stream, raw)?
    };
    super::decorrelate::from_values(shape.sample_type, &values, out);
    Ok(())
}
