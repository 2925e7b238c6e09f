//! Writing `.emb` files. Encoding ([`encode_block`]) is a pure function so callers can run
//! it on many tiles in parallel; the [`Writer`] then appends payloads in any order and
//! writes the index last. The bytes written never depend on the thread count.

use super::chunks;
use super::header::{Header, TransformAchieved};
use super::index::{IndexEntry, ENTRY_LEN};
use super::preamble::{
    Preamble, MINOR_BOUNDED_32_BIT_INTEGERS, MINOR_COMPRESSED_BAND_TABLE, PREAMBLE_LEN,
    VERSION_MINOR,
};
use crate::codec::dequant::Recipe;
use crate::codec::scales_from_codes::{self, CodesTile};
use crate::codec::{self, CodecChoice, CodecId, CodecParams, Effort, LossStats, TileShape};
use crate::error::{Error, Result};
use std::io::{Seek, SeekFrom, Write};

/// A tile ready to be written.
#[derive(Clone, Debug)]
pub struct EncodedBlock {
    /// The codec that produced `payload`.
    pub codec: CodecId,
    /// The effort level, recorded in the index entry.
    pub effort: Effort,
    /// The encoded tile.
    pub payload: Vec<u8>,
    /// CRC-32 of the decoded samples, stored so readers can check the decoded result: the
    /// raw samples, or a near-lossless tile's rebuilt samples.
    pub raw_crc: u32,
    /// Length of the raw samples (checked against the tile's shape when written).
    pub raw_len: usize,
    /// A near-lossless tile's largest absolute error per band (empty: the tile is exact).
    pub max_error: Vec<f64>,
    /// A `klt` tile's errors against its source (`None`: not a transform-coded tile).
    pub loss: Option<LossStats>,
}

/// The shape of a block's tile.
pub fn block_shape(h: &Header, plane: usize, tx: u32, ty: u32) -> Result<TileShape> {
    let (sample_type, bands) = h.plane_layout(plane)?;
    if tx >= h.tiles_across() || ty >= h.tiles_down() {
        return Err(Error::invalid(format!(
            "tile ({tx}, {ty}) is outside the {}x{} tile grid",
            h.tiles_across(),
            h.tiles_down()
        )));
    }
    let (_, _, w, hgt) = h.tile_rect(tx, ty);
    Ok(TileShape {
        width: w as usize,
        height: hgt as usize,
        bands,
        sample_type,
    })
}

/// Codec parameters for a plane: only plane 0 (the bands) uses the file's decorrelation.
pub(crate) fn plane_params(h: &Header, plane: usize, effort: Effort) -> CodecParams<'_> {
    CodecParams {
        effort,
        decorrelation: if plane == 0 {
            h.decorrelation.as_ref()
        } else {
            None
        },
        recipe: None,
        max_error: &[],
        nodata: &[],
        rel_rmse: None,
    }
}

/// Encodes the samples of tile `(tx, ty)` of `plane` (pixel-interleaved, little-endian).
pub fn encode_block(
    h: &Header,
    plane: usize,
    tx: u32,
    ty: u32,
    samples: &[u8],
    choice: CodecChoice,
    effort: Effort,
) -> Result<EncodedBlock> {
    let settings = BlockSettings {
        effort,
        recipe: None,
    };
    encode_block_with(h, plane, tx, ty, samples, choice, settings)
}

/// How [`encode_block_with`] encodes: the effort, and for float bands the dequantisation
/// recipe the caller knows of (`--recipe`; aux planes never use it).
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockSettings {
    /// How hard the encoder works.
    pub effort: Effort,
    /// How the bands' floats were dequantised, if known.
    pub recipe: Option<Recipe>,
}

/// [`encode_block`] with a recipe.
pub fn encode_block_with(
    h: &Header,
    plane: usize,
    tx: u32,
    ty: u32,
    samples: &[u8],
    choice: CodecChoice,
    settings: BlockSettings,
) -> Result<EncodedBlock> {
    let effort = settings.effort;
    let shape = block_shape(h, plane, tx, ty)?;
    // The header's near-lossless bounds apply to the bands; aux planes stay lossless.
    let bounds = h.near_lossless.as_ref().filter(|_| plane == 0);
    let nodata: Vec<Option<f64>> = match bounds {
        Some(_) => h.bands.iter().map(|b| b.nodata).collect(),
        None => Vec::new(),
    };
    let params = CodecParams {
        recipe: settings.recipe.filter(|_| plane == 0),
        max_error: bounds.map_or(&[], |n| &n.max_error),
        nodata: &nodata,
        // The bands are transform-coded; aux planes stay lossless.
        rel_rmse: h
            .transform_loss
            .as_ref()
            .filter(|_| plane == 0)
            .map(|t| t.target_rel_rmse),
        ..plane_params(h, plane, effort)
    };
    let encoded = codec::encode_best(choice, &shape, samples, &params)
        .map_err(|err| err.context(format!("tile ({tx}, {ty}) of plane {plane}")))?;
    let (raw_crc, max_error) = match (&encoded.near_lossless, &encoded.klt) {
        (Some(tile), _) => (crc32fast::hash(&tile.samples), tile.max_error.clone()),
        (None, Some(tile)) => (crc32fast::hash(&tile.samples), tile.max_error.clone()),
        (None, None) => (crc32fast::hash(samples), Vec::new()),
    };
    Ok(EncodedBlock {
        codec: encoded.codec,
        effort,
        payload: encoded.payload,
        raw_crc,
        raw_len: samples.len(),
        max_error,
        loss: encoded.klt.map(|tile| tile.stats),
    })
}

/// Whether aux plane `plane - 1` of a file with header `h` may be coded from the bands
/// (codec `scales-from-codes`): a one-band float32 plane beside 8- or 16-bit integer bands
/// coded losslessly (a near-lossless or transform-coded file's bands decode to other
/// codes than the writer has).
pub fn can_code_from_bands(h: &Header, plane: usize) -> bool {
    let lossless = h.near_lossless.is_none() && h.transform_loss.is_none();
    match (h.plane_layout(0), h.plane_layout(plane)) {
        (Ok((codes_type, _)), Ok((ty, bands))) if plane > 0 && lossless => {
            scales_from_codes::applies(codes_type, ty, bands)
        }
        _ => false,
    }
}

/// [`encode_block_with`] of block `(plane, tx, ty)` given plane 0's samples of the tile
/// (`bands`): with `auto` on a plane [`can_code_from_bands`] admits, the block is also
/// coded from the bands, and that payload is kept when it is smaller and decodes back to
/// `samples` bit for bit.
pub fn encode_block_given_bands(
    h: &Header,
    (plane, tx, ty): (usize, u32, u32),
    samples: &[u8],
    bands: &[u8],
    choice: CodecChoice,
    settings: BlockSettings,
) -> Result<EncodedBlock> {
    let mut block = encode_block_with(h, plane, tx, ty, samples, choice, settings)?;
    if choice != CodecChoice::Auto || !can_code_from_bands(h, plane) {
        return Ok(block);
    }
    let shape = block_shape(h, plane, tx, ty)?;
    let (sample_type, codes_per_pixel) = h.plane_layout(0)?;
    let codes = CodesTile {
        sample_type,
        bands: codes_per_pixel,
        samples: bands,
    };
    let payload = scales_from_codes::encode(&shape, samples, &codes, settings.effort)
        .map_err(|err| err.context(format!("tile ({tx}, {ty}) of plane {plane}")))?;
    if payload.len() < block.payload.len() && decodes_to(&shape, &payload, &codes, samples) {
        block.codec = CodecId::ScalesFromCodes;
        block.payload = payload;
    }
    Ok(block)
}

/// Whether a `scales-from-codes` payload decodes to `samples`.
fn decodes_to(shape: &TileShape, payload: &[u8], codes: &CodesTile, samples: &[u8]) -> bool {
    let mut decoded = Vec::with_capacity(samples.len());
    scales_from_codes::decode(shape, payload, codes, &mut decoded).is_ok() && decoded == samples
}

/// A transform-coded file's figures over every tile of its bands.
pub fn achieved_figures(loss: &LossStats) -> TransformAchieved {
    TransformAchieved {
        rel_rmse: loss.rel_rmse(),
        max_abs_error: loss.max_abs_error,
        mean_cosine: loss.mean_cosine(),
        p01_cosine: loss.cosine_percentile(0.01),
    }
}

/// The header's chunks followed by their CRC-32.
fn sealed_header(header: &Header) -> Vec<u8> {
    let mut head = chunks::encode(header);
    let crc = crc32fast::hash(&head);
    head.extend_from_slice(&crc.to_le_bytes());
    head
}

/// Streams a `.emb` file into `sink`.
pub struct Writer<W: Write + Seek> {
    sink: W,
    header: Header,
    start: u64,
    pos: u64,
    entries: Vec<Option<IndexEntry>>,
    /// The preamble as first written, with the lowest minor version that has every codec
    /// and payload version written so far (rewritten by `finish` when that is above 0).
    preamble: Preamble,
    /// Near-lossless files: the largest error per band over the tiles written so far
    /// (recorded in the header by `finish`).
    achieved: Vec<f64>,
    /// Transform-coded files: the errors of the bands' tiles written so far (none until
    /// the first lossy tile: the statistics hold a 512 KB histogram, a tenth of a small
    /// lossless raster's encode to zero).
    loss: Option<LossStats>,
}

impl<W: Write + Seek> Writer<W> {
    /// Writes the preamble and header and reserves the index. `header` must be final: the
    /// decorrelation, if any, has to be fitted before tiles are encoded.
    pub fn new(mut sink: W, header: Header) -> Result<Self> {
        header.validate()?;
        let blocks = header.block_count();
        if blocks > u32::MAX as u64 {
            return Err(Error::invalid(format!(
                "{blocks} tiles is more than a .emb file can index"
            )));
        }
        let head = sealed_header(&header);
        let band_count = header.bands.len();
        let header_length = u32::try_from(head.len())
            .map_err(|_| Error::invalid(format!("header of {} bytes is too large", head.len())))?;
        let index_offset = PREAMBLE_LEN as u64;
        let header_offset = index_offset + blocks * ENTRY_LEN as u64;
        // A bound on 32-bit integers is format 1.5's (docs/format.md §7): earlier readers
        // refuse it, so such a file must say it needs 1.5.
        let bounds_wide_ints = header.sample_type.is_32_bit_integer()
            && header.near_lossless.as_ref().is_some_and(|n| n.is_lossy());
        let version_minor = if chunks::compresses_band_table(&header) {
            MINOR_COMPRESSED_BAND_TABLE
        } else if bounds_wide_ints {
            MINOR_BOUNDED_32_BIT_INTEGERS
        } else {
            VERSION_MINOR
        };
        let preamble = Preamble {
            version_minor,
            width: header.width,
            height: header.height,
            band_count: header.bands.len() as u32,
            tile_width: header.tile_width,
            tile_height: header.tile_height,
            sample_type: header.sample_type,
            plane_count: header.plane_count() as u8,
            block_count: blocks,
            index_offset,
            header_offset,
            header_length,
        };
        let start = sink.stream_position()?;
        sink.write_all(&preamble.encode())?;
        let preamble_written = preamble;
        // Placeholder index; filled in by `finish`.
        let zeros = vec![0u8; 64 * 1024];
        let mut left = blocks as usize * ENTRY_LEN;
        while left > 0 {
            let chunk = left.min(zeros.len());
            sink.write_all(&zeros[..chunk])?;
            left -= chunk;
        }
        sink.write_all(&head)?;
        let pos = header_offset + head.len() as u64;
        Ok(Writer {
            sink,
            header,
            start,
            pos,
            entries: vec![None; blocks as usize],
            preamble: preamble_written,
            achieved: vec![0.0; band_count],
            loss: None,
        })
    }

    /// The header being written.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Appends the payload of block `(plane, tx, ty)`.
    pub fn write_block(
        &mut self,
        plane: usize,
        tx: u32,
        ty: u32,
        block: &EncodedBlock,
    ) -> Result<()> {
        let shape = block_shape(&self.header, plane, tx, ty)?;
        if block.raw_len != shape.bytes() {
            return Err(Error::invalid(format!(
                "tile ({tx}, {ty}) of plane {plane}: encoded from {} bytes, the tile has {}",
                block.raw_len,
                shape.bytes()
            )));
        }
        let i = self.header.block_index(plane, tx, ty) as usize;
        if self.entries[i].is_some() {
            return Err(Error::invalid(format!(
                "tile ({tx}, {ty}) of plane {plane} written twice"
            )));
        }
        self.sink.write_all(&block.payload)?;
        let minor = codec::minor_version_of(block.codec, &block.payload);
        self.preamble.version_minor = self.preamble.version_minor.max(minor);
        if plane == 0 {
            for (achieved, &e) in self.achieved.iter_mut().zip(&block.max_error) {
                *achieved = achieved.max(e);
            }
            if let Some(loss) = &block.loss {
                self.loss.get_or_insert_with(LossStats::default).merge(loss);
            }
        }
        self.entries[i] = Some(IndexEntry {
            offset: self.pos,
            length: block.payload.len() as u64,
            codec: block.codec as u16,
            codec_param: block.effort.code(),
            payload_crc: crc32fast::hash(&block.payload),
            raw_crc: block.raw_crc,
        });
        self.pos += block.payload.len() as u64;
        Ok(())
    }

    /// Lossy files: rewrites the header with the largest error measured per band
    /// (near-lossless, or the bound a transform was refined to) and the transform's figures
    /// over every tile, in place (the `loss` and `lbnd` chunks have fixed-size fields, so
    /// nothing moves).
    fn record_achieved_errors(&mut self) -> Result<()> {
        let (bound, transform) = (
            &mut self.header.near_lossless,
            &mut self.header.transform_loss,
        );
        if bound.is_none() && transform.is_none() {
            return Ok(());
        }
        if let Some(near_lossless) = bound.as_mut() {
            near_lossless.achieved = self.achieved.iter().map(|&e| Some(e)).collect();
        }
        if let Some(transform) = transform.as_mut() {
            let figures = match &self.loss {
                Some(loss) => achieved_figures(loss),
                None => achieved_figures(&LossStats::default()),
            };
            transform.achieved = Some(figures);
        }
        let head = sealed_header(&self.header);
        assert_eq!(head.len() as u32, self.preamble.header_length);
        let at = self.start + self.preamble.header_offset;
        self.sink.seek(SeekFrom::Start(at))?;
        self.sink.write_all(&head)?;
        Ok(())
    }

    /// Writes the index and flushes; fails if any block is missing. Returns the sink.
    pub fn finish(mut self) -> Result<W> {
        let mut index = Vec::with_capacity(self.entries.len() * ENTRY_LEN);
        for (i, entry) in self.entries.iter().enumerate() {
            let entry =
                entry.ok_or_else(|| Error::invalid(format!("block {i} was never written")))?;
            index.extend_from_slice(&entry.encode());
        }
        let end = self.sink.stream_position()?;
        if self.preamble.version_minor != VERSION_MINOR {
            self.sink.seek(SeekFrom::Start(self.start))?;
            self.sink.write_all(&self.preamble.encode())?;
        }
        self.record_achieved_errors()?;
        self.sink
            .seek(SeekFrom::Start(self.start + PREAMBLE_LEN as u64))?;
        self.sink.write_all(&index)?;
        self.sink.seek(SeekFrom::Start(end))?;
        self.sink.flush()?;
        Ok(self.sink)
    }
}
