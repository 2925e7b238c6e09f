//! The palette layer: a band whose values use few of the integers in their range (NetCDF
//! data re-packed from a coarser grid, sensors with uneven steps: ERA-Interim winds use
//! ~2,500 of 57,000 int16 codes) is predicted in *rank* space, where neighbouring values
//! are neighbouring integers again. The sorted distinct values are stored with the band.

use crate::entropy::deflate;
use crate::entropy::varint::{put_i, put_u, Cursor};
use crate::error::{Error, Result};
use crate::word_hash::WordHashState;
use std::collections::HashSet;

/// Most values a palette may hold.
pub(super) const MAX_VALUES: usize = 1 << 20;

/// Widest span of values [`Palette::nearest_ranks`] ranks by a table (512 KiB of counts).
const RANK_TABLE_SPAN: u64 = 1 << 17;

/// Widest span of values [`Palette::of`] marks in a bitmap (128 KiB of bits) instead of
/// sorting.
const BITMAP_SPAN: u64 = 1 << 20;

/// The distinct values among `values`, all within `min..min + span`, ascending.
fn distinct_by_bitmap(values: impl Iterator<Item = i64>, min: i64, span: usize) -> Vec<i64> {
    let mut seen = vec![0u64; span.div_ceil(64)];
    for v in values {
        let offset = v.abs_diff(min) as usize;
        seen[offset / 64] |= 1 << (offset % 64);
    }
    let mut distinct = Vec::new();
    for (word_index, &word) in seen.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let offset = word_index * 64 + bits.trailing_zeros() as usize;
            distinct.push(min.wrapping_add(offset as i64));
            bits &= bits - 1;
        }
    }
    distinct
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Palette {
    /// Sorted, distinct plane values.
    pub values: Vec<i64>,
}

impl Palette {
    /// The distinct values of the non-special samples, ascending, or `None` when there are
    /// more than `most` of them.
    ///
    /// Planes of integer samples span few values (at most 2^16 for 16-bit types): their
    /// distinct values are marked in a bitmap of the span, linear in the samples, where
    /// sorting them was a fourteenth of the float codec's encoding time on int16 grids.
    /// Wider planes (floats' bit patterns) are gathered in a hash set that gives up past
    /// `most`: nearly every value of a float grid is distinct, and sorting them all took 7%
    /// of the encoding of a small one for a palette it could not use.
    pub(super) fn of(plane: &[i64], special: &[bool], most: usize) -> Option<Palette> {
        let kept = || {
            plane
                .iter()
                .zip(special)
                .filter(|(_, &s)| !s)
                .map(|(&v, _)| v)
        };
        let range = kept().fold(None, |range, v| match range {
            None => Some((v, v)),
            Some((min, max)) => Some((v.min(min), v.max(max))),
        });
        let Some((min, max)) = range else {
            return Some(Palette { values: Vec::new() });
        };
        let span = max.abs_diff(min);
        let values = if span < BITMAP_SPAN {
            distinct_by_bitmap(kept(), min, span as usize + 1)
        } else {
            let mut distinct = HashSet::with_capacity_and_hasher(
                most.min(plane.len()) + 1,
                WordHashState::default(),
            );
            for v in kept() {
                if distinct.insert(v) && distinct.len() > most {
                    return None;
                }
            }
            let mut values: Vec<i64> = distinct.into_iter().collect();
            values.sort_unstable();
            values
        };
        (values.len() <= most).then_some(Palette { values })
    }

    /// Whether ranks could predict better than values: the band uses at most half of the
    /// integers in its range, and the table is small beside the band.
    pub(super) fn worth_trying(&self, samples: usize) -> bool {
        let distinct = self.values.len();
        if !(2..=MAX_VALUES).contains(&distinct) || distinct * 4 > samples {
            return false;
        }
        let span = self.values[distinct - 1] as i128 - self.values[0] as i128;
        span >= 2 * distinct as i128
    }

    /// The rank a value would have: the number of palette values below it.
    #[inline]
    pub(super) fn nearest_rank(&self, v: i64) -> i64 {
        self.values.partition_point(|&p| p < v) as i64
    }

    /// [`Self::nearest_rank`] of every value in `values`, in order. A palette of integers
    /// spanning at most [`RANK_TABLE_SPAN`] ranks them by a table of the span, not a binary
    /// search per value: ERA-Interim winds rank 115,680 samples per band against 2,500
    /// values, twice (the plane and the previous band's).
    pub(super) fn nearest_ranks(&self, values: impl Iterator<Item = i64>) -> Vec<i64> {
        let (Some(&min), Some(&max)) = (self.values.first(), self.values.last()) else {
            return values.map(|_| 0).collect();
        };
        let span = max.abs_diff(min);
        if span >= RANK_TABLE_SPAN {
            return values.map(|v| self.nearest_rank(v)).collect();
        }
        // below[v - min]: how many palette values are below v, for v in min..=max.
        let mut below = Vec::with_capacity(span as usize + 1);
        let mut count = 0u32;
        let mut next = self.values.iter().peekable();
        for offset in 0..=span {
            let v = min.wrapping_add(offset as i64);
            while next.next_if(|&&p| p < v).is_some() {
                count += 1;
            }
            below.push(count);
        }
        let top = self.values.len() as i64;
        values
            .map(|v| match v {
                v if v < min => 0,
                v if v > max => top,
                v => i64::from(below[v.abs_diff(min) as usize]),
            })
            .collect()
    }

    /// The value of a rank (ranks outside the palette, from corrupt data, clamp).
    #[inline(always)]
    pub(super) fn value(&self, r: i64) -> i64 {
        self.values[r.clamp(0, self.values.len() as i64 - 1) as usize]
    }

    /// `uv count`, `uv length`, zlib stream of: `sv first`, then `uv (gap − 1)` per value.
    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut raw = Vec::new();
        put_i(&mut raw, self.values[0]);
        for w in self.values.windows(2) {
            put_u(&mut raw, (w[1] as i128 - w[0] as i128 - 1) as u64);
        }
        put_u(out, self.values.len() as u64);
        deflate::put_zlib_block(out, &raw, 9)
    }

    pub(super) fn read(r: &mut Cursor) -> Result<Palette> {
        let count = r.bounded("palette size", MAX_VALUES as u64)? as usize;
        if count < 2 {
            return Err(Error::corrupt(format!("float: palette of {count} values")));
        }
        let zlen = r.bounded("palette length", (r.data.len() - r.pos) as u64)? as usize;
        let raw = deflate::unzlib(r.bytes(zlen, "palette")?, 10 * count + 10, "float: palette")?;
        let mut cursor = Cursor::new(&raw, "float");
        let mut values = Vec::with_capacity(count);
        let mut value = cursor.i("palette value")?;
        values.push(value);
        for _ in 1..count {
            // A gap may exceed i64::MAX (values more than 2^63 apart, as fmap planes of
            // floats of both signs are): only the value it leads to must fit.
            let gap = cursor.u("palette gap")?;
            value = i64::try_from(value as i128 + 1 + gap as i128)
                .map_err(|_| Error::corrupt("float: palette values overflow"))?;
            values.push(value);
        }
        Ok(Palette { values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranks by table (a span under 2^17) and by binary search (wider) agree with
    /// `nearest_rank` on values inside, between, below and above the palette.
    #[test]
    fn ranks_by_table_and_by_search_agree() {
        for values in [vec![-7i64, -3, 0, 4, 5, 900], vec![-7, 0, 1 << 40]] {
            let p = Palette { values };
            let probes: Vec<i64> = (-12..910).chain([1 << 40, (1 << 40) + 1]).collect();
            let expected: Vec<i64> = probes.iter().map(|&v| p.nearest_rank(v)).collect();
            assert_eq!(p.nearest_ranks(probes.iter().copied()), expected);
        }
    }

    #[test]
    fn palette_round_trips_and_ranks() {
        let plane = vec![16333i64, 16338, 16338, -5, 16343, 9_000_000_000];
        let p = Palette::of(&plane, &[false, false, false, false, false, true], 100).unwrap();
        assert_eq!(p.values, vec![-5, 16333, 16338, 16343]);
        assert_eq!(p.nearest_rank(16338), 2);
        assert_eq!(p.nearest_rank(16340), 3);
        assert_eq!(p.value(99), 16343);
        let mut buf = Vec::new();
        p.write(&mut buf).unwrap();
        assert_eq!(Palette::read(&mut Cursor::new(&buf, "float")).unwrap(), p);
    }

    #[test]
    fn bitmap_and_hash_set_give_the_same_palette() {
        // Narrow planes go through the bitmap, wide ones through the hash set: both give
        // the sorted distinct values, extremes of i64 included, or none when one more
        // than allowed.
        let mut rng = crate::test_rng::TestRng::new(2);
        let mut next = || rng.next_u64();
        for case in 0..500 {
            let width = [3u64, 200, 70_000, 1 << 21, u64::MAX][case % 5];
            let base = next() as i64;
            let plane: Vec<i64> = (0..1 + next() % 300)
                .map(|_| base.wrapping_add((next() % width) as i64))
                .collect();
            let special: Vec<bool> = plane.iter().map(|_| next() % 7 == 0).collect();
            let mut expected: Vec<i64> = plane
                .iter()
                .zip(&special)
                .filter(|(_, &s)| !s)
                .map(|(&v, _)| v)
                .collect();
            expected.sort_unstable();
            expected.dedup();
            let most = (expected.len() + case % 3).saturating_sub(1);
            let palette = Palette::of(&plane, &special, most).map(|p| p.values);
            let within = (expected.len() <= most).then_some(expected);
            assert_eq!(palette, within, "case {case}");
        }
    }
}
