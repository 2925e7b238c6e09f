//! The value table: floats that take few distinct values, each standing for an integer
//! code (AlphaEarth's power law `sign(q)·(|q|/127.5)²` of int8 codes, classified rasters
//! stored as floats). The table maps every code to its value's exact bits, so decoding is a
//! lookup and needs no arithmetic a platform could round differently.
//!
//! Which code a value gets: when a recipe ([`Recipe::PowerLaw`], given by the caller or the
//! built-in AlphaEarth one) rebuilds most of the tile's distinct values, the recipe's own
//! codes, so the codes keep the producer's arithmetic (what the native codec's linear
//! prediction needs); otherwise the values' ranks in numeric order, centred on zero.
//! Values the recipe does not produce take free codes.

use super::pixel_scale::value;
use super::Recipe;
use crate::sample::SampleType;
use crate::word_hash::WordHashMap as HashMap;

/// Most distinct values a table holds: every int16 code.
pub(super) const MAX_VALUES: usize = 1 << 16;

/// AlphaEarth's published dequantisation: `sign(q)·(|q| / 127.5)²`.
const ALPHAEARTH: Recipe = Recipe::PowerLaw {
    divisor: 127.5,
    exponent: 2.0,
};

/// A tile's codes: every distinct value's code, and the table that inverts it.
pub(super) struct ValueTable {
    /// The code type: int8 for at most 256 values, else int16.
    pub code_type: SampleType,
    /// The code of `values[0]`.
    pub first: i32,
    /// The value (its bits) of every code from `first` on; codes no value uses hold 0.
    pub values: Vec<u64>,
    /// Value bits → code.
    pub codes: HashMap<u64, i32>,
}

/// The tile's distinct sample values (their bits) and how often each occurs, or `None` if
/// there are more than [`MAX_VALUES`].
pub(super) fn distinct_values(size: usize, samples: &[u8]) -> Option<HashMap<u64, u32>> {
    let mut counts: HashMap<u64, u32> = HashMap::default();
    let mut raw = [0u8; 8];
    let mut last = None;
    for sample in samples.chunks_exact(size) {
        raw[..size].copy_from_slice(sample);
        let bits = u64::from_le_bytes(raw);
        // Runs of one value (nodata, water) skip the hash.
        if last == Some(bits) {
            *counts.get_mut(&bits).expect("counted") += 1;
            continue;
        }
        last = Some(bits);
        *counts.entry(bits).or_default() += 1;
        if counts.len() > MAX_VALUES {
            return None;
        }
    }
    Some(counts)
}

/// The value of code `q` under a power-law recipe, in f64 then rounded once to the sample
/// type (AlphaEarth's formula as published), or with every step in the sample type
/// (numpy on float32 arrays).
fn power_law(ty: SampleType, q: i32, divisor: f64, exponent: f64, narrow: bool) -> u64 {
    let sign = (q.signum()) as f64;
    let magnitude = q.unsigned_abs() as f64;
    if ty == SampleType::F32 && narrow {
        let base = magnitude as f32 / divisor as f32;
        let power = if exponent == 2.0 {
            base * base
        } else {
            base.powf(exponent as f32)
        };
        (sign as f32 * power).to_bits() as u64
    } else {
        let v = sign * (magnitude / divisor).powf(exponent);
        if ty == SampleType::F32 {
            (v as f32).to_bits() as u64
        } else {
            v.to_bits()
        }
    }
}

/// The recipe tables worth trying: `recipe` and AlphaEarth's, each computed both ways.
fn recipe_tables(ty: SampleType, recipe: Option<Recipe>) -> Vec<Vec<(i32, u64)>> {
    let mut recipes = Vec::new();
    if let Some(r @ Recipe::PowerLaw { .. }) = recipe {
        recipes.push(r);
    }
    if !recipes.contains(&ALPHAEARTH) {
        recipes.push(ALPHAEARTH);
    }
    let mut tables = Vec::new();
    for r in recipes {
        let Recipe::PowerLaw { divisor, exponent } = r else {
            continue;
        };
        for narrow in [false, true] {
            tables.push(
                (-127..=127)
                    .map(|q| (q, power_law(ty, q, divisor, exponent, narrow)))
                    .collect(),
            );
        }
    }
    tables
}

/// Codes for `distinct` values: a recipe's when one rebuilds at least 9 in 10 of the
/// finite ones, else ranks. Values left without a code (more values than codes) are not in the map:
/// the encoder keeps their samples as exceptions.
pub(super) fn build(
    ty: SampleType,
    distinct: &HashMap<u64, u32>,
    recipe: Option<Recipe>,
) -> ValueTable {
    let code_type = if distinct.len() <= 256 {
        SampleType::I8
    } else {
        SampleType::I16
    };
    let (code_min, code_max) = code_type.small_int_range().expect("small int");
    let mut codes: HashMap<u64, i32> = HashMap::default();
    let best_recipe = recipe_tables(ty, recipe)
        .into_iter()
        .map(|table| {
            let hits = table
                .iter()
                .filter(|(_, bits)| distinct.contains_key(bits))
                .count();
            (hits, table)
        })
        .max_by_key(|(hits, _)| *hits);
    // Nodata (NaN) is no evidence against a recipe.
    let finite = distinct
        .keys()
        .filter(|&&b| value(ty, b).is_finite())
        .count();
    match best_recipe {
        Some((hits, table)) if hits > 0 && hits * 10 >= finite * 9 => {
            for (q, bits) in table {
                if distinct.contains_key(&bits) {
                    codes.entry(bits).or_insert(q);
                }
            }
        }
        _ => {
            let mut sorted: Vec<u64> = distinct.keys().copied().collect();
            sorted.sort_by(|&a, &b| value(ty, a).total_cmp(&value(ty, b)));
            let centre = (sorted.len() / 2) as i32;
            for (rank, bits) in sorted.into_iter().enumerate() {
                codes.insert(bits, (rank as i32 - centre).clamp(code_min, code_max));
            }
        }
    }
    assign_free_codes(distinct, &mut codes, code_min, code_max);
    table_of(code_type, codes)
}

/// Gives the values still without a code the free codes, most frequent value first.
fn assign_free_codes(
    distinct: &HashMap<u64, u32>,
    codes: &mut HashMap<u64, i32>,
    code_min: i32,
    code_max: i32,
) {
    let mut left: Vec<(u32, u64)> = distinct
        .iter()
        .filter(|(bits, _)| !codes.contains_key(bits))
        .map(|(&bits, &count)| (count, bits))
        .collect();
    left.sort_unstable_by(|a, b| b.cmp(a));
    let used: std::collections::HashSet<i32> = codes.values().copied().collect();
    let mut free = (code_min..=code_max).filter(|c| !used.contains(c));
    for (_, bits) in left {
        let Some(code) = free.next() else { break };
        codes.insert(bits, code);
    }
}

fn table_of(code_type: SampleType, codes: HashMap<u64, i32>) -> ValueTable {
    let first = codes.values().copied().min().unwrap_or(0);
    let last = codes.values().copied().max().unwrap_or(0);
    let mut values = vec![0u64; (last - first + 1) as usize];
    for (&bits, &code) in &codes {
        values[(code - first) as usize] = bits;
    }
    ValueTable {
        code_type,
        first,
        values,
        codes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphaearth_values_get_their_codes_and_others_ranks() {
        let ty = SampleType::F32;
        let mut distinct = HashMap::default();
        for q in [-127, -5, 0, 3, 100] {
            distinct.insert(power_law(ty, q, 127.5, 2.0, false), 1);
        }
        distinct.insert(f32::NAN.to_bits() as u64, 7);
        let table = build(ty, &distinct, None);
        assert_eq!(table.code_type, SampleType::I8);
        assert_eq!(table.codes[&power_law(ty, 3, 127.5, 2.0, false)], 3);
        assert_eq!(table.codes[&power_law(ty, -127, 127.5, 2.0, false)], -127);
        // NaN (AlphaEarth's nodata) takes the first free code.
        assert_eq!(table.codes[&(f32::NAN.to_bits() as u64)], -128);
        for (&bits, &code) in &table.codes {
            assert_eq!(table.values[(code - table.first) as usize], bits);
        }
        let mut plain = HashMap::default();
        for v in [0.5f32, -2.0, 7.25] {
            plain.insert(v.to_bits() as u64, 1);
        }
        let ranks = build(ty, &plain, None);
        assert_eq!(ranks.codes[&((-2.0f32).to_bits() as u64)], -1);
        assert_eq!(ranks.codes[&(7.25f32.to_bits() as u64)], 1);
    }
}
