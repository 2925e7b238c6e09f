//! cbloom's transform for multi-byte samples: fmap (or the integer itself), a full-width
//! predictor, the residual mapped so that small residuals leave the high bytes alone, then
//! the bytes de-interleaved into planes (most significant first) and deflated. Two residual
//! maps are tried per tile: cbloom's bias (add 0x80 to every byte, so −1 is 0x7f7f… rather
//! than 0xffff…) and zigzag.

use super::domain::{self, Domain};
use super::predictor::{self, Planes, Predictor};
use super::Band;
use crate::codec::Effort;
use crate::entropy::deflate;
use crate::entropy::tokens::wide::{unzigzag, zigzag};
use crate::entropy::varint::Cursor;
use crate::error::{Error, Result};
use crate::sample::SampleType;
use crate::transform::words::{self, with_word, Word};

const MAP_BIAS: u8 = 0;
const MAP_ZIGZAG: u8 = 1;
const BIAS: u64 = 0x8080_8080_8080_8080;

fn domain(ty: SampleType) -> Domain {
    if ty.is_float() {
        Domain::Fmap
    } else {
        Domain::Int
    }
}

#[inline]
fn map(ty: SampleType, how: u8, residual: i64) -> u64 {
    let width_mask = domain::mask(ty);
    if how == MAP_BIAS {
        (residual as u64).wrapping_add(BIAS) & width_mask
    } else {
        let residual = domain::sign_extend(ty, residual as u64 & width_mask);
        zigzag(residual) & width_mask
    }
}

#[inline]
fn unmap(how: u8, u: u64) -> i64 {
    if how == MAP_BIAS {
        u.wrapping_sub(BIAS) as i64
    } else {
        unzigzag(u)
    }
}

pub(super) fn encode(
    ty: SampleType,
    width: usize,
    bands: &[Band],
    effort: Effort,
    out: &mut Vec<u8>,
) -> Result<()> {
    let domain_mapper = domain(ty).mapper(ty);
    let planes: Vec<Vec<i64>> = bands
        .iter()
        .map(|b| {
            // As the decoder sees them: sign-extended from the sample width.
            b.iter()
                .map(|&v| domain::sign_extend(ty, domain_mapper.forward(v).expect("total") as u64))
                .collect()
        })
        .collect();
    let none = vec![false; planes.first().map_or(0, |chosen| chosen.len())];
    let mut preds = Vec::with_capacity(bands.len());
    let mut residuals: Vec<Vec<i64>> = Vec::with_capacity(bands.len());
    for (b, plane) in planes.iter().enumerate() {
        let band_planes = Planes {
            cur: plane,
            prev: (b > 0).then(|| planes[b - 1].as_slice()),
            width,
        };
        let (chosen, _) = predictor::choose(&band_planes, &none, false, predictor::SAMPLE_BUDGET);
        let height = plane.len() / width.max(1);
        let mut r = Vec::with_capacity(plane.len());
        for y in 0..height {
            for x in 0..width {
                r.push(
                    plane[y * width + x]
                        .wrapping_sub(chosen.predict(&band_planes.neighbours(y, x))),
                );
            }
        }
        preds.push(chosen);
        residuals.push(r);
    }
    let level = effort.deflate_level();
    let mut best: Option<(u8, Vec<u8>)> = None;
    for how in [MAP_BIAS, MAP_ZIGZAG] {
        let mut planes_bytes = Vec::new();
        for r in &residuals {
            let mapped: Vec<u64> = r.iter().map(|&v| map(ty, how, v)).collect();
            split(ty, &mapped, &mut planes_bytes);
        }
        let compressed = deflate::compress(&planes_bytes, level)?;
        if best.as_ref().is_none_or(|b| compressed.len() < b.1.len()) {
            best = Some((how, compressed));
        }
    }
    let (how, compressed) = best.expect("two maps");
    out.push(how);
    for chosen in &preds {
        chosen.write(out);
    }
    out.extend_from_slice(&compressed);
    Ok(())
}

/// Byte planes of sample-width words, most significant byte first (png128's layout).
fn split(ty: SampleType, w: &[u64], out: &mut Vec<u8>) {
    with_word!(ty, Wd => {
        let w: Vec<Wd> = w.iter().map(|&v| Wd::from_u64(v)).collect();
        words::split_bytes(&w, out)
    })
}

/// Inverse of [`split`] for `n` words.
fn join(ty: SampleType, planes: &[u8], n: usize) -> Vec<u64> {
    with_word!(ty, Wd => words::join_bytes::<Wd>(planes, n).into_iter().map(Word::to_u64).collect())
}

pub(super) fn decode(
    ty: SampleType,
    width: usize,
    height: usize,
    bands: usize,
    r: &mut Cursor,
) -> Result<Vec<Band>> {
    let how = r.bytes(1, "residual map")?[0];
    if how > MAP_ZIGZAG {
        return Err(Error::corrupt(format!("float: unknown residual map {how}")));
    }
    let preds: Vec<Predictor> = (0..bands)
        .map(|b| Predictor::read(r, b > 0))
        .collect::<Result<_>>()?;
    let samples = width * height;
    let sample_size = ty.size();
    let raw = deflate::decompress(&r.data[r.pos..], samples * sample_size * bands)?;
    let domain_mapper = domain(ty).mapper(ty);
    let mut out = Vec::with_capacity(bands);
    let mut prev: Option<Vec<i64>> = None;
    for (b, p) in preds.iter().enumerate() {
        let residuals = join(
            ty,
            &raw[b * samples * sample_size..(b + 1) * samples * sample_size],
            samples,
        );
        let mut plane = vec![0i64; samples];
        for y in 0..height {
            for x in 0..width {
                let index = y * width + x;
                let mapped = residuals[index];
                let around = predictor::neighbours(&plane, prev.as_deref(), width, y, x);
                let value = p.predict(&around).wrapping_add(unmap(how, mapped)) as u64;
                plane[index] = domain::sign_extend(ty, value & domain::mask(ty));
            }
        }
        out.push(
            plane
                .iter()
                .map(|&value| domain_mapper.inverse(value))
                .collect(),
        );
        prev = Some(plane);
    }
    Ok(out)
}
