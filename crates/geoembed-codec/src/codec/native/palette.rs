//! Per-band value maps: a band that takes few distinct values, or only values on a regular
//! grid, is coded as indices into them. A constant band then codes nothing; a 0/255 mask
//! codes 0/1; values that are all multiples of 10 code a tenth of the range.

use crate::entropy::varint::{put_i, put_u, Cursor};
use crate::error::{Error, Result};

/// Bands with more distinct values than this get a list palette only if they lie on a grid.
const MAX_LIST: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Palette {
    /// Samples are coded as they are.
    #[default]
    Identity,
    /// The sorted distinct values; index `i` stands for `values[i]`.
    List(Vec<i32>),
    /// Index `i` stands for `first + i·step`, `i < count`.
    Grid { first: i32, step: i32, count: u32 },
}

impl Palette {
    /// Chooses the map of a band from its sorted distinct values. A list is kept only for
    /// constant bands and for at most [`MAX_LIST`] values spread over at least twice as
    /// many (masks, classes): an order-preserving but nonlinear map of many values would hurt
    /// linear prediction. Values with a common step (gcd of their gaps) > 1 use the grid,
    /// a linear map.
    pub(super) fn choose(values: &[i32]) -> Palette {
        let (Some(&lo), Some(&hi)) = (values.first(), values.last()) else {
            return Palette::Identity;
        };
        if values.len() == 1 {
            return Palette::List(values.to_vec());
        }
        let step = values.windows(2).fold(0, |g, d| gcd(g, d[1] - d[0]));
        if step > 1 {
            return Palette::Grid {
                first: lo,
                step,
                count: ((hi - lo) / step + 1) as u32,
            };
        }
        if values.len() <= MAX_LIST && 2 * values.len() <= (hi - lo + 1) as usize {
            return Palette::List(values.to_vec());
        }
        Palette::Identity
    }

    /// Number of indices; 0 for the identity.
    pub(super) fn len(&self) -> usize {
        match self {
            Palette::Identity => 0,
            Palette::List(v) => v.len(),
            Palette::Grid { count, .. } => *count as usize,
        }
    }

    pub(super) fn is_identity(&self) -> bool {
        *self == Palette::Identity
    }

    /// The sample value of index `i` (< `len()`).
    #[inline(always)]
    pub(super) fn value(&self, i: usize) -> i32 {
        match self {
            Palette::Identity => i as i32,
            Palette::List(v) => v[i],
            Palette::Grid { first, step, .. } => first + i as i32 * step,
        }
    }

    /// The index of a sample value the palette holds.
    #[inline(always)]
    pub(super) fn index(&self, v: i32) -> Option<i32> {
        match self {
            Palette::Identity => Some(v),
            Palette::List(list) => list.binary_search(&v).ok().map(|i| i as i32),
            Palette::Grid { first, step, count } => {
                let distance = v - first;
                (distance >= 0 && distance % step == 0 && ((distance / step) as u32) < *count)
                    .then_some(distance / step)
            }
        }
    }

    /// Whether every value lies in `[min, max]`.
    pub(super) fn fits(&self, min: i32, max: i32) -> bool {
        match self {
            Palette::Identity => true,
            Palette::List(v) => v.iter().all(|&x| (min..=max).contains(&x)),
            Palette::Grid { first, step, count } => {
                let last = *first as i64 + (*count as i64 - 1) * *step as i64;
                *first >= min && last <= max as i64
            }
        }
    }

    /// Kind (0 identity, 1 list, 2 grid), then its fields (docs/format.md §5.3).
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Palette::Identity => out.push(0),
            Palette::List(v) => {
                out.push(1);
                put_u(out, v.len() as u64);
                put_i(out, v[0] as i64);
                v.windows(2)
                    .for_each(|d| put_u(out, (d[1] - d[0] - 1) as u64));
            }
            Palette::Grid { first, step, count } => {
                out.push(2);
                put_i(out, *first as i64);
                put_u(out, *step as u64);
                put_u(out, *count as u64);
            }
        }
    }

    pub(super) fn read(r: &mut Cursor) -> Result<Palette> {
        const LIMIT: i64 = 1 << 16;
        Ok(match r.bytes(1, "palette kind")?[0] {
            0 => Palette::Identity,
            1 => {
                let size = r.bounded("palette size", MAX_LIST as u64)? as usize;
                if size == 0 {
                    return Err(Error::corrupt("native: an empty palette"));
                }
                let mut value = r.signed("palette value", LIMIT)?;
                let mut list = vec![value as i32];
                for _ in 1..size {
                    value += 1 + r.bounded("palette gap", 2 * LIMIT as u64)? as i64;
                    if value > LIMIT {
                        return Err(Error::corrupt("native: palette value out of range"));
                    }
                    list.push(value as i32);
                }
                Palette::List(list)
            }
            2 => Palette::Grid {
                first: r.signed("palette first value", LIMIT)? as i32,
                step: r.bounded("palette step", 2 * LIMIT as u64)?.max(1) as i32,
                count: r.bounded("palette size", LIMIT as u64)?.max(1) as u32,
            },
            k => return Err(Error::corrupt(format!("native: palette kind {k}"))),
        })
    }
}

fn gcd(a: i32, b: i32) -> i32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_by_shape_of_the_histogram() {
        assert_eq!(Palette::choose(&[7]), Palette::List(vec![7]));
        assert_eq!(
            Palette::choose(&[0, 255]),
            Palette::Grid {
                first: 0,
                step: 255,
                count: 2
            }
        );
        assert_eq!(
            Palette::choose(&[0, 3, 200]),
            Palette::List(vec![0, 3, 200])
        );
        assert_eq!(
            Palette::choose(&[5, 13, 29, 37]),
            Palette::Grid {
                first: 5,
                step: 8,
                count: 5
            }
        );
        assert_eq!(Palette::choose(&[1, 2, 3, 5]), Palette::Identity);
        let many: Vec<i32> = (0..40).map(|i| i * i).collect();
        assert_eq!(Palette::choose(&many), Palette::Identity);
    }

    #[test]
    fn index_and_value_are_inverse() {
        for p in [
            Palette::List(vec![-3, 9, 40]),
            Palette::Grid {
                first: -10,
                step: 5,
                count: 9,
            },
        ] {
            for i in 0..p.len() {
                assert_eq!(p.index(p.value(i)), Some(i as i32));
            }
            assert_eq!(p.index(41), None);
        }
    }
}
