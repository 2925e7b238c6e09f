//! Per-tile codecs: the "wrapped" API. A tile is `height × width × bands` samples,
//! pixel-interleaved (bands fastest), little-endian; a codec turns it into a payload and
//! back. The container ([`crate::container`]) records which codec each tile used.

pub mod dequant;
pub mod float;
#[cfg(feature = "jxl")]
mod jxl;
mod klt;
mod lz;
mod native;
mod part;
pub mod png128;
mod scale_model;
pub mod scales_from_codes;

use crate::error::{Error, Result};
use crate::sample::SampleType;
use crate::transform::decorrelate::{self, Decorrelation};
pub use klt::{check_request as check_klt_request, KltTile, LossStats, MIN_BANDS as KLT_MIN_BANDS};
pub use native::NearLosslessTile;

/// Codec identifiers as stored in the tile index. Never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CodecId {
    /// Samples stored as they are (little-endian, pixel-interleaved).
    Raw = 0,
    /// Every pixel equal: the payload is one pixel.
    Constant = 1,
    /// PNG row filters across all bands + deflate.
    Png128 = 2,
    /// File-level decorrelation, then PNG128.
    DecorrelatePng128 = 3,
    /// JPEG XL lossless, bands as extra channels.
    Jxl = 4,
    /// File-level decorrelation, then JPEG XL.
    DecorrelateJxl = 5,
    /// geoembed's own spectral + spatial predictor with context-modelled rANS.
    Native = 6,
    /// Lossless floats and 32-bit integers: lattice/fmap domains, 2-D and cross-band
    /// prediction, context-modelled rANS (or cbloom byte planes, or Gridfour's split).
    Float = 7,
    /// Dequantised floats (integer codes × a per-pixel scale, or a table of values): the
    /// codes through the native codec, the scales through the float codec.
    Dequant = 8,
    /// zstd on the samples as they are: repetitive tiles no predictor sees through.
    Lz = 9,
    /// LOSSY: the tile's principal components, quantised to a target relative RMSE, coded
    /// as integer planes by the native codec. Used only when asked for (`--rel-rmse`).
    Klt = 10,
    /// A one-band float32 aux plane (GeoTessera's scales) predicted from the codes of
    /// plane 0's block of the same tile: the container decodes that block first. Chosen by
    /// the writer, never by name.
    ScalesFromCodes = 11,
}

impl CodecId {
    /// Every codec, in id order.
    pub const ALL: [CodecId; 12] = [
        CodecId::Raw,
        CodecId::Constant,
        CodecId::Png128,
        CodecId::DecorrelatePng128,
        CodecId::Jxl,
        CodecId::DecorrelateJxl,
        CodecId::Native,
        CodecId::Float,
        CodecId::Dequant,
        CodecId::Lz,
        CodecId::Klt,
        CodecId::ScalesFromCodes,
    ];

    /// The codec stored as `code` in a tile index entry.
    pub fn from_code(code: u16) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|c| *c as u16 == code)
            .ok_or_else(|| Error::unsupported(format!("unknown codec id {code}")))
    }

    /// The codec's name (`--codec`, `-co CODEC=`).
    pub fn name(self) -> &'static str {
        match self {
            CodecId::Raw => "raw",
            CodecId::Constant => "constant",
            CodecId::Png128 => "png128",
            CodecId::DecorrelatePng128 => "decorrelate+png128",
            CodecId::Jxl => "jxl",
            CodecId::DecorrelateJxl => "decorrelate+jxl",
            CodecId::Native => "native",
            CodecId::Float => "float",
            CodecId::Dequant => "dequant",
            CodecId::Lz => "lz",
            CodecId::Klt => "klt",
            CodecId::ScalesFromCodes => "scales-from-codes",
        }
    }

    /// The codec called `name` (ASCII case ignored: GDAL clients such as rasterio upper-case
    /// creation-option values).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// Whether the codec uses the file-level decorrelation.
    pub fn needs_decorrelation(self) -> bool {
        matches!(self, CodecId::DecorrelatePng128 | CodecId::DecorrelateJxl)
    }

    /// Whether this build leaves the codec out (JPEG XL without the `jxl` feature): its
    /// tiles are valid but cannot be decoded here.
    pub fn is_compiled_out(self) -> bool {
        matches!(self, CodecId::Jxl | CodecId::DecorrelateJxl) && !cfg!(feature = "jxl")
    }

    /// Why this codec cannot encode tiles of this type, or `None` if it can.
    pub fn unsupported_reason(self, ty: SampleType) -> Option<String> {
        let small_int = !ty.is_float() && ty.size() <= 2;
        match self {
            CodecId::Jxl | CodecId::DecorrelateJxl if !cfg!(feature = "jxl") => {
                Some("this build has no JPEG XL support (cargo feature `jxl`)".into())
            }
            CodecId::Jxl
            | CodecId::DecorrelatePng128
            | CodecId::DecorrelateJxl
            | CodecId::Native
                if !small_int =>
            {
                Some(format!(
                    "{} handles 8- and 16-bit integer samples, not {ty}",
                    self.name()
                ))
            }
            CodecId::Float if !float::supports(ty) => Some(format!(
                "float handles float32/64 and 16/32-bit integer samples, not {ty}"
            )),
            CodecId::Dequant if !ty.is_float() => Some(format!(
                "dequant handles float32/64 samples (dequantised codes), not {ty}"
            )),
            CodecId::ScalesFromCodes if ty != SampleType::F32 => Some(format!(
                "scales-from-codes handles a one-band float32 aux plane, not {ty}"
            )),
            _ => None,
        }
    }
}

impl std::fmt::Display for CodecId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The lowest minor version of the format (docs/format.md §7) that has a payload of this
/// codec: 1.0 has codecs 0–7 with native and float payload version 1; 1.1 adds `dequant`
/// (id 8), `lz` (id 9) and native payload version 2 (whole-pixel repeats); 1.2 native
/// payload version 3 (near-lossless), float payload versions 2 (the value-space
/// predictor) and 3 (near-lossless lattices), and the lossy `klt` codec (id 10); 1.3 the
/// `scales-from-codes` codec (id 11), the first whose block depends on another block; 1.4
/// `klt` payload version 2 (refined to a near-lossless bound, §5.7.3); 1.6 `klt` payload
/// version 3 (wavelet-coded components, §5.7.5); 1.8 float payload version 4 (a
/// context-coded specials mask, §5.4.3b).
/// Writers record the highest over a file's tiles in its preamble.
pub(crate) fn minor_version_of(codec: CodecId, payload: &[u8]) -> u16 {
    match (codec, payload.first()) {
        (CodecId::Float, Some(&float::VERSION_SPECIALS_MASK)) => 8,
        (CodecId::Klt, Some(&klt::VERSION_WAVELET)) => 6,
        (CodecId::Klt, Some(&klt::VERSION_REFINED)) => 4,
        (CodecId::ScalesFromCodes, _) => 3,
        (CodecId::Native, Some(&native::VERSION_NEAR_LOSSLESS)) | (CodecId::Klt, _) => 2,
        (CodecId::Float, version) if version != Some(&1) => 2,
        (CodecId::Dequant | CodecId::Lz, _) => 1,
        (CodecId::Native, version) if version != Some(&1) => 1,
        _ => 0,
    }
}

/// How hard to work: picks deflate levels, JPEG XL effort and which codecs `auto` tries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Effort {
    /// Fewer predictor neighbours and taps, lighter deflate: for quick conversions.
    Fast,
    /// The balance of size and speed geoembed is tuned for.
    #[default]
    Default,
    /// Smallest files: richer models, more candidates, much slower encoding.
    Max,
}

impl Effort {
    /// The level's name (`fast`, `default`, `max`).
    pub fn name(self) -> &'static str {
        match self {
            Effort::Fast => "fast",
            Effort::Default => "default",
            Effort::Max => "max",
        }
    }

    /// Every effort level, fastest first.
    pub const ALL: [Effort; 3] = [Effort::Fast, Effort::Default, Effort::Max];

    /// The level called `name` (ASCII case ignored).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(name))
    }

    /// Recorded in the tile index beside the codec id.
    pub fn code(self) -> u16 {
        self as u16
    }

    fn deflate_level(self) -> u32 {
        match self {
            Effort::Fast => 4,
            Effort::Default => 6,
            Effort::Max => 9,
        }
    }

    #[cfg(feature = "jxl")]
    fn jxl_effort(self) -> u32 {
        match self {
            Effort::Fast => 3,
            Effort::Default => 7,
            Effort::Max => 9,
        }
    }
}

impl std::fmt::Display for Effort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Effort {
    type Err = Error;

    /// Parses `fast`, `default` or `max`; the error lists the choices and names no option,
    /// so the CLI (`--effort`), the GDAL plugin (`-co EFFORT=`) and Python can each add
    /// their own.
    fn from_str(s: &str) -> Result<Self> {
        Self::from_name(s).ok_or_else(|| {
            Error::invalid(format!(
                "unknown effort level '{s}'; choose fast, default or max"
            ))
        })
    }
}

/// Geometry and type of one tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileShape {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Samples per pixel.
    pub bands: usize,
    /// Type of every sample.
    pub sample_type: SampleType,
}

impl TileShape {
    /// `width × height`.
    pub fn pixels(&self) -> usize {
        self.width * self.height
    }

    /// `width × height × bands`.
    pub fn samples(&self) -> usize {
        self.pixels() * self.bands
    }

    /// Size of the tile's sample buffer.
    pub fn bytes(&self) -> usize {
        self.samples() * self.sample_type.size()
    }
}

/// What a codec may need besides the tile: the effort level and, for plane 0, the file's
/// decorrelation.
#[derive(Clone, Copy, Debug, Default)]
pub struct CodecParams<'a> {
    /// How hard the encoder works (decoders ignore it).
    pub effort: Effort,
    /// The file-level decorrelation the `decorrelate+` codecs apply.
    pub decorrelation: Option<&'a Decorrelation>,
    /// How the tile's floats were dequantised, when the caller knows (`--recipe`): `auto`
    /// then always tries the `dequant` codec, which verifies it sample by sample.
    pub recipe: Option<dequant::Recipe>,
    /// Near-lossless coding: the largest absolute error allowed per band, in value units
    /// (empty, or all zero: lossless). Only the native codec (8/16-bit integers, whole
    /// bounds) and the float codec (float32/64) honour a nonzero bound, and beside a
    /// `rel_rmse` target the `klt` codec, which refines its tiles to it (8/16-bit integers
    /// and floats); the others refuse it.
    pub max_error: &'a [f64],
    /// Per band, the nodata value (empty: none): near-lossless coding decodes nodata
    /// samples as nodata and no other sample as nodata.
    pub nodata: &'a [Option<f64>],
    /// LOSSY transform coding: the relative RMSE `||x − x̂|| / ||x||` each tile is coded to
    /// (`None`: lossless). Only the `klt` codec honours it; the others refuse it.
    pub rel_rmse: Option<f64>,
}

impl CodecParams<'_> {
    /// The near-lossless bounds of a tile of `shape`, checked against its band count, with
    /// the nodata values the sample type can hold.
    fn bounds(&self, shape: &TileShape) -> Result<native::Bounds> {
        let bands = shape.bands;
        if !self.max_error.is_empty() && self.max_error.len() != bands {
            return Err(Error::invalid(format!(
                "{} near-lossless bounds for a tile of {bands} bands (give one, or one per band)",
                self.max_error.len()
            )));
        }
        let range = shape.sample_type.small_int_range();
        let as_sample = |n: f64| {
            let (min, max) = range?;
            (n.fract() == 0.0 && n >= min as f64 && n <= max as f64).then_some(n as i32)
        };
        let whole = |e: f64| e.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&e);
        if let Some(e) = self.max_error.iter().find(|&&e| !whole(e)) {
            return Err(Error::invalid(format!(
                "near-lossless bound {e} for {} samples: integer samples need a whole number",
                shape.sample_type
            )));
        }
        Ok(native::Bounds {
            max_error: (0..bands)
                .map(|b| self.max_error.get(b).copied().unwrap_or(0.0) as u32)
                .collect(),
            nodata: (0..bands)
                .map(|b| self.nodata.get(b).copied().flatten().and_then(as_sample))
                .collect(),
        })
    }

    /// The near-lossless bounds of a float or 32-bit integer tile of `shape`, checked
    /// against its band count (whole numbers for integers), with the nodata values the
    /// sample type holds exactly.
    fn float_bounds(&self, shape: &TileShape) -> Result<float::near_lossless::Bounds> {
        let bands = shape.bands;
        if !self.max_error.is_empty() && self.max_error.len() != bands {
            return Err(Error::invalid(format!(
                "{} near-lossless bounds for a tile of {bands} bands (give one, or one per band)",
                self.max_error.len()
            )));
        }
        if let Some(e) = self
            .max_error
            .iter()
            .find(|e| !(e.is_finite() && **e >= 0.0))
        {
            return Err(Error::invalid(format!(
                "near-lossless bound {e} is not a finite value >= 0"
            )));
        }
        let ty = shape.sample_type;
        let whole = |e: f64| e.fract() == 0.0 && e <= u32::MAX as f64;
        if let Some(e) = self
            .max_error
            .iter()
            .find(|&&e| !ty.is_float() && !whole(e))
        {
            return Err(Error::invalid(format!(
                "near-lossless bound {e} for {ty} samples: integer samples need a whole number"
            )));
        }
        let held = |n: f64| match ty {
            SampleType::F32 => n.is_nan() || n as f32 as f64 == n,
            SampleType::F64 => true,
            SampleType::I32 => n.fract() == 0.0 && (i32::MIN as f64..=i32::MAX as f64).contains(&n),
            _ => n.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&n),
        };
        Ok(float::near_lossless::Bounds {
            max_error: (0..bands)
                .map(|b| self.max_error.get(b).copied().unwrap_or(0.0))
                .collect(),
            nodata: (0..bands)
                .map(|b| self.nodata.get(b).copied().flatten().filter(|&n| held(n)))
                .collect(),
        })
    }

    /// Whether any band may be coded with an error.
    pub fn is_lossy(&self) -> bool {
        self.max_error.iter().any(|&e| e > 0.0)
    }

    /// The bounds a `klt` tile is refined to (`None`: no nonzero bound, no refinement):
    /// whole bounds on 8/16-bit integers, any on floats, as near-lossless coding takes them.
    fn klt_refinement(&self, shape: &TileShape) -> Result<Option<klt::RefineBounds>> {
        if !self.is_lossy() {
            return Ok(None);
        }
        let ty = shape.sample_type;
        if ty.is_float() {
            return Ok(Some(klt::RefineBounds::Float(self.float_bounds(shape)?)));
        }
        if ty.small_int_range().is_none() {
            return Err(Error::invalid(format!(
                "a near-lossless bound (max error) needs 8- or 16-bit integer or float32/float64 \
                 samples; klt cannot refine {ty} samples to one"
            )));
        }
        Ok(Some(klt::RefineBounds::Int(self.bounds(shape)?)))
    }
}

/// The error for `klt` without a target, or another codec given one.
fn target_refused(codec: CodecId) -> Error {
    match codec {
        CodecId::Klt => {
            Error::invalid("codec klt is lossy and needs a target relative RMSE (--rel-rmse R)")
        }
        _ => Error::invalid(format!(
            "codec {codec} is lossless and cannot code to a relative RMSE target; only the \
             klt codec can (--codec klt or auto)"
        )),
    }
}

/// The error for a codec asked to keep a near-lossless bound it cannot keep.
fn bound_refused(codec: CodecId, ty: SampleType) -> Error {
    let keeper = near_lossless_codec(ty);
    if matches!(codec, CodecId::Native | CodecId::Float) {
        return Error::invalid(format!(
            "codec {codec} cannot keep a near-lossless bound (max error) on {ty} samples; the \
             {keeper} codec does (codec {keeper} or auto)"
        ));
    }
    Error::invalid(format!(
        "codec {codec} is lossless only and cannot encode within a near-lossless bound \
         (max error); only the native codec (8- and 16-bit integer samples), the float \
         codec (32-bit integer and float samples) and, beside a relative RMSE target, the klt \
         codec can"
    ))
}

fn decorrelation<'a>(codec: CodecId, p: &CodecParams<'a>) -> Result<&'a Decorrelation> {
    p.decorrelation.ok_or_else(|| {
        Error::invalid(format!(
            "{codec} needs the file's decorrelation, which this plane has none of"
        ))
    })
}

/// Encodes one tile with one codec.
pub fn encode(
    codec: CodecId,
    shape: &TileShape,
    samples: &[u8],
    params: &CodecParams,
) -> Result<Vec<u8>> {
    if samples.len() != shape.bytes() {
        return Err(Error::invalid(format!(
            "tile buffer has {} bytes, a {}x{}x{} {} tile needs {}",
            samples.len(),
            shape.width,
            shape.height,
            shape.bands,
            shape.sample_type,
            shape.bytes()
        )));
    }
    if let Some(why) = codec.unsupported_reason(shape.sample_type) {
        return Err(Error::invalid(why));
    }
    // A target first: with one, a bound refines the transform instead of choosing a codec.
    if params.rel_rmse.is_some() != (codec == CodecId::Klt) {
        return Err(target_refused(codec));
    }
    let ty = shape.sample_type;
    if params.is_lossy() && codec == CodecId::Float && near_lossless_codec(ty) == codec {
        let encoded =
            encode_float_near_lossless(CodecChoice::Fixed(codec), shape, samples, params)?;
        return Ok(encoded.payload);
    }
    if params.is_lossy() && codec != near_lossless_codec(ty) && codec != CodecId::Klt {
        return Err(bound_refused(codec, ty));
    }
    match codec {
        CodecId::Raw => Ok(samples.to_vec()),
        CodecId::Constant => {
            let pixel_bytes = shape.bands * ty.size();
            if samples
                .chunks_exact(pixel_bytes)
                .any(|c| c != &samples[..pixel_bytes])
            {
                return Err(Error::invalid(
                    "constant codec needs a tile whose pixels are all equal",
                ));
            }
            Ok(samples[..pixel_bytes].to_vec())
        }
        CodecId::Png128 => png128::encode(shape, samples, params.effort.deflate_level()),
        CodecId::Native => {
            let bounds = params.bounds(shape)?;
            Ok(native::encode_checked(shape, samples, params.effort, &bounds)?.0)
        }
        CodecId::Float => float::encode(shape, samples, params.effort),
        CodecId::Dequant => dequant::encode(shape, samples, params),
        CodecId::Lz => lz::encode(samples, params.effort),
        CodecId::Klt => {
            let target = params.rel_rmse.ok_or_else(|| target_refused(codec))?;
            let bounds = params.klt_refinement(shape)?;
            Ok(klt::encode(shape, samples, params.effort, target, bounds.as_ref())?.0)
        }
        CodecId::ScalesFromCodes => Err(Error::invalid(
            "scales-from-codes codes an aux plane from its file's bands: only the container \
             writer can use it",
        )),
        CodecId::DecorrelatePng128 => {
            let decorrelated =
                decorrelate::forward(decorrelation(codec, params)?, ty, shape.bands, samples);
            let level = params.effort.deflate_level();
            let row = shape.width * shape.bands;
            if ty.size() == 1 {
                let words: Vec<u8> = decorrelated.iter().map(|&v| v as u8).collect();
                png128::encode_words(&words, row, shape.bands, level, true)
            } else {
                let words: Vec<u16> = decorrelated.iter().map(|&v| v as u16).collect();
                png128::encode_words(&words, row, shape.bands, level, true)
            }
        }
        #[cfg(feature = "jxl")]
        CodecId::Jxl => {
            let planes = planar(shape, &words_unsigned(ty, samples));
            jxl_encode(shape, &planes, params.effort.jxl_effort())
        }
        #[cfg(feature = "jxl")]
        CodecId::DecorrelateJxl => {
            let decorrelated =
                decorrelate::forward(decorrelation(codec, params)?, ty, shape.bands, samples);
            jxl_encode(
                shape,
                &planar(shape, &decorrelated),
                params.effort.jxl_effort(),
            )
        }
        #[cfg(not(feature = "jxl"))]
        CodecId::Jxl | CodecId::DecorrelateJxl => unreachable!("rejected by unsupported_reason"),
    }
}

pub(crate) use native::RowDecoder;

/// Whether the codec's tiles can be decoded one row at a time ([`row_decoder`]); the others
/// decode a tile whole.
pub(crate) fn decodes_by_rows(codec: CodecId) -> bool {
    codec == CodecId::Native
}

/// A decoder of a native tile's rows, one at a time; the payload is at `payload_offset` in
/// the file, from which the decoder reads its streams as it goes.
pub(crate) fn row_decoder(
    shape: &TileShape,
    payload: &[u8],
    payload_offset: u64,
) -> Result<Box<dyn RowDecoder>> {
    if let Some(why) = CodecId::Native.unsupported_reason(shape.sample_type) {
        return Err(Error::corrupt(format!(
            "tile uses native, which cannot hold this file's samples: {why}"
        )));
    }
    native::row_decoder(shape, payload, payload_offset)
}

/// Decodes one tile, appending exactly `shape.bytes()` bytes to `out`.
pub fn decode(
    codec: CodecId,
    shape: &TileShape,
    payload: &[u8],
    params: &CodecParams,
    out: &mut Vec<u8>,
) -> Result<()> {
    let start = out.len();
    if codec.is_compiled_out() {
        // A valid file this build cannot decode: say so, rather than calling it corrupt.
        return Err(Error::unsupported(format!(
            "the tile uses {codec}, and this build has no JPEG XL support (cargo feature `jxl`; \
             the Python wheel is built without libjxl)"
        )));
    }
    if let Some(why) = codec.unsupported_reason(shape.sample_type) {
        return Err(Error::corrupt(format!(
            "tile uses {codec}, which cannot hold this file's samples: {why}"
        )));
    }
    let ty = shape.sample_type;
    match codec {
        CodecId::Raw => {
            if payload.len() != shape.bytes() {
                return Err(Error::corrupt(format!(
                    "raw tile has {} bytes, expected {}",
                    payload.len(),
                    shape.bytes()
                )));
            }
            out.extend_from_slice(payload);
        }
        CodecId::Constant => {
            if payload.len() != shape.bands * ty.size() {
                return Err(Error::corrupt(
                    "constant tile payload is not one pixel long",
                ));
            }
            out.reserve(shape.bytes());
            for _ in 0..shape.pixels() {
                out.extend_from_slice(payload);
            }
        }
        CodecId::Png128 => png128::decode(shape, payload, out)?,
        CodecId::Native => native::decode(shape, payload, out)?,
        CodecId::Float => float::decode(shape, payload, out)?,
        CodecId::Dequant => dequant::decode(shape, payload, out)?,
        CodecId::Lz => lz::decode(payload, shape.bytes(), out)?,
        CodecId::Klt => klt::decode(shape, payload, out)?,
        CodecId::ScalesFromCodes => return Err(needs_codes()),
        CodecId::DecorrelatePng128 => {
            let decorrelation_params = decorrelation(codec, params)?;
            let row = shape.width * shape.bands;
            let decorrelated: Vec<u32> = if ty.size() == 1 {
                png128::decode_words::<u8>(payload, shape.height, row, shape.bands)?
                    .into_iter()
                    .map(u32::from)
                    .collect()
            } else {
                png128::decode_words::<u16>(payload, shape.height, row, shape.bands)?
                    .into_iter()
                    .map(u32::from)
                    .collect()
            };
            decorrelate::inverse(decorrelation_params, ty, shape.bands, &decorrelated, out);
        }
        #[cfg(feature = "jxl")]
        CodecId::Jxl => {
            let planes = jxl_decode(shape, payload)?;
            let inter = interleave(shape, &planes);
            for v in inter {
                let bits = ty.from_word(v as u64);
                out.extend_from_slice(&bits.to_le_bytes()[..ty.size()]);
            }
        }
        #[cfg(feature = "jxl")]
        CodecId::DecorrelateJxl => {
            let decorrelation_params = decorrelation(codec, params)?;
            let planes = jxl_decode(shape, payload)?;
            decorrelate::inverse(
                decorrelation_params,
                ty,
                shape.bands,
                &interleave(shape, &planes),
                out,
            );
        }
        #[cfg(not(feature = "jxl"))]
        CodecId::Jxl | CodecId::DecorrelateJxl => unreachable!("rejected by unsupported_reason"),
    }
    debug_assert_eq!(out.len() - start, shape.bytes());
    Ok(())
}

/// The error for a `scales-from-codes` tile decoded without its file: what it holds is
/// coded from another block, which only the container reader has.
fn needs_codes() -> Error {
    Error::corrupt(
        "scales-from-codes codes an aux plane from its file's bands, and this tile comes \
         without them (only a .emb file's aux planes can use it)",
    )
}

/// Unsigned words (offset binary for signed types) of 8/16-bit samples.
#[cfg(feature = "jxl")]
fn words_unsigned(ty: SampleType, samples: &[u8]) -> Vec<u32> {
    use crate::transform::words::{self, Word};
    words::with_word!(ty, W => words::load::<W>(ty, samples).into_iter().map(|w| w.to_u64() as u32).collect())
}

/// Pixel-interleaved words to planes (band-sequential).
#[cfg(feature = "jxl")]
fn planar(shape: &TileShape, w: &[u32]) -> Vec<u32> {
    let (pixel_count, band_count) = (shape.pixels(), shape.bands);
    let mut out = vec![0u32; w.len()];
    for (p, px) in w.chunks_exact(band_count).enumerate() {
        for (k, v) in px.iter().enumerate() {
            out[k * pixel_count + p] = *v;
        }
    }
    out
}

#[cfg(feature = "jxl")]
fn interleave(shape: &TileShape, planes: &[u32]) -> Vec<u32> {
    let (pixel_count, band_count) = (shape.pixels(), shape.bands);
    let mut out = vec![0u32; planes.len()];
    for (k, plane) in planes.chunks_exact(pixel_count).enumerate() {
        for (p, v) in plane.iter().enumerate() {
            out[p * band_count + k] = *v;
        }
    }
    out
}

#[cfg(feature = "jxl")]
fn jxl_encode(shape: &TileShape, planes: &[u32], effort: u32) -> Result<Vec<u8>> {
    if shape.sample_type.size() == 1 {
        let narrow: Vec<u8> = planes.iter().map(|&v| v as u8).collect();
        jxl::encode(
            jxl::Planes::U8(&narrow),
            shape.width,
            shape.height,
            shape.bands,
            effort,
        )
    } else {
        let narrow: Vec<u16> = planes.iter().map(|&v| v as u16).collect();
        jxl::encode(
            jxl::Planes::U16(&narrow),
            shape.width,
            shape.height,
            shape.bands,
            effort,
        )
    }
}

#[cfg(feature = "jxl")]
fn jxl_decode(shape: &TileShape, payload: &[u8]) -> Result<Vec<u32>> {
    let bits = shape.sample_type.bits();
    Ok(
        match jxl::decode(payload, shape.width, shape.height, shape.bands, bits)? {
            jxl::PlanesOut::U8(v) => v.into_iter().map(u32::from).collect(),
            jxl::PlanesOut::U16(v) => v.into_iter().map(u32::from).collect(),
        },
    )
}

/// Which codecs to try, or one fixed codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodecChoice {
    /// Always this codec.
    Fixed(CodecId),
    /// Encode with every candidate for the effort level and keep the smallest payload.
    Auto,
}

impl CodecChoice {
    /// The codecs a user may ask for by name: every codec but `constant`, which `auto`
    /// picks by itself for tiles whose pixels are all equal, and `scales-from-codes`, which
    /// the container writer picks for aux scale planes.
    pub fn selectable() -> impl Iterator<Item = CodecId> {
        CodecId::ALL
            .into_iter()
            .filter(|c| !matches!(c, CodecId::Constant | CodecId::ScalesFromCodes))
    }
}

impl std::fmt::Display for CodecChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodecChoice::Auto => f.write_str("auto"),
            CodecChoice::Fixed(id) => f.write_str(id.name()),
        }
    }
}

impl std::str::FromStr for CodecChoice {
    type Err = Error;

    /// Parses `auto` or a codec name (ASCII case ignored); the error lists the choices and
    /// names no option (see [`Effort`]'s parser).
    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(CodecChoice::Auto);
        }
        CodecId::from_name(s)
            .filter(|c| Self::selectable().any(|selectable| selectable == *c))
            .map(CodecChoice::Fixed)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::selectable().map(CodecId::name).collect();
                Error::invalid(format!(
                    "unknown codec '{s}'; choose auto or one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// Most bands of a 16-bit integer tile for which `auto` also tries the float codec.
const FLOAT_FOR_INTS_MAX_BANDS: usize = 16;

/// The candidates `auto` tries for a tile of `bands` bands, cheapest first.
///
/// 8- and 16-bit integers use the native codec; at `max` effort JPEG XL is tried beside it
/// for imagery of at most four bands: there its colour transforms and learned contexts can
/// win (RGB photographs, some DEMs), while on many-band rasters the native codec is smaller
/// and JPEG XL costs minutes per tile. Floats and 32-bit integers use the float codec. (PNG
/// filters never won a tile at `max` in the benchmarks and are no longer tried there.)
pub fn auto_candidates(
    ty: SampleType,
    bands: usize,
    effort: Effort,
    has_decorrelation: bool,
) -> Vec<CodecId> {
    let mut candidates = Vec::new();
    if CodecId::Native.unsupported_reason(ty).is_none() {
        candidates.push(CodecId::Native);
        // The float codec's sentinels, palettes and lattices win on some integer rasters
        // (nodata-heavy climate grids, re-packed NetCDF): tried beside native when the
        // tile has few bands (many-band tiles are native's ground, and slow to try twice).
        if bands <= FLOAT_FOR_INTS_MAX_BANDS && CodecId::Float.unsupported_reason(ty).is_none() {
            candidates.push(CodecId::Float);
        }
        if effort == Effort::Max && bands <= 4 {
            candidates.push(CodecId::Jxl);
        }
    } else if CodecId::Float.unsupported_reason(ty).is_none() {
        candidates.push(CodecId::Float);
    } else {
        candidates.push(CodecId::Png128);
        if has_decorrelation {
            candidates.push(CodecId::DecorrelatePng128);
        }
    }
    candidates.retain(|id| id.unsupported_reason(ty).is_none());
    candidates
}

/// `auto`'s candidates refined by a quick look at the tile: for 16-bit integers with nodata
/// sentinels or sparse codes the float codec instead of native (at `max` still beside JPEG
/// XL); for a float tile of several bands that looks dequantised ([`dequant::probe`]) the
/// `dequant` codec first, and when nearly every pixel sits on a lattice, not the float
/// codec at all (it would be several times larger, and slow on many bands).
fn refine_candidates(
    mut candidates: Vec<CodecId>,
    shape: &TileShape,
    samples: &[u8],
    params: &CodecParams,
) -> Vec<CodecId> {
    // 16-bit integers with nodata sentinels or sparse codes: the float codec's ground
    // (tens of percent smaller than native), where it alone is tried. At `max` native was
    // tried too and never won (SRTM tiles with voids, gridMET, ERA-Interim u and v), and
    // the float codec then had to pass its estimate's gate, which sees the sentinels'
    // jumps: on an SRTM tile with voids it was skipped and `max` kept JPEG XL, larger than
    // `default`'s float tile.
    let both = candidates.contains(&CodecId::Native) && candidates.contains(&CodecId::Float);
    if both && float::may_win_on_small_ints(shape, samples) {
        candidates.retain(|&c| c != CodecId::Native);
    }
    if !shape.sample_type.is_float() || shape.bands < 2 {
        return candidates;
    }
    let probe = dequant::probe(shape, samples, params.recipe);
    if probe.worth_trying {
        // Settled (nearly every pixel on the lattice): the float codec is several times
        // larger, and at `max` on 128 float bands it made the encode 19x slower than
        // `default` for nothing (the Presto float32 download: 2.7 against 51 MB/s).
        if probe.settled {
            candidates.retain(|&c| c != CodecId::Float);
        }
        candidates.insert(0, CodecId::Dequant);
    }
    candidates
}

/// Whether `auto` should try the float codec on a 16-bit integer tile after native gave
/// `native_len` bytes: only at `max` (`default` must encode at 20 MB/s, and trying both
/// halved its speed), and there only where a quick estimate of its fixed predictors is
/// under 95% of native's size. At 105% it was tried on ERA-Interim geopotential, where the
/// estimate is 6% low, and since native codes a row in one segment it loses there by 3%:
/// `max` took 5.1x `default`'s time for nothing. It is within 1% of native on DEMs.
fn float_beside_native_pays(
    shape: &TileShape,
    samples: &[u8],
    effort: Effort,
    native_len: Option<usize>,
) -> bool {
    let Some(native_len) = native_len else {
        return true;
    };
    effort == Effort::Max
        && float::quick_estimate_bits(shape, samples) * 100 < native_len as u64 * 8 * 95
}

/// An encoded tile: the codec used and its payload.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// The codec that produced `payload`.
    pub codec: CodecId,
    /// The encoded tile.
    pub payload: Vec<u8>,
    /// A near-lossless tile: what it decodes to and its error per band (`None`: the tile
    /// decodes to the samples it was encoded from).
    pub near_lossless: Option<NearLosslessTile>,
    /// A `klt` tile: what it decodes to and how far that is from the source.
    pub klt: Option<KltTile>,
}

/// Encodes a tile with a fixed codec or the smallest of the `auto` candidates. Constant
/// tiles (nodata borders) always use the constant codec, and no payload is ever larger
/// than the raw samples.
pub fn encode_best(
    choice: CodecChoice,
    shape: &TileShape,
    samples: &[u8],
    params: &CodecParams,
) -> Result<Encoded> {
    if let Some(target) = params.rel_rmse {
        return encode_klt(choice, shape, samples, params, target);
    }
    if params.is_lossy() {
        return encode_near_lossless(choice, shape, samples, params);
    }
    let pixel_bytes = shape.bands * shape.sample_type.size();
    let constant = samples.len() >= pixel_bytes
        && samples
            .chunks_exact(pixel_bytes)
            .all(|c| c == &samples[..pixel_bytes]);
    let candidates = match choice {
        CodecChoice::Fixed(id) => vec![id],
        CodecChoice::Auto if constant => vec![CodecId::Constant],
        CodecChoice::Auto => refine_candidates(
            auto_candidates(
                shape.sample_type,
                shape.bands,
                params.effort,
                params.decorrelation.is_some(),
            ),
            shape,
            samples,
            params,
        ),
    };
    let mut best: Option<Encoded> = None;
    for codec in candidates {
        let best_len = best.as_ref().map(|b| b.payload.len());
        if codec == CodecId::Float
            && choice == CodecChoice::Auto
            && !float_beside_native_pays(shape, samples, params.effort, best_len)
        {
            continue;
        }
        let payload = match codec {
            // libjxl effort 3 (a tenth of effort 7's time). Effort 7 where effort 3 came
            // within 2% of the best won 0.3-4.5% on one tile of tmmx, SRTM S16E166 and
            // Landsat RGB, and took `max` to 4.5-7.3x `default`'s time there (issue 13
            // asks for ~5x); `--codec jxl --effort max` still gets libjxl's effort 9.
            CodecId::Jxl if choice == CodecChoice::Auto => {
                let quick = CodecParams {
                    effort: Effort::Fast,
                    ..*params
                };
                encode(codec, shape, samples, &quick)
            }
            _ => encode(codec, shape, samples, params),
        };
        let payload = match payload {
            Ok(payload) => payload,
            // `auto` never fails where a fallback exists: a candidate that cannot encode
            // this tile is left out, and raw samples are the last resort below.
            Err(_) if choice == CodecChoice::Auto => continue,
            Err(err) => return Err(err),
        };
        if best
            .as_ref()
            .is_none_or(|b| payload.len() < b.payload.len())
        {
            best = Some(Encoded {
                codec,
                payload,
                near_lossless: None,
                klt: None,
            });
        }
    }
    // The LZ safety net, when a quick zstd pass comes near the best model.
    let best_len = best.as_ref().map_or(samples.len(), |b| b.payload.len());
    if choice == CodecChoice::Auto && !constant && lz::worth_trying(samples, best_len) {
        if let Ok(payload) = lz::encode(samples, params.effort) {
            if payload.len() < best_len {
                best = Some(Encoded {
                    codec: CodecId::Lz,
                    payload,
                    near_lossless: None,
                    klt: None,
                });
            }
        }
    }
    match best {
        Some(best) if choice != CodecChoice::Auto || best.payload.len() < samples.len() => Ok(best),
        _ => Ok(raw(samples)),
    }
}

/// The raw codec's tile: the samples as they are.
fn raw(samples: &[u8]) -> Encoded {
    Encoded {
        codec: CodecId::Raw,
        payload: samples.to_vec(),
        near_lossless: None,
        klt: None,
    }
}

/// [`encode_best`] of a float tile within a near-lossless bound: the tile is first moved
/// onto each band's lattice ([`float::near_lossless`]), then coded losslessly by the float
/// codec in that lattice's domain (`auto`: or by constant, LZ or raw, which lose nothing
/// more), then decoded and checked against the source samples.
fn encode_float_near_lossless(
    choice: CodecChoice,
    shape: &TileShape,
    samples: &[u8],
    params: &CodecParams,
) -> Result<Encoded> {
    match choice {
        CodecChoice::Fixed(CodecId::Float) | CodecChoice::Auto => {}
        CodecChoice::Fixed(codec) => return Err(bound_refused(codec, shape.sample_type)),
    }
    let bounds = params.float_bounds(shape)?;
    let quantised = float::near_lossless::quantise(shape, samples, &bounds);
    let tile = quantised.samples.as_slice();
    let pixel_bytes = shape.bands * shape.sample_type.size();
    let constant = tile
        .chunks_exact(pixel_bytes)
        .all(|p| p == &tile[..pixel_bytes]);
    let (mut codec, mut payload) = if choice == CodecChoice::Auto && constant {
        (CodecId::Constant, tile[..pixel_bytes].to_vec())
    } else {
        let payload = float::encode_quantised(shape, tile, &quantised.steps, params.effort)?;
        (CodecId::Float, payload)
    };
    if choice == CodecChoice::Auto && !constant {
        if lz::worth_trying(tile, payload.len()) {
            if let Ok(zstd) = lz::encode(tile, params.effort) {
                if zstd.len() < payload.len() {
                    (codec, payload) = (CodecId::Lz, zstd);
                }
            }
        }
        if payload.len() >= tile.len() {
            (codec, payload) = (CodecId::Raw, tile.to_vec());
        }
    }
    let mut decoded = Vec::with_capacity(samples.len());
    decode(
        codec,
        shape,
        &payload,
        &CodecParams::default(),
        &mut decoded,
    )?;
    let max_error = float::near_lossless::check(shape, samples, &decoded, &bounds)?;
    Ok(Encoded {
        codec,
        payload,
        near_lossless: Some(NearLosslessTile {
            samples: decoded,
            max_error,
        }),
        klt: None,
    })
}

/// The codec that codes `ty` samples within a near-lossless bound: the native codec for 8-
/// and 16-bit integers (residuals quantised in its prediction loop), the float codec for
/// floats and 32-bit integers (samples quantised first, then coded losslessly).
pub fn near_lossless_codec(ty: SampleType) -> CodecId {
    if ty.is_float() || ty.is_32_bit_integer() {
        CodecId::Float
    } else {
        CodecId::Native
    }
}

/// [`encode_best`] within a near-lossless bound: the native codec, the only one that keeps
/// a bound (a fixed choice of any other is refused, and `auto` tries no other), or codecs
/// that lose nothing where they are chosen without trying: constant for a tile whose
/// pixels are all equal, raw when native comes out larger than the samples.
fn encode_near_lossless(
    choice: CodecChoice,
    shape: &TileShape,
    samples: &[u8],
    params: &CodecParams,
) -> Result<Encoded> {
    let ty = shape.sample_type;
    if near_lossless_codec(ty) == CodecId::Float {
        return encode_float_near_lossless(choice, shape, samples, params);
    }
    match choice {
        CodecChoice::Fixed(CodecId::Native) | CodecChoice::Auto => {}
        CodecChoice::Fixed(codec) => return Err(bound_refused(codec, shape.sample_type)),
    }
    if let Some(why) = CodecId::Native.unsupported_reason(ty) {
        return Err(Error::invalid(format!(
            "near-lossless coding (max error) needs the native codec (8- and 16-bit integer \
             samples) or the float codec (32-bit integer and float samples), and {why}"
        )));
    }
    let pixel_bytes = shape.bands * ty.size();
    let mut pixels = samples.chunks_exact(pixel_bytes);
    let first = pixels.next();
    if choice == CodecChoice::Auto && pixels.all(|p| Some(p) == first) {
        let payload = encode(CodecId::Constant, shape, samples, &CodecParams::default())?;
        return Ok(Encoded {
            codec: CodecId::Constant,
            payload,
            near_lossless: None,
            klt: None,
        });
    }
    let bounds = params.bounds(shape)?;
    let (payload, near_lossless) = native::encode_checked(shape, samples, params.effort, &bounds)?;
    if choice == CodecChoice::Auto && payload.len() >= samples.len() {
        return Ok(raw(samples));
    }
    Ok(Encoded {
        codec: CodecId::Native,
        payload,
        near_lossless,
        klt: None,
    })
}

/// [`encode_best`] to a relative RMSE target: the `klt` codec, the only one that codes to
/// one, on every tile (a fixed choice of any other is refused), refined to the
/// near-lossless bounds when there are some. Even a constant tile goes through it, so that
/// every tile's error is measured the same way.
fn encode_klt(
    choice: CodecChoice,
    shape: &TileShape,
    samples: &[u8],
    params: &CodecParams,
    target: f64,
) -> Result<Encoded> {
    match choice {
        CodecChoice::Fixed(CodecId::Klt) | CodecChoice::Auto => {}
        CodecChoice::Fixed(codec) => return Err(target_refused(codec)),
    }
    let bounds = params.klt_refinement(shape)?;
    let (payload, tile) = klt::encode(shape, samples, params.effort, target, bounds.as_ref())?;
    Ok(Encoded {
        codec: CodecId::Klt,
        payload,
        near_lossless: None,
        klt: Some(tile),
    })
}
