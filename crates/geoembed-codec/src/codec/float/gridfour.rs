//! Gridfour's float split (G. W. Lucas, "Lossless compression for floating-point data",
//! Gridfour notes): the sign bits packed eight to a byte, the exponents as bytes, and the
//! mantissa cut into a high part and whole bytes (float32: 7 + 8 + 8 bits; float64:
//! 4 + 6×8 bits), each stream of every band deflated on its own, after a byte-wise delta
//! along the rows where that makes the stream smaller. Streams of like statistics next to
//! each other are what a byte-oriented coder needs.

use super::Band;
use crate::codec::Effort;
use crate::entropy::deflate;
use crate::entropy::varint::{put_u, Cursor};
use crate::error::{Error, Result};
use crate::sample::SampleType;

/// (bit offset, bit count) of each stream after the sign, most significant first.
fn fields(ty: SampleType) -> &'static [(u32, u32)] {
    if ty == SampleType::F32 {
        &[(23, 8), (16, 7), (8, 8), (0, 8)]
    } else {
        &[
            (60, 3),
            (52, 8),
            (48, 4),
            (40, 8),
            (32, 8),
            (24, 8),
            (16, 8),
            (8, 8),
            (0, 8),
        ]
    }
}

/// Byte-wise delta along rows of `width` (the first byte of a row is kept).
fn delta(s: &[u8], width: usize) -> Vec<u8> {
    let mut deltas = s.to_vec();
    for (i, v) in deltas.iter_mut().enumerate() {
        if i % width != 0 {
            *v = v.wrapping_sub(s[i - 1]);
        }
    }
    deltas
}

fn undelta(s: &mut [u8], width: usize) {
    for i in 0..s.len() {
        if i % width != 0 {
            s[i] = s[i].wrapping_add(s[i - 1]);
        }
    }
}

pub(super) fn encode(
    ty: SampleType,
    width: usize,
    bands: &[Band],
    effort: Effort,
    out: &mut Vec<u8>,
) -> Result<()> {
    let level = effort.deflate_level();
    let sign_shift = ty.bits() - 1;
    let mut streams: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut signs = Vec::new();
    for band in bands {
        for chunk in band.chunks(8) {
            let mut byte = 0u8;
            for (k, &b) in chunk.iter().enumerate() {
                byte |= (((b >> sign_shift) & 1) as u8) << k;
            }
            signs.push(byte);
        }
    }
    streams.push((false, signs));
    for &(shift, count) in fields(ty) {
        let raw: Vec<u8> = bands
            .iter()
            .flatten()
            .map(|&b| ((b >> shift) & ((1u64 << count) - 1)) as u8)
            .collect();
        streams.push((false, raw));
    }
    for (i, (delta_used, s)) in streams.iter_mut().enumerate() {
        let plain = deflate::compress(s, level)?;
        let d = if i > 0 {
            deflate::compress(&delta(s, width), level)?
        } else {
            plain.clone()
        };
        *delta_used = d.len() < plain.len();
        *s = if *delta_used { d } else { plain };
    }
    for (delta_used, s) in &streams {
        out.push(*delta_used as u8);
        put_u(out, s.len() as u64);
        out.extend_from_slice(s);
    }
    Ok(())
}

pub(super) fn decode(
    ty: SampleType,
    width: usize,
    height: usize,
    bands: usize,
    r: &mut Cursor,
) -> Result<Vec<Band>> {
    if !ty.is_float() {
        return Err(Error::corrupt(format!(
            "float: the Gridfour split holds floats, not {ty}"
        )));
    }
    let samples = width * height * bands;
    let mut read_stream = |expected: usize, name: &str| -> Result<Vec<u8>> {
        let delta_used = r.bytes(1, name)?[0] != 0;
        let len = r.bounded(name, (r.data.len() - r.pos) as u64)? as usize;
        let mut stream = deflate::decompress(r.bytes(len, name)?, expected)?;
        if delta_used {
            undelta(&mut stream, width);
        }
        Ok(stream)
    };
    let per_band_signs = (width * height).div_ceil(8);
    let signs = read_stream(per_band_signs * bands, "Gridfour sign stream")?;
    let mut words = vec![0u64; samples];
    let sign_shift = ty.bits() - 1;
    for (b, chunk) in words.chunks_mut(width * height).enumerate() {
        for (i, w) in chunk.iter_mut().enumerate() {
            let byte = signs[b * per_band_signs + i / 8];
            *w = (((byte >> (i % 8)) & 1) as u64) << sign_shift;
        }
    }
    for &(shift, _) in fields(ty) {
        let stream = read_stream(samples, "Gridfour stream")?;
        for (w, &v) in words.iter_mut().zip(&stream) {
            *w |= (v as u64) << shift;
        }
    }
    Ok(words.chunks(width * height).map(|c| c.to_vec()).collect())
}
