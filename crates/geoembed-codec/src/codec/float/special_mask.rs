//! Where a band's specials are, as a context-coded bitmap (float payload version 4,
//! docs/format.md §5.4.3b): one adaptive binary decision per sample, in raster order, in the
//! context of the ten samples around it already coded (JBIG's three-line template).
//!
//! Why a second layout beside the list of gaps: the specials of real rasters are regions,
//! not scattered samples. A climate grid masked outside a country (gridMET's 40% nodata), a
//! sea surface field masked over land, the voids of an SRTM tile: their positions are a
//! shape whose outline continues from one row to the next. A list of gaps between
//! positions codes each run boundary afresh (about 16 bits per boundary once deflated);
//! the template sees the boundary in the rows above and codes it in 2–4 bits, and the
//! runs between for almost nothing. The encoder writes whichever layout is smaller.

use crate::entropy::binary::{BitModel, RangeDecoder, RangeEncoder};
use crate::error::{Error, Result};

/// Samples of template context: 2¹⁰ adaptive models.
const CONTEXTS: usize = 1 << 10;
/// The bitmap's margin on every side, so the template never leaves it (outside the band a
/// sample is not special).
const MARGIN: usize = 2;

/// The band's specials bitmap with a zero margin, as both ends build it sample by sample.
struct Bitmap {
    bits: Vec<u8>,
    stride: usize,
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

    /// The template of the sample at `at`: W, WW, then the row above from x − 2 to x + 2,
    /// then the row two above from x − 1 to x + 1, as bits 0 to 9.
    fn context(&self, at: usize) -> usize {
        let bit = |i: usize| self.bits[i] as usize;
        let (above, two_above) = (at - self.stride, at - 2 * self.stride);
        bit(at - 1)
            | bit(at - 2) << 1
            | bit(above - 2) << 2
            | bit(above - 1) << 3
            | bit(above) << 4
            | bit(above + 1) << 5
            | bit(above + 2) << 6
            | bit(two_above - 1) << 7
            | bit(two_above) << 8
            | bit(two_above + 1) << 9
    }
}

/// The range-coded bitmap of `positions` (ascending, each below `width × height`).
pub(super) fn encode(positions: &[u32], width: usize, height: usize) -> Vec<u8> {
    let mut bitmap = Bitmap::new(width, height);
    let mut models = vec![BitModel::default(); CONTEXTS];
    let mut coder = RangeEncoder::default();
    let mut next = positions.iter().peekable();
    for y in 0..height {
        for x in 0..width {
            let special = next.next_if(|&&p| p as usize == y * width + x).is_some();
            let at = bitmap.at(y, x);
            coder.bit(&mut models[bitmap.context(at)], special);
            bitmap.bits[at] = special as u8;
        }
    }
    coder.finish()
}

/// The positions of the `count` specials `data` marks in a band of `width × height`.
pub(super) fn decode(data: &[u8], width: usize, height: usize, count: usize) -> Result<Vec<u32>> {
    let mut bitmap = Bitmap::new(width, height);
    let mut models = vec![BitModel::default(); CONTEXTS];
    let mut decoder = RangeDecoder::new(data);
    let mut positions = Vec::with_capacity(count);
    for y in 0..height {
        for x in 0..width {
            let at = bitmap.at(y, x);
            let special = decoder.bit(&mut models[bitmap.context(at)]);
            bitmap.bits[at] = special as u8;
            if special {
                if positions.len() == count {
                    return Err(Error::corrupt(format!(
                        "float: the specials mask marks more than its {count} specials"
                    )));
                }
                positions.push((y * width + x) as u32);
            }
        }
    }
    decoder.finish("float specials mask")?;
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
        assert_eq!(decode(&stream, width, height, positions.len()).unwrap(), positions);
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
            assert_eq!(decode(&stream, width, height, positions.len()).unwrap(), positions);
        }
    }

    #[test]
    fn a_count_the_mask_does_not_hold_is_corrupt() {
        let (width, height) = (97, 61);
        let positions = disc(width, height);
        let stream = encode(&positions, width, height);
        for count in [positions.len() - 1, positions.len() + 1] {
            let error = decode(&stream, width, height, count).unwrap_err().to_string();
            assert!(error.contains("the specials mask marks"), "{error}");
        }
        // Cut short, the stream decodes to other specials or runs out.
        for cut in [1, stream.len() / 2] {
            let short = &stream[..stream.len() - cut];
            let error = decode(short, width, height, positions.len()).unwrap_err().to_string();
            assert!(
                error.contains("the specials mask marks")
                    || error.contains("float specials mask: the range-coded stream ends"),
                "{error}"
            );
        }
    }
}
