//! The `lz` codec: zstd on the tile as it is, for any sample type. A safety net for `auto`:
//! tiles that repeat long runs of bytes — whole rows, periodic patterns, partial vectors —
//! in ways no predictor and no whole-pixel repeat sees, where a general-purpose compressor
//! would otherwise win. `auto` tries it only when a fast zstd pass comes near its best
//! payload (see [`worth_trying`]).

use super::Effort;
use crate::error::{Error, Result};

const VERSION: u8 = 1;

/// zstd's level for an effort: the fast pass's, and the level `auto` stores.
fn level(effort: Effort) -> i32 {
    match effort {
        Effort::Fast => 9,
        Effort::Default | Effort::Max => 19,
    }
}

/// The payload: a version byte, then one zstd frame of the samples (docs/format.md §5.6).
pub(super) fn encode(samples: &[u8], effort: Effort) -> Result<Vec<u8>> {
    let mut out = vec![VERSION];
    let frame = zstd::bulk::compress(samples, level(effort))
        .map_err(|e| Error::invalid(format!("lz: zstd failed: {e}")))?;
    out.extend_from_slice(&frame);
    Ok(out)
}

/// Decodes exactly `expected` bytes; anything else is corrupt.
pub(super) fn decode(payload: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<()> {
    let (&version, frame) = payload
        .split_first()
        .ok_or_else(|| Error::truncated("lz: empty payload"))?;
    if version != VERSION {
        return Err(Error::unsupported(format!(
            "lz payload version {version} (this build reads {VERSION})"
        )));
    }
    let samples = zstd::bulk::decompress(frame, expected)
        .map_err(|e| Error::corrupt(format!("lz: zstd stream: {e}")))?;
    if samples.len() != expected {
        return Err(Error::corrupt(format!(
            "lz: zstd stream holds {} bytes, the tile {expected}",
            samples.len()
        )));
    }
    out.extend_from_slice(&samples);
    Ok(())
}

/// Whether the `lz` codec could beat a payload of `best` bytes: a zstd level-1 pass
/// (hundreds of MB/s) within 5/4 of it, and on tiles of 64 KiB and more a level-9 pass at
/// least 2% smaller than level 1. Level 19 is typically 20-30% smaller than level 1 on
/// repetitive tiles; on tiles a predictor models, level 1 is several times larger. The
/// second pass is for tiles of high-entropy samples with nothing to match (float scale
/// planes: level 1 within 1.2x of the float codec's payload), where no level gains on level
/// 1 and level 19 took two thirds of `auto`'s time (4.6 MB/s on a 1000 x 750 scale plane);
/// small tiles skip it (cheap at any level, and there level 19's parsing can win where
/// level 9 gains nothing: the Landsat border tiles of the golden files).
pub(super) fn worth_trying(samples: &[u8], best: usize) -> bool {
    const SMALL: usize = 64 << 10;
    let size_at = |level| zstd::bulk::compress(samples, level).map(|z| z.len());
    let Ok(quick) = size_at(1) else {
        return false;
    };
    samples.len() >= 256
        && quick * 4 < best * 5
        && (samples.len() < SMALL || size_at(9).is_ok_and(|deeper| deeper * 100 <= quick * 98))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::TestRng;

    /// Bytes of `n` float32 samples of a smooth ramp plus noise in the low mantissa bits:
    /// high entropy, nothing for a match finder (like a per-pixel scale plane).
    fn noisy_floats(n: usize, seed: u64) -> Vec<u8> {
        let mut rng = TestRng::new(seed);
        (0..n)
            .flat_map(|i| {
                let v = 1.0 + i as f32 / n as f32 + (rng.below(1 << 16) as f32) * 1e-7;
                v.to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn level_19_is_tried_where_matches_pay_and_not_on_large_noise() {
        // 256 KiB of noise-like floats: level 1 is near any model's size, level 9 gains
        // nothing on it, so level 19 is not run (it was two thirds of `auto`'s time).
        let noise = noisy_floats(64 << 10, 1);
        let quick = zstd::bulk::compress(&noise, 1).unwrap().len();
        assert!(!worth_trying(&noise, quick), "large noise");
        // 256 KiB of words drawn from a dictionary of 2,000 random ones (8-40 bytes): the
        // deeper search of level 9 finds more of the repeats than level 1.
        let mut rng = TestRng::new(2);
        let words: Vec<Vec<u8>> = (0..2000)
            .map(|_| {
                (0..8 + rng.below(33))
                    .map(|_| rng.below(256) as u8)
                    .collect()
            })
            .collect();
        let mut repeated = Vec::new();
        while repeated.len() < 256 << 10 {
            repeated.extend_from_slice(&words[rng.index(words.len())]);
        }
        let quick = zstd::bulk::compress(&repeated, 1).unwrap().len();
        assert!(worth_trying(&repeated, quick), "repeated words");
        // Under 64 KiB the level-9 pass is skipped: level 1 near the best is enough.
        let small = noisy_floats(4 << 10, 3);
        let quick = zstd::bulk::compress(&small, 1).unwrap().len();
        assert!(worth_trying(&small, quick), "small tile");
        // Far from the best model: never.
        assert!(
            !worth_trying(&repeated, quick / 4),
            "a model four times smaller"
        );
    }
}
