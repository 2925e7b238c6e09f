//! The products of a block of 16-bit integer features with itself (its Gram matrix's lower
//! triangle), in 32-bit integer sums: the pooled Gram matrix of 8-bit tiles.
//!
//! Why integers: on a real 100 x 101 x 128 Presto tile the pooled Gram matrix took a quarter
//! of the encode through an f32 GEMM. AVX2's 16-bit multiply-add (`vpmaddwd`) does sixteen
//! products per instruction where an 8-lane f32 FMA does eight, and integer sums are exact
//! in any order: the matrix is the same to the bit on every CPU, with or without AVX2, and
//! the same as the f64 product of the same features.

/// Columns are taken four at a time: each step of the kernel multiplies four columns by
/// four, sixteen sums held in registers.
pub(super) const COLUMN_GROUP: usize = 4;
/// Pixels are taken sixteen at a time (one AVX2 register of 16-bit features).
pub(super) const PIXEL_GROUP: usize = 16;

/// A block of features, column-major: `columns` columns of `stride` pixels each, the
/// pixels past the block's own being zero (they add nothing to any product).
pub(super) struct FeatureBlock<'a> {
    pub values: &'a [i16],
    /// Pixels per column, a multiple of [`PIXEL_GROUP`].
    pub stride: usize,
    /// A multiple of [`COLUMN_GROUP`].
    pub columns: usize,
}

impl FeatureBlock<'_> {
    fn column(&self, c: usize) -> &[i16] {
        &self.values[c * self.stride..(c + 1) * self.stride]
    }

    fn check(&self, out: &[i32]) {
        assert!(
            self.stride.is_multiple_of(PIXEL_GROUP),
            "whole pixel groups"
        );
        assert!(
            self.columns.is_multiple_of(COLUMN_GROUP),
            "whole column groups"
        );
        assert_eq!(
            self.values.len(),
            self.stride * self.columns,
            "stride x columns"
        );
        assert_eq!(out.len(), self.columns * self.columns, "columns x columns");
    }
}

/// `out[row · columns + column]` ← Σ over pixels of `block[row] · block[column]`, for every
/// column ≤ row (the lower triangle, by groups of four: the diagonal groups' upper halves
/// are written too). The caller keeps every sum within `i32`: `largest² · stride <=
/// i32::MAX` for features of magnitude at most `largest`.
pub(super) fn lower_products(block: &FeatureBlock, out: &mut [i32]) {
    block.check(out);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 support was just checked; `check` asserted the block's shape.
        return unsafe { lower_products_avx2(block, out) };
    }
    lower_products_portable(block, out);
}

/// [`lower_products`] in plain Rust (CPUs without AVX2, and the tests' reference).
fn lower_products_portable(block: &FeatureBlock, out: &mut [i32]) {
    let columns = block.columns;
    for row in 0..columns {
        let last = (row / COLUMN_GROUP + 1) * COLUMN_GROUP;
        for column in 0..last {
            out[row * columns + column] = block
                .column(row)
                .iter()
                .zip(block.column(column))
                .map(|(&a, &b)| i32::from(a) * i32::from(b))
                .fold(0i32, i32::wrapping_add);
        }
    }
}

/// [`lower_products`] with AVX2: for each pair of column groups on or below the diagonal,
/// sixteen 8-lane sums of pairwise products (`vpmaddwd`), added across lanes at the end.
///
/// # Safety
/// The CPU must support AVX2, and `block` must have passed [`FeatureBlock::check`] with
/// `out`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lower_products_avx2(block: &FeatureBlock, out: &mut [i32]) {
    use std::arch::x86_64::*;
    let (stride, columns) = (block.stride, block.columns);
    for row_group in (0..columns).step_by(COLUMN_GROUP) {
        for column_group in (0..=row_group).step_by(COLUMN_GROUP) {
            let rows: [&[i16]; COLUMN_GROUP] = std::array::from_fn(|r| block.column(row_group + r));
            let cols: [&[i16]; COLUMN_GROUP] =
                std::array::from_fn(|c| block.column(column_group + c));
            let mut sums = [[_mm256_setzero_si256(); COLUMN_GROUP]; COLUMN_GROUP];
            for pixel in (0..stride).step_by(PIXEL_GROUP) {
                // SAFETY: every column holds `stride` values, a multiple of PIXEL_GROUP, so
                // the 16 values from `pixel` are inside it; loadu has no alignment need.
                let load = |column: &[i16]| unsafe {
                    _mm256_loadu_si256(column.as_ptr().add(pixel) as *const __m256i)
                };
                let a = rows.map(load);
                let b = cols.map(load);
                for (sums_of_row, &a) in sums.iter_mut().zip(&a) {
                    for (sum, &b) in sums_of_row.iter_mut().zip(&b) {
                        *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(a, b));
                    }
                }
            }
            for (r, sums_of_row) in sums.iter().enumerate() {
                for (c, &sum) in sums_of_row.iter().enumerate() {
                    out[(row_group + r) * columns + column_group + c] = lanes_sum(sum);
                }
            }
        }
    }
}

/// The sum of an AVX2 register's eight 32-bit lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn lanes_sum(v: std::arch::x86_64::__m256i) -> i32 {
    use std::arch::x86_64::*;
    let halves = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let pairs = _mm_add_epi32(halves, _mm_shuffle_epi32::<0b01_00_11_10>(halves));
    let all = _mm_add_epi32(pairs, _mm_shuffle_epi32::<0b10_11_00_01>(pairs));
    _mm_cvtsi128_si32(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both paths give the exact products on features up to the block's bound, on and
    /// below the diagonal groups.
    #[test]
    fn products_are_exact_on_every_path() {
        for (stride, columns, largest) in [(16, 4, 255), (512, 260, 2047), (64, 8, 5792)] {
            let values: Vec<i16> = (0..stride * columns)
                .map(|i| ((i * 7919 + i / 3) % (2 * largest + 1)) as i16 - largest as i16)
                .collect();
            assert!(largest * largest * stride <= i32::MAX as usize);
            let block = FeatureBlock {
                values: &values,
                stride,
                columns,
            };
            let mut fast = vec![0i32; columns * columns];
            let mut portable = vec![-1i32; columns * columns];
            lower_products(&block, &mut fast);
            lower_products_portable(&block, &mut portable);
            for row in 0..columns {
                for column in 0..=row {
                    let exact: i64 = (0..stride)
                        .map(|p| {
                            i64::from(values[row * stride + p])
                                * i64::from(values[column * stride + p])
                        })
                        .sum();
                    let at = row * columns + column;
                    assert_eq!(i64::from(fast[at]), exact, "({row}, {column})");
                    assert_eq!(portable[at], fast[at], "portable ({row}, {column})");
                }
            }
        }
    }
}
