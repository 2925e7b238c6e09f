//! Near-lossless coding (payload version 3, docs/format.md §5.3.9): what the payload stores
//! beyond version 1 — each band's bound in coded units and the samples coded exactly — and
//! how the encoder derives it from the caller's bounds and nodata values.
//!
//! Why exact samples: a quantised residual can only land on the one value of its step's
//! lattice within the bound, so a nodata sample may be rebuilt as a valid value, or a valid
//! value as nodata. Either would change what the sample means, not merely its magnitude;
//! those few samples (at the edges of nodata regions) are coded losslessly instead, and
//! listed so the decoder knows.

use super::palette::Palette;
use super::plan::Plan;
use super::Geometry;
use crate::codec::TileShape;
use crate::entropy::deflate;
use crate::entropy::varint::{put_u, Cursor};
use crate::error::{Error, Result};

/// The caller's near-lossless request for one tile, in sample units, per band.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bounds {
    /// Largest absolute error allowed per band (0: that band stays lossless).
    pub max_error: Vec<u32>,
    /// Per band, the nodata value when it is a value of the sample type.
    pub nodata: Vec<Option<i32>>,
}

impl Bounds {
    /// Whether any band may be coded with an error (else the tile is coded losslessly,
    /// byte for byte as without bounds).
    pub(crate) fn is_lossy(&self) -> bool {
        self.max_error.iter().any(|&e| e > 0)
    }
}

/// Checks a decoded near-lossless tile against the samples it was encoded from: every
/// sample within its band's bound, nodata samples decoded as nodata and no other sample
/// decoded as nodata. Returns the largest absolute error of every band. The closed loop
/// makes this hold by construction; the check is what lets a file claim it.
pub(crate) fn check(
    shape: &TileShape,
    original: &[u8],
    decoded: &[u8],
    bounds: &Bounds,
) -> Result<Vec<u32>> {
    let ty = shape.sample_type;
    let (mut before, mut after) = (vec![0i32; shape.bands], vec![0i32; shape.bands]);
    let mut max_error = vec![0u32; shape.bands];
    let pixel_bytes = shape.bands * ty.size();
    let pixels = original
        .chunks_exact(pixel_bytes)
        .zip(decoded.chunks_exact(pixel_bytes));
    for (pixel, (x, x_hat)) in pixels.enumerate() {
        ty.small_int_values(x, &mut before);
        ty.small_int_values(x_hat, &mut after);
        for band in 0..shape.bands {
            let (value, rebuilt) = (before[band], after[band]);
            let error = value.abs_diff(rebuilt);
            let nodata = bounds.nodata[band];
            let nodata_changed = nodata.is_some_and(|n| (value == n) != (rebuilt == n));
            if error > bounds.max_error[band] || nodata_changed {
                let (col, row) = (pixel % shape.width, pixel / shape.width);
                return Err(Error::invalid(format!(
                    "near-lossless check failed: band {} at pixel ({col}, {row}) of the tile \
                     is {value} and decodes as {rebuilt} (bound {}, nodata {nodata:?})",
                    band + 1,
                    bounds.max_error[band]
                )));
            }
            max_error[band] = max_error[band].max(error);
        }
    }
    Ok(max_error)
}

/// The near-lossless block of a version-3 payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct NearLossless {
    /// Per band, in band order: the bound in coded units (palette indices for a palette).
    pub coded_bounds: Vec<u32>,
    /// Samples coded exactly, as `pixel × bands + band`, ascending.
    pub exact: Vec<u64>,
}

impl NearLossless {
    /// The bounds in coded units: a grid palette of step `s` turns a bound `E` into
    /// `⌊E / s⌋` indices, a list palette (irregular values) into 0, the identity keeps `E`.
    pub(super) fn coded_bounds(bounds: &Bounds, palettes: &[Palette]) -> Vec<u32> {
        let coded = |(&e, palette): (&u32, &Palette)| match palette {
            Palette::Identity => e,
            Palette::Grid { step, .. } => e / *step as u32,
            Palette::List(_) => 0,
        };
        bounds.max_error.iter().zip(palettes).map(coded).collect()
    }

    /// Per coding position: the quantisation step `2E + 1` of its band.
    pub(super) fn steps(&self, plan: &Plan) -> Vec<i32> {
        let step = |&band: &u16| 2 * self.coded_bounds[band as usize] as i32 + 1;
        plan.order.iter().map(step).collect()
    }

    /// The exact samples as (row, coding position, column), in decoding order.
    pub(super) fn exact_in_decoding_order(&self, plan: &Plan, width: usize) -> Vec<[u32; 3]> {
        let channels = plan.order.len();
        let mut position_of = vec![0u32; channels];
        for (pos, &band) in plan.order.iter().enumerate() {
            position_of[band as usize] = pos as u32;
        }
        let mut samples: Vec<[u32; 3]> = self
            .exact
            .iter()
            .map(|&s| {
                let (pixel, band) = (s as usize / channels, s as usize % channels);
                let (y, x) = (pixel / width, pixel % width);
                [y as u32, position_of[band], x as u32]
            })
            .collect();
        samples.sort_unstable();
        samples
    }

    /// `c × uv` coded bounds, `uv` exact count, then (if any) `uv` length and a zlib
    /// stream of the positions as gaps.
    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        self.coded_bounds.iter().for_each(|&e| put_u(out, e as u64));
        put_u(out, self.exact.len() as u64);
        if self.exact.is_empty() {
            return Ok(());
        }
        let mut gaps = Vec::with_capacity(self.exact.len());
        let mut next = 0u64;
        for &s in &self.exact {
            put_u(&mut gaps, s - next);
            next = s + 1;
        }
        deflate::put_zlib_block(out, &gaps, 9)
    }

    /// Reads what [`NearLossless::write`] wrote for a tile of `samples` samples.
    pub(super) fn read(r: &mut Cursor, geometry: &Geometry) -> Result<NearLossless> {
        let largest_bound = (1u64 << geometry.bits) - 1;
        let coded_bounds = (0..geometry.channels)
            .map(|_| {
                r.bounded("near-lossless bound", largest_bound)
                    .map(|e| e as u32)
            })
            .collect::<Result<Vec<u32>>>()?;
        let samples = (geometry.width * geometry.height * geometry.channels) as u64;
        let count = r.bounded("exact samples", samples)? as usize;
        if count == 0 {
            return Ok(NearLossless {
                coded_bounds,
                exact: Vec::new(),
            });
        }
        let length = r.bounded("exact block length", (r.data.len() - r.pos) as u64)? as usize;
        // Varints of values below 2^64 take at most 10 bytes.
        let raw = deflate::unzlib(r.bytes(length, "exact block")?, 10 * count, "native")?;
        let mut inner = Cursor::new(&raw, "native");
        let mut exact = Vec::with_capacity(count);
        let mut next = 0u64;
        for _ in 0..count {
            let sample = next.saturating_add(inner.bounded("exact gap", samples)?);
            if sample >= samples {
                return Err(Error::corrupt("native: an exact sample outside the tile"));
            }
            exact.push(sample);
            next = sample + 1;
        }
        if inner.pos != raw.len() {
            return Err(Error::corrupt("native: bytes after the exact samples"));
        }
        Ok(NearLossless {
            coded_bounds,
            exact,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_round_trips_and_orders_exact_samples_for_the_decoder() {
        let block = NearLossless {
            coded_bounds: vec![2, 0, 7],
            exact: vec![0, 4, 5, 29],
        };
        let mut bytes = Vec::new();
        block.write(&mut bytes).unwrap();
        let geometry = Geometry {
            sample_type: crate::sample::SampleType::U8,
            width: 5,
            height: 2,
            channels: 3,
            bits: 8,
            min: 0,
            max: 255,
            lo: Vec::new(),
            hi: Vec::new(),
        };
        let read = NearLossless::read(&mut Cursor::new(&bytes, "native"), &geometry).unwrap();
        assert_eq!(read, block);
    }
}
