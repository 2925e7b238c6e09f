//! The `.emb` header as plain Python values (dicts, lists, strings, numbers) and back.
//!
//! The Python side builds its `Dataset` properties, xarray attributes and STAC-like views
//! from these dicts, and `write` builds a header from one; keeping the mapping in one file
//! keeps both directions using the same keys.

use geoembed_codec::{
    AuxPlane, BandInfo, Dequantization, Gcp, Georef, Header, MetadataDomain, SampleType, Srs,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// numpy's name for a sample type (the codec crate uses numpy's names).
pub fn dtype_name(ty: SampleType) -> &'static str {
    ty.name()
}

/// The sample type of a numpy dtype name.
pub fn sample_type(dtype: &str) -> PyResult<SampleType> {
    SampleType::from_name(dtype).ok_or_else(|| {
        PyValueError::new_err(format!(
            "dtype {dtype} is not stored by .emb (uint8, int8, uint16, int16, uint32, int32, float32, float64)"
        ))
    })
}

fn domains<'py>(py: Python<'py>, list: &[MetadataDomain]) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    for d in list {
        out.set_item(&d.name, PyList::new(py, &d.items)?)?;
    }
    Ok(out)
}

fn srs<'py>(py: Python<'py>, s: &Option<Srs>) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Some(s) = s else { return Ok(None) };
    let d = PyDict::new(py);
    d.set_item("wkt", &s.wkt)?;
    d.set_item("epsg", s.epsg)?;
    d.set_item("axis_mapping", &s.axis_mapping)?;
    Ok(Some(d))
}

fn band<'py>(py: Python<'py>, b: &BandInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("description", &b.description)?;
    d.set_item("nodata", b.nodata)?;
    d.set_item("scale", b.scale)?;
    d.set_item("offset", b.offset)?;
    d.set_item("unit", &b.unit)?;
    d.set_item("color_interp", b.color_interp)?;
    d.set_item("metadata", domains(py, &b.metadata)?)?;
    match &b.color_table {
        Some((interp, entries)) => d.set_item("color_table", (interp, entries.to_vec()))?,
        None => d.set_item("color_table", py.None())?,
    }
    Ok(d)
}

fn gcp<'py>(py: Python<'py>, g: &Gcp) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &g.id)?;
    d.set_item("info", &g.info)?;
    d.set_item("pixel", g.pixel)?;
    d.set_item("line", g.line)?;
    d.set_item("x", g.x)?;
    d.set_item("y", g.y)?;
    d.set_item("z", g.z)?;
    Ok(d)
}

fn dequantization<'py>(
    py: Python<'py>,
    d: &Option<Dequantization>,
    aux: &[AuxPlane],
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let out = PyDict::new(py);
    match d {
        None => return Ok(None),
        Some(Dequantization::PerPixelScale { aux_plane }) => {
            out.set_item("recipe", "per_pixel_scale")?;
            out.set_item("aux_plane", aux_plane)?;
            let plane = aux.get(*aux_plane as usize);
            out.set_item("scale_plane", plane.map(|p| p.name.clone()))?;
            out.set_item("scale_bands", plane.map(|p| p.bands))?;
        }
        Some(Dequantization::PowerLaw { divisor, exponent }) => {
            out.set_item("recipe", "power_law")?;
            out.set_item("divisor", divisor)?;
            out.set_item("exponent", exponent)?;
        }
    }
    Ok(Some(out))
}

/// The whole header as a dict (see `geoembed/_geoembed.pyi` for its keys).
pub fn to_dict<'py>(py: Python<'py>, h: &Header) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("width", h.width)?;
    d.set_item("height", h.height)?;
    d.set_item("dtype", dtype_name(h.sample_type))?;
    d.set_item("tile_width", h.tile_width)?;
    d.set_item("tile_height", h.tile_height)?;
    let bands: Vec<_> = h
        .bands
        .iter()
        .map(|b| band(py, b))
        .collect::<PyResult<_>>()?;
    d.set_item("bands", bands)?;
    let aux: Vec<_> = h
        .aux_planes
        .iter()
        .map(|a| {
            let p = PyDict::new(py);
            p.set_item("name", &a.name)?;
            p.set_item("dtype", dtype_name(a.sample_type))?;
            p.set_item("bands", a.bands)?;
            p.set_item("description", &a.description)?;
            Ok(p)
        })
        .collect::<PyResult<_>>()?;
    d.set_item("aux_planes", aux)?;
    d.set_item("geotransform", h.georef.geotransform.map(|g| g.to_vec()))?;
    d.set_item("srs", srs(py, &h.georef.srs)?)?;
    let gcps: Vec<_> = h
        .georef
        .gcps
        .iter()
        .map(|g| gcp(py, g))
        .collect::<PyResult<_>>()?;
    d.set_item("gcps", gcps)?;
    d.set_item("gcp_srs", srs(py, &h.georef.gcp_srs)?)?;
    d.set_item("metadata", domains(py, &h.metadata)?)?;
    d.set_item(
        "dequantization",
        dequantization(py, &h.dequantization, &h.aux_planes)?,
    )?;
    d.set_item("info", h.info.clone())?;
    // None for a lossless file; read-only (a header dict given to a writer never makes it
    // lossy: only write(..., max_error=, rel_rmse=) does).
    d.set_item(
        "loss",
        crate::write::loss_dict(py, &h.near_lossless, &h.transform_loss)?,
    )?;
    Ok(d)
}

/// The value of `key`, `None` when missing or None; a wrong type names the key.
fn get<'py, T>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<T>>
where
    T: for<'a> FromPyObject<'a, 'py>,
    for<'a> <T as FromPyObject<'a, 'py>>::Error: Into<PyErr>,
{
    match d.get_item(key)? {
        Some(v) if !v.is_none() => v.extract::<T>().map(Some).map_err(|e| {
            let e: PyErr = e.into();
            PyValueError::new_err(format!("header key '{key}': {e}"))
        }),
        _ => Ok(None),
    }
}

fn domains_from(d: Option<Bound<'_, PyDict>>) -> PyResult<Vec<MetadataDomain>> {
    let Some(d) = d else { return Ok(Vec::new()) };
    d.iter()
        .map(|(name, items)| {
            Ok(MetadataDomain {
                name: name.extract()?,
                items: items.extract()?,
            })
        })
        .collect()
}

fn srs_from(d: Option<Bound<'_, PyDict>>) -> PyResult<Option<Srs>> {
    let Some(d) = d else { return Ok(None) };
    Ok(Some(Srs {
        wkt: get(&d, "wkt")?.unwrap_or_default(),
        epsg: get(&d, "epsg")?,
        axis_mapping: get(&d, "axis_mapping")?.unwrap_or_default(),
    }))
}

fn band_from(d: &Bound<'_, PyDict>) -> PyResult<BandInfo> {
    Ok(BandInfo {
        description: get(d, "description")?.unwrap_or_default(),
        nodata: get(d, "nodata")?,
        scale: get(d, "scale")?,
        offset: get(d, "offset")?,
        color_interp: get(d, "color_interp")?.unwrap_or(0),
        unit: get(d, "unit")?.unwrap_or_default(),
        metadata: domains_from(get(d, "metadata")?)?,
        color_table: get(d, "color_table")?,
    })
}

/// A header from a dict of the shape [`to_dict`] returns (missing keys take defaults).
/// `dequantization` and `aux_planes` are set by the caller that supplies their samples.
pub fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Header> {
    let width: u32 =
        get(d, "width")?.ok_or_else(|| PyValueError::new_err("header needs 'width'"))?;
    let height: u32 =
        get(d, "height")?.ok_or_else(|| PyValueError::new_err("header needs 'height'"))?;
    let dtype: String =
        get(d, "dtype")?.ok_or_else(|| PyValueError::new_err("header needs 'dtype'"))?;
    let bands: Vec<Bound<'_, PyDict>> = get(d, "bands")?.unwrap_or_default();
    let mut h = Header::new(width, height, bands.len(), sample_type(&dtype)?);
    h.bands = bands.iter().map(band_from).collect::<PyResult<_>>()?;
    h.georef = georef_from(d)?;
    h.metadata = domains_from(get(d, "metadata")?)?;
    h.info = get(d, "info")?.unwrap_or_default();
    Ok(h)
}

/// Georeferencing from a dict with `geotransform`, `srs`, `gcps` and `gcp_srs` (any missing).
pub fn georef_from(d: &Bound<'_, PyDict>) -> PyResult<Georef> {
    let gcps: Vec<Bound<'_, PyDict>> = get(d, "gcps")?.unwrap_or_default();
    Ok(Georef {
        geotransform: get(d, "geotransform")?,
        srs: srs_from(get(d, "srs")?)?,
        gcps: gcps
            .iter()
            .map(|g| {
                Ok(Gcp {
                    id: get(g, "id")?.unwrap_or_default(),
                    info: get(g, "info")?.unwrap_or_default(),
                    pixel: get(g, "pixel")?.unwrap_or_default(),
                    line: get(g, "line")?.unwrap_or_default(),
                    x: get(g, "x")?.unwrap_or_default(),
                    y: get(g, "y")?.unwrap_or_default(),
                    z: get(g, "z")?.unwrap_or_default(),
                })
            })
            .collect::<PyResult<_>>()?,
        gcp_srs: srs_from(get(d, "gcp_srs")?)?,
    })
}
