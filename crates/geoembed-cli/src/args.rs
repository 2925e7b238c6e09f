//! The command line as clap parses it. Vocabulary follows GDAL: `-of`, `-co`, `-q`.
//! Values stay text here: the library parses them, so that a bad value is reported the
//! same way as every other error (one line, exit code 1) with the flag named.

use clap::{Args, Parser, Subcommand};
use geoembed::read::view::ViewKind;
use std::path::PathBuf;

/// `--codec`'s help: `auto`, then every codec a user may name, as the codec crate lists them.
pub fn codec_help() -> String {
    let names: Vec<&str> = geoembed_codec::CodecChoice::selectable()
        .map(|c| c.name())
        .collect();
    format!(
        "Tile codec: auto (smallest per tile), or one of {}",
        names.join(", ")
    )
}

#[derive(Parser, Debug)]
#[command(
    name = "geoembed",
    version,
    about = "Lossless, compact storage for multichannel geospatial rasters (.emb)"
)]
pub struct Cli {
    /// Quiet: no progress bar, no summary lines.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Worker threads for encoding and decoding tiles (default: all cores).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Raise or lower a limit on what a .emb may declare (repeatable): max_tile_bytes
    /// (128M), max_header_bytes (32M), max_metadata_items (1048576), max_blocks (4194304),
    /// max_bands (65536), max_aux_planes (16), max_width, max_height (16777216).
    #[arg(long = "limit", value_name = "KEY=VALUE", global = true)]
    pub limits: Vec<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Convert any GDAL raster or GeoTessera tile to .emb, or a .emb to any GDAL format.
    Convert(ConvertArgs),
    /// Describe a .emb file like gdalinfo, plus codec, size and ratio of every tile.
    Info(InfoArgs),
    /// Decode every tile and check every checksum; names any bad tile.
    Verify(VerifyArgs),
    /// Compare codecs on rasters: size, ratio, bits/sample, encode/decode MB/s, exactness;
    /// with --lossy, a LOSSY rate-distortion table (size against error per lossy level).
    Bench(BenchArgs),
    /// Render a PNG of a raster: three bands, or the first three principal components.
    Preview(PreviewArgs),
    /// Write an XYZ PNG tile pyramid in Web Mercator (for QGIS and web maps).
    Tiles(TilesArgs),
}

/// What to draw (shared by `preview` and `tiles`).
#[derive(Args, Debug)]
pub struct ViewArgs {
    /// A .emb file or any GDAL raster.
    pub input: String,
    /// Show the first three principal components as red, green, blue (default for more
    /// than three bands).
    #[arg(long, conflicts_with = "bands")]
    pub pca: bool,
    /// Show these bands as red, green, blue (1-based, e.g. 4,3,2; one number for grey).
    #[arg(long)]
    pub bands: Option<String>,
}

impl ViewArgs {
    pub fn kind(&self) -> geoembed::Result<ViewKind> {
        Ok(match (&self.bands, self.pca) {
            (Some(b), _) => b.parse()?,
            (None, true) => ViewKind::Pca,
            (None, false) => ViewKind::Auto,
        })
    }
}

#[derive(Args, Debug)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub view: ViewArgs,
    /// Output PNG.
    pub output: PathBuf,
    /// Longest edge of the picture in pixels (shrunk by box averaging).
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Replace the output if it exists.
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Args, Debug)]
pub struct TilesArgs {
    #[command(flatten)]
    pub view: ViewArgs,
    /// Output directory (OUTDIR/z/x/y.png).
    pub outdir: PathBuf,
    /// Zoom levels MIN-MAX (default: from the zoom where the raster fits one tile to the
    /// first zoom at least as fine as its pixels).
    #[arg(long)]
    pub zoom: Option<String>,
    /// Replace the output directory if it exists.
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input: a GDAL raster (GeoTIFF, NetCDF incl. NETCDF:"f.nc":var, VRT, GRIB, Zarr, ...),
    /// a GeoTessera .npy tile (with --scales), or a .emb file.
    pub input: String,
    /// Output: a .emb file, or any GDAL raster when the input is .emb.
    pub output: PathBuf,
    /// Tile codec (the list comes from the codec crate, so it names every codec).
    #[arg(long, default_value = "auto", help = codec_help())]
    pub codec: String,
    /// Effort: fast, default, max (deflate level, JPEG XL effort, codecs tried by auto).
    #[arg(long, default_value = "default")]
    pub effort: String,
    /// Near-lossless (LOSSY) .emb: every sample decodes within E of the source, in value
    /// units (one E, or one per band: 2, 0,2,2 or 0.01), nodata exact; integers take a whole
    /// E (8/16-bit: native codec; 32-bit: float codec), floats any (float codec). Default 0:
    /// lossless. With
    /// --rel-rmse or --quality: the transform's tiles are refined so that every sample is
    /// within E too (not on int8 codes given --scales).
    #[arg(long, value_name = "E")]
    pub max_error: Option<String>,
    /// Transform-coded (LOSSY) .emb of a many-band raster: each tile's relative RMSE
    /// ||x - x'|| / ||x|| is R (0.05 or 5%); int8 codes with per-pixel scales are coded as
    /// their float32 values (the output has no scale plane). With --max-error E, every
    /// sample is also within E (a bound refining the transform). Default: lossless.
    #[arg(long, value_name = "R")]
    pub rel_rmse: Option<String>,
    /// Transform-coded (LOSSY) .emb, as --rel-rmse but as a quality Q from 1 (smallest file)
    /// to 100 (closest to the source), a whole number mapped to the rel-RMSE target R:
    /// 1 -> 30%, 10 -> 20%, 25 -> 10%, 50 -> 5%, 75 -> 2.5%, 90 -> 1%, 100 -> 0.5%, and
    /// log-linear between two of these anchors (q0, r0) and (q1, r1):
    /// R = r0 * (r1/r0)^((Q - q0)/(q1 - q0)). The file records R. Not with --rel-rmse.
    #[arg(long, value_name = "Q", allow_negative_numbers = true)]
    pub quality: Option<String>,
    /// Tile edge in pixels, 16 to 8192 (default 512 under 8 bands, else 256; longer along a side that would end in a thin last tile: a 300-pixel side of a 128-band raster is one tile, not 256 + 44).
    #[arg(long)]
    pub tile: Option<String>,
    /// Replace the output if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// GeoTessera: the float32 per-pixel scales .npy of the int8 tile.
    #[arg(long)]
    pub scales: Option<PathBuf>,
    /// Float rasters dequantised from integer codes: how (tessera = codes × a per-pixel
    /// scale, alphaearth = sign(q)(|q|/127.5)², power:DIVISOR:EXPONENT). The dequant codec is
    /// then always tried; it checks every sample and falls back when they do not fit.
    #[arg(long)]
    pub recipe: Option<String>,
    /// GeoTessera: a GeoTIFF (the tile's landmask) that supplies CRS and geotransform.
    #[arg(long)]
    pub georef: Option<PathBuf>,
    /// .emb → GDAL: write physical float32 values using the file's dequantisation recipe.
    #[arg(long)]
    pub dequantize: bool,
    /// .emb → GDAL: output format (GDAL driver short name); default from the extension.
    #[arg(long = "of", short = 'f', value_name = "FORMAT")]
    pub format: Option<String>,
    /// .emb → GDAL: creation option KEY=VALUE (repeatable), as gdal_translate -co.
    #[arg(long = "co", value_name = "KEY=VALUE")]
    pub creation_options: Vec<String>,
    /// .emb → GDAL: write a lossy format (JPEG, lossy WebP or JPEG 2000) although the
    /// output will not be bit-exact.
    #[arg(long)]
    pub allow_lossy: bool,
    /// Samples held at once, whatever the raster's size (a batch of tile rows; tiles
    /// being encoded or decoded come on top): e.g. 512M, 1G.
    #[arg(long, value_name = "SIZE", default_value = "256M")]
    pub batch_memory: String,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    pub file: PathBuf,
    /// Machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    pub file: PathBuf,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Lossless by default: every codec, sizes and speeds, each row checked bit-exact. \
With --lossy, a LOSSY rate-distortion table instead: the lossless auto size, then the klt transform \
at each --rel-rmse-levels target, near-lossless at each --max-error-levels bound and the transform \
refined to a bound at each --refined-levels pair, each with its \
size, size / lossless, the error reached (rel-RMSE, max abs error, mean and 1st-percentile per-pixel \
cosine, measured as `geoembed info` reports them) and encode/decode MB/s."
)]
pub struct BenchArgs {
    /// Rasters to benchmark (GDAL rasters, .npy arrays (H, W, C) or .emb files).
    #[arg(required = true)]
    pub files: Vec<String>,
    /// LOSSY rate-distortion table instead of the lossless codec comparison: klt at the
    /// --rel-rmse-levels targets, near-lossless at the --max-error-levels bounds, against
    /// the lossless auto size; one thread unless --threads N.
    #[arg(long, conflicts_with_all = ["codecs", "no_gdal", "parallel"])]
    pub lossy: bool,
    /// --lossy: relative RMSE targets of the klt transform rows (fractions or percentages).
    #[arg(
        long,
        value_name = "R,...",
        requires = "lossy",
        default_value = "0.01,0.025,0.05,0.1,0.2"
    )]
    pub rel_rmse_levels: String,
    /// --lossy: bounds of the near-lossless rows, in value units (whole numbers for
    /// integers).
    #[arg(
        long,
        value_name = "E,...",
        requires = "lossy",
        default_value = "1,2,4"
    )]
    pub max_error_levels: String,
    /// --lossy: the klt transform refined to a bound, as target:bound pairs (5%:2 is
    /// --rel-rmse 5% --max-error 2); none by default.
    #[arg(long, value_name = "R:E,...", requires = "lossy", default_value = "")]
    pub refined_levels: String,
    /// A GeoTessera int8 .npy's float32 per-pixel scales (one input file only): the tile is
    /// benchmarked as convert --scales reads it (lossy errors are of the values q x scale).
    #[arg(long)]
    pub scales: Option<PathBuf>,
    /// Codecs to compare (comma-separated); default: every codec that applies.
    #[arg(long)]
    pub codecs: Option<String>,
    /// Tile edge in pixels, 16 to 8192 (default 512 under 8 bands, else 256; longer along a side that would end in a thin last tile: a 300-pixel side of a 128-band raster is one tile, not 256 + 44).
    #[arg(long)]
    pub tile: Option<String>,
    /// Skip the GDAL GeoTIFF reference rows.
    #[arg(long)]
    pub no_gdal: bool,
    /// Also write the results as JSON to this file (`-`: to standard output, instead of
    /// the table).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// GDAL GeoTIFF references to measure beside the codecs (comma-separated: DEFLATE9,
    /// ZSTD22), each with the predictor for the type, pixel- and band-interleaved.
    #[arg(long, default_value = "DEFLATE9")]
    pub gdal: String,
    /// Timing repetitions after one warm-up run, at least (runs are repeated until they take
    /// 0.5 s together, up to 500; the median is reported; runs over 5 s are not repeated).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Also time decoding with this many threads (measurements are single-threaded).
    #[arg(long)]
    pub parallel: Option<usize>,
}
