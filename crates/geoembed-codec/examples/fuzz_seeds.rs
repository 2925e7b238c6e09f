//! Writes seed inputs for the `native_tile` fuzz target (fuzz/): small tiles of every sample
//! type and layout, encoded at every effort, each prefixed with the 4 shape bytes the target
//! reads. `cargo run -p geoembed-codec --example fuzz_seeds -- fuzz/corpus/native_tile`

use geoembed_codec::codec::{self, CodecId, CodecParams, Effort, TileShape};
use geoembed_codec::SampleType;

fn main() {
    let dir = std::env::args().nth(1).expect("output directory");
    let types = [
        SampleType::U8,
        SampleType::I8,
        SampleType::U16,
        SampleType::I16,
    ];
    let mut s = 0x2545F4914F6CDD1Du64;
    let mut n = 0;
    for (ti, &ty) in types.iter().enumerate() {
        for (w, h, bands) in [
            (1, 1, 1),
            (7, 5, 3),
            (33, 20, 4),
            (48, 48, 1),
            (16, 9, 12),
            (40, 3, 40),
        ] {
            for (pattern, effort) in [(0, Effort::Fast), (1, Effort::Default), (2, Effort::Max)] {
                let mut data = Vec::new();
                for y in 0..h {
                    for x in 0..w {
                        for b in 0..bands {
                            s ^= s << 13;
                            s ^= s >> 7;
                            s ^= s << 17;
                            let v: i64 = match pattern {
                                0 => ((x * 7 + y * 3 + b) % 50) as i64 + (s % 5) as i64,
                                1 if x < 4 => 0,
                                1 => {
                                    100 + ((x + y) as f64 * 0.4).sin() as i64 * 30
                                        + b as i64
                                        + (s % 9) as i64
                                }
                                _ => (s % 251) as i64,
                            };
                            let v = v.clamp(0, 120);
                            match ty.size() {
                                1 => data.push(v as u8),
                                _ => data.extend_from_slice(&((v * 300) as u16).to_le_bytes()),
                            }
                        }
                    }
                }
                let shape = TileShape {
                    width: w,
                    height: h,
                    bands,
                    sample_type: ty,
                };
                let p = CodecParams {
                    effort,
                    decorrelation: None,
                };
                let payload = codec::encode(CodecId::Native, &shape, &data, &p).unwrap();
                let mut seed = vec![(w - 1) as u8, (h - 1) as u8, (bands - 1) as u8, ti as u8];
                seed.extend_from_slice(&payload);
                std::fs::write(format!("{dir}/seed_{n:03}"), seed).unwrap();
                n += 1;
            }
        }
    }
    eprintln!("{n} seeds in {dir}");
}
