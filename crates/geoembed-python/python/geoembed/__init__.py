"""geoembed: lossless multichannel geospatial rasters (``.emb``) in Python, without GDAL.

* :func:`open` → :class:`Dataset`: windows and band subsets of local or remote (fsspec)
  files, fetching only the tiles a read needs; :meth:`Dataset.dequantize` for physical values.
* :func:`write`: numpy → ``.emb`` (atomic, with its STAC-like JSON sidecar).
* ``xr.open_dataset(path, engine="geoembed")``: the xarray backend (:mod:`geoembed.xarray_backend`).
* :class:`geoembed.zarr.GeoEmbedCodec`: a Zarr v3 codec (and a numcodecs one for Zarr v2).
* :func:`geoembed.dask.convert_many`: many conversions on a Dask cluster.
"""

from __future__ import annotations

from ._dataset import Dataset, open
from ._write import from_geotessera, from_rasterio, write
from ._errors import (
    EmbArgumentError,
    EmbChecksumError,
    EmbError,
    EmbFormatError,
    EmbIOError,
    EmbUnsupportedError,
)
from ._geoembed import HAS_JXL, __version__

__all__ = [
    "Dataset",
    "open",
    "write",
    "from_rasterio",
    "from_geotessera",
    "EmbError",
    "EmbFormatError",
    "EmbChecksumError",
    "EmbUnsupportedError",
    "EmbArgumentError",
    "EmbIOError",
    "HAS_JXL",
    "__version__",
]
