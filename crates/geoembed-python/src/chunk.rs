//! One tile as a self-describing byte string: the payload of a Zarr chunk (v3 array→bytes
//! codec, v2 numcodecs compressor). Specified in docs/format.md ("Zarr chunks").
//!
//! A v2 compressor is handed bytes without the array's shape or dtype, so the chunk carries
//! them; it also carries the CRC-32 of the samples, as `.emb` tiles do, so a corrupt chunk is
//! an error, never silently wrong numbers.

use crate::errors::{raise, to_py};
use crate::header_dict::{dtype_name, sample_type};
use crate::numpy_array::from_samples;
use geoembed_codec::{
    decode_tile, encode_best, CodecChoice, CodecId, CodecParams, Effort, SampleType, TileShape,
};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

const MAGIC: &[u8; 4] = b"EMBc";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 26;

/// Chunk fields before the payload.
struct ChunkHeader {
    shape: TileShape,
    codec: CodecId,
    effort: Effort,
    raw_crc: u32,
}

impl ChunkHeader {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(self.shape.sample_type as u8);
        out.extend_from_slice(&(self.codec as u16).to_le_bytes());
        out.extend_from_slice(&self.effort.code().to_le_bytes());
        for n in [self.shape.width, self.shape.height, self.shape.bands] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        out.extend_from_slice(&self.raw_crc.to_le_bytes());
    }

    fn read(data: &[u8]) -> Result<Self, String> {
        if data.len() < HEADER_LEN || &data[..4] != MAGIC {
            return Err("not a geoembed chunk (bad magic or too short)".into());
        }
        if data[4] != VERSION {
            return Err(format!(
                "geoembed chunk version {}; this build reads {VERSION}",
                data[4]
            ));
        }
        let u16_at = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
        let sample_type = SampleType::from_code(data[5]).map_err(|e| e.to_string())?;
        let codec = CodecId::from_code(u16_at(6)).map_err(|e| e.to_string())?;
        let effort = Effort::ALL
            .into_iter()
            .find(|e| e.code() == u16_at(8))
            .unwrap_or_default();
        let (width, height, bands) = (
            u32_at(10) as usize,
            u32_at(14) as usize,
            u32_at(18) as usize,
        );
        if width == 0
            || height == 0
            || bands == 0
            || width.saturating_mul(height).saturating_mul(bands) > 1 << 31
        {
            return Err(format!(
                "chunk shape {height}x{width}x{bands} is empty or too large"
            ));
        }
        Ok(ChunkHeader {
            shape: TileShape {
                width,
                height,
                bands,
                sample_type,
            },
            codec,
            effort,
            raw_crc: u32_at(22),
        })
    }
}

/// Encodes a C-contiguous (rows, cols, bands) tile given as raw little-endian bytes.
#[pyfunction]
#[pyo3(signature = (samples, dtype, shape, codec="auto", effort="default"))]
pub fn encode_chunk<'py>(
    py: Python<'py>,
    samples: PyReadonlyArray1<'py, u8>,
    dtype: &str,
    shape: (usize, usize, usize),
    codec: &str,
    effort: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let samples = samples.as_slice().map_err(|_| {
        raise(
            "EmbArgumentError",
            "chunk samples must be a contiguous uint8 view".into(),
        )
    })?;
    let choice: CodecChoice = codec
        .parse()
        .map_err(|e| to_py(&format!("codec={codec}"), &e))?;
    let effort: Effort = effort
        .parse()
        .map_err(|e| to_py(&format!("effort={effort}"), &e))?;
    let (height, width, bands) = shape;
    let tile = TileShape {
        width,
        height,
        bands,
        sample_type: sample_type(dtype)?,
    };
    if samples.len() != tile.bytes() {
        return Err(raise(
            "EmbArgumentError",
            format!(
                "{} bytes for a {height}x{width}x{bands} {dtype} chunk (needs {})",
                samples.len(),
                tile.bytes()
            ),
        ));
    }
    let encoded = py
        .detach(|| {
            let params = CodecParams {
                effort,
                decorrelation: None,
                recipe: None,
                max_error: &[],
                nodata: &[],
                rel_rmse: None,
            };
            encode_best(choice, &tile, samples, &params)
        })
        .map_err(|e| to_py("geoembed chunk", &e))?;
    let mut out = Vec::with_capacity(HEADER_LEN + encoded.payload.len());
    ChunkHeader {
        shape: tile,
        codec: encoded.codec,
        effort,
        raw_crc: crc32fast::hash(samples),
    }
    .write(&mut out);
    out.extend_from_slice(&encoded.payload);
    Ok(PyBytes::new(py, &out))
}

/// Decodes a chunk into a (rows, cols, bands) array; returns (array, dtype name).
#[pyfunction]
pub fn decode_chunk<'py>(
    py: Python<'py>,
    data: &[u8],
) -> PyResult<(Bound<'py, PyAny>, &'static str)> {
    let header = ChunkHeader::read(data)
        .map_err(|m| raise("EmbFormatError", format!("geoembed chunk: {m}")))?;
    let shape = header.shape;
    let samples = py
        .detach(|| {
            let mut out = Vec::with_capacity(shape.bytes());
            let params = CodecParams {
                effort: header.effort,
                decorrelation: None,
                recipe: None,
                max_error: &[],
                nodata: &[],
                rel_rmse: None,
            };
            decode_tile(header.codec, &shape, &data[HEADER_LEN..], &params, &mut out)?;
            if crc32fast::hash(&out) != header.raw_crc {
                return Err(geoembed_codec::Error::new(
                    geoembed_codec::ErrorKind::Checksum,
                    "decoded samples do not match their checksum",
                ));
            }
            Ok(out)
        })
        .map_err(|e| to_py(&format!("geoembed chunk ({})", header.codec), &e))?;
    let array = from_samples(
        py,
        shape.sample_type,
        &[shape.height, shape.width, shape.bands],
        &samples,
    );
    Ok((array, dtype_name(shape.sample_type)))
}
