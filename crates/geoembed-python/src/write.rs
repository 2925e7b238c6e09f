//! Writing `.emb` files from Python: the converter library's pipeline (tiling, parallel
//! encoding, atomic staging, the STAC sidecar) over samples that Python hands out row strip
//! by row strip, so a raster larger than memory streams from rasterio as it does from GDAL.
//!
//! The encoder runs without the GIL; each strip request and each progress report takes it
//! back for the duration of one Python call, on the thread that called `write`.

use crate::header_dict;
use geoembed::write::check_overwrite;
use geoembed::write::sidecar::ToLonLat;
use geoembed::{
    encode_to_emb_with, parse_codec, parse_effort, parse_max_error, parse_transform_target,
    EncodeOptions, EncodeReport, Error, ErrorKind, OptionKey, Progress, RasterSource,
    TesseraSource, TileSize,
};
use geoembed_codec::codec::KLT_MIN_BANDS;
use geoembed_codec::{
    check_klt_request, AuxPlane, Dequantization, Header, NearLossless, Srs, TransformLoss,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Samples from a Python callable `read_rows(plane, y0, rows) -> bytes` (the rows of that
/// plane, every column, pixel-interleaved, little-endian).
struct PyRows {
    header: Header,
    read_rows: Py<PyAny>,
    kind: String,
}

impl RasterSource for PyRows {
    fn header(&self) -> &Header {
        &self.header
    }

    fn read_rows(
        &mut self,
        plane: usize,
        y0: u32,
        rows: u32,
        out: &mut [u8],
    ) -> geoembed::Result<()> {
        Python::attach(|py| {
            let data = self
                .read_rows
                .call1(py, (plane, y0, rows))
                .map_err(|e| python_failed(py, e))?;
            let bytes = data.cast_bound::<PyBytes>(py).map_err(|_| {
                Error::new(ErrorKind::UnsupportedInput, "read_rows() must return bytes")
            })?;
            if bytes.as_bytes().len() != out.len() {
                return Err(Error::new(
                    ErrorKind::UnsupportedInput,
                    format!(
                        "rows {y0}..{} of plane {plane}: {} bytes given, {} expected",
                        y0 + rows,
                        bytes.as_bytes().len(),
                        out.len()
                    ),
                ));
            }
            out.copy_from_slice(bytes.as_bytes());
            Ok(())
        })
    }

    fn kind(&self) -> String {
        self.kind.clone()
    }
}

/// A Python exception raised inside a callback, as the converter's error (its text kept).
fn python_failed(py: Python<'_>, e: PyErr) -> Error {
    let text = e.value(py).to_string();
    let name = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    Error::new(ErrorKind::Other, format!("{name}: {text}"))
}

/// Progress to a Python callable `progress(done, total)`; a false return cancels.
struct PyProgress {
    callback: Option<Py<PyAny>>,
    total: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl Progress for PyProgress {
    fn begin(&self, total_tiles: u64, _stage: &str) {
        self.total
            .store(total_tiles, std::sync::atomic::Ordering::Relaxed);
    }

    fn advance(&self, tiles: u64) -> ControlFlow<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let done = self.done.fetch_add(tiles, Relaxed) + tiles;
        let Some(callback) = &self.callback else {
            return ControlFlow::Continue(());
        };
        Python::attach(
            |py| match callback.call1(py, (done, self.total.load(Relaxed))) {
                Ok(answer) if answer.is(py.None()) || answer.is_truthy(py).unwrap_or(true) => {
                    ControlFlow::Continue(())
                }
                _ => ControlFlow::Break(()),
            },
        )
    }

    fn finish(&self) {}
}

/// Reprojection for the sidecar's bounding box through a Python callable
/// `to_lon_lat(wkt, xs, ys) -> (lons, lats) | None` (pyproj or rasterio on the Python side).
struct PyLonLat(Py<PyAny>);

impl ToLonLat for PyLonLat {
    fn to_lon_lat(&self, srs: &Srs, xs: &mut [f64], ys: &mut [f64]) -> bool {
        Python::attach(|py| {
            let answer = self
                .0
                .call1(py, (srs.wkt.clone(), xs.to_vec(), ys.to_vec()));
            let Ok(Some((lons, lats))) =
                answer.and_then(|a| a.extract::<Option<(Vec<f64>, Vec<f64>)>>(py))
            else {
                return false;
            };
            if lons.len() != xs.len() || lats.len() != ys.len() {
                return false;
            }
            xs.copy_from_slice(&lons);
            ys.copy_from_slice(&lats);
            true
        })
    }
}

/// The header's aux planes and recipe from the dict's `aux_planes` and `dequantization`
/// (as `header_dict::to_dict` writes them).
fn add_planes(header: &mut Header, dict: &Bound<'_, PyDict>) -> PyResult<()> {
    if let Some(planes) = dict.get_item("aux_planes")? {
        for plane in planes.extract::<Vec<Bound<'_, PyDict>>>()? {
            let text = |key: &str| -> PyResult<String> {
                Ok(plane
                    .get_item(key)?
                    .map(|v| v.extract())
                    .transpose()?
                    .unwrap_or_default())
            };
            header.aux_planes.push(AuxPlane {
                name: text("name")?,
                sample_type: header_dict::sample_type(&text("dtype")?)?,
                bands: plane
                    .get_item("bands")?
                    .map(|v| v.extract())
                    .transpose()?
                    .unwrap_or(1),
                description: text("description")?,
            });
        }
    }
    if let Some(recipe) = dict.get_item("dequantization")?.filter(|v| !v.is_none()) {
        let recipe = recipe.cast_into::<PyDict>()?;
        let get_f64 = |key: &str| -> PyResult<f64> {
            recipe
                .get_item(key)?
                .ok_or_else(|| {
                    pyo3::exceptions::PyValueError::new_err(format!("dequantization needs '{key}'"))
                })?
                .extract()
        };
        let name: String = recipe
            .get_item("recipe")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or_default();
        header.dequantization = Some(match name.as_str() {
            "per_pixel_scale" => Dequantization::PerPixelScale {
                aux_plane: recipe
                    .get_item("aux_plane")?
                    .map(|v| v.extract())
                    .transpose()?
                    .unwrap_or(0),
            },
            "power_law" => Dequantization::PowerLaw {
                divisor: get_f64("divisor")?,
                exponent: get_f64("exponent")?,
            },
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "unknown dequantization recipe '{other}' (per_pixel_scale or power_law)"
                )))
            }
        });
    }
    Ok(())
}

/// The encoding options as Python passed them, parsed by the library (the CLI's parsers)
/// on the encoding thread. The lossy ones arrive as text (`"2"`, `"0,2,2"`, `"5%"`; the
/// Python side formats numbers and sequences) and stay `None` unless asked for.
pub struct OptionTexts {
    codec: String,
    effort: String,
    tile: Option<u32>,
    max_error: Option<String>,
    rel_rmse: Option<String>,
    quality: Option<String>,
}

fn encode_options(texts: &OptionTexts, overwrite: bool) -> geoembed::Result<EncodeOptions> {
    let (rel_rmse, quality) =
        parse_transform_target(texts.rel_rmse.as_deref(), texts.quality.as_deref())?;
    Ok(EncodeOptions {
        codec: parse_codec(&texts.codec)?,
        effort: parse_effort(&texts.effort)?,
        tile: texts.tile.map(TileSize::new).transpose()?,
        overwrite,
        max_error: texts
            .max_error
            .as_deref()
            .map(parse_max_error)
            .transpose()?
            .unwrap_or_default(),
        rel_rmse,
        quality,
        ..EncodeOptions::default()
    })
}

/// An option error named as the Python keyword (`max_error=1.5: ...`), the CLI's flags in
/// the library's advice respelled as keywords.
fn option_error(e: Error) -> PyErr {
    let labelled = e.label_option(|key, value| match key {
        OptionKey::Codec => format!("codec={value}"),
        OptionKey::Effort => format!("effort={value}"),
        OptionKey::TileSize => format!("tile={value}"),
        OptionKey::MaxError => format!("max_error={value}"),
        OptionKey::RelRmse => format!("rel_rmse={value}"),
        OptionKey::Quality => format!("quality={value}"),
        other => format!("{} {value}", other.name()),
    });
    let message = labelled
        .to_string()
        .replace("--rel-rmse R", "rel_rmse=R")
        .replace("--rel-rmse", "rel_rmse")
        .replace("--quality Q", "quality=Q")
        .replace("--quality", "quality")
        .replace("--max-error", "max_error")
        .replace("--codec ", "codec=");
    crate::errors::raise_converter(&labelled, message)
}

/// The report a write returns to Python.
fn report_dict<'py>(py: Python<'py>, r: &EncodeReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("bytes_in", r.raw_bytes)?;
    d.set_item("bytes_out", r.file_bytes)?;
    d.set_item("samples", r.samples)?;
    let codecs = PyDict::new(py);
    for (name, count) in &r.codecs {
        codecs.set_item(*name, *count)?;
    }
    d.set_item("codecs", codecs)?;
    d.set_item("loss", loss_dict(py, &r.near_lossless, &r.transform)?)?;
    Ok(d)
}

/// What a lossy file records about its loss, as the report and the header dict give it:
/// `None` for a lossless file.
pub fn loss_dict<'py>(
    py: Python<'py>,
    near_lossless: &Option<NearLossless>,
    transform: &Option<TransformLoss>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let d = PyDict::new(py);
    let bound = near_lossless.as_ref().filter(|n| n.is_lossy());
    if let Some(t) = transform {
        d.set_item("mode", "transform")?;
        d.set_item("rel_rmse", t.target_rel_rmse)?;
        if let Some(a) = t.achieved {
            d.set_item("achieved_rel_rmse", a.rel_rmse)?;
            d.set_item("max_abs_error", a.max_abs_error)?;
            d.set_item("mean_cosine", a.mean_cosine)?;
            d.set_item("p01_cosine", a.p01_cosine)?;
        }
    } else if bound.is_some() {
        d.set_item("mode", "near-lossless")?;
    } else {
        return Ok(None);
    }
    // Near-lossless, or the bound a transform's tiles were refined to.
    if let Some(n) = bound {
        d.set_item("max_error", n.max_error.clone())?;
        d.set_item("achieved_max_error", n.achieved.clone())?;
    }
    Ok(Some(d))
}

/// What every write takes besides its source.
pub struct WriteTarget {
    path: PathBuf,
    options: OptionTexts,
    overwrite: bool,
    progress: Option<Py<PyAny>>,
    to_lon_lat: Option<Py<PyAny>>,
}

fn run(
    py: Python<'_>,
    target: WriteTarget,
    source: &mut (dyn RasterSource + Send),
) -> PyResult<Py<PyDict>> {
    let progress = PyProgress {
        callback: target.progress,
        total: 0.into(),
        done: 0.into(),
    };
    let lon_lat = target.to_lon_lat.map(PyLonLat);
    let path = target.path;
    // Options are checked before the output is looked at or any sample is read.
    let options = encode_options(&target.options, target.overwrite).map_err(option_error)?;
    let report = py
        .detach(|| {
            check_overwrite(&path, target.overwrite)
                .map_err(|e| e.with_hint(" (pass overwrite=True to replace it)"))?;
            encode_to_emb_with(
                source,
                &path,
                &options,
                &progress,
                lon_lat.as_ref().map(|l| l as &dyn ToLonLat),
            )
        })
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidOption(_) => option_error(e),
            _ => crate::errors::converter_to_py(&e),
        })?;
    Ok(report_dict(py, &report)?.unbind())
}

/// Parses encoding options as a write would, without writing: a batch of conversions
/// (`geoembed.dask.convert_many`) refuses a bad value before submitting any task.
#[pyfunction]
#[pyo3(signature = (codec="auto", effort="default", tile=None, max_error=None, rel_rmse=None, quality=None))]
pub fn check_encode_options(
    codec: &str,
    effort: &str,
    tile: Option<u32>,
    max_error: Option<String>,
    rel_rmse: Option<String>,
    quality: Option<String>,
) -> PyResult<()> {
    let texts = OptionTexts {
        codec: codec.to_string(),
        effort: effort.to_string(),
        tile,
        max_error,
        rel_rmse,
        quality,
    };
    let options = encode_options(&texts, false).map_err(option_error)?;
    // The target's range holds for every input; its band count is checked per input.
    if let Some(target) = options.rel_rmse {
        check_klt_request(KLT_MIN_BANDS, target).map_err(|e| {
            option_error(Error::invalid_option(
                OptionKey::RelRmse,
                target.to_string(),
                e.message(),
            ))
        })?;
    }
    Ok(())
}

/// Writes a `.emb` from a header dict and a `read_rows(plane, y0, rows) -> bytes` callable.
#[pyfunction]
#[pyo3(signature = (path, header, read_rows, codec="auto", effort="default", tile=None, overwrite=false, progress=None, to_lon_lat=None, kind="numpy", max_error=None, rel_rmse=None, quality=None))]
#[allow(clippy::too_many_arguments)]
pub fn write_emb(
    py: Python<'_>,
    path: PathBuf,
    header: &Bound<'_, PyDict>,
    read_rows: Py<PyAny>,
    codec: &str,
    effort: &str,
    tile: Option<u32>,
    overwrite: bool,
    progress: Option<Py<PyAny>>,
    to_lon_lat: Option<Py<PyAny>>,
    kind: &str,
    max_error: Option<String>,
    rel_rmse: Option<String>,
    quality: Option<String>,
) -> PyResult<Py<PyDict>> {
    let mut built = header_dict::from_dict(header)?;
    add_planes(&mut built, header)?;
    let mut source = PyRows {
        header: built,
        read_rows,
        kind: kind.to_string(),
    };
    let target = WriteTarget {
        path,
        options: OptionTexts {
            codec: codec.to_string(),
            effort: effort.to_string(),
            tile,
            max_error,
            rel_rmse,
            quality,
        },
        overwrite,
        progress,
        to_lon_lat,
    };
    run(py, target, &mut source)
}

/// Writes a `.emb` from a GeoTessera tile (`npy`, `scales`), georeferenced by `georef`
/// (a dict with `geotransform` and `srs`, read from the landmask by the caller) or not.
#[pyfunction]
#[pyo3(signature = (npy, scales, georef, path, codec="auto", effort="default", tile=None, overwrite=false, progress=None, to_lon_lat=None, max_error=None, rel_rmse=None, quality=None))]
#[allow(clippy::too_many_arguments)]
pub fn write_geotessera(
    py: Python<'_>,
    npy: PathBuf,
    scales: PathBuf,
    georef: Option<&Bound<'_, PyDict>>,
    path: PathBuf,
    codec: &str,
    effort: &str,
    tile: Option<u32>,
    overwrite: bool,
    progress: Option<Py<PyAny>>,
    to_lon_lat: Option<Py<PyAny>>,
    max_error: Option<String>,
    rel_rmse: Option<String>,
    quality: Option<String>,
) -> PyResult<Py<PyDict>> {
    let georef = georef.map(header_dict::georef_from).transpose()?;
    let mut source = py
        .detach(|| TesseraSource::open(&npy, &scales, georef))
        .map_err(|e| crate::errors::converter_to_py(&e))?;
    let target = WriteTarget {
        path,
        options: OptionTexts {
            codec: codec.to_string(),
            effort: effort.to_string(),
            tile,
            max_error,
            rel_rmse,
            quality,
        },
        overwrite,
        progress,
        to_lon_lat,
    };
    run(py, target, &mut source)
}
