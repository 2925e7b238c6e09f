//! Real rasters of fixtures/ as a header and pixel-interleaved little-endian samples, for
//! the codec tests that encode them (GeoTIFF through the `tiff` crate, `.npy` by its header
//! length: no GDAL in this crate). Included with `#[path]`.

#![allow(dead_code)]

use geoembed_codec::{Header, SampleType};
use std::path::PathBuf;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A real GeoTIFF fixture's samples (pixel-interleaved), size and band count.
pub fn tiff_raster(name: &str) -> (Header, Vec<u8>) {
    let f = std::fs::File::open(fixtures().join(name)).unwrap();
    let mut d = tiff::decoder::Decoder::new(f).unwrap();
    let (w, h) = d.dimensions().unwrap();
    let (ty, bytes): (SampleType, Vec<u8>) = match d.read_image().unwrap() {
        tiff::decoder::DecodingResult::U8(v) => (SampleType::U8, v),
        tiff::decoder::DecodingResult::I8(v) => {
            (SampleType::I8, v.iter().map(|&x| x as u8).collect())
        }
        tiff::decoder::DecodingResult::U16(v) => (
            SampleType::U16,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        tiff::decoder::DecodingResult::I16(v) => (
            SampleType::I16,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        _ => panic!("{name}: not an 8- or 16-bit integer raster"),
    };
    let bands = bytes.len() / (w as usize * h as usize * ty.size());
    (Header::new(w, h, bands, ty), bytes)
}

/// The data bytes of a version-1 .npy file of int8 (rows, cols, bands).
pub fn npy_int8(name: &str, width: u32, height: u32) -> (Header, Vec<u8>) {
    let b = std::fs::read(fixtures().join(name)).unwrap();
    let header_length = u16::from_le_bytes([b[8], b[9]]) as usize;
    let data = b[10 + header_length..].to_vec();
    let bands = data.len() / (width * height) as usize;
    (Header::new(width, height, bands, SampleType::I8), data)
}

/// The data bytes of a version-1 .npy fixture.
pub fn npy_data(name: &str) -> Vec<u8> {
    let b = std::fs::read(fixtures().join(name)).unwrap();
    let header_length = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + header_length..].to_vec()
}
