//! The native codec: a spectral + spatial least-squares predictor fitted per tile, a
//! context-modelled static rANS coder, and nothing else — no external library.
//!
//! For every channel (in coding order) the prediction is a fixed-point linear combination of
//! its own causal neighbours and of up to `taps` earlier channels at the same pixel (their
//! values and their spatial predictions, chosen by forward selection). Coefficients are
//! least-squares fits on the tile, stored in the payload: the decoder solves nothing.
//! Residuals become hybrid-uint tokens coded with per-context frequency tables, contexts
//! coming from an estimate of the local residual magnitude. See docs/format.md §5.3 for the
//! byte layout.
//!
//! Files: `plan.rs` and `palette.rs` hold what the payload stores; `row_predictor.rs` the
//! predictions and `neighbourhood.rs` what a row reads around it, `context.rs` the context
//! model, all three shared by `encode.rs` (with `fit.rs` and `context_fit.rs`) and
//! `decode.rs`; `simd.rs` the row kernels.

mod closed_loop;
mod context;
mod context_fit;
mod decode;
mod encode;
mod fit;
mod integer_gram;
mod near_lossless;
mod neighbourhood;
mod palette;
mod plan;
mod reconstruction;
mod repeats;
mod row_predictor;
mod simd;
mod tile_buffers;

use super::{Effort, TileShape};
use crate::entropy::tables::Tables;
use crate::entropy::tokens;
use crate::entropy::varint::Cursor;
use crate::error::{Error, Result};
use crate::sample::SampleType;
pub(crate) use decode::RowDecoder;
use near_lossless::NearLossless;
pub(crate) use near_lossless::{check as check_near_lossless, Bounds};
use palette::Palette;
use plan::Plan;
use repeats::Repeats;

/// Payload version without whole-pixel repeats.
const VERSION: u8 = 1;
/// Payload version with a repeats block and the copy context (docs/format.md §5.3.8).
const VERSION_REPEATS: u8 = 2;
/// Payload version of near-lossless tiles: quantised residuals (docs/format.md §5.3.9).
pub(crate) const VERSION_NEAR_LOSSLESS: u8 = 3;

/// What the encoder may use, by effort level.
#[derive(Clone, Debug)]
pub(super) struct Settings {
    /// Most earlier channels a channel's predictor reads.
    pub taps: usize,
    /// Neighbours of the final predictor (bits of `plan::OWN`).
    pub own_mask: u32,
    /// Whether contexts use the W neighbour (sequential decoding).
    pub w_context: bool,
    /// Most row segments (1, 2 or 4) decoded in lockstep.
    pub max_segments: u8,
    /// Largest fixed-point shift of predictor coefficients (their precision).
    pub max_shift: u8,
    pub fit_pixels: usize,
    pub max_contexts: usize,
    /// Refit own-neighbour coefficients jointly with the taps (a pass per channel).
    pub joint_fit: bool,
    /// Many bands: add the W neighbour (with the W context, one segment) where the spatial
    /// fits say it pays (`encode::W_MIN_GAIN`).
    pub w_if_it_pays: bool,
}

impl Settings {
    pub(super) fn new(effort: Effort, bands: usize) -> Self {
        // Many bands: predictions use only the rows above of their own band plus earlier
        // bands at the same pixel, and contexts ignore W, so a whole row is predicted at
        // once and decoding is not a sample-by-sample chain. Measured on the embedding
        // proxy this costs ~0.2% in size. Few bands (DEMs, RGB) keep W, which they cannot
        // do without (+30% on a DEM), and use more neighbours.
        let many = bands >= 8;
        let base = Settings {
            taps: 64,
            own_mask: if many {
                plan::OWN_ABOVE
            } else {
                plan::OWN_RADIUS2_WIDE
            },
            w_context: !many,
            // Row-parallel rows (many bands) decode faster in four lockstep segments. Few
            // bands decode sample by sample and were as fast in one segment (SRTM, pysheds,
            // Landsat RGB, ERA-Interim z: 100-115 MB/s either way), which saves each later
            // segment's restart: 0.15-0.8% on DEMs and RGB, 6.3% on ERA-Interim z.
            max_segments: if many { 4 } else { 1 },
            max_shift: if many { 12 } else { 10 },
            fit_pixels: 16384,
            max_contexts: 24,
            joint_fit: false,
            w_if_it_pays: many,
        };
        match effort {
            Effort::Fast => Settings {
                taps: 16,
                own_mask: if many {
                    plan::OWN_ABOVE
                } else {
                    plan::OWN_NEAREST
                },
                fit_pixels: 4096,
                max_contexts: 16,
                w_if_it_pays: false,
                ..base
            },
            Effort::Default => base,
            // Max gives up decoding speed for size: sequential W terms with one segment
            // per row, every neighbour for few bands, and for them a joint refit per
            // channel. Many bands skip the refit: a pass over the samples per channel
            // made `max` 12x slower than `default` on embeddings for 0.5% at most. So does
            // a single band, which has no taps to refit with: on SRTM DEMs it halved the
            // speed of `max` for 0.00% (N44W072: 612,364 B with it, 612,339 without).
            Effort::Max => Settings {
                own_mask: if many {
                    plan::OWN_RADIUS2
                } else {
                    plan::OWN_ALL
                },
                w_context: true,
                max_segments: 1,
                fit_pixels: if many { 16384 } else { 32768 },
                max_shift: 12,
                max_contexts: 32,
                joint_fit: !many && bands > 1,
                w_if_it_pays: false,
                ..base
            },
        }
    }
}

/// Tile geometry and the valid range of centred values per coding position.
#[derive(Clone, Debug)]
pub(super) struct Geometry {
    pub sample_type: SampleType,
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
        let ty = shape.sample_type;
        let (min, max) = ty.small_int_range().ok_or_else(|| {
            Error::invalid(format!(
                "native codec handles 8- and 16-bit integers, not {ty}"
            ))
        })?;
        Ok(Geometry {
            sample_type: ty,
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

    /// The range of every coding position's centred values: the sample type's range, or a
    /// palette's index range, less the band's offset.
    fn with_plan(&self, offsets: &[i32], palettes: &[Palette], order: &[u16]) -> Geometry {
        let mut geometry = self.clone();
        let range = |b: usize| match palettes[b].len() {
            0 => (self.min, self.max),
            n => (0, n as i32 - 1),
        };
        geometry.lo = order
            .iter()
            .map(|&b| range(b as usize).0 - offsets[b as usize])
            .collect();
        geometry.hi = order
            .iter()
            .map(|&b| range(b as usize).1 - offsets[b as usize])
            .collect();
        geometry
    }
}

/// A near-lossless tile as the decoder rebuilds it, and the largest absolute error of each
/// of its bands against the samples it was encoded from.
#[derive(Clone, Debug, PartialEq)]
pub struct NearLosslessTile {
    /// The decoded samples (what the tile's `raw_crc` covers).
    pub samples: Vec<u8>,
    /// Per band, the largest `|sample − decoded|`, in value units.
    pub max_error: Vec<f64>,
}

/// Encodes a tile within `bounds` and checks the result: the payload is decoded and
/// compared with `samples` ([`near_lossless::check`]). Lossless bounds give the lossless
/// payload and no tile.
pub(super) fn encode_checked(
    shape: &TileShape,
    samples: &[u8],
    effort: Effort,
    bounds: &Bounds,
) -> Result<(Vec<u8>, Option<NearLosslessTile>)> {
    let payload = encode(shape, samples, effort, bounds)?;
    if !bounds.is_lossy() {
        return Ok((payload, None));
    }
    let mut decoded = Vec::with_capacity(samples.len());
    decode(shape, &payload, &mut decoded)?;
    let max_error = near_lossless::check(shape, samples, &decoded, bounds)?;
    let tile = NearLosslessTile {
        samples: decoded,
        max_error: max_error.into_iter().map(f64::from).collect(),
    };
    Ok((payload, Some(tile)))
}

/// Encodes a tile. At `max` effort the `default` settings (and on small tiles the `fast`
/// ones) are tried as well and the smallest payload kept: the richer model does not always
/// pay for its parameters (small tiles, masks).
pub(super) fn encode(
    shape: &TileShape,
    samples: &[u8],
    effort: Effort,
    bounds: &Bounds,
) -> Result<Vec<u8>> {
    let geometry = Geometry::new(shape)?;
    let run = |s: &Settings| {
        if geometry.bits == 8 {
            encode::encode::<i32>(shape.sample_type, samples, &geometry, s, bounds)
        } else {
            encode::encode::<i64>(shape.sample_type, samples, &geometry, s, bounds)
        }
    };
    let best = run(&Settings::new(effort, shape.bands));
    if effort != Effort::Max {
        return Ok(best);
    }
    // The fast settings' fewer parameters pay only on small tiles.
    let others: &[Effort] = if shape.pixels() < 16_384 {
        &[Effort::Default, Effort::Fast]
    } else {
        &[Effort::Default]
    };
    Ok(others
        .iter()
        .map(|&e| run(&Settings::new(e, shape.bands)))
        .fold(best, |a, b| if b.len() < a.len() { b } else { a }))
}

/// Reads a payload's header: what its streams are decoded with, and the streams.
fn parse<'a>(
    shape: &TileShape,
    payload: &'a [u8],
) -> Result<(decode::Parts, decode::StreamBytes<'a>)> {
    let geometry = Geometry::new(shape)?;
    let version = *payload
        .first()
        .ok_or_else(|| Error::truncated("native: empty payload"))?;
    if !(VERSION..=VERSION_NEAR_LOSSLESS).contains(&version) {
        return Err(Error::unsupported(format!(
            "native codec version {version}; this build reads {VERSION} to \
             {VERSION_NEAR_LOSSLESS}"
        )));
    }
    let mut cursor = Cursor::new(&payload[1..], "native");
    let plan = Plan::read(&mut cursor, shape.bands)?;
    check_plan(&plan, &geometry)?;
    let geometry = geometry.with_plan(&plan.offsets, &plan.palettes, &plan.order);
    let repeats = if version == VERSION_REPEATS {
        Repeats::read(&mut cursor, shape.width, shape.pixels())?
    } else {
        Repeats::default()
    };
    let near_lossless = if version == VERSION_NEAR_LOSSLESS {
        Some(NearLossless::read(&mut cursor, &geometry)?)
    } else {
        None
    };
    // Version 2 has one more table: the copy context's.
    let contexts = plan.context.contexts + (version == VERSION_REPEATS) as usize;
    let tables = Tables::read(&mut cursor, contexts, tokens::alphabet(geometry.bits))?;
    let stream_length = cursor.u("rANS length")? as usize;
    // Offsets in the payload (the cursor starts after the version byte).
    let rans_at = 1 + cursor.pos;
    let rans = cursor.bytes(stream_length, "rANS stream")?;
    let bytes = decode::StreamBytes {
        rans,
        raw: &cursor.data[cursor.pos..],
        rans_at,
        raw_at: 1 + cursor.pos,
    };
    let parts = decode::Parts {
        copy_context: plan.context.contexts as u8,
        plan,
        geometry,
        tables,
        repeats,
        near_lossless,
    };
    Ok((parts, bytes))
}

/// Decodes a tile, appending its samples to `out`.
pub(super) fn decode(shape: &TileShape, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let (parts, bytes) = parse(shape, payload)?;
    // On a corrupt payload nothing half-decoded is left in `out`.
    let start = out.len();
    let decoded = if parts.geometry.bits == 8 {
        decode::decode::<i32>(parts, bytes, out)
    } else {
        decode::decode::<i64>(parts, bytes, out)
    };
    if decoded.is_err() {
        out.truncate(start);
    }
    decoded
}

/// A decoder of the tile's rows one at a time (see [`decode::RowDecoder`]). `payload` is
/// the tile's payload, at `payload_offset` in the file: the decoder keeps the first rows'
/// part of its streams and reads the rest from the file as it goes.
pub(crate) fn row_decoder(
    shape: &TileShape,
    payload: &[u8],
    payload_offset: u64,
) -> Result<Box<dyn RowDecoder>> {
    let (parts, bytes) = parse(shape, payload)?;
    if parts.geometry.bits == 8 {
        decode::row_decoder::<i32>(parts, bytes, payload_offset)
    } else {
        decode::row_decoder::<i64>(parts, bytes, payload_offset)
    }
}

/// Checks what the plan reader cannot check alone: palettes within the sample type, each
/// channel's coefficient count, and 8-bit tap coefficients within 16 bits.
fn check_plan(plan: &Plan, geometry: &Geometry) -> Result<()> {
    for (b, p) in plan.palettes.iter().enumerate() {
        if !p.fits(geometry.min, geometry.max) {
            return Err(Error::corrupt(format!(
                "native: band {b}'s palette does not fit the sample type"
            )));
        }
    }
    for (pos, ch) in plan.channels.iter().enumerate() {
        if ch.own.len() != plan.own_mask.count_ones() as usize {
            return Err(Error::corrupt(format!(
                "native: channel {pos} has the wrong number of coefficients"
            )));
        }
        // 8-bit samples multiply tap coefficients as 16-bit integers (docs/format.md §5.3).
        let wide = |v: i32| v < i16::MIN as i32 || v > i16::MAX as i32;
        if geometry.bits == 8 && ch.taps.iter().any(|t| wide(t.value) || wide(t.spatial)) {
            return Err(Error::corrupt(format!(
                "native: channel {pos} has a tap coefficient outside ±32767 for 8-bit samples"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes of a fixture `.npy` (int8, C order: y, x, band).
    fn npy_codes(name: &str) -> Vec<u8> {
        let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let header_len = u16::from_le_bytes([raw[8], raw[9]]) as usize;
        raw[10 + header_len..].to_vec()
    }

    /// Encodes at `default`, checks the round trip and returns the plan.
    fn default_plan(width: usize, height: usize, codes: &[u8]) -> Plan {
        let shape = TileShape {
            width,
            height,
            bands: 128,
            sample_type: SampleType::I8,
        };
        let payload = encode(&shape, codes, Effort::Default, &Bounds::default()).unwrap();
        let mut decoded = Vec::new();
        decode(&shape, &payload, &mut decoded).unwrap();
        assert!(decoded == codes, "round trip");
        parse(&shape, &payload).unwrap().0.plan
    }

    /// A real Presto crop, whose spatial fits gain a median factor of well over 1.2 from W:
    /// its plan reads W (with the W context, one segment per row); the synthetic proxy's
    /// gain little and keep the row-parallel plan of the rows above.
    #[test]
    fn many_bands_read_w_only_where_it_pays() {
        let presto = default_plan(48, 48, &npy_codes("presto_s2_crop_int8.npy"));
        assert_eq!(presto.own_mask, plan::OWN_ABOVE | 1);
        assert!(presto.w_context);
        assert_eq!(presto.segments, 1);
        let proxy = default_plan(50, 60, &npy_codes("tessera_proxy.npy"));
        assert_eq!(proxy.own_mask, plan::OWN_ABOVE);
        assert!(!proxy.w_context);
        assert!(proxy.channels.iter().all(|c| c.own.len() == 6));
    }
}
