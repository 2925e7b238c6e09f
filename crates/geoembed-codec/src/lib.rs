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

// The API, by stage. Callers name these from the crate root; the module paths behind them
// are an implementation detail and may move.
pub use codec::{
    auto_candidates, decode as decode_tile, encode as encode_tile, encode_best, CodecChoice,
    CodecId, CodecParams, Effort, Encoded, TileShape,
};
pub use container::dequantize::{dequantize, scale_plane};
pub use container::header::{
    AuxPlane, BandInfo, ColorEntry, Dequantization, Gcp, Georef, Header, MetadataDomain, Srs,
};
pub use container::preamble::MAGIC;
pub use container::reader::{decode_block, decode_block_into, locate_block, tile_name};
pub use container::window::{Interleave, Window, WindowLayout};
pub use container::writer::{block_shape, encode_block, EncodedBlock};
pub use container::{IndexEntry, Reader, Writer};
pub use error::{Error, ErrorKind, Result};
pub use limits::Limits;
pub use sample::SampleType;
pub use transform::decorrelate::{fit as fit_decorrelation, Decorrelation, DecorrelationGroup};
