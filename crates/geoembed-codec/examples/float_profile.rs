//! Times the float codec on one raw little-endian tile (for profiling):
//! `float_profile FILE WIDTH HEIGHT [REPS] [TYPE]` (TYPE: float32 (default), int16, ...).
use geoembed_codec::{decode_tile, encode_tile, CodecId, CodecParams, SampleType, TileShape};
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let data = std::fs::read(&a[1]).expect("input");
    let (w, h): (usize, usize) = (a[2].parse().unwrap(), a[3].parse().unwrap());
    let reps: usize = a.get(4).map_or(50, |r| r.parse().unwrap());
    let ty = a
        .get(5)
        .map_or(SampleType::F32, |t| SampleType::from_name(t).expect("type"));
    let shape = TileShape {
        width: w,
        height: h,
        bands: data.len() / (w * h * ty.size()),
        sample_type: ty,
    };
    let p = CodecParams::default();
    let enc = encode_tile(CodecId::Float, &shape, &data, &p).unwrap();
    let t = Instant::now();
    let mut out = Vec::new();
    for _ in 0..reps {
        out.clear();
        decode_tile(CodecId::Float, &shape, &enc, &p, &mut out).unwrap();
    }
    let s = t.elapsed().as_secs_f64() / reps as f64;
    assert_eq!(out, data);
    println!(
        "{} bytes -> {} ({:.3} bits/sample), decode {:.1} MB/s",
        data.len(),
        enc.len(),
        enc.len() as f64 * 8.0 / shape.samples() as f64,
        data.len() as f64 / s / 1e6
    );
}
