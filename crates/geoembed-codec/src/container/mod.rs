//! The `.emb` container (the "standalone" API). Layout, specified byte by byte in
//! `docs/format.md`:
//!
//! ```text
//! preamble (64 bytes) | tile index (32 bytes × blocks) | header chunks + CRC | payloads
//! ```
//!
//! The index sits right after the fixed-size preamble, so a reader needs two range reads to
//! find any tile (the preamble, then one index entry) and one more to fetch it.

mod bytes;
mod chunks;
pub mod dequantize;
pub mod header;
mod index;
pub mod preamble;
pub mod reader;
pub mod tile_rows;
pub mod window;
pub mod writer;

pub use header::Header;
pub use index::IndexEntry;
pub use reader::Reader;
pub use writer::{encode_block, EncodedBlock, Writer};
