//! Profiling harness for the native codec: encodes one tile of a `.npy` (H, W, C) array and
//! decodes it a few times, printing sizes and timings. Use it with callgrind or perf:
//! `cargo run --release -p geoembed-codec --example native_profile -- FILE.npy [effort] [reps]`.

use geoembed_codec::{
    decode_tile, encode_tile, CodecId, CodecParams, Effort, SampleType, TileShape,
};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).expect("read .npy");
    let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = String::from_utf8_lossy(&bytes[10..10 + hl]).to_string();
    let ty = if header.contains("'|i1'") {
        SampleType::I8
    } else if header.contains("'|u1'") {
        SampleType::U8
    } else if header.contains("'<u2'") {
        SampleType::U16
    } else {
        SampleType::I16
    };
    let shape_s = &header[header.find('(').unwrap() + 1..header.find(')').unwrap()];
    let dims: Vec<usize> = shape_s
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let (h, w, c) = (dims[0], dims[1], *dims.get(2).unwrap_or(&1));
    let data = &bytes[10 + hl..];
    let effort = args
        .get(2)
        .and_then(|e| Effort::from_name(e))
        .unwrap_or_default();
    let reps: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(1);
    let shape = TileShape {
        width: w,
        height: h,
        bands: c,
        sample_type: ty,
    };
    let p = CodecParams {
        effort,
        decorrelation: None,
        recipe: None,
        max_error: &[],
        nodata: &[],
        rel_rmse: None,
    };
    let t = Instant::now();
    let payload = encode_tile(CodecId::Native, &shape, data, &p).unwrap();
    let te = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..reps {
        let mut out = Vec::new();
        decode_tile(CodecId::Native, &shape, &payload, &p, &mut out).unwrap();
        assert!(out == data);
    }
    let td = t.elapsed().as_secs_f64() / reps as f64;
    let mb = data.len() as f64 / 1e6;
    println!(
        "{w}x{h}x{c} {ty}: {:.4} bits/sample, encode {:.2} MB/s, decode {:.2} MB/s",
        8.0 * payload.len() as f64 / (w * h * c) as f64,
        mb / te,
        mb / td
    );
}
