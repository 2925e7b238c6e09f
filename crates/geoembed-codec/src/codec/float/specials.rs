//! Specials: samples the predictor should not see. NaN (with its payload), ±Inf, values a
//! lattice domain cannot rebuild bit for bit (−0.0), and nodata sentinels such as −9999 or
//! −32768 that sit far outside the band's range. Their positions and exact bits are stored
//! beside the residuals; in the plane they are replaced by a neighbour's value (the W
//! neighbour, or N at the start of a row), which both sides compute the same way, so they
//! neither cost residual bits nor disturb the prediction of their neighbours.

use super::domain::float_value;
use super::special_mask;
use crate::entropy::deflate;
use crate::entropy::varint::{put_u, Cursor};
use crate::error::{Error, Result};
use crate::sample::SampleType;

/// Most distinct special values a band may hold (the index of each special is one byte).
pub(super) const MAX_DISTINCT: usize = 256;

/// Positions (ascending) and bits of a band's specials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Specials {
    pub positions: Vec<u32>,
    pub bits: Vec<u64>,
}

/// Values far outside the rest of the band (nodata sentinels such as -9999, -32768 or
/// 3.4e38): repeatedly, the band's minimum (or maximum) whose gap to the next distinct
/// value exceeds the range of all other values, while at least 8 distinct values remain.
/// At most four from each end. `values` are the non-special values as f64.
///
/// Only the band's few smallest and largest distinct values take part, so they are
/// gathered in one pass ([`DistinctEnds`]) instead of sorting the band (the sort was a
/// sixth of the float codec's encoding time on ERA-Interim's int16 grids).
pub(super) fn sentinels(values: &[f64]) -> Vec<f64> {
    DistinctEnds::of(values.iter().copied().filter(|v| v.is_finite())).peel()
}

/// Sentinels peeled from each end of a band, at most.
const PEELS_EACH_WAY: usize = 4;

/// Distinct values at each end [`sentinels`] reads: after `PEELS_EACH_WAY` peels it looks
/// at two more.
const END_VALUES: usize = PEELS_EACH_WAY + 2;

/// A band's distinct values as [`sentinels`] needs them, ascending (by `total_cmp`;
/// values equal by `==`, `-0.0` and `0.0`, count once, as the smaller): all of them when
/// there are at most `2 * END_VALUES + 8`, else only the `END_VALUES` smallest followed
/// by the `END_VALUES` largest.
struct DistinctEnds {
    values: Vec<f64>,
    /// Whether `values` holds every distinct value.
    complete: bool,
}

impl DistinctEnds {
    /// The sentinels at the ends ([`sentinels`]' rule): with every distinct value at hand,
    /// at least 8 must remain after a peel; otherwise there are more than
    /// `2 * END_VALUES + 8` and at least 8 always remain.
    fn peel(&self) -> Vec<f64> {
        let distinct = &self.values;
        let remaining = |low: usize, high: usize| !self.complete || high - low > 8;
        let (mut low, mut high) = (0usize, distinct.len());
        let mut found = Vec::new();
        for _ in 0..PEELS_EACH_WAY {
            let mut peeled = false;
            if remaining(low, high)
                && distinct[low + 1] - distinct[low] > distinct[high - 1] - distinct[low + 1]
            {
                found.push(distinct[low]);
                low += 1;
                peeled = true;
            }
            if remaining(low, high)
                && distinct[high - 1] - distinct[high - 2] > distinct[high - 2] - distinct[low]
            {
                found.push(distinct[high - 1]);
                high -= 1;
                peeled = true;
            }
            if !peeled {
                break;
            }
        }
        found
    }

    fn of(values: impl Iterator<Item = f64>) -> Self {
        const FEW: usize = 2 * END_VALUES + 8;
        let mut all: Option<Vec<f64>> = Some(Vec::new());
        let (mut lowest, mut highest) = (Vec::new(), Vec::new());
        for v in values {
            if let Some(set) = all.as_mut() {
                insert_distinct(set, v, usize::MAX, |a, b| a.total_cmp(b));
                if set.len() > FEW {
                    all = None;
                }
            }
            insert_distinct(&mut lowest, v, END_VALUES, |a, b| a.total_cmp(b));
            insert_distinct(&mut highest, v, END_VALUES, |a, b| b.total_cmp(a));
        }
        match all {
            Some(values) => DistinctEnds {
                values,
                complete: true,
            },
            None => {
                highest.reverse();
                lowest.extend(highest);
                DistinctEnds {
                    values: lowest,
                    complete: false,
                }
            }
        }
    }
}

/// Inserts `v` into `kept`, sorted by `order` and distinct by `==`, keeping the first
/// `limit`; a value equal to a kept one replaces it if it sorts first (`-0.0` before
/// `0.0`). Returns quickly for the common value that sorts after a full `kept`.
#[inline]
fn insert_distinct(
    kept: &mut Vec<f64>,
    v: f64,
    limit: usize,
    order: impl Fn(&f64, &f64) -> std::cmp::Ordering,
) {
    if kept.len() == limit
        && kept
            .last()
            .is_some_and(|last| order(&v, last).is_gt() && v != *last)
    {
        return;
    }
    if let Some(same) = kept.iter_mut().find(|k| **k == v) {
        if order(&v, same).is_lt() {
            *same = v;
        }
        return;
    }
    let at = kept.partition_point(|k| order(k, &v).is_lt());
    kept.insert(at, v);
    kept.truncate(limit);
}

/// Whether a sample is always special: NaN and ±Inf.
#[inline]
pub(super) fn non_finite(ty: SampleType, bits: u64) -> bool {
    ty.is_float() && !float_value(ty, bits).is_finite()
}

/// Fills the specials of a plane in raster order with the W neighbour (N at x = 0, 0 for
/// the very first sample) — the rule the decoder repeats.
pub(super) fn fill(plane: &mut [i64], width: usize, mask: &[bool]) {
    for i in 0..plane.len() {
        if mask[i] {
            plane[i] = fill_value(plane, width, i);
        }
    }
}

#[inline(always)]
pub(super) fn fill_value(plane: &[i64], width: usize, i: usize) -> i64 {
    if !i.is_multiple_of(width) {
        plane[i - 1]
    } else if i >= width {
        plane[i - width]
    } else {
        0
    }
}

impl Specials {
    pub(super) fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// How many distinct bit patterns the specials take (at most [`MAX_DISTINCT`] can be
    /// written).
    pub(super) fn distinct_count(&self) -> usize {
        let mut distinct = self.bits.clone();
        distinct.sort_unstable();
        distinct.dedup();
        distinct.len()
    }

    pub(super) fn mask(&self, n: usize) -> Vec<bool> {
        let mut mask_bits = vec![false; n];
        for &p in &self.positions {
            mask_bits[p as usize] = true;
        }
        mask_bits
    }

    /// The block in whichever layout is smaller for a band of `width × height` samples: the
    /// gap list (§5.4.3), or, where `mask_allowed` and the band has at least
    /// [`MASK_MIN_COUNT`] specials, the context-coded mask (§5.4.3b, payload version 4).
    pub(super) fn encode(
        &self,
        width: usize,
        height: usize,
        mask_allowed: bool,
    ) -> Result<(Layout, Vec<u8>)> {
        let mut gaps = Vec::new();
        self.write_gaps(&mut gaps)?;
        if !mask_allowed || self.positions.len() < MASK_MIN_COUNT {
            return Ok((Layout::Gaps, gaps));
        }
        let mut mask = Vec::new();
        self.write_mask(width, height, &mut mask)?;
        Ok(match mask.len() < gaps.len() {
            true => (Layout::Mask, mask),
            false => (Layout::Gaps, gaps),
        })
    }

    /// Count, then a zlib block: distinct values, the gaps between positions, the index of
    /// each special's value.
    fn write_gaps(&self, out: &mut Vec<u8>) -> Result<()> {
        put_u(out, self.positions.len() as u64);
        if self.is_empty() {
            return Ok(());
        }
        let distinct = self.patterns()?;
        let mut raw = Vec::new();
        put_patterns(&mut raw, &distinct);
        let mut last = 0u32;
        for (k, &p) in self.positions.iter().enumerate() {
            put_u(&mut raw, (p - if k == 0 { 0 } else { last + 1 }) as u64);
            last = p;
        }
        self.put_indices(&mut raw, &distinct);
        deflate::put_zlib_block(out, &raw, 6)
    }

    /// Count, the context-coded mask, then a zlib block: distinct values, the index of each
    /// special's value.
    fn write_mask(&self, width: usize, height: usize, out: &mut Vec<u8>) -> Result<()> {
        put_u(out, self.positions.len() as u64);
        let mask = special_mask::encode(&self.positions, width, height);
        put_u(out, mask.len() as u64);
        out.extend_from_slice(&mask);
        let distinct = self.patterns()?;
        let mut raw = Vec::new();
        put_patterns(&mut raw, &distinct);
        self.put_indices(&mut raw, &distinct);
        deflate::put_zlib_block(out, &raw, 6)
    }

    /// The distinct bit patterns, ascending.
    fn patterns(&self) -> Result<Vec<u64>> {
        let mut distinct: Vec<u64> = self.bits.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() > MAX_DISTINCT {
            // The encoder leaves such domains out (`predictive::choose_coding`).
            return Err(Error::invalid("float: too many distinct special values"));
        }
        Ok(distinct)
    }

    /// Each special's index into `distinct`, when there is more than one pattern.
    fn put_indices(&self, raw: &mut Vec<u8>, distinct: &[u64]) {
        if distinct.len() > 1 {
            for b in &self.bits {
                raw.push(distinct.binary_search(b).expect("listed") as u8);
            }
        }
    }

    /// Reads what [`Specials::encode`] wrote in `layout`, for a band of `width × height`.
    pub(super) fn read(
        r: &mut Cursor,
        width: usize,
        height: usize,
        layout: Layout,
    ) -> Result<Specials> {
        let n = width * height;
        let count = r.bounded("special count", n as u64)? as usize;
        let mask = match layout {
            Layout::Gaps if count == 0 => return Ok(Specials::default()),
            Layout::Gaps => None,
            Layout::Mask if count == 0 => {
                return Err(Error::corrupt("float: a specials mask without specials"))
            }
            Layout::Mask => {
                let length = r.bounded("specials mask length", (r.data.len() - r.pos) as u64)?;
                let stream = r.bytes(length as usize, "specials mask")?;
                Some(special_mask::decode(stream, width, height, count)?)
            }
        };
        // A special block holds at most 8·256 + 10·n + n bytes: bound the inflation.
        let cap = 8 * MAX_DISTINCT + 11 * count + 16;
        let raw = deflate::read_zlib_block(r, cap, "float: special block")?;
        let mut cursor = Cursor::new(&raw, "float");
        let distinct = read_patterns(&mut cursor)?;
        let positions = match mask {
            Some(positions) => positions,
            None => read_gaps(&mut cursor, count, n)?,
        };
        let bits = if distinct.len() == 1 {
            vec![distinct[0]; count]
        } else {
            cursor
                .bytes(count, "special indices")?
                .iter()
                .map(|&k| {
                    distinct.get(k as usize).copied().ok_or_else(|| {
                        Error::corrupt(format!(
                            "float: special index {k} of {} values",
                            distinct.len()
                        ))
                    })
                })
                .collect::<Result<_>>()?
        };
        Ok(Specials { positions, bits })
    }
}

/// How a band's specials block is laid out: the band flags' bit 2 says (§5.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Layout {
    /// The gaps between positions (§5.4.3).
    Gaps,
    /// The context-coded mask (§5.4.3b, payload version 4).
    Mask,
}

/// Fewest specials for which the encoder also tries the mask: below, the gap list is a
/// few bytes and coding a bitmap of the whole band would cost more time than it saves.
const MASK_MIN_COUNT: usize = 16;

/// `uv m` then the `m` distinct patterns as u64 LE.
fn put_patterns(raw: &mut Vec<u8>, distinct: &[u64]) {
    put_u(raw, distinct.len() as u64);
    distinct
        .iter()
        .for_each(|b| raw.extend_from_slice(&b.to_le_bytes()));
}

fn read_patterns(cursor: &mut Cursor) -> Result<Vec<u64>> {
    let m = cursor.bounded("distinct specials", MAX_DISTINCT as u64)? as usize;
    if m == 0 {
        return Err(Error::corrupt("float: specials without values"));
    }
    Ok(cursor
        .bytes(8 * m, "special values")?
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect())
}

/// `count` positions in a band of `n` samples, each the gap after the one before.
fn read_gaps(cursor: &mut Cursor, count: usize, n: usize) -> Result<Vec<u32>> {
    let mut positions = Vec::with_capacity(count);
    let mut next = 0u64;
    for _ in 0..count {
        let position = next + cursor.bounded("special position", n as u64)?;
        if position >= n as u64 {
            return Err(Error::corrupt(format!(
                "float: special at sample {position} of a {n}-sample band"
            )));
        }
        positions.push(position as u32);
        next = position + 1;
    }
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition [`sentinels`] implements without sorting the band: every distinct
    /// value, sorted, then the same peeling.
    fn sentinels_by_sorting(values: &[f64]) -> Vec<f64> {
        let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        finite.sort_by(|a, b| a.total_cmp(b));
        finite.dedup();
        DistinctEnds {
            values: finite,
            complete: true,
        }
        .peel()
    }

    #[test]
    fn sentinels_match_the_sorted_definition() {
        // Bands of few and many distinct values, with sentinels at one or both ends,
        // repeated values, ±0, NaN and ±Inf: the one-pass ends give the sorted answer,
        // bit for bit.
        let mut rng = crate::test_rng::TestRng::new(1);
        let mut next = || rng.next_u64();
        let specials = [
            -9999.0,
            -32768.0,
            3.4e38,
            -3.4e38,
            1e30,
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
        ];
        for case in 0..2000 {
            let len = 1 + (next() % 64) as usize;
            let distinct = 1 + (next() % 40) as i64;
            let mut band: Vec<f64> = (0..len)
                .map(|_| (next() as i64 % distinct) as f64 * 0.5)
                .collect();
            for _ in 0..next() % 6 {
                let at = (next() as usize) % band.len();
                band[at] = specials[(next() as usize) % specials.len()];
            }
            let expected = sentinels_by_sorting(&band);
            let got = sentinels(&band);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&expected), "case {case}: {band:?}");
        }
    }

    #[test]
    fn a_region_of_specials_is_written_as_a_mask_and_read_back() {
        // Below a wavy coastline across a 120 x 50 band, two nodata patterns alternating by
        // row.
        let (width, height) = (120, 50);
        let positions: Vec<u32> = (0..width * height)
            .filter(|i| {
                let (y, x) = ((i / width) as f64, (i % width) as f64);
                y > 25.0 + 8.0 * (x / 7.0).sin() + 3.0 * (x / 2.3).cos()
            })
            .map(|i| i as u32)
            .collect();
        let bits = positions
            .iter()
            .map(|&p| [7, 0xffff][p as usize / width % 2])
            .collect();
        let s = Specials { positions, bits };
        assert_eq!(s.encode(width, height, false).unwrap().0, Layout::Gaps);
        let (layout, buf) = s.encode(width, height, true).unwrap();
        assert_eq!(layout, Layout::Mask);
        let mut gaps = Vec::new();
        s.write_gaps(&mut gaps).unwrap();
        assert!(buf.len() < gaps.len(), "{} {}", buf.len(), gaps.len());
        let mut cursor = Cursor::new(&buf, "float");
        assert_eq!(
            Specials::read(&mut cursor, width, height, layout).unwrap(),
            s
        );
        assert_eq!(cursor.pos, buf.len());
        // The same bytes read as a gap list are not these specials.
        let misread = Specials::read(&mut Cursor::new(&buf, "float"), width, height, Layout::Gaps);
        assert!(misread.map_or(true, |m| m != s));
    }

    #[test]
    fn specials_round_trip_and_sentinels_are_found() {
        let s = Specials {
            positions: vec![0, 5, 6, 99],
            bits: vec![1, 0x7fc0_0001, 1, 0xffff_ffff],
        };
        let (layout, buf) = s.encode(10, 10, true).unwrap();
        assert_eq!(layout, Layout::Gaps, "four specials are a list");
        assert_eq!(
            Specials::read(&mut Cursor::new(&buf, "float"), 10, 10, layout).unwrap(),
            s
        );
        assert!(Specials::read(&mut Cursor::new(&buf, "float"), 10, 5, layout).is_err());
        let dem: Vec<f64> = (0..20).map(|i| 480.0 + 5.0 * i as f64).collect();
        let with = |extra: &[f64]| [dem.as_slice(), extra].concat();
        assert_eq!(sentinels(&with(&[-9999.0])), vec![-9999.0]);
        assert_eq!(sentinels(&with(&[32767.0])), vec![32767.0]);
        assert!(sentinels(&with(&[600.0])).is_empty());
        assert!(
            sentinels(&[1.0, 2.0, 3.0, 500.0]).is_empty(),
            "too few values to judge"
        );
        let mut both = sentinels(&with(&[-9999.0, f32::MAX as f64, 1e30]));
        both.sort_by(f64::total_cmp);
        assert_eq!(both, vec![-9999.0, 1e30, f32::MAX as f64]);
    }
}
