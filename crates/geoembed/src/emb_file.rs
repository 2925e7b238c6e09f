//! An open `.emb` file: decodes whole tile rows in parallel, and serves as a
//! [`RasterSource`] so a `.emb` can be re-encoded with other codecs.

use crate::error::{CliError, Result};
use crate::progress::Progress;
use crate::source::RasterSource;
use geoembed_codec::container::reader::decode_block_into;
use geoembed_codec::container::Reader;
use geoembed_codec::Header;
use rayon::prelude::*;
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
        && magic == geoembed_codec::container::preamble::MAGIC
}

impl EmbFile {
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| CliError::io(path, e))?;
        Self::from_reader(BufReader::with_capacity(1 << 20, f), path)
    }
}

impl<R: Read + Seek> EmbFile<R> {
    /// A `.emb` from any reader; `name` is used in messages.
    pub fn from_reader(src: R, name: &Path) -> Result<Self> {
        let reader = Reader::open(src).map_err(|e| CliError::codec(name, e))?;
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
    /// Payloads are read sequentially (one pass over the file), decoded in parallel.
    pub fn decode_strips(
        &mut self,
        plane: usize,
        ty0: u32,
        ty1: u32,
        progress: &Progress,
    ) -> Result<Vec<Vec<u8>>> {
        let h = self.reader.header().clone();
        let (ty, bands) = h
            .plane_layout(plane)
            .map_err(|e| CliError::codec(&self.path, e))?;
        let px = bands * ty.size();
        let mut jobs = Vec::new();
        for tyi in ty0..ty1 {
            for tx in 0..h.tiles_across() {
                let payload = self
                    .reader
                    .read_payload(plane, tx, tyi)
                    .map_err(|e| CliError::codec(&self.path, e))?;
                jobs.push((tx, tyi, payload));
            }
        }
        // Full-width strips, cut into one list of row segments per tile, so every tile is
        // decoded (into a per-thread buffer) and copied into place in parallel.
        let width = h.width as usize;
        let mut strips: Vec<Vec<u8>> = (ty0..ty1)
            .map(|tyi| vec![0u8; width * h.tile_rect(0, tyi).3 as usize * px])
            .collect();
        let mut segments: Vec<Vec<&mut [u8]>> = Vec::with_capacity(jobs.len());
        for (strip, tyi) in strips.iter_mut().zip(ty0..ty1) {
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
        let path = &self.path;
        let entries = self.reader.entries();
        jobs.par_iter()
            .zip(segments.par_iter_mut())
            .try_for_each_init(Vec::new, |buf, ((tx, tyi, payload), rows)| {
                let e = &entries[h.block_index(plane, *tx, *tyi) as usize];
                decode_block_into(&h, plane, *tx, *tyi, e, payload, buf)
                    .map_err(|err| CliError::codec(path, err))?;
                let n = buf.len() / rows.len().max(1);
                for (dst, src) in rows.iter_mut().zip(buf.chunks_exact(n.max(1))) {
                    dst.copy_from_slice(src);
                }
                progress.inc();
                Ok::<(), CliError>(())
            })?;
        Ok(strips)
    }
}

impl<R: Read + Seek> RasterSource for EmbFile<R> {
    fn header(&self) -> &Header {
        self.reader.header()
    }

    fn read_rows(&mut self, plane: usize, y0: u32, rows: u32, out: &mut [u8]) -> Result<()> {
        let h = self.reader.header().clone();
        let (ty, bands) = h
            .plane_layout(plane)
            .map_err(|e| CliError::codec(&self.path, e))?;
        let row_bytes = h.width as usize * bands * ty.size();
        let quiet = Progress::new(0, "", true);
        for y in y0..y0 + rows {
            let tyi = y / h.tile_height;
            if !matches!(&self.cache, Some((p, t, _)) if *p == plane && *t == tyi) {
                let strip = self
                    .decode_strips(plane, tyi, tyi + 1, &quiet)?
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
