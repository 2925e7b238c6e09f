//! geoembed-codec: lossless codecs and the `.emb` container for multichannel rasters.
//!
//! * [`codec`] is the "wrapped" API: one tile of samples in, one payload out, for hosts that
//!   keep their own container.
//! * [`container`] is the "standalone" API: the `.emb` file (preamble, tile index, header,
//!   payloads), read from any `Read + Seek` and written to any `Write + Seek`.
//!
//! The crate does no file-system or GDAL I/O; the `geoembed` crate does.

#[cfg(target_endian = "big")]
compile_error!("geoembed-codec reads and writes sample buffers in native byte order and supports little-endian targets only");

pub mod codec;
pub mod container;
mod entropy;
pub mod error;
pub mod limits;
pub mod sample;
pub mod transform;

pub use codec::{CodecChoice, CodecId, CodecParams, Effort, TileShape};
pub use container::header::Header;
pub use error::{Error, ErrorKind, Result};
pub use limits::Limits;
pub use sample::SampleType;
