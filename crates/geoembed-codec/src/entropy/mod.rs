//! The entropy layer shared by the tile codecs: static rANS with per-context frequency
//! tables, an adaptive binary range coder (the `klt` wavelet coefficients), hybrid-uint tokens, raw bit I/O, LEB128 varints for the side information every
//! payload carries, and raw deflate for the byte-oriented transforms. Nothing here knows
//! about samples or bands; the codecs decide what is coded in which context.

pub(crate) mod binary;
pub(crate) mod bits;
pub(crate) mod deflate;
pub(crate) mod partition;
pub(crate) mod rans;
pub(crate) mod tables;
pub(crate) mod tokens;
pub(crate) mod unloaded;
pub(crate) mod varint;
