//! geoembed-codec: lossless codecs and the `.emb` container for multichannel rasters.
//!
//! * The "wrapped" API ([`encode_tile`], [`decode_tile`], [`encode_best`]): one tile of
//!   samples in, one payload out, for hosts that keep their own container.
//! * The "standalone" API ([`Writer`], [`encode_block`], [`Reader`], [`decode_block`]): the
//!   `.emb` file (preamble, tile index, header, payloads), read from any `Read + Seek` and
//!   written to any `Write + Seek`.
//!
//! Everything a caller needs is re-exported here; the modules [`codec`], [`container`] and
//! [`transform`] stay public only for the few items that have no better home (the float
//! codec's per-tile summary, PNG128 on raw words, the container's module paths).
//!
//! The crate does no file-system or GDAL I/O; the `geoembed` crate does.
//!
//! # Example
//!
//! A three-band 8-bit raster of 40 × 30 pixels in 16 × 16 tiles, written to memory and read
//! back:
//!
//! ```
//! use geoembed_codec::{encode_block, CodecChoice, Effort, Header, Reader, SampleType, Writer};
//! use std::io::Cursor;
//!
//! let (width, height, bands) = (40u32, 30u32, 3usize);
//! let mut header = Header::new(width, height, bands, SampleType::U8);
//! header.tile_width = 16;
//! header.tile_height = 16;
//! // Pixel-interleaved samples of the whole raster: band b of pixel (x, y).
//! let sample = |x: u32, y: u32, b: usize| (x * 3 + y * 5 + b as u32 * 40) as u8;
//!
//! let mut writer = Writer::new(Cursor::new(Vec::new()), header.clone())?;
//! for ty in 0..header.tiles_down() {
//!     for tx in 0..header.tiles_across() {
//!         let (x0, y0, w, h) = header.tile_rect(tx, ty);
//!         let mut tile = Vec::new();
//!         for y in y0..y0 + h {
//!             for x in x0..x0 + w {
//!                 tile.extend((0..bands).map(|b| sample(x, y, b)));
//!             }
//!         }
//!         let block = encode_block(&header, 0, tx, ty, &tile, CodecChoice::Auto, Effort::Default)?;
//!         writer.write_block(0, tx, ty, &block)?;
//!     }
//! }
//! let file = writer.finish()?.into_inner();
//!
//! let mut reader = Reader::open(Cursor::new(file))?;
//! assert_eq!(reader.header().band_count(), bands);
//! for ty in 0..header.tiles_down() {
//!     for tx in 0..header.tiles_across() {
//!         let (x0, y0, w, h) = header.tile_rect(tx, ty);
//!         let tile = reader.read_block(0, tx, ty)?;
//!         let mut samples = tile.iter();
//!         for y in y0..y0 + h {
//!             for x in x0..x0 + w {
//!                 for b in 0..bands {
//!                     assert_eq!(*samples.next().unwrap(), sample(x, y, b));
//!                 }
//!             }
//!         }
//!     }
//! }
//! # Ok::<(), geoembed_codec::Error>(())
//! ```

#![warn(missing_docs)]
#![warn(unreachable_pub)]
#![warn(clippy::too_many_lines)]

#[cfg(target_endian = "big")]
compile_error!("geoembed-codec reads and writes sample buffers in native byte order and supports little-endian targets only");

mod allocation;
pub mod codec;
pub mod container;
mod entropy;
mod error;
mod limits;
mod sample;
pub mod transform;
mod word_hash;

// The unit tests' deterministic noise: the same generator as the integration tests', whose
// items are `pub` for them.
#[cfg(test)]
#[allow(unreachable_pub)]
#[path = "../tests/common/test_rng.rs"]
mod test_rng;

// The API, by stage. Callers name these from the crate root; the module paths behind them
// are an implementation detail and may move.
pub use codec::dequant::Recipe;
pub use codec::{
    auto_candidates, check_klt_request, decode as decode_tile, encode as encode_tile, encode_best,
    near_lossless_codec, CodecChoice, CodecId, CodecParams, Effort, Encoded, KltTile, LossStats,
    NearLosslessTile, TileShape,
};
pub use container::dequantize::{dequantize, scale_plane};
pub use container::header::{
    AuxPlane, BandInfo, ColorEntry, Dequantization, Gcp, Georef, Header, MetadataDomain,
    NearLossless, Srs, TransformAchieved, TransformLoss,
};
pub use container::preamble::MAGIC;
pub use container::reader::{
    decode_block, decode_block_given_bands, decode_block_into, decode_block_payloads_into,
    locate_block, needs_bands, tile_name, BlockPayloads,
};
pub use container::tile_rows::TileRows;
pub use container::window::{Interleave, Window, WindowLayout};
pub use container::writer::{
    achieved_figures, block_shape, can_code_from_bands, encode_block, encode_block_given_bands,
    encode_block_with, BlockSettings, EncodedBlock,
};
pub use container::{IndexEntry, Reader, Writer};
pub use error::{Error, ErrorKind, Result};
pub use limits::{parse_byte_size, Limits};
pub use sample::SampleType;
pub use transform::decorrelate::{fit as fit_decorrelation, Decorrelation, DecorrelationGroup};
