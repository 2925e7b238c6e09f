//! The `dequant` codec: float tiles that are integer codes dequantised, stored as the codes
//! plus what turns them back into the exact float bits.
//!
//! Users hold embeddings as floats: GeoTessera's default download is `float32(q) × scale`
//! with int8 codes and one scale per pixel, AlphaEarth's is `sign(q)·(|q|/127.5)²`. To the
//! float codec these are full-precision floats (every pixel its own step); here they are
//! the int8 tile again, coded by the native codec, beside
//!
//! * mode 0, *per-pixel scale*: the scale plane (one float per pixel, coded by the float
//!   codec); every sample is `fl(code × scale)` (see `pixel_scale.rs`);
//! * mode 1, *value table*: the exact bits of every code's value (see `value_table.rs`).
//!
//! Whatever the codes do not rebuild bit for bit — NaN or ±Inf pixels, a sample off its
//! pixel's lattice, values without a code — is kept verbatim (`exceptions.rs`), so any float
//! tile round-trips; the encoder gives up (and `auto` uses the float codec) when too much
//! of the tile is off the lattice. Byte layout: docs/format.md §5.5.

mod exceptions;
mod pixel_scale;
mod value_table;

use super::part::{decode_part, encode_part, read_part};
use super::scale_model::{decode_predicted_scales, encode_predicted_scales, pixel_features};
use super::{CodecId, CodecParams, TileShape};
use crate::entropy::deflate;
use crate::entropy::varint::{put_i, put_u, Cursor};
use crate::error::{Error, Result};
use crate::sample::SampleType;
use exceptions::Exceptions;
use pixel_scale::{fit_pixel, CodeRange};

const VERSION: u8 = 1;

/// How stored integers became the floats of a tile, when the caller knows (`--recipe`):
/// the `dequant` codec is then tried whatever its quick check says, and a power law's
/// values get the recipe's codes. The codec verifies every sample either way.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Recipe {
    /// GeoTessera: `float32(q) × scale`, one scale per pixel.
    PerPixelScale,
    /// AlphaEarth-style: `sign(q)·(|q| / divisor)^exponent`.
    PowerLaw {
        /// The divisor (AlphaEarth: 127.5).
        divisor: f64,
        /// The exponent (AlphaEarth: 2).
        exponent: f64,
    },
}

impl std::str::FromStr for Recipe {
    type Err = Error;

    /// `tessera` (or `per-pixel-scale`), `alphaearth` (`power:127.5:2`), `power:D:E`.
    fn from_str(text: &str) -> Result<Recipe> {
        let lower = text.to_ascii_lowercase();
        match lower.as_str() {
            "tessera" | "geotessera" | "per-pixel-scale" => return Ok(Recipe::PerPixelScale),
            "alphaearth" => {
                return Ok(Recipe::PowerLaw {
                    divisor: 127.5,
                    exponent: 2.0,
                })
            }
            _ => {}
        }
        let parts: Vec<&str> = lower.split(':').collect();
        let number = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0);
        match parts.as_slice() {
            ["power", d, e] => match (number(d), number(e)) {
                (Some(divisor), Some(exponent)) => Ok(Recipe::PowerLaw { divisor, exponent }),
                _ => Err(Error::invalid(format!(
                    "recipe '{text}': divisor and exponent must be positive numbers"
                ))),
            },
            _ => Err(Error::invalid(format!(
                "unknown recipe '{text}'; choose tessera, alphaearth or power:DIVISOR:EXPONENT"
            ))),
        }
    }
}

/// The payload's mode byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Codes × one scale per pixel.
    PixelScale = 0,
    /// Codes index a table of values.
    ValueTable = 1,
}

impl Mode {
    /// The mode's name in `geoembed info`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::PixelScale => "per-pixel scale",
            Mode::ValueTable => "value table",
        }
    }
}

/// The samples of a tile as bits, one u64 each.
fn sample_bits(shape: &TileShape, samples: &[u8]) -> Vec<u64> {
    let size = shape.sample_type.size();
    let mut word = [0u8; 8];
    samples
        .chunks_exact(size)
        .map(|s| {
            word[..size].copy_from_slice(s);
            u64::from_le_bytes(word)
        })
        .collect()
}

/// A tile on per-pixel lattices: codes, scales (filled at exception pixels) and the
/// samples the lattice does not rebuild.
struct Lattice {
    range: CodeRange,
    codes: Vec<i32>,
    scales: Vec<u64>,
    exceptions: Exceptions,
}

impl Lattice {
    /// Samples kept verbatim, whole pixels and single samples.
    fn off_samples(&self, bands: usize) -> usize {
        self.exceptions.pixels.len() * bands + self.exceptions.samples.len()
    }
}

/// Fits every pixel's lattice with codes of `range`. Pixels off the lattice get the codes
/// and scale of the pixel before them (a nodata region becomes one constant run).
fn fit_lattice(shape: &TileShape, bits: &[u64], samples: &[u8], range: CodeRange) -> Lattice {
    let (ty, bands) = (shape.sample_type, shape.bands);
    let size = ty.size();
    let mut codes = vec![0i32; bits.len()];
    let mut scales = vec![0u64; shape.pixels()];
    let mut exceptions = Exceptions::default();
    for (p, pixel) in bits.chunks_exact(bands).enumerate() {
        let (before, rest) = codes.split_at_mut(p * bands);
        let pixel_codes = &mut rest[..bands];
        match fit_pixel(ty, pixel, range, bands / 2, pixel_codes) {
            Some(fit) => {
                scales[p] = fit.scale_bits;
                if fit.broken > 0 {
                    for (band, &b) in pixel.iter().enumerate() {
                        if pixel_scale::rebuild(ty, pixel_codes[band], fit.scale_bits) != b {
                            exceptions.samples.push(((p * bands + band) as u64, b));
                        }
                    }
                }
            }
            None => {
                if p > 0 {
                    pixel_codes.copy_from_slice(&before[(p - 1) * bands..]);
                    scales[p] = scales[p - 1];
                }
                exceptions.pixels.push(p as u32);
                let at = p * bands * size;
                exceptions
                    .pixel_samples
                    .extend_from_slice(&samples[at..at + bands * size]);
            }
        }
    }
    Lattice {
        range,
        codes,
        scales,
        exceptions,
    }
}

fn codes_bytes(range: CodeRange, codes: &[i32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(codes.len() * range.code_type.size());
    range.code_type.extend_small_int_bytes(codes, &mut bytes);
    bytes
}

/// Mode 0: the per-pixel-scale payload, or `None` when more than half the pixels are off
/// the lattice (int8 codes first, int16 codes when int8 leaves many pixels off).
fn encode_pixel_scale(
    shape: &TileShape,
    bits: &[u64],
    samples: &[u8],
    params: &CodecParams,
) -> Result<Option<Vec<u8>>> {
    let mut lattice = fit_lattice(shape, bits, samples, CodeRange::of(SampleType::I8));
    if lattice.off_samples(shape.bands) * 16 > bits.len() {
        let wide = fit_lattice(shape, bits, samples, CodeRange::of(SampleType::I16));
        if wide.off_samples(shape.bands) < lattice.off_samples(shape.bands) {
            lattice = wide;
        }
    }
    if lattice.off_samples(shape.bands) * 2 > bits.len() {
        return Ok(None);
    }
    let ty = shape.sample_type;
    let mut out = vec![
        VERSION,
        Mode::PixelScale as u8,
        lattice.range.code_type as u8,
    ];
    lattice.exceptions.write(ty.size(), &mut out)?;
    let codes = codes_bytes(lattice.range, &lattice.codes);
    encode_part(
        shape,
        shape.bands,
        lattice.range.code_type,
        &codes,
        params,
        &mut out,
    )?;
    out.extend_from_slice(&encode_scales(shape, &lattice, params)?);
    Ok(Some(out))
}

/// The scales, with whichever scale model gives the smaller part: 0, the scale plane as it
/// is; 1 (float32 tiles), the scales' residuals from their prediction by the codes.
fn encode_scales(shape: &TileShape, lattice: &Lattice, params: &CodecParams) -> Result<Vec<u8>> {
    let ty = shape.sample_type;
    let mut plain = vec![0u8];
    let mut scales = Vec::with_capacity(shape.pixels() * ty.size());
    for &s in &lattice.scales {
        scales.extend_from_slice(&s.to_le_bytes()[..ty.size()]);
    }
    encode_part(shape, 1, ty, &scales, params, &mut plain)?;
    if ty != SampleType::F32 {
        return Ok(plain);
    }
    let exceptions = &lattice.exceptions.pixels;
    let lattice_pixel = |p: usize| exceptions.binary_search(&(p as u32)).is_err();
    let mut predicted = vec![1u8];
    let features = pixel_features(&lattice.codes, shape.bands);
    predicted.extend(encode_predicted_scales(
        shape,
        &features,
        &lattice.scales,
        lattice_pixel,
        params,
    )?);
    Ok(if predicted.len() < plain.len() {
        predicted
    } else {
        plain
    })
}

/// Mode 1: the value-table payload, or `None` when the tile has too many distinct values.
fn encode_value_table(
    shape: &TileShape,
    bits: &[u64],
    samples: &[u8],
    params: &CodecParams,
) -> Result<Option<Vec<u8>>> {
    let ty = shape.sample_type;
    let Some(distinct) = value_table::distinct_values(ty.size(), samples) else {
        return Ok(None);
    };
    // A table as long as a quarter of the tile is no longer few values.
    if distinct.len() * 4 > bits.len() {
        return Ok(None);
    }
    let table = value_table::build(ty, &distinct, params.recipe);
    let range = CodeRange::of(table.code_type);
    let mut exceptions = Exceptions::default();
    let codes: Vec<i32> = bits
        .iter()
        .enumerate()
        .map(|(i, b)| {
            table.codes.get(b).copied().unwrap_or_else(|| {
                exceptions.samples.push((i as u64, *b));
                0
            })
        })
        .collect();
    let mut out = vec![VERSION, Mode::ValueTable as u8, range.code_type as u8];
    put_i(&mut out, table.first as i64);
    put_u(&mut out, table.values.len() as u64);
    let mut raw = Vec::with_capacity(table.values.len() * ty.size());
    for v in &table.values {
        raw.extend_from_slice(&v.to_le_bytes()[..ty.size()]);
    }
    deflate::put_zlib_block(&mut out, &raw, 9)?;
    exceptions.write(ty.size(), &mut out)?;
    encode_part(
        shape,
        shape.bands,
        range.code_type,
        &codes_bytes(range, &codes),
        params,
        &mut out,
    )?;
    Ok(Some(out))
}

/// Encodes a float tile as codes + scales or codes + table, whichever is smaller. An error
/// if the tile fits neither (the float codec is then the one to use).
pub(super) fn encode(shape: &TileShape, samples: &[u8], params: &CodecParams) -> Result<Vec<u8>> {
    let ty = shape.sample_type;
    if !ty.is_float() {
        return Err(Error::invalid(format!(
            "dequant holds float32/float64 tiles, not {ty}"
        )));
    }
    let bits = sample_bits(shape, samples);
    let mut best = encode_pixel_scale(shape, &bits, samples, params)?;
    if let Some(table) = encode_value_table(shape, &bits, samples, params)? {
        if best.as_ref().is_none_or(|b| table.len() < b.len()) {
            best = Some(table);
        }
    }
    best.ok_or_else(|| {
        Error::invalid(
            "dequant: the tile is neither codes times a per-pixel scale nor a few distinct values",
        )
    })
}

/// What `auto` should do with a float tile, from a quick look at up to 64 of its pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The tile looks dequantised: try this codec.
    pub worth_trying: bool,
    /// Nearly every pixel sampled sits on a lattice: the float codec need not be tried
    /// (it would be several times larger).
    pub settled: bool,
}

/// Looks at up to 64 pixels spread over the tile: how many fit a per-pixel lattice
/// (int8 codes), and how many distinct values they take.
pub fn probe(shape: &TileShape, samples: &[u8], recipe: Option<Recipe>) -> Probe {
    let (ty, bands) = (shape.sample_type, shape.bands);
    let pixels = shape.pixels();
    if !ty.is_float() || bands < 2 || pixels == 0 {
        return Probe {
            worth_trying: false,
            settled: false,
        };
    }
    let size = ty.size();
    let step = (pixels / 64).max(1);
    let (mut looked, mut fitted) = (0usize, 0usize);
    let mut distinct = std::collections::HashSet::new();
    let mut codes = vec![0i32; bands];
    for p in (0..pixels).step_by(step) {
        let bytes = &samples[p * bands * size..(p + 1) * bands * size];
        let pixel = sample_bits(shape, bytes);
        distinct.extend(pixel.iter().copied());
        let on_lattice =
            fit_pixel(ty, &pixel, CodeRange::of(SampleType::I8), 0, &mut codes).is_some();
        // A NaN pixel is a cheap exception, not evidence against the lattice.
        let nodata = pixel
            .iter()
            .all(|&b| !pixel_scale::value(ty, b).is_finite());
        looked += 1;
        fitted += (on_lattice || nodata) as usize;
    }
    let few_values = distinct.len() <= 256 && looked * bands >= 512;
    Probe {
        worth_trying: fitted * 2 >= looked || few_values || recipe.is_some(),
        settled: fitted * 10 >= looked * 9 || few_values,
    }
}

/// The fixed head of a payload: mode, code type and (mode 1) the value table.
struct Head {
    mode: Mode,
    code_type: SampleType,
    /// Mode 1: the code of `table[0]` and every code's value bits.
    table_first: i64,
    table: Vec<u64>,
}

fn read_head(cursor: &mut Cursor, ty: SampleType) -> Result<Head> {
    let head = cursor.bytes(3, "dequant payload header")?;
    if head[0] != VERSION {
        return Err(Error::unsupported(format!(
            "dequant payload version {} (this build reads {VERSION})",
            head[0]
        )));
    }
    let mode = match head[1] {
        0 => Mode::PixelScale,
        1 => Mode::ValueTable,
        m => return Err(Error::corrupt(format!("dequant: unknown mode {m}"))),
    };
    let code_type = match SampleType::from_code(head[2]) {
        Ok(t @ (SampleType::I8 | SampleType::I16)) => t,
        _ => {
            return Err(Error::corrupt(format!(
                "dequant: codes of sample type {} (int8 or int16 expected)",
                head[2]
            )))
        }
    };
    let (mut table_first, mut table) = (0, Vec::new());
    if mode == Mode::ValueTable {
        let (code_min, code_max) = code_type.small_int_range().expect("small int");
        table_first = cursor.signed("table's first code", code_min.unsigned_abs() as i64)?;
        let room = (code_max as i64 - table_first + 1).max(0) as u64;
        let count = cursor.bounded("table size", room)? as usize;
        if table_first < code_min as i64 || count == 0 {
            return Err(Error::corrupt(
                "dequant: the value table is empty or starts below the codes",
            ));
        }
        let length = cursor.bounded("table length", (cursor.data.len() - cursor.pos) as u64)?;
        let size = ty.size();
        let raw = deflate::unzlib(
            cursor.bytes(length as usize, "value table")?,
            count * size,
            "dequant: value table",
        )?;
        if raw.len() != count * size {
            return Err(Error::corrupt(
                "dequant: the value table is shorter than its size",
            ));
        }
        let mut word = [0u8; 8];
        table = raw
            .chunks_exact(size)
            .map(|v| {
                word[..size].copy_from_slice(v);
                u64::from_le_bytes(word)
            })
            .collect();
    }
    Ok(Head {
        mode,
        code_type,
        table_first,
        table,
    })
}

/// Decodes a tile, appending its samples to `out` (nothing is left behind on error).
pub(super) fn decode(shape: &TileShape, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let result = decode_into(shape, payload, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn decode_into(shape: &TileShape, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let (ty, bands, pixels) = (shape.sample_type, shape.bands, shape.pixels());
    if !ty.is_float() {
        return Err(Error::corrupt(format!("dequant cannot hold {ty} samples")));
    }
    let size = ty.size();
    let mut cursor = Cursor::new(payload, "dequant");
    let head = read_head(&mut cursor, ty)?;
    let exceptions = Exceptions::read(&mut cursor, pixels, bands, size)?;
    let (codes_codec, codes_payload) = read_part(&mut cursor, "codes")?;
    let code_bytes = decode_part(shape, bands, head.code_type, codes_codec, codes_payload)?;
    let mut codes = vec![0i32; pixels * bands];
    head.code_type.small_int_values(&code_bytes, &mut codes);
    let start = out.len();
    out.resize(start + shape.bytes(), 0);
    let tile = &mut out[start..];
    match head.mode {
        Mode::ValueTable => {
            for (sample, &code) in tile.chunks_exact_mut(size).zip(&codes) {
                let value = head
                    .table
                    .get((code as i64 - head.table_first) as usize)
                    .ok_or_else(|| {
                        Error::corrupt(format!("dequant: code {code} is not in the value table"))
                    })?;
                sample.copy_from_slice(&value.to_le_bytes()[..size]);
            }
        }
        Mode::PixelScale => {
            let scale_bytes = decode_scales(shape, &mut cursor, &codes)?;
            rebuild_pixels(ty, bands, &codes, &scale_bytes, &exceptions.pixels, tile)?;
        }
    }
    if cursor.pos != payload.len() {
        return Err(Error::corrupt("dequant: bytes after the last part"));
    }
    exceptions.apply(bands, size, tile);
    Ok(())
}

/// The scale plane (little-endian samples of the tile's type) from the scale model byte and
/// the scales part; model 1 rebuilds the scales from the codes' predictions.
fn decode_scales(shape: &TileShape, cursor: &mut Cursor, codes: &[i32]) -> Result<Vec<u8>> {
    let ty = shape.sample_type;
    let model = cursor.bytes(1, "scale model")?[0];
    match model {
        0 => {
            let (codec, payload) = read_part(cursor, "scales")?;
            decode_part(shape, 1, ty, codec, payload)
        }
        1 if ty == SampleType::F32 => {
            decode_predicted_scales(shape, cursor, &pixel_features(codes, shape.bands))
        }
        m => Err(Error::unsupported(format!(
            "dequant: scale model {m} for {ty} tiles"
        ))),
    }
}

/// Every sample of every pixel but the exception pixels: `fl(code × scale)`.
fn rebuild_pixels(
    ty: SampleType,
    bands: usize,
    codes: &[i32],
    scale_bytes: &[u8],
    exception_pixels: &[u32],
    tile: &mut [u8],
) -> Result<()> {
    let size = ty.size();
    let mut word = [0u8; 8];
    let mut next_exception = exception_pixels.iter().peekable();
    for (p, (pixel, scale)) in tile
        .chunks_exact_mut(bands * size)
        .zip(scale_bytes.chunks_exact(size))
        .enumerate()
    {
        if next_exception.peek() == Some(&&(p as u32)) {
            next_exception.next();
            continue;
        }
        word[..size].copy_from_slice(scale);
        let scale_bits = u64::from_le_bytes(word);
        if !pixel_scale::finite_scale(ty, scale_bits) {
            return Err(Error::corrupt(format!(
                "dequant: pixel {p} has a non-finite scale"
            )));
        }
        let pixel_codes = &codes[p * bands..(p + 1) * bands];
        for (sample, &code) in pixel.chunks_exact_mut(size).zip(pixel_codes) {
            let bits = pixel_scale::rebuild(ty, code, scale_bits);
            sample.copy_from_slice(&bits.to_le_bytes()[..size]);
        }
    }
    Ok(())
}

/// What a payload holds, for `geoembed info`: the mode, the size of each part and how
/// much is kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Per-pixel scale or value table.
    pub mode: Mode,
    /// int8 or int16 codes.
    pub code_type: SampleType,
    /// The codes' codec and payload bytes.
    pub codes: (CodecId, usize),
    /// The scale plane's codec and payload bytes (mode 0).
    pub scales: Option<(CodecId, usize)>,
    /// Mode 0: 0, the scales as they are; 1, their residuals from the codes' prediction.
    pub scale_model: u8,
    /// Values in the table (mode 1).
    pub table_values: usize,
    /// Pixels and samples kept verbatim, and the bytes they take.
    pub exception_pixels: usize,
    /// Single samples kept verbatim.
    pub exception_samples: usize,
    /// Bytes of the exception blocks.
    pub exception_bytes: usize,
}

/// Reads a payload's [`Summary`] (decodes the exception lists, not the parts).
pub fn summarize(shape: &TileShape, payload: &[u8]) -> Result<Summary> {
    let (ty, bands, pixels) = (shape.sample_type, shape.bands, shape.pixels());
    let mut cursor = Cursor::new(payload, "dequant");
    let head = read_head(&mut cursor, ty)?;
    let before = cursor.pos;
    let exceptions = Exceptions::read(&mut cursor, pixels, bands, ty.size())?;
    let exception_bytes = cursor.pos - before;
    let (codes_codec, codes) = read_part(&mut cursor, "codes")?;
    let (mut scales, mut scale_model) = (None, 0);
    if head.mode == Mode::PixelScale {
        scale_model = cursor.bytes(1, "scale model")?[0];
        if scale_model == 1 {
            cursor.bytes(24, "scale model coefficients")?;
        }
        let (codec, part) = read_part(&mut cursor, "scales")?;
        scales = Some((codec, part.len()));
    }
    Ok(Summary {
        mode: head.mode,
        code_type: head.code_type,
        codes: (codes_codec, codes.len()),
        scales,
        scale_model,
        table_values: head.table.len(),
        exception_pixels: exceptions.pixels.len(),
        exception_samples: exceptions.samples.len(),
        exception_bytes,
    })
}
