//! Option types shared by every front end (the CLI, the GDAL plugin, Python): parsed from
//! text with `FromStr`-like functions whose errors name the option only through an
//! [`OptionKey`], and checked against the input before any work starts.

use crate::error::{Error, OptionKey, Result};
use geoembed_codec::{
    check_klt_request, near_lossless_codec, CodecChoice, CodecId, Effort, Header, Limits,
    NearLossless, Recipe, TransformLoss,
};
use std::fmt;
use std::str::FromStr;

/// Bytes of samples a conversion holds at once by default: a batch of tile rows read or
/// decoded, whatever the raster's size (see [`parse_batch_memory`]).
pub const DEFAULT_BATCH_BYTES: usize = 256 << 20;

/// How to encode a `.emb`.
#[derive(Clone, Debug)]
pub struct EncodeOptions {
    pub codec: CodecChoice,
    pub effort: Effort,
    /// Tile edge; `None` picks 512 under 8 bands, else 256 (smaller for very wide pixels,
    /// longer for thin rasters and along a side that would end in a thin last tile).
    pub tile: Option<TileSize>,
    /// Replace an existing output; without it, an output that appears while encoding (a
    /// concurrent conversion) is not clobbered either.
    pub overwrite: bool,
    /// Bytes of raw samples read and encoded per batch: bounds memory at any raster size.
    pub batch_bytes: usize,
    /// How a float raster's values were dequantised from integer codes, when known: the
    /// `dequant` codec is then always tried, and checks it sample by sample.
    pub recipe: Option<Recipe>,
    /// Near-lossless: the largest absolute error allowed, in the samples' value units, one
    /// value for every band or one per band (empty, or all 0: lossless, the default). The
    /// native codec keeps it on 8/16-bit integers (whole numbers), the float codec on
    /// float32/64 rasters.
    pub max_error: Vec<f64>,
    /// LOSSY transform coding (the `klt` codec): every tile's relative RMSE
    /// `||x − x̂|| / ||x||` against the source values (`None`: lossless, the default). A
    /// raster with a dequantisation recipe is coded as its values, to a float32 `.emb`.
    pub rel_rmse: Option<f64>,
    /// The quality `rel_rmse` was mapped from ([`quality_rel_rmse`]), when a front end took
    /// a quality: only errors use it, to name the option the user gave.
    pub quality: Option<u32>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            codec: CodecChoice::Auto,
            effort: Effort::Default,
            tile: None,
            overwrite: false,
            batch_bytes: DEFAULT_BATCH_BYTES,
            recipe: None,
            max_error: Vec::new(),
            rel_rmse: None,
            quality: None,
        }
    }
}

/// How to write a `.emb` out to a GDAL format.
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// GDAL driver short name; `None` picks one from the output's extension (else GTiff).
    pub format: Option<String>,
    /// GDAL creation options `KEY=VALUE`, after (and overriding) geoembed's defaults.
    pub creation_options: Vec<String>,
    /// Write physical float32 values following the file's dequantisation recipe.
    pub dequantize: bool,
    /// Threads GDAL may use to compress (GeoTIFF's NUM_THREADS); 0 = as many as rayon's.
    pub threads: usize,
    /// Write to a lossy format (JPEG, lossy WebP, ...) although the output will not be
    /// bit-exact; refused otherwise.
    pub allow_lossy: bool,
    /// Replace an existing output (else it is never clobbered, even by a race).
    pub overwrite: bool,
    /// Bytes of decoded samples per batch: bounds memory at any raster size.
    pub batch_bytes: usize,
    /// What the input `.emb` may declare (decoded tile size, header, index...).
    pub limits: Limits,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            format: None,
            creation_options: Vec::new(),
            dequantize: false,
            threads: 0,
            allow_lossy: false,
            overwrite: false,
            batch_bytes: DEFAULT_BATCH_BYTES,
            limits: Limits::default(),
        }
    }
}

/// Smallest batch accepted: below it, per-call overheads dominate.
const MIN_BATCH_BYTES: u64 = 1 << 20;

/// Parses a batch memory size (`512M`, `1G`, `268435456`): at least 1 MiB.
pub fn parse_batch_memory(s: &str) -> Result<usize> {
    let bytes = geoembed_codec::parse_byte_size(s).ok_or_else(|| {
        Error::invalid_option(
            OptionKey::BatchMemory,
            s,
            "give a size in bytes, optionally with K, M or G (512M)",
        )
    })?;
    if bytes < MIN_BATCH_BYTES {
        let why = format!("give at least {MIN_BATCH_BYTES} bytes (1M)");
        return Err(Error::invalid_option(OptionKey::BatchMemory, s, why));
    }
    usize::try_from(bytes)
        .map_err(|_| Error::invalid_option(OptionKey::BatchMemory, s, "too large"))
}

/// Parses reader limits `KEY=VALUE` (`max_tile_bytes=512M`) over the defaults.
pub fn parse_limits<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Result<Limits> {
    let mut limits = Limits::default();
    for item in items {
        let item = item.as_ref();
        let Some((key, value)) = item.split_once('=') else {
            let why = "write it as KEY=VALUE (max_tile_bytes=512M)";
            return Err(Error::invalid_option(OptionKey::Limit, item, why));
        };
        limits
            .set(key.trim(), value.trim())
            .map_err(|e| Error::invalid_option(OptionKey::Limit, item, e.message()))?;
    }
    Ok(limits)
}

/// A square tile's edge in pixels, from [`TileSize::MIN`] to [`TileSize::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TileSize(u32);

impl TileSize {
    pub const MIN: u32 = 16;
    pub const MAX: u32 = 8192;

    pub fn new(edge: u32) -> Result<Self> {
        if (Self::MIN..=Self::MAX).contains(&edge) {
            Ok(TileSize(edge))
        } else {
            Err(Error::invalid_option(
                OptionKey::TileSize,
                edge.to_string(),
                format!(
                    "give a tile edge from {} to {} pixels",
                    Self::MIN,
                    Self::MAX
                ),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for TileSize {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let edge = s.trim().parse::<u32>().map_err(|_| {
            Error::invalid_option(OptionKey::TileSize, s, "give a whole number of pixels")
        })?;
        TileSize::new(edge).map_err(|e| relabel_value(e, s))
    }
}

impl fmt::Display for TileSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Keeps the text the user typed as the option's value.
fn relabel_value(e: Error, typed: &str) -> Error {
    match e.kind() {
        crate::ErrorKind::InvalidOption(key) => Error::invalid_option(key, typed, e.message()),
        _ => e,
    }
}

/// Parses a codec choice (`auto`, `native`, `png128`, ...; case-insensitive).
pub fn parse_codec(s: &str) -> Result<CodecChoice> {
    s.trim()
        .parse()
        .map_err(|e: geoembed_codec::Error| Error::invalid_option(OptionKey::Codec, s, e))
}

/// Parses a dequantisation recipe (`tessera`, `alphaearth`, `power:DIVISOR:EXPONENT`).
pub fn parse_recipe(s: &str) -> Result<Recipe> {
    s.trim()
        .parse()
        .map_err(|e: geoembed_codec::Error| Error::invalid_option(OptionKey::Recipe, s, e))
}

/// Parses a near-lossless bound in value units: one for every band (`2`, `0.01`) or one
/// per band (`0,2,2`). Whether it must be a whole number depends on the raster
/// ([`EncodeOptions::validate`]).
pub fn parse_max_error(s: &str) -> Result<Vec<f64>> {
    let parse = |v: &str| {
        let bound = v.trim().parse::<f64>().ok();
        bound.filter(|e| e.is_finite() && *e >= 0.0).ok_or_else(|| {
            let why = "give a non-negative number, or one per band separated by commas";
            Error::invalid_option(OptionKey::MaxError, s, why)
        })
    };
    s.split(',').map(parse).collect()
}

/// Parses a relative RMSE target: a fraction (`0.05`) or a percentage (`5%`).
pub fn parse_rel_rmse(s: &str) -> Result<f64> {
    let text = s.trim();
    let (number, divisor) = match text.strip_suffix('%') {
        Some(percent) => (percent, 100.0),
        None => (text, 1.0),
    };
    let value = number.trim().parse::<f64>().map_err(|_| {
        let why = "give a fraction such as 0.05, or a percentage such as 5%";
        Error::invalid_option(OptionKey::RelRmse, s, why)
    })?;
    Ok(value / divisor)
}

/// `--quality`'s anchors: (quality, relative RMSE target). Between two anchors the target is
/// interpolated log-linearly: for `q0 ≤ Q ≤ q1`, `R = r0 · (r1 / r0)^((Q − q0) / (q1 − q0))`.
/// Q = 50 is 5%; every 25 points between 25 and 75 halve (or double) it.
pub const QUALITY_ANCHORS: [(u32, f64); 7] = [
    (1, 0.30),
    (10, 0.20),
    (25, 0.10),
    (50, 0.05),
    (75, 0.025),
    (90, 0.01),
    (100, 0.005),
];

/// The relative RMSE target of a quality from 1 (smallest file) to 100 (closest to the
/// source), by [`QUALITY_ANCHORS`]; exactly the anchor's value at an anchor. `None` outside
/// 1..=100.
pub fn quality_rel_rmse(quality: u32) -> Option<f64> {
    let pair = QUALITY_ANCHORS
        .windows(2)
        .find(|w| (w[0].0..=w[1].0).contains(&quality))?;
    let ((q0, r0), (q1, r1)) = (pair[0], pair[1]);
    Some(match quality {
        q if q == q0 => r0,
        q if q == q1 => r1,
        q => r0 * (r1 / r0).powf(f64::from(q - q0) / f64::from(q1 - q0)),
    })
}

/// The quality whose target is exactly `rel_rmse`, if there is one (a file's `loss` chunk
/// records the target; `geoembed info` shows the quality it equals).
pub fn quality_of_rel_rmse(rel_rmse: f64) -> Option<u32> {
    (1..=100).find(|&q| quality_rel_rmse(q) == Some(rel_rmse))
}

/// Parses a quality: a whole number from 1 to 100.
pub fn parse_quality(s: &str) -> Result<u32> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|q| (1..=100).contains(q))
        .ok_or_else(|| {
            let why = "give a whole number from 1 (smallest file) to 100 (closest to the source)";
            Error::invalid_option(OptionKey::Quality, s, why)
        })
}

/// The transform coding target from a relative RMSE and a quality as typed, at most one of
/// them: `(rel_rmse, quality)`, the quality mapped by [`quality_rel_rmse`].
pub fn parse_transform_target(
    rel_rmse: Option<&str>,
    quality: Option<&str>,
) -> Result<(Option<f64>, Option<u32>)> {
    match (rel_rmse, quality) {
        (Some(_), Some(q)) => Err(Error::invalid_option(
            OptionKey::Quality,
            q,
            "give --quality or --rel-rmse, not both (each sets the transform's target)",
        )),
        (Some(r), None) => Ok((Some(parse_rel_rmse(r)?), None)),
        (None, Some(q)) => {
            let q = parse_quality(q)?;
            Ok((quality_rel_rmse(q), Some(q)))
        }
        (None, None) => Ok((None, None)),
    }
}

/// Parses an effort level (`fast`, `default`, `max`; case-insensitive).
pub fn parse_effort(s: &str) -> Result<Effort> {
    s.trim()
        .parse()
        .map_err(|e: geoembed_codec::Error| Error::invalid_option(OptionKey::Effort, s, e))
}

impl EncodeOptions {
    /// The near-lossless bounds for a raster of `bands` bands, if any is nonzero (a zero
    /// bound writes the lossless file, byte for byte).
    pub fn near_lossless(&self, bands: usize) -> Option<NearLossless> {
        if self.max_error.iter().all(|&e| e == 0.0) {
            return None;
        }
        let max_error = match self.max_error.as_slice() {
            [one] => vec![*one; bands],
            per_band => per_band.to_vec(),
        };
        Some(NearLossless {
            achieved: vec![None; max_error.len()],
            max_error,
        })
    }

    /// The `loss` record of a transform-coded file, if a target was given.
    pub fn transform_loss(&self) -> Option<TransformLoss> {
        self.rel_rmse.map(|target_rel_rmse| TransformLoss {
            target_rel_rmse,
            achieved: None,
        })
    }

    /// A target in (0, 1), on a raster of enough bands, with a codec that codes to it, and
    /// no recipe beside it (a bound beside it refines the transform: see
    /// [`EncodeOptions::validate_max_error`]).
    fn validate_rel_rmse(&self, header: &Header) -> Result<()> {
        let Some(target) = self.rel_rmse else {
            return match self.codec {
                CodecChoice::Fixed(CodecId::Klt) => Err(Error::invalid_option(
                    OptionKey::Codec,
                    "klt",
                    "klt is lossy and codes to a target: give --rel-rmse R (0.05 is 5%) or --quality Q (1 to 100)",
                )),
                _ => Ok(()),
            };
        };
        // Named as the user gave it: a quality, or the target itself.
        let bad = |why: String| {
            Err(match self.quality {
                Some(q) => Error::invalid_option(OptionKey::Quality, q.to_string(), why),
                None => Error::invalid_option(OptionKey::RelRmse, target.to_string(), why),
            })
        };
        if let Err(e) = check_klt_request(header.bands.len(), target) {
            return bad(e.message().to_string());
        }
        if self.recipe.is_some() {
            return bad(
                "a recipe describes a lossless dequant coding; transform coding fits the values"
                    .into(),
            );
        }
        match self.codec {
            CodecChoice::Fixed(id) if id != CodecId::Klt => bad(format!(
                "codec {id} is lossless; transform coding needs --codec klt or auto"
            )),
            _ => Ok(()),
        }
    }

    /// A bound per band (or one), on 8- or 16-bit integers (whole numbers) or floats, with
    /// a codec that keeps it: near-lossless alone, or beside a transform target the `klt`
    /// codec, which refines its tiles to it (not on codes with a dequantisation recipe,
    /// whose transform codes their values while the bound would be in codes).
    fn validate_max_error(&self, header: &Header) -> Result<()> {
        let Some(n) = self.near_lossless(header.bands.len()) else {
            return Ok(());
        };
        let text = || {
            let values: Vec<String> = self.max_error.iter().map(f64::to_string).collect();
            values.join(",")
        };
        let bad = |why: String| Err(Error::invalid_option(OptionKey::MaxError, text(), why));
        let bands = header.bands.len();
        if n.max_error.len() != bands {
            return bad(format!(
                "{} bounds for {bands} bands: give one for every band, or one per band",
                n.max_error.len()
            ));
        }
        let ty = header.sample_type;
        let keeper = near_lossless_codec(ty);
        if let Some(why) = keeper.unsupported_reason(ty) {
            return bad(format!(
                "near-lossless coding needs the native codec (8- and 16-bit integers) or the \
                 float codec (32-bit integers and floats), and {why}"
            ));
        }
        if !ty.is_float()
            && n.max_error
                .iter()
                .any(|e| e.fract() != 0.0 || *e > u32::MAX as f64)
        {
            return bad(format!(
                "{ty} samples need a whole-number bound (fractions are for float rasters)"
            ));
        }
        if self.rel_rmse.is_some() {
            return self.validate_refinement(header, bad);
        }
        match self.codec {
            CodecChoice::Fixed(id) if id != keeper => bad(format!(
                "codec {id} is lossless only; near-lossless coding of {ty} needs --codec {keeper} \
                 or auto"
            )),
            _ => Ok(()),
        }
    }

    /// A bound beside a transform target (`validate_rel_rmse` checks the codec): not on
    /// codes with a dequantisation recipe, which are transform-coded as their values.
    fn validate_refinement(
        &self,
        header: &Header,
        bad: impl Fn(String) -> Result<()>,
    ) -> Result<()> {
        let flag = match self.quality {
            Some(_) => "--quality",
            None => "--rel-rmse",
        };
        let ty = header.sample_type;
        if ty.is_32_bit_integer() {
            return bad(format!(
                "a bound beside {flag} needs 8- or 16-bit integer or float samples: the klt \
                 codec cannot refine {ty} samples to one (--max-error alone can bound them)"
            ));
        }
        match header.dequantization {
            Some(_) => bad(format!(
                "a bound beside {flag} cannot be kept on codes with a dequantisation recipe \
                 (GeoTessera codes with their scales): the transform codes their values \
                 (code x scale) while the bound is in codes; give one of them, or convert \
                 the codes without their scales"
            )),
            None => Ok(()),
        }
    }

    /// Checks the options against the raster about to be encoded: the codec against its
    /// sample type and band count, the tile against the largest tile a reader accepts.
    pub fn validate(&self, header: &Header) -> Result<()> {
        if let CodecChoice::Fixed(id) = self.codec {
            if let Some(why) = id.unsupported_reason(header.sample_type) {
                return Err(Error::invalid_option(OptionKey::Codec, id.name(), why));
            }
            if id.needs_decorrelation() && header.bands.len() < 2 {
                return Err(Error::invalid_option(
                    OptionKey::Codec,
                    id.name(),
                    format!("{id} needs at least two bands"),
                ));
            }
        }
        if let Some(recipe) = self.recipe {
            if !header.sample_type.is_float() {
                return Err(Error::invalid_option(
                    OptionKey::Recipe,
                    format!("{recipe:?}"),
                    format!(
                        "a recipe describes float rasters dequantised from codes; this one holds {}",
                        header.sample_type
                    ),
                ));
            }
        }
        self.validate_max_error(header)?;
        self.validate_rel_rmse(header)?;
        if let Some(t) = self.tile {
            let edge = |n: u32| u64::from(t.get().min(n.max(1)));
            let pixel = (header.bands.len() * header.sample_type.size()) as u64;
            let bytes = edge(header.width) * edge(header.height) * pixel;
            let limit = Limits::default().max_tile_bytes;
            if bytes > limit {
                return Err(Error::invalid_option(
                    OptionKey::TileSize,
                    t.to_string(),
                    format!(
                        "a tile of this {}-band {} raster would hold {bytes} bytes, over the {limit} a reader accepts; choose a smaller tile",
                        header.bands.len(),
                        header.sample_type
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use geoembed_codec::{CodecId, SampleType};

    #[test]
    fn codecs_and_efforts_parse_case_insensitively_with_neutral_messages() {
        assert_eq!(parse_codec("AUTO").unwrap(), CodecChoice::Auto);
        assert_eq!(
            parse_codec("Png128").unwrap(),
            CodecChoice::Fixed(CodecId::Png128)
        );
        assert_eq!(parse_effort("MAX").unwrap(), Effort::Max);
        let e = parse_codec("zip").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption(OptionKey::Codec));
        assert_eq!(e.option_value(), Some("zip"));
        assert!(
            e.message()
                .starts_with("unknown codec 'zip'; choose auto or one of "),
            "{e}"
        );
        let e = parse_effort("ultra").unwrap_err();
        assert_eq!(
            e.to_string(),
            "effort ultra: unknown effort level 'ultra'; choose fast, default or max"
        );
    }

    #[test]
    fn quality_maps_to_the_documented_rel_rmse() {
        // The anchors exactly, log-linear between them.
        for (q, r) in QUALITY_ANCHORS {
            assert_eq!(quality_rel_rmse(q), Some(r));
            assert_eq!(quality_of_rel_rmse(r), Some(q));
        }
        let q60 = quality_rel_rmse(60).unwrap();
        assert!(
            (q60 - 0.05 * 0.5f64.powf(10.0 / 25.0)).abs() < 1e-15,
            "{q60}"
        );
        assert!((quality_rel_rmse(95).unwrap() - 0.01 * 0.5f64.sqrt()).abs() < 1e-15);
        let targets: Vec<f64> = (1..=100).map(|q| quality_rel_rmse(q).unwrap()).collect();
        assert!(targets.windows(2).all(|w| w[1] < w[0]), "higher is better");
        assert_eq!(quality_rel_rmse(0), None);
        assert_eq!(quality_rel_rmse(101), None);
        assert_eq!(quality_of_rel_rmse(0.0123), None);
    }

    #[test]
    fn quality_and_rel_rmse_are_one_target() {
        assert_eq!(
            parse_transform_target(None, Some("90")).unwrap(),
            (Some(0.01), Some(90))
        );
        assert_eq!(
            parse_transform_target(Some("5%"), None).unwrap(),
            (Some(0.05), None)
        );
        assert_eq!(parse_transform_target(None, None).unwrap(), (None, None));
        let e = parse_transform_target(Some("0.05"), Some("90")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "quality 90: give --quality or --rel-rmse, not both (each sets the transform's target)"
        );
        for bad in ["0", "101", "high", "90.5", "-3"] {
            let e = parse_transform_target(None, Some(bad)).unwrap_err();
            assert_eq!(
                e.kind(),
                ErrorKind::InvalidOption(OptionKey::Quality),
                "{bad}"
            );
        }
        // Validation names the quality the user gave, not the target it maps to.
        let o = EncodeOptions {
            rel_rmse: quality_rel_rmse(50),
            quality: Some(50),
            ..Default::default()
        };
        let e = o
            .validate(&Header::new(10, 10, 1, SampleType::F32))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption(OptionKey::Quality));
        assert_eq!(e.option_value(), Some("50"));
    }

    #[test]
    fn a_bound_beside_a_target_refines_it_except_on_dequantised_codes() {
        let both = EncodeOptions {
            rel_rmse: Some(0.05),
            max_error: vec![2.0],
            ..Default::default()
        };
        assert!(both
            .validate(&Header::new(10, 10, 128, SampleType::I8))
            .is_ok());
        assert!(both
            .validate(&Header::new(10, 10, 4, SampleType::F32))
            .is_ok());
        let e = both
            .validate(&Header::new(10, 10, 4, SampleType::I32))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption(OptionKey::MaxError));
        let mut codes = Header::new(10, 10, 128, SampleType::I8);
        codes.dequantization = Some(geoembed_codec::Dequantization::PerPixelScale { aux_plane: 0 });
        codes.aux_planes.push(geoembed_codec::AuxPlane {
            name: "scales".into(),
            sample_type: SampleType::F32,
            bands: 1,
            description: String::new(),
        });
        let e = both.validate(&codes).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption(OptionKey::MaxError));
        assert!(
            e.to_string().starts_with(
                "max error 2: a bound beside --rel-rmse cannot be kept on codes with a \
                 dequantisation recipe"
            ),
            "{e}"
        );
    }

    #[test]
    fn tile_sizes_are_bounded_and_keep_the_typed_text() {
        assert_eq!("256".parse::<TileSize>().unwrap().get(), 256);
        let e = "8".parse::<TileSize>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption(OptionKey::TileSize));
        assert_eq!(
            e.to_string(),
            "tile size 8: give a tile edge from 16 to 8192 pixels"
        );
        let e = "big".parse::<TileSize>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "tile size big: give a whole number of pixels"
        );
    }

    #[test]
    fn validation_checks_the_codec_and_tile_against_the_raster() {
        let float = Header::new(100, 100, 1, SampleType::F32);
        let png128 = EncodeOptions {
            codec: parse_codec("png128").unwrap(),
            ..Default::default()
        };
        assert!(png128.validate(&float).is_ok());
        let decorrelate = EncodeOptions {
            codec: parse_codec("decorrelate+png128").unwrap(),
            ..Default::default()
        };
        let one_band = Header::new(100, 100, 1, SampleType::U8);
        let e = decorrelate.validate(&one_band).unwrap_err();
        assert_eq!(
            e.to_string(),
            "codec decorrelate+png128: decorrelate+png128 needs at least two bands"
        );
        let wide = Header::new(8192, 8192, 1000, SampleType::F64);
        let big_tiles = EncodeOptions {
            tile: Some(TileSize::new(8192).unwrap()),
            ..Default::default()
        };
        let e = big_tiles.validate(&wide).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption(OptionKey::TileSize));
        assert!(
            big_tiles
                .validate(&Header::new(100, 100, 3, SampleType::U8))
                .is_ok(),
            "a tile larger than a small raster is one tile"
        );
    }
}
