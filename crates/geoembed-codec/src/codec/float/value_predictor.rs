//! The value-space predictor (float payload version 2): a least-squares surface fitted on
//! the band's float values rather than on its integer plane. Smooth grids whose values cross
//! binades — anomalies and geoid heights around zero, any field spanning powers of two — are
//! not smooth in the fmap plane (its step doubles at every power of two), so plane
//! predictors see jumps along every contour; in value space the field is smooth again, and
//! interpolated grids (bicubic climatologies) are predicted to within a few units in the
//! last place by a template reaching four samples back, which catches their cubic pieces.
//!
//! The prediction `R + Σ w_j·(n_j − R)` is computed in binary64 from the decoded values
//! (`R` is W, or N at `x = 0`, or 0; a neighbour outside the tile is `R`), in a fixed order
//! with IEEE-754 rounding and no fused operation, rounded once to the sample type and mapped
//! to the plane (fmap): so every machine predicts the same bits, and the residual in the
//! plane keeps the band exact. A prediction that is not finite is `R`.

use super::domain::{float_value, Domain};
use crate::entropy::tokens::wide::zigzag;
use crate::entropy::varint::Cursor;
use crate::error::{Error, Result};
use crate::sample::SampleType;
use nalgebra::{DMatrix, DVector};

/// The predictor kind byte of a value-space predictor (after 0 linear, 1 MED; §5.4.4).
pub(super) const KIND: u8 = 2;
/// Most taps a value-space predictor may have, and their furthest reach.
const MAX_TAPS: usize = 32;
const MAX_REACH: i8 = 8;
/// Most samples a fit solves over, and on large bands (see `try_value_predictor` in
/// predictive.rs).
pub(super) const FIT_SAMPLES: usize = 2048;
pub(super) const WIDE_FIT_SAMPLES: usize = 8192;
/// The template the encoder fits: causal neighbours up to four samples away (W is `R`).
const TEMPLATE: [(i8, i8); 19] = [
    (-1, 0),
    (-1, -1),
    (-1, 1),
    (0, -2),
    (-2, 0),
    (-1, -2),
    (-2, -1),
    (-2, 1),
    (-1, 2),
    (0, -3),
    (0, -4),
    (-3, 0),
    (-4, 0),
    (-1, -3),
    (-2, -2),
    (-2, 2),
    (-3, -1),
    (-3, 1),
    (-1, 3),
];

#[derive(Clone, Debug, PartialEq)]
pub(super) struct ValuePredictor {
    /// (dy, dx, weight) of every tap.
    pub taps: Vec<(i8, i8, f64)>,
}

/// A band's decoded values (binary64) beside its plane, for the value-space predictor.
pub(super) fn value_of(ty: SampleType, plane_value: i64) -> f64 {
    float_value(ty, Domain::Fmap.mapper(ty).inverse(plane_value))
}

impl ValuePredictor {
    /// Kind, tap count, then per tap `dy`, `dx` (as i8) and the weight's f64 bits.
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[KIND, self.taps.len() as u8]);
        for &(dy, dx, weight) in &self.taps {
            out.extend_from_slice(&[dy as u8, dx as u8]);
            out.extend_from_slice(&weight.to_bits().to_le_bytes());
        }
    }

    /// Reads what [`ValuePredictor::write`] wrote after the kind byte.
    pub(super) fn read(r: &mut Cursor) -> Result<ValuePredictor> {
        let count = r.bytes(1, "value predictor taps")?[0] as usize;
        if count > MAX_TAPS {
            return Err(Error::corrupt(format!(
                "float: {count} value predictor taps"
            )));
        }
        let mut taps = Vec::with_capacity(count);
        for _ in 0..count {
            let tap = r.bytes(10, "value predictor tap")?;
            let (dy, dx) = (tap[0] as i8, tap[1] as i8);
            let causal = dy < 0 || (dy == 0 && dx < 0);
            if !causal || dy < -MAX_REACH || !(-MAX_REACH..=MAX_REACH).contains(&dx) {
                return Err(Error::corrupt(format!(
                    "float: value predictor tap ({dy}, {dx}) is not a causal neighbour"
                )));
            }
            let weight = f64::from_bits(u64::from_le_bytes(tap[2..].try_into().expect("8")));
            taps.push((dy, dx, weight));
        }
        Ok(ValuePredictor { taps })
    }

    pub(super) fn name(&self) -> String {
        format!("V{}", self.taps.len())
    }

    /// The predicted value of sample (y, x) from the band's `values` decoded before it.
    #[inline(always)]
    pub(super) fn predict(&self, values: &[f64], width: usize, y: usize, x: usize) -> f64 {
        let index = y * width + x;
        let reference = if x > 0 {
            values[index - 1]
        } else if y > 0 {
            values[index - width]
        } else {
            0.0
        };
        let mut sum = 0.0;
        for &(dy, dx, weight) in &self.taps {
            let (row, column) = (y as isize + dy as isize, x as isize + dx as isize);
            let neighbour = if row < 0 || column < 0 || column >= width as isize {
                reference
            } else {
                values[row as usize * width + column as usize]
            };
            sum += weight * (neighbour - reference);
        }
        let prediction = reference + sum;
        if prediction.is_finite() {
            prediction
        } else {
            reference
        }
    }

    /// The plane value (fmap) of a predicted value, rounded to the sample type.
    #[inline(always)]
    pub(super) fn plane_of(ty: SampleType, prediction: f64) -> i64 {
        let bits = if ty == SampleType::F32 {
            (prediction as f32).to_bits() as u64
        } else {
            prediction.to_bits()
        };
        Domain::Fmap
            .mapper(ty)
            .forward(bits)
            .expect("fmap holds every float")
    }

    /// Least-squares weights of the template on (at most `most_samples` of) the interior
    /// samples of `rows`, or `None`. Smooth fields make the template's differences nearly
    /// collinear, so the system is solved by a truncated SVD of the samples themselves:
    /// normal equations would square its condition number.
    pub(super) fn fit(
        values: &[f64],
        special: &[bool],
        width: usize,
        rows: &[usize],
        most_samples: usize,
    ) -> Option<Self> {
        let interior = |&(y, x): &(usize, usize)| !special[y * width + x];
        let samples: Vec<(usize, usize)> = rows
            .iter()
            .filter(|&&y| y >= 4)
            .flat_map(|&y| (4..width.saturating_sub(4)).map(move |x| (y, x)))
            .filter(interior)
            .collect();
        let step = samples.len().div_ceil(most_samples.max(1)).max(1);
        let samples: Vec<(usize, usize)> = samples.into_iter().step_by(step).collect();
        let taps = TEMPLATE.len();
        if samples.len() < 8 * taps {
            return None;
        }
        let reference = |y: usize, x: usize| values[y * width + x - 1];
        let at = |y: usize, x: usize, (dy, dx): (i8, i8)| {
            values
                [(y as isize + dy as isize) as usize * width + (x as isize + dx as isize) as usize]
        };
        let features = DMatrix::from_fn(samples.len(), taps, |row, tap| {
            let (y, x) = samples[row];
            at(y, x, TEMPLATE[tap]) - reference(y, x)
        });
        let target = DVector::from_fn(samples.len(), |row, _| {
            let (y, x) = samples[row];
            values[y * width + x] - reference(y, x)
        });
        // Householder QR of the samples: stable where normal equations would square the
        // condition number of nearly collinear differences.
        let solve = |features: DMatrix<f64>, target: &DVector<f64>| {
            let qr = features.qr();
            let mut rhs = target.clone();
            qr.q_tr_mul(&mut rhs);
            let r = qr.r();
            let head = rhs.rows(0, taps).into_owned();
            let diagonal = r.diagonal().amax();
            if (0..taps).any(|i| r[(i, i)].abs() <= diagonal * 1e-13) {
                return None;
            }
            r.solve_upper_triangular(&head)
        };
        let mut solution = solve(features.clone(), &target)?;
        // Outliers (a stray −0.0, a spike, a nodata fill) pull a least-squares surface off
        // the field: refit a few times without the samples whose residual is over eight
        // times the median of those kept (converges in three or four on smooth grids).
        let mut kept: Vec<usize> = (0..samples.len()).collect();
        for _ in 0..4 {
            let residuals: Vec<f64> = (&target - &features * &solution)
                .iter()
                .map(|r| r.abs())
                .collect();
            let mut kept_residuals: Vec<f64> = kept.iter().map(|&i| residuals[i]).collect();
            // The median by selection, not a sort (the same element: its rank).
            let middle = kept_residuals.len() / 2;
            let (_, median, _) = kept_residuals.select_nth_unstable_by(middle, f64::total_cmp);
            let limit = 8.0 * *median;
            let next: Vec<usize> = (0..samples.len())
                .filter(|&i| residuals[i] <= limit)
                .collect();
            if next == kept || next.len() < 8 * taps {
                break;
            }
            kept = next;
            let subset = DMatrix::from_fn(kept.len(), taps, |row, tap| features[(kept[row], tap)]);
            let subset_target = DVector::from_fn(kept.len(), |row, _| target[kept[row]]);
            solution = solve(subset, &subset_target)?;
        }
        solution
            .iter()
            .all(|w| w.is_finite())
            .then(|| ValuePredictor {
                taps: TEMPLATE
                    .iter()
                    .zip(solution.iter())
                    .map(|(&(dy, dx), &w)| (dy, dx, w))
                    .collect(),
            })
    }

    /// Estimated bits of the band's residuals on `rows` (bit length + 1 per sample).
    pub(super) fn cost(
        &self,
        ty: SampleType,
        plane: &[i64],
        values: &[f64],
        special: &[bool],
        width: usize,
        rows: &[usize],
    ) -> u64 {
        let mut bits = 0;
        for &y in rows {
            for x in 0..width {
                let index = y * width + x;
                if !special[index] {
                    let predicted = Self::plane_of(ty, self.predict(values, width, y, x));
                    bits +=
                        65 - zigzag(plane[index].wrapping_sub(predicted)).leading_zeros() as u64;
                }
            }
        }
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_smooth_field_across_zero_is_predicted_to_a_few_units() {
        let (w, h) = (40, 30);
        let ty = SampleType::F32;
        let field = |y: usize, x: usize| {
            let (u, v) = (x as f64 / 9.0 - 2.0, y as f64 / 7.0 - 2.0);
            (u * u * u * 0.1 - u * v + 0.3 * v * v) as f32
        };
        let plane: Vec<i64> = (0..w * h)
            .map(|i| {
                Domain::Fmap
                    .mapper(ty)
                    .forward(field(i / w, i % w).to_bits() as u64)
                    .unwrap()
            })
            .collect();
        let values: Vec<f64> = plane.iter().map(|&v| value_of(ty, v)).collect();
        let special = vec![false; w * h];
        let rows: Vec<usize> = (0..h).collect();
        let p = ValuePredictor::fit(&values, &special, w, &rows, FIT_SAMPLES).unwrap();
        let interior: Vec<usize> = (4..h).collect();
        let per_sample = p.cost(ty, &plane, &values, &special, w, &interior) as f64
            / (w * interior.len()) as f64;
        assert!(per_sample < 12.0, "{per_sample} bits per sample");
        let mut buf = Vec::new();
        p.write(&mut buf);
        assert_eq!(buf[0], KIND);
        let back = ValuePredictor::read(&mut Cursor::new(&buf[1..], "float")).unwrap();
        assert_eq!(back, p);
        buf[2] = 1; // dy = +1: not causal
        assert!(ValuePredictor::read(&mut Cursor::new(&buf[1..], "float")).is_err());
    }
}
