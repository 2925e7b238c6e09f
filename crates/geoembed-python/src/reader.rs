//! `EmbReader`: an open `.emb` for Python. Windowed reads fetch only the tiles they touch
//! (under a lock, since the byte source has one position), then decode them in parallel with
//! the GIL released, so Dask or thread pools reading different windows of one file overlap.

use crate::errors::{raise, to_py};
use crate::file_source::{PyFile, Source};
use crate::header_dict;
use crate::numpy_array::from_samples;
use geoembed_codec::{
    decode_block_payloads_into, dequantize, scale_plane, BlockPayloads, CodecId, Header,
    IndexEntry, Interleave, Limits, Reader, SampleType, Window, WindowLayout,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Mutex;

/// Tiles fetched per round before decoding them in parallel: enough to keep every core busy,
/// few enough that a whole-raster read never holds many undecoded payloads at once.
const TILES_PER_ROUND: usize = 16;

/// An open `.emb` file.
#[pyclass(frozen, module = "geoembed._geoembed")]
pub struct EmbReader {
    name: String,
    header: Header,
    entries: Vec<IndexEntry>,
    file_len: u64,
    source: Mutex<Reader<Source>>,
}

/// The reader limits: the defaults, then `limits` (`"max_header_bytes=64M"` items, as
/// the CLI's `--limit` and the GDAL plugin's open options take them), then
/// `max_tile_bytes`.
fn limits_from(max_tile_bytes: Option<u64>, limits: Option<Vec<String>>) -> PyResult<Limits> {
    let mut out = Limits::default()
        .with_items(limits.unwrap_or_default())
        .map_err(|e| raise("EmbArgumentError", e.to_string()))?;
    if let Some(max) = max_tile_bytes {
        out.max_tile_bytes = max;
    }
    Ok(out)
}

impl EmbReader {
    fn new(name: String, reader: Reader<Source>) -> Self {
        EmbReader {
            name,
            header: reader.header().clone(),
            entries: reader.entries().to_vec(),
            file_len: reader.file_len(),
            source: Mutex::new(reader),
        }
    }

    fn err(&self, e: geoembed_codec::Error) -> PyErr {
        to_py(&self.name, &e)
    }

    /// Checks a window and 0-based band list against plane `plane`.
    fn layout<'a>(
        &self,
        plane: usize,
        window: (u32, u32, u32, u32),
        bands: &'a [usize],
        interleave: &str,
    ) -> PyResult<(WindowLayout<'a>, SampleType, usize)> {
        let (ty, plane_bands) = self.header.plane_layout(plane).map_err(|e| self.err(e))?;
        let (x, y, width, height) = window;
        let window = Window {
            x,
            y,
            width,
            height,
        };
        window.check(&self.header).map_err(|e| self.err(e))?;
        if let Some(&bad) = bands.iter().find(|&&b| b >= plane_bands) {
            return Err(raise(
                "EmbArgumentError",
                format!(
                    "{}: band {} does not exist (the file has {plane_bands})",
                    self.name,
                    bad + 1
                ),
            ));
        }
        let interleave = match interleave {
            "band" => Interleave::Band,
            "pixel" => Interleave::Pixel,
            other => {
                return Err(raise(
                    "EmbArgumentError",
                    format!("interleave '{other}': choose 'band' or 'pixel'"),
                ))
            }
        };
        Ok((
            WindowLayout {
                window,
                bands,
                interleave,
            },
            ty,
            plane_bands,
        ))
    }

    /// Reads a window of `plane` into little-endian sample bytes laid out as `layout` says.
    /// The payloads of `tiles` of `plane`, read under the source's lock (the decoding that
    /// follows runs without it, in parallel).
    fn read_payloads(
        &self,
        plane: usize,
        tiles: &[(u32, u32)],
    ) -> geoembed_codec::Result<Vec<BlockPayloads>> {
        let mut source = self.source.lock().expect("a reader thread panicked");
        tiles
            .iter()
            .map(|&(tx, ty)| source.read_block_payloads(plane, tx, ty))
            .collect()
    }

    /// Decodes block `(plane, tx, ty)` from its payloads (and plane 0's, when it is coded
    /// from the bands).
    fn decode_payloads(
        &self,
        plane: usize,
        (tx, ty): (u32, u32),
        payloads: &BlockPayloads,
    ) -> geoembed_codec::Result<Vec<u8>> {
        let mut samples = Vec::new();
        let entries = &self.entries;
        decode_block_payloads_into(&self.header, entries, plane, tx, ty, payloads, &mut samples)?;
        Ok(samples)
    }

    fn read_window(
        &self,
        plane: usize,
        layout: &WindowLayout,
        ty: SampleType,
        plane_bands: usize,
    ) -> geoembed_codec::Result<Vec<u8>> {
        // The window's size comes from the file's header (a whole-raster read of a file that
        // declares 2^24 x 2^24 pixels): allocated fallibly, an error rather than an abort.
        let len = (layout.window.pixels() as u128)
            .saturating_mul(layout.bands.len() as u128)
            .saturating_mul(ty.size() as u128);
        let mut out = Vec::new();
        usize::try_from(len)
            .ok()
            .and_then(|len| out.try_reserve_exact(len).ok().map(|()| len))
            .map(|len| out.resize(len, 0))
            .ok_or_else(|| geoembed_codec::Error::out_of_memory("the window's samples", len))?;
        let tiles = layout.window.tiles(&self.header);
        for round in tiles.chunks(TILES_PER_ROUND) {
            let payloads = self.read_payloads(plane, round)?;
            let decoded: Vec<Vec<u8>> = round
                .par_iter()
                .zip(&payloads)
                .map(|(&tile, payloads)| self.decode_payloads(plane, tile, payloads))
                .collect::<geoembed_codec::Result<_>>()?;
            for (&tile, samples) in round.iter().zip(&decoded) {
                layout.copy_tile(
                    &self.header,
                    tile,
                    samples,
                    plane_bands,
                    ty.size(),
                    &mut out,
                );
            }
        }
        Ok(out)
    }
}

#[pymethods]
impl EmbReader {
    /// Opens a local `.emb` file.
    #[staticmethod]
    #[pyo3(signature = (path, max_tile_bytes=None, limits=None))]
    fn open_path(
        py: Python<'_>,
        path: PathBuf,
        max_tile_bytes: Option<u64>,
        limits: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let name = path.display().to_string();
        let limits = limits_from(max_tile_bytes, limits)?;
        let opened = py.detach(|| {
            let file = std::fs::File::open(&path)?;
            Reader::open_with_limits(Source::File(file), limits)
        });
        let reader = opened.map_err(|e| to_py(&name, &e))?;
        Ok(Self::new(name, reader))
    }

    /// Opens a `.emb` from a Python object with `read` and `seek`; `name` appears in errors.
    #[staticmethod]
    #[pyo3(signature = (file, name, max_tile_bytes=None, limits=None))]
    fn open_file(
        py: Python<'_>,
        file: Py<PyAny>,
        name: String,
        max_tile_bytes: Option<u64>,
        limits: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let source = Source::Python(PyFile::new(file));
        let limits = limits_from(max_tile_bytes, limits)?;
        let opened = py.detach(|| Reader::open_with_limits(source, limits));
        let reader = opened.map_err(|e| to_py(&name, &e))?;
        Ok(Self::new(name, reader))
    }

    /// The name errors use (the path or the URL).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Bytes in the file.
    #[getter]
    fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The header as a dict.
    fn header<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        header_dict::to_dict(py, &self.header)
    }

    /// Codec name of every tile of `plane`, row by row.
    fn tile_codecs(&self, plane: usize) -> PyResult<Vec<String>> {
        self.header.plane_layout(plane).map_err(|e| self.err(e))?;
        let per_plane = self.header.tiles_per_plane() as usize;
        self.entries[plane * per_plane..(plane + 1) * per_plane]
            .iter()
            .map(|e| {
                CodecId::from_code(e.codec)
                    .map(|c| c.name().to_string())
                    .map_err(|e| self.err(e))
            })
            .collect()
    }

    /// Reads `window` = (col_off, row_off, width, height) of `plane` for 0-based `bands`, as an
    /// array (bands, rows, cols) for `interleave="band"` or (rows, cols, bands) for "pixel".
    fn read<'py>(
        &self,
        py: Python<'py>,
        plane: usize,
        window: (u32, u32, u32, u32),
        bands: Vec<usize>,
        interleave: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (layout, ty, plane_bands) = self.layout(plane, window, &bands, interleave)?;
        let bytes = py
            .detach(|| self.read_window(plane, &layout, ty, plane_bands))
            .map_err(|e| self.err(e))?;
        let (w, h, n) = (window.2 as usize, window.3 as usize, bands.len());
        let shape = match layout.interleave {
            Interleave::Band => [n, h, w],
            Interleave::Pixel => [h, w, n],
        };
        Ok(from_samples(py, ty, &shape, &bytes))
    }

    /// Physical float32 values of every band in `window`, (rows, cols, bands), by the file's
    /// dequantisation recipe.
    fn dequantize<'py>(
        &self,
        py: Python<'py>,
        window: (u32, u32, u32, u32),
    ) -> PyResult<Bound<'py, PyAny>> {
        let all: Vec<usize> = (0..self.header.bands.len()).collect();
        let (layout, ty, plane_bands) = self.layout(0, window, &all, "pixel")?;
        let values = py
            .detach(|| {
                let samples = self.read_window(0, &layout, ty, plane_bands)?;
                let scales = match scale_plane(&self.header) {
                    Some(plane) => {
                        let (scale_ty, scale_bands) = self.header.plane_layout(plane)?;
                        let scale_list: Vec<usize> = (0..scale_bands).collect();
                        let scale_layout = WindowLayout {
                            bands: &scale_list,
                            ..layout.clone()
                        };
                        Some(self.read_window(plane, &scale_layout, scale_ty, scale_bands)?)
                    }
                    None => None,
                };
                let mut values = Vec::new();
                dequantize(&self.header, &samples, scales.as_deref(), &mut values)?;
                Ok::<_, geoembed_codec::Error>(values)
            })
            .map_err(|e| self.err(e))?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let shape = [window.3 as usize, window.2 as usize, all.len()];
        Ok(from_samples(py, SampleType::F32, &shape, &bytes))
    }

    /// Decodes every tile of every plane and checks every checksum; returns the tile count.
    /// Tile by tile (a round at a time, in parallel): memory is a round of tiles, whatever
    /// the raster's width.
    fn verify(&self, py: Python<'_>) -> PyResult<u64> {
        py.detach(|| {
            let mut checked = 0u64;
            for plane in 0..self.header.plane_count() {
                let tiles: Vec<(u32, u32)> = (0..self.header.tiles_down())
                    .flat_map(|ty| (0..self.header.tiles_across()).map(move |tx| (tx, ty)))
                    .collect();
                for round in tiles.chunks(TILES_PER_ROUND) {
                    let payloads = self.read_payloads(plane, round)?;
                    round
                        .par_iter()
                        .zip(&payloads)
                        .try_for_each(|(&tile, payloads)| {
                            self.decode_payloads(plane, tile, payloads).map(drop)
                        })?;
                    checked += round.len() as u64;
                }
            }
            Ok::<_, geoembed_codec::Error>(checked)
        })
        .map_err(|e| self.err(e))
    }
}
