//! The geoembed converter: GDAL and GeoTessera I/O around the `geoembed-codec` crate, and
//! the `geoembed` command line.

pub mod atomic;
pub mod cli;
pub mod commands;
pub mod decode;
pub mod emb_file;
pub mod encode;
pub mod error;
pub mod gdal_read;
pub mod gdal_util;
pub mod gdal_write;
pub mod mem_source;
pub mod npy;
pub mod progress;
pub mod rgba_dataset;
pub mod sidecar;
pub mod source;
pub mod tessera;
pub mod view;

pub use commands::run;
