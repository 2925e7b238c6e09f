//! Where a band's specials are, as a context-coded bitmap (float payload version 4,
//! docs/format.md §5.4.3b): row by row in runs of 16 samples, one adaptive decision for a
//! run that repeats the row above, else one per sample in the context of the ten samples
//! around it already coded (JBIG's three-line template).
//!
//! Why a second layout beside the list of gaps: the specials of real rasters are regions,
//! not scattered samples. A climate grid masked outside a country (gridMET's 40% nodata), a
//! sea surface field masked over land, the voids of an SRTM tile: their positions are a
//! shape whose outline continues from one row to the next. A list of gaps between
//! positions codes each run boundary afresh (about 16 bits per boundary once deflated);
//! the template sees the boundary in the rows above and codes it in 2–4 bits, and the
//! runs between for almost nothing. The encoder writes whichever layout is smaller. Runs:
//! inside a region and along an outline that does not move, a row repeats the one above,
//! and one decision instead of sixteen keeps decoding as fast as the gap list's.

use crate::entropy::binary::{BitModel, RangeDecoder, RangeEncoder};
use crate::error::{Error, Result};

/// Samples of template context: 2¹⁰ adaptive models.
const CONTEXTS: usize = 1 << 10;
/// The bitmap's margin on every side, so the template never leaves it (outside the band a
/// sample is not special).
const MARGIN: usize = 2;

/// The band's specials bitmap with a zero margin, as both ends build it run by run.
struct Bitmap {
    bits: Vec<u8>,
    stride: usize,
}

/// The template slid along a row: each register holds one row's samples of it, the newest
/// in bit 0, so moving one sample right is a shift and one load per row.
struct Template {
    /// This row: x − 1 (bit 0) and x − 2.
    here: usize,
    /// The row above: x + 2 (bit 0), x + 1, x, x − 1, x − 2.
    above: usize,
    /// Two rows above: x + 1 (bit 0), x, x − 1.
    two_above: usize,
}

impl Template {
    /// The context: `here`, then `above` from bit 2, `two_above` from bit 7.
    fn context(&self) -> usize {
        self.here | self.above << 2 | self.two_above << 7
    }
}

impl Bitmap {
    fn new(width: usize, height: usize) -> Self {
        let stride = width + 2 * MARGIN;
        Bitmap {
            bits: vec![0; stride * (height + MARGIN)],
            stride,
        }
    }

    /// Where sample `(y, x)` is in `bits`.
    fn at(&self, y: usize, x: usize) -> usize {
        (y + MARGIN) * self.stride + x + MARGIN
    }

    /// The template of the sample at `at`, from the bitmap.
    fn template_at(&self, at: usize) -> Template {
        let bit = |i: usize| self.bits[i] as usize;
        let (above, two_above) = (at - self.stride, at - 2 * self.stride);
        Template {
            here: bit(at - 1) | bit(at - 2) << 1,
            above: bit(above + 2)
                | bit(above + 1) << 1
                | bit(above) << 2
                | bit(above - 1) << 3
                | bit(above - 2) << 4,
            two_above: bit(two_above + 1) | bit(two_above) << 1 | bit(two_above - 1) << 2,
        }
    }

    /// Slides `template` one sample right, to `at` (the sample before it was `special`).
    fn slide(&self, template: &mut Template, at: usize, special: bool) {
        template.here = (template.here << 1 | special as usize) & 0b11;
        template.above = (template.above << 1 | self.bits[at - self.stride + 2] as usize) & 0b11111;
        template.two_above =
            (template.two_above << 1 | self.bits[at - 2 * self.stride + 1] as usize) & 0b111;
    }
}

/// Samples per run: each row is cut into runs of this many samples (the last one shorter),
/// and a run that repeats the samples above it costs one decision.
const RUN: usize = 16;
/// Contexts of a run's decision: whether the run before it in the row, and the run above
/// it, repeated the row above, and whether the samples above it are all alike.
const RUN_CONTEXTS: usize = 8;

/// One end of the mask's coding: the encoder says what each decision is, the decoder
/// reads it. Positions are in [`Bitmap`]'s layout, which the encoder's bitmap shares.
trait MaskCoder {
    /// Whether the run of `len` samples from `start` repeats the samples above it.
    fn run_repeats(&mut self, context: usize, start: usize, len: usize) -> bool;
    /// Whether the sample at `at` is special.
    fn sample(&mut self, context: usize, at: usize) -> bool;
}

/// Walks the band in raster order run by run, each coded sample's template at hand, and
/// records what `coder` decides; returns the bitmap.
fn walk(width: usize, height: usize, coder: &mut impl MaskCoder) -> Bitmap {
    let mut bitmap = Bitmap::new(width, height);
    let stride = bitmap.stride;
    // Which runs of the row above repeated theirs (none above row 0).
    let mut repeated_above = vec![false; width.div_ceil(RUN)];
    for y in 0..height {
        let mut repeated_before = false;
        for (run, x0) in (0..width).step_by(RUN).enumerate() {
            let (len, start) = (RUN.min(width - x0), bitmap.at(y, x0));
            let above = &bitmap.bits[start - stride..start - stride + len];
            let uniform_above = above.iter().all(|&b| b == above[0]);
            let context = repeated_before as usize
                | (repeated_above[run] as usize) << 1
                | (uniform_above as usize) << 2;
            let repeats = coder.run_repeats(context, start, len);
            if repeats {
                bitmap
                    .bits
                    .copy_within(start - stride..start - stride + len, start);
            } else {
                let mut template = bitmap.template_at(start);
                for at in start..start + len {
                    if at > start {
                        bitmap.slide(&mut template, at, bitmap.bits[at - 1] == 1);
                    }
                    bitmap.bits[at] = coder.sample(template.context(), at) as u8;
                }
            }
            (repeated_before, repeated_above[run]) = (repeats, repeats);
        }
    }
    bitmap
}

/// The encoder's side: the band's specials as a bitmap, coded as [`walk`] asks.
struct MaskEncoder {
    special: Bitmap,
    samples: Vec<BitModel>,
    runs: [BitModel; RUN_CONTEXTS],
    coder: RangeEncoder,
}

impl MaskCoder for MaskEncoder {
    fn run_repeats(&mut self, context: usize, start: usize, len: usize) -> bool {
        let (bits, above) = (&self.special.bits, start - self.special.stride);
        let repeats = bits[start..start + len] == bits[above..above + len];
        self.coder.bit(&mut self.runs[context], repeats);
        repeats
    }

    fn sample(&mut self, context: usize, at: usize) -> bool {
        let special = self.special.bits[at] == 1;
        self.coder.bit(&mut self.samples[context], special);
        special
    }
}

/// The decoder's side: reads each decision and lists the specials found.
struct MaskDecoder<'a> {
    samples: Vec<BitModel>,
    runs: [BitModel; RUN_CONTEXTS],
    decoder: RangeDecoder<'a>,
}

impl MaskCoder for MaskDecoder<'_> {
    fn run_repeats(&mut self, context: usize, _: usize, _: usize) -> bool {
        self.decoder.bit(&mut self.runs[context])
    }

    fn sample(&mut self, context: usize, _: usize) -> bool {
        self.decoder.bit(&mut self.samples[context])
    }
}

/// The range-coded bitmap of `positions` (ascending, each below `width × height`).
pub(super) fn encode(positions: &[u32], width: usize, height: usize) -> Vec<u8> {
    let mut special = Bitmap::new(width, height);
    for &p in positions {
        let at = special.at(p as usize / width, p as usize % width);
        special.bits[at] = 1;
    }
    let mut encoder = MaskEncoder {
        special,
        samples: vec![BitModel::default(); CONTEXTS],
        runs: [BitModel::default(); RUN_CONTEXTS],
        coder: RangeEncoder::default(),
    };
    walk(width, height, &mut encoder);
    encoder.coder.finish()
}

/// The positions of the `count` specials `data` marks in a band of `width × height`.
pub(super) fn decode(data: &[u8], width: usize, height: usize, count: usize) -> Result<Vec<u32>> {
    let mut decoder = MaskDecoder {
        samples: vec![BitModel::default(); CONTEXTS],
        runs: [BitModel::default(); RUN_CONTEXTS],
        decoder: RangeDecoder::new(data),
    };
    let bitmap = walk(width, height, &mut decoder);
    decoder.decoder.finish("float specials mask")?;
    let mut positions = Vec::with_capacity(count);
    for y in 0..height {
        let row = bitmap.at(y, 0);
        for (x, &special) in bitmap.bits[row..row + width].iter().enumerate() {
            if special == 1 {
                if positions.len() == count {
                    return Err(Error::corrupt(format!(
                        "float: the specials mask marks more than its {count} specials"
                    )));
                }
                positions.push((y * width + x) as u32);
            }
        }
    }
    match positions.len() == count {
        true => Ok(positions),
        false => Err(Error::corrupt(format!(
            "float: the specials mask marks {} of its {count} specials",
            positions.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disc of specials on a 97 × 61 band, with scattered ones around it.
    fn disc(width: usize, height: usize) -> Vec<u32> {
        (0..width * height)
            .filter(|&i| {
                let (y, x) = ((i / width) as f64 - 30.0, (i % width) as f64 - 40.0);
                y * y + x * x < 400.0 || i % 211 == 0
            })
            .map(|i| i as u32)
            .collect()
    }

    #[test]
    fn a_region_round_trips_and_costs_little() {
        let (width, height) = (97, 61);
        let positions = disc(width, height);
        let stream = encode(&positions, width, height);
        assert_eq!(
            decode(&stream, width, height, positions.len()).unwrap(),
            positions
        );
        // About 1,260 specials: a gap list takes at least a byte each before deflate; the
        // disc's outline and the 28 scattered ones cost far less.
        assert!(stream.len() < 200, "{} bytes", stream.len());
        // Edge cases: nothing, everything, one column.
        for (positions, width, height) in [
            (vec![], 5, 4),
            ((0..20).collect(), 5, 4),
            (vec![0, 2, 3], 1, 4),
        ] {
            let stream = encode(&positions, width, height);
            assert_eq!(
                decode(&stream, width, height, positions.len()).unwrap(),
                positions
            );
        }
    }

    #[test]
    fn a_count_the_mask_does_not_hold_is_corrupt() {
        let (width, height) = (97, 61);
        let positions = disc(width, height);
        let stream = encode(&positions, width, height);
        for count in [positions.len() - 1, positions.len() + 1] {
            let error = decode(&stream, width, height, count)
                .unwrap_err()
                .to_string();
            assert!(error.contains("the specials mask marks"), "{error}");
        }
        // Cut short, the stream decodes to other specials or runs out.
        for cut in [1, stream.len() / 2] {
            let short = &stream[..stream.len() - cut];
            let error = decode(short, width, height, positions.len())
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("the specials mask marks")
                    || error.contains("float specials mask: the range-coded stream ends"),
                "{error}"
            );
        }
    }
}
