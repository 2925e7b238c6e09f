//! The exact check behind every near-lossless test of float samples: whether a decoded
//! value is within the bound of its source in real numbers, not just after the rounding of
//! their difference (a bound met only by rounding would let the codec cheat by half an
//! ulp). Included with `#[path]`.

/// Whether `|x − x̂| ≤ e` holds in real numbers: the rounded difference decides unless it
/// equals `e`, where TwoSum's exact remainder does.
pub fn within(x: f64, x_hat: f64, e: f64) -> bool {
    let d = x - x_hat;
    if d.abs() != e {
        return d.abs() < e;
    }
    let bb = d - x;
    let err = (x - (d - bb)) + (-x_hat - bb);
    if d > 0.0 {
        err <= 0.0
    } else {
        err >= 0.0
    }
}
