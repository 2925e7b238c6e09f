//! An open `.emb` file: decodes whole tile rows in parallel, and serves as a
//! [`RasterSource`] so a `.emb` can be re-encoded with other codecs.

use crate::error::{Error, Result};
use crate::progress::Stage;
use crate::read::RasterSource;
use geoembed_codec::{decode_block_into, Header, Reader};
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
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(BufReader::with_capacity(1 << 20, f), path)
    }
}

impl<R: Read + Seek> EmbFile<R> {
    /// A `.emb` from any reader; `name` is used in messages.
    pub fn from_reader(src: R, name: &Path) -> Result<Self> {
        let reader = Reader::open(src).map_err(|e| Error::codec(name, e))?;
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
        let h = self.reader.header().clone();
        let (ty, bands) = h
            .plane_layout(plane)
            .map_err(|e| Error::codec(&self.path, e))?;
        let px = bands * ty.size();
        let mut payloads = Vec::new();
        for tyi in ty0..ty1 {
            for tx in 0..h.tiles_across() {
                let payload = self
                    .reader
                    .read_payload(plane, tx, tyi)
                    .map_err(|e| Error::codec(&self.path, e))?;
                payloads.push((tx, tyi, payload));
            }
        }
        let mut strips: Vec<Vec<u8>> = (ty0..ty1)
            .map(|tyi| vec![0u8; h.width as usize * h.tile_rect(0, tyi).3 as usize * px])
            .collect();
        let segments = tile_segments(&h, &mut strips, ty0, px);
        let jobs: Vec<_> = payloads.into_iter().zip(segments).collect();
        let (path, entries) = (&self.path, self.reader.entries());
        stage.run_parallel(jobs, |((tx, tyi, payload), mut rows)| {
            let e = &entries[h.block_index(plane, tx, tyi) as usize];
            DECODED.with_borrow_mut(|tile| {
                decode_block_into(&h, plane, tx, tyi, e, &payload, tile)
                    .map_err(|err| Error::codec(path, err))?;
                let row_bytes = (tile.len() / rows.len().max(1)).max(1);
                for (dst, src) in rows.iter_mut().zip(tile.chunks_exact(row_bytes)) {
                    dst.copy_from_slice(src);
                }
                Ok(())
            })
        })?;
        Ok(strips)
    }
}

thread_local! {
    /// One decoded tile per worker thread, reused: tiles of hundreds of bands are
    /// megabytes, and a fresh allocation per tile would pay for fresh pages every time.
    static DECODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Cuts full-width strips (tile rows `ty0..`) into one list of row segments per tile, in
/// tile order, so that every tile is copied into place by the thread that decoded it.
fn tile_segments<'s>(
    h: &Header,
    strips: &'s mut [Vec<u8>],
    ty0: u32,
    px: usize,
) -> Vec<Vec<&'s mut [u8]>> {
    let width = h.width as usize;
    let mut segments = Vec::new();
    for (strip, tyi) in strips.iter_mut().zip(ty0..) {
        let widths: Vec<usize> = (0..h.tiles_across())
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
