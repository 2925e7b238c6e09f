//! geoembed: the converter library. It moves rasters between GDAL, GeoTessera `.npy` tiles
//! and `.emb` files around the `geoembed-codec` crate, with no user interface of its own:
//! options come in as values ([`EncodeOptions`]), progress goes out through a caller's
//! [`Progress`], problems come back as an [`Error`] naming the file. The `geoembed`
//! binary (crate `geoembed-cli`), the GDAL plugin and a Python binding sit on top.
//!
//! The folders follow the pipeline: [`read`] (sources of samples), [`encode`] and
//! [`decode`] (the pipelines), [`write`](mod@write) (outputs: staged `.emb`, sidecar, GDAL formats,
//! pictures). GDAL is optional (`gdal` feature, on by default): without it the library
//! still encodes any [`RasterSource`] (a `.emb`, memory, a GeoTessera tile) to a `.emb`
//! with its STAC sidecar, atomically.

mod calendar;
pub mod encode;
pub mod error;
pub mod fidelity;
pub mod info;
pub mod metadata;
pub mod options;
pub mod progress;
pub mod read;
pub mod verify;
pub mod write;

#[cfg(feature = "gdal")]
pub mod decode;
pub mod dequantize;
#[cfg(feature = "gdal")]
pub mod gdal;

pub use encode::{encode_stream, encode_to_emb, encode_to_emb_with, EncodeReport};
pub use error::{Error, ErrorKind, OptionKey, Result};
pub use fidelity::measure_fidelity;
pub use geoembed_codec::Limits;
pub use options::{
    parse_batch_memory, parse_codec, parse_effort, parse_limits, parse_max_error, parse_quality,
    parse_recipe, parse_rel_rmse, parse_transform_target, quality_of_rel_rmse, quality_rel_rmse,
    DecodeOptions, EncodeOptions, TileSize, DEFAULT_BATCH_BYTES, QUALITY_ANCHORS,
};
pub use progress::{NoProgress, Progress, Stage};
pub use read::{EmbFile, MemSource, RasterSource, TesseraSource};
