//! An open `.emb` file: decodes whole tile rows in parallel, and serves as a
//! [`RasterSource`] so a `.emb` can be re-encoded with other codecs.

use crate::error::{Error, Result};
use crate::progress::Stage;
use crate::read::RasterSource;
use geoembed_codec::{
    decode_block_given_bands, decode_block_payloads_into, needs_bands, BlockPayloads, Header,
    IndexEntry, Limits, Reader,
};
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

pub struct EmbFile<R: Read + Seek = BufReader<File>> {
    reader: Reader<R>,
    path: PathBuf,
    /// Last decoded tile row: (plane, tile row, strip bytes), for row-wise readers.
    cache: Option<(usize, u32, Vec<u8>)>,
}

/// Whether a file starts with the `.emb` magic (extensions can lie).
pub fn is_emb(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == geoembed_codec::MAGIC
}

impl EmbFile {
    /// Opens the `.emb` at `path` with the default [`Limits`].
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_limits(path, &Limits::default())
    }

    /// Opens the `.emb` at `path`, refusing declared sizes beyond `limits`.
    pub fn open_with_limits(path: &Path, limits: &Limits) -> Result<Self> {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader_with_limits(BufReader::with_capacity(1 << 20, f), path, limits)
    }
}

impl<R: Read + Seek> EmbFile<R> {
    /// A `.emb` from any reader; `name` is used in messages.
    pub fn from_reader(src: R, name: &Path) -> Result<Self> {
        Self::from_reader_with_limits(src, name, &Limits::default())
    }

    /// [`EmbFile::from_reader`] within `limits`.
    pub fn from_reader_with_limits(src: R, name: &Path, limits: &Limits) -> Result<Self> {
        let reader = Reader::open_with_limits(src, *limits).map_err(|e| Error::codec(name, e))?;
        Ok(EmbFile {
            reader,
            path: name.to_path_buf(),
            cache: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn reader(&self) -> &Reader<R> {
        &self.reader
    }

    /// Decodes tile rows `[ty0, ty1)` of `plane` into one full-width strip per tile row.
    /// Payloads are read sequentially (one pass over the file), decoded in parallel, each
    /// tile reported to `stage`.
    pub fn decode_strips(
        &mut self,
        plane: usize,
        ty0: u32,
        ty1: u32,
        stage: &Stage,
    ) -> Result<Vec<Vec<u8>>> {
        let across = self.reader.header().tiles_across();
        let region = TileRegion {
            rows: ty0..ty1,
            columns: 0..across,
        };
        self.decode_region(plane, &region, stage, usize::MAX)
    }

    /// Decodes the tiles of `region` of `plane` into one strip per tile row, as wide as the
    /// region's columns. At most `tiles_in_flight` payloads are read and decoded at once
    /// (in file order, then in parallel), so that a file of huge tiles decodes within a
    /// memory budget whatever the thread count.
    pub fn decode_region(
        &mut self,
        plane: usize,
        region: &TileRegion,
        stage: &Stage,
        tiles_in_flight: usize,
    ) -> Result<Vec<Vec<u8>>> {
        self.decode_region_given_bands(plane, region, stage, tiles_in_flight, None)
    }

    /// [`EmbFile::decode_region`] given the bands' strips of the same region (what
    /// `decode_region(0, region, ..)` returned): a block coded from the bands (an aux scale
    /// plane, codec `scales-from-codes`) takes its tile of the bands from them instead of
    /// decoding plane 0 again.
    pub fn decode_region_given_bands(
        &mut self,
        plane: usize,
        region: &TileRegion,
        stage: &Stage,
        tiles_in_flight: usize,
        bands: Option<&[Vec<u8>]>,
    ) -> Result<Vec<Vec<u8>>> {
        let h = self.reader.header().clone();
        let (ty, plane_bands) = h
            .plane_layout(plane)
            .map_err(|e| Error::codec(&self.path, e))?;
        let px = plane_bands * ty.size();
        let columns = region.pixel_columns(&h);
        let mut strips = Vec::new();
        for tyi in region.rows.clone() {
            let bytes = columns.len() * h.tile_rect(0, tyi).3 as usize * px;
            strips.push(zeroed(bytes).map_err(|e| e.at(&self.path))?);
        }
        let tiles = region.tiles();
        let mut segments = tile_segments(&h, &mut strips, region, px).into_iter();
        for wave in tiles.chunks(tiles_in_flight.max(1)) {
            let mut jobs = Vec::with_capacity(wave.len());
            for &(tx, tyi) in wave {
                let input = self.read_tile_input(plane, (tx, tyi), region, bands)?;
                jobs.push((input, segments.next().expect("one per tile")));
            }
            let (path, entries) = (&self.path, self.reader.entries());
            stage.run_parallel(jobs, |(input, mut rows)| {
                DECODED.with_borrow_mut(|tile| {
                    let decoded = input
                        .decode_into(&h, entries, plane, tile)
                        .map_err(|err| Error::codec(path, err));
                    if decoded.is_ok() {
                        let row_bytes = (tile.len() / rows.len().max(1)).max(1);
                        for (dst, src) in rows.iter_mut().zip(tile.chunks_exact(row_bytes)) {
                            dst.copy_from_slice(src);
                        }
                    }
                    if tile.capacity() > KEEP_DECODED_BYTES {
                        *tile = Vec::new();
                    }
                    decoded
                })
            })?;
        }
        Ok(strips)
    }

    /// What decoding tile `(tx, ty)` of `plane` needs: its payloads, and the tile of the
    /// bands cut from `bands` (the region's strips of plane 0) when it is coded from them.
    fn read_tile_input(
        &mut self,
        plane: usize,
        (tx, ty): (u32, u32),
        region: &TileRegion,
        bands: Option<&[Vec<u8>]>,
    ) -> Result<TileInput> {
        let codec_err = |e| Error::codec(&self.path, e);
        let entry = *self.reader.entry(plane, tx, ty).map_err(codec_err)?;
        let (payloads, bands_tile) = match bands {
            Some(strips) if plane != 0 && needs_bands(&entry) => {
                let payload = self.reader.read_payload(plane, tx, ty);
                let payloads = BlockPayloads {
                    payload: payload.map_err(|e| Error::codec(&self.path, e))?,
                    bands: None,
                };
                let header = self.reader.header();
                (
                    payloads,
                    Some(tile_of_strips(header, region, strips, tx, ty)),
                )
            }
            _ => {
                let payloads = self.reader.read_block_payloads(plane, tx, ty);
                (payloads.map_err(|e| Error::codec(&self.path, e))?, None)
            }
        };
        Ok(TileInput {
            tx,
            ty,
            payloads,
            bands_tile,
        })
    }
}

/// A tile's payloads as read, and its tile of the bands when the caller had it decoded.
struct TileInput {
    tx: u32,
    ty: u32,
    payloads: BlockPayloads,
    bands_tile: Option<Vec<u8>>,
}

impl TileInput {
    /// Decodes the tile of `plane` into `out`.
    fn decode_into(
        &self,
        h: &Header,
        entries: &[IndexEntry],
        plane: usize,
        out: &mut Vec<u8>,
    ) -> geoembed_codec::Result<()> {
        let (tx, ty, payloads) = (self.tx, self.ty, &self.payloads);
        match &self.bands_tile {
            Some(bands) => {
                let entry = &entries[h.block_index(plane, tx, ty) as usize];
                let payload = &payloads.payload;
                decode_block_given_bands(h, (plane, tx, ty), entry, payload, Some(bands), out)
            }
            None => decode_block_payloads_into(h, entries, plane, tx, ty, payloads, out),
        }
    }
}

/// Tile `(tx, ty)` of plane 0 cut out of `strips`, the strips of plane 0 that
/// [`EmbFile::decode_region`] decoded for `region`.
fn tile_of_strips(
    h: &Header,
    region: &TileRegion,
    strips: &[Vec<u8>],
    tx: u32,
    ty: u32,
) -> Vec<u8> {
    let px = h.bands.len() * h.sample_type.size();
    let columns = region.pixel_columns(h);
    let (x0, _, width, rows) = h.tile_rect(tx, ty);
    let strip = &strips[(ty - region.rows.start) as usize];
    let (row_bytes, start) = (columns.len() * px, (x0 as usize - columns.start) * px);
    let mut tile = Vec::with_capacity(width as usize * rows as usize * px);
    for row in strip.chunks_exact(row_bytes).take(rows as usize) {
        tile.extend_from_slice(&row[start..start + width as usize * px]);
    }
    tile
}

/// A rectangle of tiles: tile rows × tile columns of one plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileRegion {
    pub rows: std::ops::Range<u32>,
    pub columns: std::ops::Range<u32>,
}

impl TileRegion {
    /// The pixel columns the region covers (the last tile column clipped to the raster).
    pub fn pixel_columns(&self, h: &Header) -> std::ops::Range<usize> {
        let start = self.columns.start as usize * h.tile_width as usize;
        let end = (self.columns.end as usize * h.tile_width as usize).min(h.width as usize);
        start..end
    }

    /// Cuts the tile grid into regions of at most `batch_bytes` of samples, counting every
    /// buffer a pixel costs (`pixel_bytes`): whole tile rows when a row fits, else one tile
    /// row at a time in groups of tile columns, so that a raster of any width converts in
    /// bounded memory. Regions come in file order (row-major).
    pub fn batches(h: &Header, pixel_bytes: usize, batch_bytes: usize) -> Vec<TileRegion> {
        let across = h.tiles_across();
        let tile_rows = h.tile_height.min(h.height) as usize;
        let strip_bytes = (h.width as usize * tile_rows).saturating_mul(pixel_bytes);
        let mut regions = Vec::new();
        if strip_bytes <= batch_bytes {
            let rows_per_region = (batch_bytes / strip_bytes.max(1)).max(1) as u32;
            let mut ty0 = 0;
            while ty0 < h.tiles_down() {
                let ty1 = ty0.saturating_add(rows_per_region).min(h.tiles_down());
                regions.push(TileRegion {
                    rows: ty0..ty1,
                    columns: 0..across,
                });
                ty0 = ty1;
            }
            return regions;
        }
        let tile_width = h.tile_width.min(h.width) as usize;
        let tile_bytes = (tile_width * tile_rows).saturating_mul(pixel_bytes);
        let columns_per_region = (batch_bytes / tile_bytes.max(1)).max(1) as u32;
        for ty in 0..h.tiles_down() {
            let mut tx0 = 0;
            while tx0 < across {
                let tx1 = tx0.saturating_add(columns_per_region).min(across);
                regions.push(TileRegion {
                    rows: ty..ty + 1,
                    columns: tx0..tx1,
                });
                tx0 = tx1;
            }
        }
        regions
    }

    /// The region's tiles `(tx, ty)`, row by row (file order).
    pub fn tiles(&self) -> Vec<(u32, u32)> {
        self.rows
            .clone()
            .flat_map(|ty| self.columns.clone().map(move |tx| (tx, ty)))
            .collect()
    }
}

/// What decoding a tile may cost in memory, in multiples of the decoded tile: the float
/// codec keeps a 64-bit plane per band beside the output (5× for 16-bit samples, measured).
const DECODE_WORKING_FACTOR: usize = 5;

/// How many tiles of `plane` may be decoded at once within `budget` bytes (at least one):
/// a file of huge tiles decodes them one at a time whatever the thread count.
pub fn tiles_in_flight(h: &Header, plane: usize, budget: usize) -> usize {
    let pixel_bytes = h
        .plane_layout(plane)
        .map_or(1, |(ty, bands)| ty.size() * bands);
    let tile_bytes = (h.tile_width.min(h.width) as usize)
        .saturating_mul(h.tile_height.min(h.height) as usize)
        .saturating_mul(pixel_bytes);
    (budget / tile_bytes.saturating_mul(DECODE_WORKING_FACTOR).max(1)).max(1)
}

/// A zeroed buffer of `bytes`, or an error rather than an abort when memory is short.
/// Zeroed by the allocator (`calloc`: fresh pages cost nothing until written), so a strip
/// whose tiles fail to decode never becomes resident.
fn zeroed(bytes: usize) -> Result<Vec<u8>> {
    if bytes == 0 {
        return Ok(Vec::new());
    }
    let out_of_memory = || {
        Error::from(geoembed_codec::Error::out_of_memory(
            "a strip of decoded tiles",
            bytes as u128,
        ))
    };
    let layout = std::alloc::Layout::array::<u8>(bytes).map_err(|_| out_of_memory())?;
    // SAFETY: the layout has a non-zero size (checked above).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(out_of_memory());
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `bytes` u8s
    // (alignment 1), all of them initialised to zero; the Vec takes ownership of it.
    Ok(unsafe { Vec::from_raw_parts(ptr, bytes, bytes) })
}

/// Decoded tiles up to this size keep their buffer for the thread's next tile; a larger
/// one is freed, so that idle threads do not each hold a huge tile.
const KEEP_DECODED_BYTES: usize = 64 << 20;

thread_local! {
    /// One decoded tile per worker thread, reused: tiles of hundreds of bands are
    /// megabytes, and a fresh allocation per tile would pay for fresh pages every time.
    static DECODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Cuts the region's strips into one list of row segments per tile, in tile order, so
/// that every tile is copied into place by the thread that decoded it.
fn tile_segments<'s>(
    h: &Header,
    strips: &'s mut [Vec<u8>],
    region: &TileRegion,
    px: usize,
) -> Vec<Vec<&'s mut [u8]>> {
    let width = region.pixel_columns(h).len();
    let mut segments = Vec::new();
    for (strip, tyi) in strips.iter_mut().zip(region.rows.clone()) {
        let widths: Vec<usize> = region
            .columns
            .clone()
            .map(|tx| h.tile_rect(tx, tyi).2 as usize * px)
            .collect();
        let mut per_tile: Vec<Vec<&mut [u8]>> = widths.iter().map(|_| Vec::new()).collect();
        for mut row in strip.chunks_mut(width * px) {
            for (t, &n) in widths.iter().enumerate() {
                let (seg, rest) = row.split_at_mut(n);
                per_tile[t].push(seg);
                row = rest;
            }
        }
        segments.extend(per_tile);
    }
    segments
}

impl<R: Read + Seek> RasterSource for EmbFile<R> {
    fn header(&self) -> &Header {
        self.reader.header()
    }

    fn read_rows(&mut self, plane: usize, y0: u32, rows: u32, out: &mut [u8]) -> Result<()> {
        let h = self.reader.header().clone();
        let (ty, bands) = h
            .plane_layout(plane)
            .map_err(|e| Error::codec(&self.path, e))?;
        let row_bytes = h.width as usize * bands * ty.size();
        let silent = Stage::silent();
        for y in y0..y0 + rows {
            let tyi = y / h.tile_height;
            if !matches!(&self.cache, Some((p, t, _)) if *p == plane && *t == tyi) {
                let strip = self
                    .decode_strips(plane, tyi, tyi + 1, &silent)?
                    .pop()
                    .expect("one strip");
                self.cache = Some((plane, tyi, strip));
            }
            let strip = &self.cache.as_ref().expect("filled above").2;
            let r = (y - tyi * h.tile_height) as usize;
            let dst = (y - y0) as usize * row_bytes;
            out[dst..dst + row_bytes].copy_from_slice(&strip[r * row_bytes..(r + 1) * row_bytes]);
        }
        Ok(())
    }

    fn kind(&self) -> String {
        "geoembed .emb".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoembed_codec::SampleType;

    #[test]
    fn batches_are_whole_tile_rows_when_they_fit_else_groups_of_tiles() {
        let mut h = Header::new(1000, 600, 2, SampleType::U8);
        h.tile_width = 256;
        h.tile_height = 256;
        let region = |rows, columns| TileRegion { rows, columns };
        let strip = 1000 * 256 * 2;
        let whole = TileRegion::batches(&h, 2, 2 * strip);
        assert_eq!(whole, vec![region(0..2, 0..4), region(2..3, 0..4)]);
        let narrow = TileRegion::batches(&h, 2, 2 * 256 * 256 * 2);
        assert_eq!(narrow.len(), 3 * 2);
        assert_eq!(narrow[0], region(0..1, 0..2));
        assert_eq!(narrow[1], region(0..1, 2..4));
        assert_eq!(narrow[1].pixel_columns(&h), 512..1000);
        let tiny = TileRegion::batches(&h, 2, 1);
        assert_eq!(tiny.len(), 3 * 4, "one tile at a time, never none");
    }
}
