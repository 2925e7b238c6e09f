//! Row kernels compiled twice, for the baseline target and for AVX2, chosen at run time.
//! The row loops are plain Rust that LLVM vectorises; with AVX2 it can use 8-lane 32-bit
//! multiplies (`vpmulld`), which the x86-64 baseline lacks. Results are identical either
//! way: integer arithmetic is exact, and wrapping is the same in every lane width.

#[inline(always)]
fn axpy_i32_body(acc: &mut [i32], c: i32, row: &[i32]) {
    for (a, &v) in acc.iter_mut().zip(row) {
        *a = a.wrapping_add(c.wrapping_mul(v));
    }
}

#[inline(always)]
fn axpy_i64_body(acc: &mut [i64], c: i64, row: &[i32]) {
    for (a, &v) in acc.iter_mut().zip(row) {
        *a = a.wrapping_add(c.wrapping_mul(v as i64));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn axpy_i32_avx2(acc: &mut [i32], c: i32, row: &[i32]) {
    axpy_i32_body(acc, c, row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn axpy_i64_avx2(acc: &mut [i64], c: i64, row: &[i32]) {
    axpy_i64_body(acc, c, row)
}

#[inline(always)]
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `acc[i] += c · row[i]` (wrapping), over the shorter of the two.
pub(super) fn axpy_i32(acc: &mut [i32], c: i32, row: &[i32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 support was just checked.
        return unsafe { axpy_i32_avx2(acc, c, row) };
    }
    axpy_i32_body(acc, c, row)
}

/// `acc[i] += c · row[i]` (wrapping) with 64-bit accumulators.
pub(super) fn axpy_i64(acc: &mut [i64], c: i64, row: &[i32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 support was just checked.
        return unsafe { axpy_i64_avx2(acc, c, row) };
    }
    axpy_i64_body(acc, c, row)
}

/// Packs a tap's two coefficients for [`taps_pairs`]: value coefficient low, spatial high.
pub(super) fn pack_pair(value: i32, spatial: i32) -> u32 {
    (value as i16 as u16 as u32) | ((spatial as i16 as u16 as u32) << 16)
}

#[inline(always)]
fn taps_pairs_scalar(
    base: &mut [i32],
    rows: &[i16],
    stride: usize,
    taps: &[usize],
    coefs: &[u32],
    from: usize,
) {
    for (&t, &c) in taps.iter().zip(coefs) {
        let pairs = &rows[t * stride..(t + 1) * stride];
        let (value_coef, spatial_coef) = (c as u16 as i16 as i32, (c >> 16) as u16 as i16 as i32);
        for x in from..base.len() {
            let sum = (pairs[2 * x] as i32 * value_coef)
                .wrapping_add(pairs[2 * x + 1] as i32 * spatial_coef);
            base[x] = base[x].wrapping_add(sum);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn taps_pairs_avx2(
    base: &mut [i32],
    rows: &[i16],
    stride: usize,
    taps: &[usize],
    coefs: &[u32],
) {
    use std::arch::x86_64::*;
    let width = base.len();
    let mut x = 0;
    // 32 pixels per pass: four accumulators stay in registers across all taps.
    while x + 32 <= width {
        // SAFETY: x + 32 <= len(base), so the four unaligned 8-lane accesses at base[x..x+32]
        // are in bounds; the caller guarantees every tap row `t` holds `stride` >= 2·len(base)
        // values inside `rows`, so the loads at rows[t·stride + 2x ..][..64] are too.
        unsafe {
            let acc_ptr = base.as_mut_ptr().add(x) as *mut __m256i;
            let mut acc0 = _mm256_loadu_si256(acc_ptr);
            let mut acc1 = _mm256_loadu_si256(acc_ptr.add(1));
            let mut acc2 = _mm256_loadu_si256(acc_ptr.add(2));
            let mut acc3 = _mm256_loadu_si256(acc_ptr.add(3));
            for (&t, &c) in taps.iter().zip(coefs) {
                let cc = _mm256_set1_epi32(c as i32);
                let pairs_ptr = rows.as_ptr().add(t * stride + 2 * x) as *const __m256i;
                let madd = |offset: usize| {
                    _mm256_madd_epi16(_mm256_loadu_si256(pairs_ptr.add(offset)), cc)
                };
                acc0 = _mm256_add_epi32(acc0, madd(0));
                acc1 = _mm256_add_epi32(acc1, madd(1));
                acc2 = _mm256_add_epi32(acc2, madd(2));
                acc3 = _mm256_add_epi32(acc3, madd(3));
            }
            _mm256_storeu_si256(acc_ptr, acc0);
            _mm256_storeu_si256(acc_ptr.add(1), acc1);
            _mm256_storeu_si256(acc_ptr.add(2), acc2);
            _mm256_storeu_si256(acc_ptr.add(3), acc3);
        }
        x += 32;
    }
    while x + 8 <= width {
        // SAFETY: as above with one 8-lane access: x + 8 <= len(base), and each tap row
        // holds 2·len(base) values, so rows[t·stride + 2x ..][..16] is inside `rows`.
        unsafe {
            let acc_ptr = base.as_mut_ptr().add(x) as *mut __m256i;
            let mut acc0 = _mm256_loadu_si256(acc_ptr);
            for (&t, &c) in taps.iter().zip(coefs) {
                let pairs_ptr = rows.as_ptr().add(t * stride + 2 * x) as *const __m256i;
                acc0 = _mm256_add_epi32(
                    acc0,
                    _mm256_madd_epi16(_mm256_loadu_si256(pairs_ptr), _mm256_set1_epi32(c as i32)),
                );
            }
            _mm256_storeu_si256(acc_ptr, acc0);
        }
        x += 8;
    }
    taps_pairs_scalar(base, rows, stride, taps, coefs, x);
}

/// `base[x] += cv·value[x] + cs·spatial[x]` for every tap: tap `i` reads row `taps[i]` of
/// `rows` (rows of `stride` = 2·width 16-bit values holding (value, spatial) pairs) with
/// coefficients packed by [`pack_pair`]. The pairwise multiply-add is exactly `vpmaddwd`:
/// 16 products per instruction, which makes 64-tap spectral prediction cheap for 8-bit data.
pub(super) fn taps_pairs(
    base: &mut [i32],
    rows: &[i16],
    stride: usize,
    taps: &[usize],
    coefs: &[u32],
) {
    assert!(
        stride >= 2 * base.len() && taps.iter().all(|&t| (t + 1) * stride <= rows.len()),
        "tap rows in range"
    );
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 support was just checked; every tap row lies inside `rows` and holds
        // 2·len(base) values, so the loads at 2x..2x+16 for x + 8 <= len stay inside it.
        return unsafe { taps_pairs_avx2(base, rows, stride, taps, coefs) };
    }
    taps_pairs_scalar(base, rows, stride, taps, coefs, 0)
}

/// Defines a row kernel twice (baseline and AVX2) with a runtime switch; the body is plain
/// Rust that LLVM vectorises for each.
macro_rules! row_kernel {
    ($(#[$doc:meta])* $name:ident, $avx:ident, ($($arg:ident: $ty:ty),*), $body:block) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx($($arg: $ty),*) $body

        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                // SAFETY: AVX2 support was just checked.
                return unsafe { $avx($($arg),*) };
            }
            $body
        }
    };
}

row_kernel!(
    /// `out[x] = clamp((base[x] + round) >> shift, lo, hi)`.
    predict_row_i32, predict_row_i32_avx2,
    (base: &[i32], round: i32, shift: u32, lo: i32, hi: i32, out: &mut [i32]),
    {
        for (o, &b) in out.iter_mut().zip(base) {
            *o = (b.wrapping_add(round) >> shift).clamp(lo, hi);
        }
    }
);

row_kernel!(
    /// `acc[x] += src[x]` (wrapping).
    add_assign_i32, add_assign_i32_avx2,
    (acc: &mut [i32], src: &[i32]),
    {
        for (a, &v) in acc.iter_mut().zip(src) {
            *a = a.wrapping_add(v);
        }
    }
);

row_kernel!(
    /// `out[2x] = values[x]`, `out[2x + 1] = spatial[x]`, truncated to 16 bits.
    interleave_pairs, interleave_pairs_avx2,
    (values: &[i32], spatial: &[i32], out: &mut [i16]),
    {
        for ((o, &v), &s) in out.chunks_exact_mut(2).zip(values).zip(spatial) {
            o[0] = v as i16;
            o[1] = s as i16;
        }
    }
);
