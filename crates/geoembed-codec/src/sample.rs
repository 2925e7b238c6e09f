//! Sample types and the bijection every codec works through: each sample type maps to an
//! unsigned "word" of the same width whose integer order follows the sample's numeric order.
//!
//! * unsigned ints are their own word;
//! * signed ints are offset binary (`x ^ sign_bit`, i.e. `x + 2^(n-1)`), so `-1` and `0` are
//!   neighbours instead of opposite ends of the range (what PNG filters and predictors need);
//! * floats use the "sortable bits" map: positive floats get the sign bit set, negative floats
//!   are bit-inverted. Unlike cbloom's `fmap` this keeps `-0.0` and every NaN payload, so the
//!   round trip is exact for any bit pattern.

use crate::error::{Error, Result};

/// The sample types a `.emb` file can hold. The discriminants are the on-disk codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SampleType {
    /// `uint8` (GDAL `Byte`).
    U8 = 1,
    /// `int8` (GDAL `Int8`, or `Byte` with `PIXELTYPE=SIGNEDBYTE`).
    I8 = 2,
    /// `uint16`.
    U16 = 3,
    /// `int16`.
    I16 = 4,
    /// `uint32`.
    U32 = 5,
    /// `int32`.
    I32 = 6,
    /// IEEE-754 binary32.
    F32 = 7,
    /// IEEE-754 binary64.
    F64 = 8,
}

impl SampleType {
    /// Every type, in code order.
    pub const ALL: [SampleType; 8] = [
        SampleType::U8,
        SampleType::I8,
        SampleType::U16,
        SampleType::I16,
        SampleType::U32,
        SampleType::I32,
        SampleType::F32,
        SampleType::F64,
    ];

    /// The type stored as `code` on disk.
    pub fn from_code(code: u8) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|t| *t as u8 == code)
            .ok_or_else(|| Error::corrupt(format!("unknown sample type code {code}")))
    }

    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            SampleType::U8 | SampleType::I8 => 1,
            SampleType::U16 | SampleType::I16 => 2,
            SampleType::U32 | SampleType::I32 | SampleType::F32 => 4,
            SampleType::F64 => 8,
        }
    }

    /// Bits per sample.
    pub fn bits(self) -> u32 {
        8 * self.size() as u32
    }

    /// Whether the type is a float.
    pub fn is_float(self) -> bool {
        matches!(self, SampleType::F32 | SampleType::F64)
    }

    /// Whether the type is a 32-bit integer (int32, uint32): integers the native codec does
    /// not take, whose near-lossless bounds the float codec keeps (format 1.5).
    pub fn is_32_bit_integer(self) -> bool {
        matches!(self, SampleType::I32 | SampleType::U32)
    }

    /// Whether the type is a signed integer.
    pub fn is_signed(self) -> bool {
        matches!(self, SampleType::I8 | SampleType::I16 | SampleType::I32)
    }

    /// Lower-case name used in the CLI, the JSON sidecar and error messages.
    pub fn name(self) -> &'static str {
        match self {
            SampleType::U8 => "uint8",
            SampleType::I8 => "int8",
            SampleType::U16 => "uint16",
            SampleType::I16 => "int16",
            SampleType::U32 => "uint32",
            SampleType::I32 => "int32",
            SampleType::F32 => "float32",
            SampleType::F64 => "float64",
        }
    }

    /// The type called `name` (see [`SampleType::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Maps one sample, given as its little-endian bit pattern widened to u64, to its word.
    #[inline]
    pub fn to_word(self, bits: u64) -> u64 {
        match self {
            SampleType::U8 | SampleType::U16 | SampleType::U32 => bits,
            SampleType::I8 => bits ^ 0x80,
            SampleType::I16 => bits ^ 0x8000,
            SampleType::I32 => bits ^ 0x8000_0000,
            SampleType::F32 => sortable(bits, 32),
            SampleType::F64 => sortable(bits, 64),
        }
    }

    /// Inverse of [`SampleType::to_word`].
    #[inline]
    pub fn from_word(self, word: u64) -> u64 {
        match self {
            SampleType::U8 | SampleType::U16 | SampleType::U32 => word,
            SampleType::I8 => word ^ 0x80,
            SampleType::I16 => word ^ 0x8000,
            SampleType::I32 => word ^ 0x8000_0000,
            SampleType::F32 => unsortable(word, 32),
            SampleType::F64 => unsortable(word, 64),
        }
    }
}

impl std::fmt::Display for SampleType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[inline]
fn mask(width: u32) -> u64 {
    if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

#[inline]
fn sortable(bits: u64, width: u32) -> u64 {
    let sign = 1u64 << (width - 1);
    if bits & sign != 0 {
        !bits & mask(width)
    } else {
        bits | sign
    }
}

#[inline]
fn unsortable(word: u64, width: u32) -> u64 {
    let sign = 1u64 << (width - 1);
    if word & sign != 0 {
        word & !sign
    } else {
        !word & mask(width)
    }
}

impl SampleType {
    /// The numeric value of one little-endian sample (`bytes` holds at least
    /// [`SampleType::size`] bytes): what dequantisation, statistics and previews compute on.
    /// Exact for every type but 64-bit integers, which this crate does not store.
    #[inline]
    pub fn value_f64(self, bytes: &[u8]) -> f64 {
        let mut raw = [0u8; 8];
        raw[..self.size()].copy_from_slice(&bytes[..self.size()]);
        let bits = u64::from_le_bytes(raw);
        match self {
            SampleType::U8 => bits as u8 as f64,
            SampleType::I8 => bits as u8 as i8 as f64,
            SampleType::U16 => bits as u16 as f64,
            SampleType::I16 => bits as u16 as i16 as f64,
            SampleType::U32 => bits as u32 as f64,
            SampleType::I32 => bits as u32 as i32 as f64,
            SampleType::F32 => f32::from_bits(bits as u32) as f64,
            SampleType::F64 => f64::from_bits(bits),
        }
    }

    /// The range `[min, max]` of an 8- or 16-bit integer type (`None` for the others): what
    /// the integer-only paths (native codec, decorrelation) check and clamp against.
    pub(crate) fn small_int_range(self) -> Option<(i32, i32)> {
        match self {
            SampleType::U8 => Some((0, 255)),
            SampleType::I8 => Some((-128, 127)),
            SampleType::U16 => Some((0, 65535)),
            SampleType::I16 => Some((-32768, 32767)),
            _ => None,
        }
    }

    /// The numeric values of 8- or 16-bit integer samples, as `i32`, into `out` (as many as
    /// both hold): the integer paths' exact and vectorisable counterpart of
    /// [`SampleType::values_f64`].
    pub(crate) fn small_int_values(self, bytes: &[u8], out: &mut [i32]) {
        let pairs = || bytes.chunks_exact(2).map(|b| [b[0], b[1]]);
        match self {
            SampleType::U8 => out.iter_mut().zip(bytes).for_each(|(o, &b)| *o = b as i32),
            SampleType::I8 => out
                .iter_mut()
                .zip(bytes)
                .for_each(|(o, &b)| *o = b as i8 as i32),
            SampleType::U16 => out
                .iter_mut()
                .zip(pairs())
                .for_each(|(o, b)| *o = u16::from_le_bytes(b) as i32),
            SampleType::I16 => out
                .iter_mut()
                .zip(pairs())
                .for_each(|(o, b)| *o = i16::from_le_bytes(b) as i32),
            _ => unreachable!("{self} is not an 8- or 16-bit integer type"),
        }
    }

    /// Appends 8- or 16-bit integer values (inverse of [`SampleType::small_int_values`]) to
    /// `out` as little-endian samples, each truncated to the sample width.
    pub(crate) fn extend_small_int_bytes(self, values: &[i32], out: &mut Vec<u8>) {
        out.reserve(values.len() * self.size());
        match self.size() {
            1 => out.extend(values.iter().map(|&v| v as u8)),
            _ => values
                .iter()
                .for_each(|&v| out.extend_from_slice(&(v as u16).to_le_bytes())),
        }
    }

    /// Every sample of a little-endian buffer as `f64` (see [`SampleType::value_f64`]).
    pub fn values_f64(self, bytes: &[u8]) -> Vec<f64> {
        // One loop per type, over fixed-size chunks: the per-sample type dispatch of
        // `value_f64` kept this from vectorising (a tenth of a `klt` encode).
        fn each<const N: usize>(bytes: &[u8], value: impl Fn([u8; N]) -> f64) -> Vec<f64> {
            bytes
                .chunks_exact(N)
                .map(|sample| value(sample.try_into().expect("N bytes")))
                .collect()
        }
        match self {
            SampleType::U8 => each(bytes, |b: [u8; 1]| b[0] as f64),
            SampleType::I8 => each(bytes, |b: [u8; 1]| b[0] as i8 as f64),
            SampleType::U16 => each(bytes, |b| u16::from_le_bytes(b) as f64),
            SampleType::I16 => each(bytes, |b| i16::from_le_bytes(b) as f64),
            SampleType::U32 => each(bytes, |b| u32::from_le_bytes(b) as f64),
            SampleType::I32 => each(bytes, |b| i32::from_le_bytes(b) as f64),
            SampleType::F32 => each(bytes, |b| f32::from_le_bytes(b) as f64),
            SampleType::F64 => each(bytes, f64::from_le_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_map_is_a_bijection_that_keeps_numeric_order() {
        let floats = [
            f32::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1e-40,
            2.0,
            f32::INFINITY,
        ];
        let words: Vec<u64> = floats
            .iter()
            .map(|f| SampleType::F32.to_word(f.to_bits() as u64))
            .collect();
        assert!(words.windows(2).all(|w| w[0] < w[1]), "{words:?}");
        for (f, w) in floats.iter().zip(&words) {
            assert_eq!(SampleType::F32.from_word(*w), f.to_bits() as u64);
        }
        let nan = 0x7fc0_1234u64;
        assert_eq!(SampleType::F32.from_word(SampleType::F32.to_word(nan)), nan);
        let ints = [-128i8, -1, 0, 1, 127];
        let words: Vec<u64> = ints
            .iter()
            .map(|i| SampleType::I8.to_word(*i as u8 as u64))
            .collect();
        assert_eq!(words, vec![0, 127, 128, 129, 255]);
        let d = -2.5f64;
        let w = SampleType::F64.to_word(d.to_bits());
        assert_eq!(SampleType::F64.from_word(w), d.to_bits());
    }
}
