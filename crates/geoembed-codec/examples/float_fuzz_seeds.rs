//! Writes seed inputs for the `float_tile` fuzz target (fuzz/): small float and wide-integer
//! tiles with NaNs, sentinels, lattices and repeats, in every transform, each prefixed with
//! the 4 shape bytes the target reads.
//! `cargo run -p geoembed-codec --example float_fuzz_seeds -- fuzz/corpus/float_tile`

use geoembed_codec::codec::float::{self, Transform};
use geoembed_codec::codec::{Effort, TileShape};
use geoembed_codec::SampleType;

fn main() {
    let dir = std::env::args().nth(1).expect("output directory");
    let types = [
        SampleType::F32,
        SampleType::F64,
        SampleType::I32,
        SampleType::U32,
        SampleType::I16,
        SampleType::U16,
    ];
    let transforms = [
        Transform::Predictive,
        Transform::BytePlanes,
        Transform::Gridfour,
        Transform::Lz,
    ];
    let mut n = 0;
    for (ti, &ty) in types.iter().enumerate() {
        for (w, h, bands) in [(1, 1, 1), (7, 5, 3), (33, 20, 2), (48, 48, 1), (9, 4, 40)] {
            for pattern in 0..3 {
                let mut data = Vec::new();
                for i in 0..w * h * bands {
                    let v = match pattern {
                        0 => (i as f64 * 0.01).round() * 0.25 + 100.0,
                        1 if i % 9 == 4 => -9999.0,
                        1 => ((i / bands) as f64 * 0.37).sin() * 50.0 + 300.0,
                        _ => [1.5, -2.0, 7.25][i * 7 % 3],
                    };
                    match ty {
                        SampleType::F32 => {
                            let b = if pattern == 1 && i % 13 == 0 {
                                f32::NAN
                            } else {
                                v as f32
                            };
                            data.extend_from_slice(&b.to_le_bytes())
                        }
                        SampleType::F64 => data.extend_from_slice(&v.to_le_bytes()),
                        SampleType::I32 | SampleType::U32 => {
                            data.extend_from_slice(&((v * 100.0) as i32).to_le_bytes())
                        }
                        _ => data.extend_from_slice(&((v * 3.0) as i16).to_le_bytes()),
                    }
                }
                let shape = TileShape {
                    width: w,
                    height: h,
                    bands,
                    sample_type: ty,
                };
                for t in transforms {
                    let Ok(payload) = float::encode_with(&shape, &data, Effort::Default, t) else {
                        continue; // Gridfour on integers
                    };
                    let mut seed = vec![(w - 1) as u8, (h - 1) as u8, (bands - 1) as u8, ti as u8];
                    seed.extend_from_slice(&payload);
                    std::fs::write(format!("{dir}/seed_{n:03}"), seed).unwrap();
                    n += 1;
                }
            }
        }
    }
    eprintln!("{n} seeds in {dir}");
}
