//! The multiply both directions of the `klt` transform share: for a block of up to
//! [`PIXELS`] pixels, `out[p][j] = start[j] + Σ_r weights[r][p] · matrix[r][j]`, added `r`
//! ascending one product at a time (no fused multiply-add), the same sums as one pixel
//! alone.
//!
//! Why one kernel: projecting (bands onto components, in the encoder) and back-projecting
//! (components onto bands, in the decoder, whose results the format fixes bit for bit) are
//! these sums over different matrices. [`COLUMNS`] columns of every pixel of the block are
//! summed in registers, so each matrix value read serves the whole block.

/// Pixels summed together.
pub(super) const PIXELS: usize = 4;
/// Columns summed at once per block of pixels (4 × 4 sums in registers).
const COLUMNS: usize = 4;

/// The sums of the first `pixels` pixels of the block into `out`, pixel-major with
/// `start.len()` values a pixel; `matrix` holds one row of `start.len()` values per entry
/// of `weights` (`weights[r][p]`: pixel `p`'s weight of row `r`).
pub(super) fn accumulate(
    start: &[f64],
    weights: &[[f64; PIXELS]],
    matrix: &[f64],
    pixels: usize,
    out: &mut [f64],
) {
    let columns = start.len();
    let rows = || matrix.chunks_exact(columns).zip(weights);
    let full = columns - columns % COLUMNS;
    for first in (0..full).step_by(COLUMNS) {
        let start_block: [f64; COLUMNS] = start[first..first + COLUMNS]
            .try_into()
            .expect("a block of columns");
        let mut sums = [start_block; PIXELS];
        for (row, row_weights) in rows() {
            let values = &row[first..first + COLUMNS];
            for (pixel_sums, &w) in sums.iter_mut().zip(row_weights) {
                for (sum, &v) in pixel_sums.iter_mut().zip(values) {
                    *sum += w * v;
                }
            }
        }
        for (p, pixel_sums) in sums.iter().enumerate().take(pixels) {
            let at = p * columns + first;
            out[at..at + COLUMNS].copy_from_slice(pixel_sums);
        }
    }
    for j in full..columns {
        for p in 0..pixels {
            let mut sum = start[j];
            for (row, row_weights) in rows() {
                sum += row_weights[p] * row[j];
            }
            out[p * columns + j] = sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sum equals the plain one-pixel loop, bit for bit, for column counts with and
    /// without a remainder and blocks of fewer pixels than [`PIXELS`].
    #[test]
    fn blocked_sums_are_the_one_pixel_sums() {
        for (columns, rows, pixels) in [(9, 5, 4), (4, 3, 2), (3, 7, 1), (128, 33, 4)] {
            let value = |i: usize| ((i * 7919) % 1000) as f64 / 37.0 - 13.0;
            let start: Vec<f64> = (0..columns).map(value).collect();
            let matrix: Vec<f64> = (0..rows * columns).map(|i| value(i + 11)).collect();
            let weights: Vec<[f64; PIXELS]> = (0..rows)
                .map(|r| std::array::from_fn(|p| value(r * PIXELS + p + 5) / 3.0))
                .collect();
            let mut out = vec![f64::NAN; PIXELS * columns];
            accumulate(&start, &weights, &matrix, pixels, &mut out);
            for p in 0..PIXELS {
                for j in 0..columns {
                    let mut sum = start[j];
                    for r in 0..rows {
                        sum += weights[r][p] * matrix[r * columns + j];
                    }
                    let got = out[p * columns + j];
                    match p < pixels {
                        true => assert_eq!(got.to_bits(), sum.to_bits(), "({p}, {j})"),
                        false => assert!(got.is_nan(), "pixel {p} past the block written"),
                    }
                }
            }
        }
    }
}
