//! `geoembed._geoembed`: the Rust half of the `geoembed` Python package. It binds the codec
//! crate directly (no GDAL): reading `.emb` windows from paths or Python file objects,
//! dequantising, and coding single tiles for the Zarr codec. The Python half
//! (`python/geoembed/`) builds the user-facing API, the xarray backend, the Zarr codecs and
//! the Dask scale-out on top.

mod chunk;
mod errors;
mod file_source;
mod header_dict;
mod numpy_array;
mod reader;
mod write;

use pyo3::prelude::*;

#[pymodule]
fn _geoembed(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<reader::EmbReader>()?;
    module.add_function(wrap_pyfunction!(chunk::encode_chunk, module)?)?;
    module.add_function(wrap_pyfunction!(chunk::decode_chunk, module)?)?;
    module.add_function(wrap_pyfunction!(write::write_emb, module)?)?;
    module.add_function(wrap_pyfunction!(write::write_geotessera, module)?)?;
    module.add_function(wrap_pyfunction!(write::check_encode_options, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("HAS_JXL", cfg!(feature = "jxl"))?;
    Ok(())
}
