"""The xarray backend: ``xr.open_dataset("x.emb", engine="geoembed", chunks={})``.

The bands become one lazy variable ``band_data`` with dims (``band``, ``y``, ``x``) (the
name and dims xarray's rasterio engine uses, so code written for GeoTIFFs keeps working),
pixel-centre ``x``/``y`` coordinates from the geotransform, and a ``spatial_ref``
coordinate in the CF/GDAL form rioxarray reads (``ds.rio.crs``, ``ds.rio.transform()``).
Aux planes (GeoTessera's ``scales``) are further variables on (``y``, ``x``). Dask chunks
default to the file's tiles, so every chunk decodes whole tiles once; neighbouring tiles
mosaic with ``xr.open_mfdataset([...], engine="geoembed", combine="by_coords")``.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Iterable

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from ._dataset import Dataset, open as open_emb

_MAGIC = b"\x89EMB\r\n\x1a\n"


class _PlaneArray(BackendArray):
    """One plane of a ``.emb`` as a lazily indexed (band, y, x) array."""

    def __init__(self, dataset: Dataset, plane: int, bands: int, dtype: np.dtype) -> None:
        self.dataset = dataset
        self.plane = plane
        self.shape = (bands, dataset.height, dataset.width)
        self.dtype = dtype
        self.lock = threading.Lock()  # xarray asks for one; reads are thread-safe anyway

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        band_key, y_key, x_key = key
        bands = np.arange(self.shape[0])[band_key]
        rows = range(self.shape[1])[y_key] if isinstance(y_key, slice) else y_key
        cols = range(self.shape[2])[x_key] if isinstance(x_key, slice) else x_key
        row_span = _span(rows)
        col_span = _span(cols)
        squeeze = tuple(i for i, k in enumerate((band_key, y_key, x_key)) if isinstance(k, (int, np.integer)))
        band_list = [int(b) for b in np.atleast_1d(bands)]
        if row_span is None or col_span is None or not band_list:
            empty = (len(band_list), _length(rows), _length(cols))
            return np.empty(empty, dtype=self.dtype).squeeze(axis=squeeze)
        (y0, y1, ystep), (x0, x1, xstep) = row_span, col_span
        window = (x0, y0, x1 - x0, y1 - y0)
        data = self.dataset._reader.read(self.plane, window, band_list, "band")
        data = data[:, ::ystep, ::xstep]
        return data.squeeze(axis=squeeze) if squeeze else data


def _length(index: Any) -> int:
    return 1 if isinstance(index, (int, np.integer)) else len(index)


def _span(index: Any) -> tuple[int, int, int] | None:
    """(first, end, step) of an int or a range, end exclusive; None when empty."""
    if isinstance(index, (int, np.integer)):
        return int(index), int(index) + 1, 1
    if len(index) == 0:
        return None
    step = index.step
    if step < 0:  # read forwards, the caller's order is applied by the slice below
        raise IndexError("negative steps are not supported by the geoembed backend")
    return index[0], index[-1] + 1, step


def _spatial_ref(ds: Dataset) -> xr.Variable:
    attrs: dict[str, Any] = {}
    if ds.crs:
        attrs["crs_wkt"] = ds.crs
        attrs["spatial_ref"] = ds.crs
    if ds.transform:
        attrs["GeoTransform"] = " ".join(repr(float(v)) for v in ds.transform)
    return xr.Variable((), np.int64(0), attrs)


def _coords(ds: Dataset) -> dict[str, Any]:
    coords: dict[str, Any] = {"band": np.arange(1, ds.count + 1)}
    gt = ds.transform
    if gt is not None and gt[2] == 0 and gt[4] == 0:
        # Pixel centres computed the way rioxarray does (the affine transform composed with
        # a half-pixel translation, then applied), so coordinates match it to the last bit
        # and datasets from both engines align without reindexing.
        x_centre = gt[1] * 0.5 + gt[2] * 0.5 + gt[0]
        y_centre = gt[4] * 0.5 + gt[5] * 0.5 + gt[3]
        coords["x"] = ("x", np.arange(ds.width) * gt[1] + x_centre, {"axis": "X"})
        coords["y"] = ("y", np.arange(ds.height) * gt[5] + y_centre, {"axis": "Y"})
    coords["spatial_ref"] = _spatial_ref(ds)
    return coords


def _band_attrs(ds: Dataset) -> dict[str, Any]:
    attrs: dict[str, Any] = {"grid_mapping": "spatial_ref"}
    nodata = {v for v in ds.nodata}
    if len(nodata) == 1 and None not in nodata:
        attrs["_FillValue"] = nodata.pop()
    if any(ds.descriptions):
        attrs["long_name"] = list(ds.descriptions)
    units = {u for u in ds.units}
    if len(units) == 1 and "" not in units:
        attrs["units"] = units.pop()
    if ds.scales_info:
        attrs["geoembed_dequantization"] = repr(ds.scales_info)
    return attrs


def _variable(ds: Dataset, plane: int, bands: int, dtype: np.dtype, dims: tuple[str, ...], attrs: dict[str, Any]) -> xr.Variable:
    array = indexing.LazilyIndexedArray(_PlaneArray(ds, plane, bands, dtype))
    tile_w, tile_h = ds.tile_size
    encoding = {"preferred_chunks": {"band": bands, "y": tile_h, "x": tile_w}, "dtype": dtype}
    if len(dims) == 2:  # a one-band aux plane: drop the band axis
        array = array[indexing.BasicIndexer((0, slice(None), slice(None)))]
        encoding["preferred_chunks"] = {"y": tile_h, "x": tile_w}
    return xr.Variable(dims, array, attrs, encoding)


def open_emb_dataset(filename_or_obj: Any, drop_variables: Iterable[str] | None = None) -> xr.Dataset:
    ds = open_emb(filename_or_obj)
    variables = {"band_data": _variable(ds, 0, ds.count, ds.dtype, ("band", "y", "x"), _band_attrs(ds))}
    for i, plane in enumerate(ds.aux_planes, start=1):
        dims = ("y", "x") if plane["bands"] == 1 else (f"{plane['name']}_band", "y", "x")
        attrs = {"grid_mapping": "spatial_ref", "description": plane["description"]}
        variables[plane["name"]] = _variable(ds, i, plane["bands"], np.dtype(plane["dtype"]), dims, attrs)
    for name in drop_variables or ():
        variables.pop(name, None)
    attrs = {k: v for k, v in ds.metadata.get("", {}).items() if k}
    result = xr.Dataset(variables, coords=_coords(ds), attrs=attrs)
    result.set_close(ds.close)
    return result


class GeoEmbedBackendEntrypoint(BackendEntrypoint):
    """``engine="geoembed"``: ``.emb`` files (local, fsspec URLs, file objects)."""

    description = "Lossless multichannel rasters in geoembed .emb files"
    url = "https://example.invalid/geoembed"
    open_dataset_parameters = ("filename_or_obj", "drop_variables")

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: Any,
        *,
        drop_variables: Iterable[str] | None = None,
    ) -> xr.Dataset:
        return open_emb_dataset(filename_or_obj, drop_variables)

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        if isinstance(filename_or_obj, (str, os.PathLike)):
            path = os.fspath(filename_or_obj)
            if str(path).lower().endswith(".emb"):
                return True
            try:
                with open(path, "rb") as f:
                    return f.read(8) == _MAGIC
            except OSError:
                return False
        return False
