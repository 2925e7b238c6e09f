//! The CDF 9/7 wavelet (docs/format.md §5.7.5): a separable, multi-level lifting transform
//! of one component plane, in binary64, and the subbands it leaves (Mallat layout).
//!
//! Why a wavelet under the `klt` components: a component plane of an embedding or a
//! spectral cube is an image. Coding its quantised values with spatial prediction (payload
//! version 1) spends bits on every pixel; the wavelet gathers the plane's energy in a few
//! coarse coefficients, so at the rates a lossy file is written at most fine coefficients
//! quantise to zero and cost almost nothing (JPEG 2000's 9/7, normalised here so that
//! every subband's synthesis gain is near 1 and one step serves them all).
//!
//! Only the inverse is normative; the decoder's arithmetic order is fixed so that every
//! reader rebuilds the same values (no fused multiply-adds: Rust never contracts them).

/// Lifting coefficients of the CDF 9/7 wavelet (JPEG 2000's irreversible filter).
const LIFT: [f64; 4] = [
    -1.586_134_342_059_924,
    -0.052_980_118_572_961,
    0.882_911_075_530_934,
    0.443_506_852_043_971,
];
/// The 9/7 scaling constant.
const K: f64 = 1.230_174_104_914_001;
/// Analysis gains of the low and high halves: JPEG 2000's `1/K` and `K`, times `√2` and
/// `1/√2` so that both synthesis gains are near 1.
const LOW_GAIN: f64 = std::f64::consts::SQRT_2 / K;
const HIGH_GAIN: f64 = K / std::f64::consts::SQRT_2;
/// Most levels a payload may ask for (each halves the plane; 2¹⁶ px tiles need fewer).
pub(super) const MAX_LEVELS: u8 = 16;
/// The encoder stops splitting before the low band gets smaller than this.
const SMALLEST_LOW_BAND: usize = 8;
/// Levels the encoder uses at most.
const ENCODER_LEVELS: u8 = 5;

/// A rectangle of a plane (rows `y0..y1`, columns `x0..x1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rect {
    pub y0: usize,
    pub y1: usize,
    pub x0: usize,
    pub x1: usize,
}

impl Rect {
    pub(super) fn is_empty(&self) -> bool {
        self.y0 >= self.y1 || self.x0 >= self.x1
    }
}

/// One subband: where it lies in the plane, its level (0 the finest, `levels` the low
/// band) and orientation (0 low band, 1 HL, 2 LH, 3 HH).
#[derive(Clone, Copy, Debug)]
pub(super) struct Subband {
    pub rect: Rect,
    pub level: u8,
    pub orientation: u8,
}

/// Per level `l`, the height and width of the region level `l` splits: `⌈n / 2ˡ⌉`.
fn region_sizes(height: usize, width: usize, levels: u8) -> Vec<(usize, usize)> {
    let mut sizes = vec![(height, width)];
    for _ in 0..levels {
        let (h, w) = *sizes.last().expect("starts non-empty");
        sizes.push((h.div_ceil(2), w.div_ceil(2)));
    }
    sizes
}

/// The subbands in coding order: the low band, then from the coarsest level to the
/// finest HL, LH, HH.
pub(super) fn subbands(height: usize, width: usize, levels: u8) -> Vec<Subband> {
    let sizes = region_sizes(height, width, levels);
    let (lh, lw) = sizes[levels as usize];
    let mut out = vec![Subband {
        rect: Rect {
            y0: 0,
            y1: lh,
            x0: 0,
            x1: lw,
        },
        level: levels,
        orientation: 0,
    }];
    for level in (0..levels).rev() {
        let (h, w) = sizes[level as usize];
        let (half_h, half_w) = sizes[level as usize + 1];
        let rects = [
            (0, half_h, half_w, w),
            (half_h, h, 0, half_w),
            (half_h, h, half_w, w),
        ];
        for (o, &(y0, y1, x0, x1)) in rects.iter().enumerate() {
            out.push(Subband {
                rect: Rect { y0, y1, x0, x1 },
                level,
                orientation: o as u8 + 1,
            });
        }
    }
    out
}

/// The levels the encoder uses for a plane: as many as keep the low band at least
/// [`SMALLEST_LOW_BAND`] on its shorter side, at most [`ENCODER_LEVELS`].
pub(super) fn encoder_levels(height: usize, width: usize) -> u8 {
    let mut levels = 0;
    let mut side = height.min(width);
    while levels < ENCODER_LEVELS && side.div_ceil(2) >= SMALLEST_LOW_BAND {
        side = side.div_ceil(2);
        levels += 1;
    }
    levels
}

/// Whole-sample symmetric neighbours of `i` in a signal of `n ≥ 2` samples.
fn neighbours(i: usize, n: usize) -> (usize, usize) {
    let left = if i >= 1 { i - 1 } else { i + 1 };
    let right = if i + 1 < n { i + 1 } else { i - 1 };
    (left, right)
}

/// One lifting step on the samples of one parity: `s[i] += a · (s[left] + s[right])`
/// (`sign` −1 undoes it).
fn lift(s: &mut [f64], first: usize, a: f64, sign: f64) {
    let n = s.len();
    for i in (first..n).step_by(2) {
        let (left, right) = neighbours(i, n);
        s[i] += sign * (a * (s[left] + s[right]));
    }
}

/// Forward 1-D transform of `s` in place: low half first, then high half.
fn forward_1d(s: &mut [f64], scratch: &mut Vec<f64>) {
    let n = s.len();
    if n < 2 {
        return;
    }
    for (step, &a) in LIFT.iter().enumerate() {
        lift(s, if step % 2 == 0 { 1 } else { 0 }, a, 1.0);
    }
    scratch.clear();
    scratch.extend(s.iter().step_by(2).map(|v| v * LOW_GAIN));
    scratch.extend(s.iter().skip(1).step_by(2).map(|v| v * HIGH_GAIN));
    s.copy_from_slice(scratch);
}

/// Inverse of [`forward_1d`] (docs/format.md §5.7.5).
fn inverse_1d(s: &mut [f64], scratch: &mut Vec<f64>) {
    let n = s.len();
    if n < 2 {
        return;
    }
    let low = n.div_ceil(2);
    scratch.clear();
    scratch.resize(n, 0.0);
    for (i, v) in s[..low].iter().enumerate() {
        scratch[2 * i] = v * HIGH_GAIN;
    }
    for (i, v) in s[low..].iter().enumerate() {
        scratch[2 * i + 1] = v * LOW_GAIN;
    }
    for (step, &a) in LIFT.iter().enumerate().rev() {
        lift(scratch, if step % 2 == 0 { 1 } else { 0 }, a, -1.0);
    }
    s.copy_from_slice(scratch);
}

fn transform_rows(
    plane: &mut [f64],
    width: usize,
    (h, w): (usize, usize),
    transform: fn(&mut [f64], &mut Vec<f64>),
) {
    let mut scratch = Vec::with_capacity(w);
    for row in plane.chunks_exact_mut(width).take(h) {
        transform(&mut row[..w], &mut scratch);
    }
}

fn transform_columns(
    plane: &mut [f64],
    width: usize,
    (h, w): (usize, usize),
    transform: fn(&mut [f64], &mut Vec<f64>),
) {
    let (mut column, mut scratch) = (vec![0.0; h], Vec::with_capacity(h));
    for x in 0..w {
        for (y, v) in column.iter_mut().enumerate() {
            *v = plane[y * width + x];
        }
        transform(&mut column, &mut scratch);
        for (y, &v) in column.iter().enumerate() {
            plane[y * width + x] = v;
        }
    }
}

/// Forward transform of a `height × width` plane in place, `levels` levels.
pub(super) fn forward(plane: &mut [f64], height: usize, width: usize, levels: u8) {
    let sizes = region_sizes(height, width, levels);
    for &region in &sizes[..levels as usize] {
        transform_rows(plane, width, region, forward_1d);
        transform_columns(plane, width, region, forward_1d);
    }
}

/// Inverse transform in place: from the coarsest level, columns then rows.
pub(super) fn inverse(plane: &mut [f64], height: usize, width: usize, levels: u8) {
    let sizes = region_sizes(height, width, levels);
    for &region in sizes[..levels as usize].iter().rev() {
        transform_columns(plane, width, region, inverse_1d);
        transform_rows(plane, width, region, inverse_1d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_forward_on_odd_and_tiny_planes() {
        for &(h, w, levels) in &[(37, 53, 4), (1, 9, 3), (2, 2, 1), (64, 64, 5), (5, 1, 2)] {
            let original: Vec<f64> = (0..h * w)
                .map(|i| ((i * 7919) % 251) as f64 - 100.0 + (i as f64 * 0.01).sin())
                .collect();
            let mut plane = original.clone();
            forward(&mut plane, h, w, levels);
            inverse(&mut plane, h, w, levels);
            let worst = plane
                .iter()
                .zip(&original)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst < 1e-9, "{h}x{w}/{levels}: {worst}");
        }
    }

    #[test]
    fn subbands_tile_the_plane_once() {
        let (h, w, levels) = (37, 53, 4);
        let mut covered = vec![0u8; h * w];
        for band in subbands(h, w, levels) {
            for y in band.rect.y0..band.rect.y1 {
                for x in band.rect.x0..band.rect.x1 {
                    covered[y * w + x] += 1;
                }
            }
        }
        assert!(covered.iter().all(|&c| c == 1));
    }

    #[test]
    fn a_smooth_plane_leaves_little_in_its_fine_subbands() {
        let (h, w) = (64, 64);
        let mut plane: Vec<f64> = (0..h * w)
            .map(|i| ((i / w) as f64 * 0.05).sin() * 100.0 + (i % w) as f64)
            .collect();
        let total: f64 = plane.iter().map(|v| v * v).sum();
        forward(&mut plane, h, w, 3);
        let fine_energy: f64 = subbands(h, w, 3)
            .iter()
            .filter(|b| b.level == 0)
            .flat_map(|b| {
                let r = b.rect;
                (r.y0..r.y1).flat_map(move |y| (r.x0..r.x1).map(move |x| (y, x)))
            })
            .map(|(y, x)| plane[y * w + x].powi(2))
            .sum();
        assert!(fine_energy < 1e-3 * total, "{fine_energy} of {total}");
    }
}
