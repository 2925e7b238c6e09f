"""Writing ``.emb`` files: :func:`write` (numpy), :func:`from_rasterio` (any raster rasterio
reads) and :func:`from_geotessera` (a GeoTessera tile), all without system GDAL.

The encoding itself is the converter library's (the same code as ``geoembed convert``):
tiled, parallel, written under a temporary name and renamed into place with its STAC
sidecar ``OUT.emb.json``. Sources are read strip by strip, so a raster larger than memory
streams. Headers keep what the CLI keeps: CRS, geotransform, GCPs, nodata, descriptions,
scale/offset, units, colour interpretation and tables, metadata domains.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np

from . import _geoembed
from ._errors import EmbArgumentError

ProgressCallback = Callable[[int, int], "bool | None"]
# Near-lossless bound(s) and transform target, as numbers or the CLI's text ("0,2,2", "5%").
MaxError = Union[float, str, Sequence[float], None]
RelRmse = Union[float, str, None]
Quality = Union[int, str, None]

_DTYPES = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"}


# -- coordinate reference systems -------------------------------------------------------------
def _srs(crs: Any) -> dict[str, Any] | None:
    """A CRS given as WKT, ``"EPSG:n"``, an int, or a rasterio/pyproj CRS object → the
    header's ``{"wkt", "epsg", "axis_mapping"}`` (GDAL's traditional GIS order is implied)."""
    if crs is None:
        return None
    if hasattr(crs, "to_wkt"):
        try:  # WKT2, as the CLI stores (rasterio defaults to WKT1)
            wkt = crs.to_wkt(version="WKT2_2019")
        except TypeError:
            wkt = crs.to_wkt()
        epsg = crs.to_epsg() if hasattr(crs, "to_epsg") else None
        return {"wkt": wkt, "epsg": epsg, "axis_mapping": []}
    if isinstance(crs, str) and "[" in crs:
        return {"wkt": crs, "epsg": _epsg_in_wkt(crs), "axis_mapping": []}
    code = crs if isinstance(crs, int) else str(crs)
    for make in (_pyproj_crs, _rasterio_crs):
        made = make(code)
        if made is not None:
            return made
    raise EmbArgumentError(
        f"crs={crs!r}: give WKT, or install pyproj or rasterio to turn an EPSG code into WKT"
    )


def _epsg_in_wkt(wkt: str) -> int | None:
    # The CRS's own identifier is the last ID/AUTHORITY at the outermost level.
    found = re.findall(r'(?:ID|AUTHORITY)\["EPSG",\s*"?(\d+)"?\]', wkt)
    return int(found[-1]) if found else None


def _pyproj_crs(code: Any) -> dict[str, Any] | None:
    try:
        from pyproj import CRS
    except ImportError:
        return None
    c = CRS.from_user_input(code)
    return {"wkt": c.to_wkt(), "epsg": c.to_epsg(), "axis_mapping": []}


def _rasterio_crs(code: Any) -> dict[str, Any] | None:
    try:
        from rasterio.crs import CRS
    except ImportError:
        return None
    c = CRS.from_epsg(code) if isinstance(code, int) else CRS.from_user_input(code)
    return {"wkt": c.to_wkt(version="WKT2_2019"), "epsg": c.to_epsg(), "axis_mapping": []}


def _to_lon_lat() -> Callable[[str, list, list], Any] | None:
    """A reprojection to lon/lat for the sidecar's bounding box, from pyproj or rasterio."""
    try:
        from pyproj import Transformer

        def with_pyproj(wkt: str, xs: list, ys: list):
            t = Transformer.from_crs(wkt, "EPSG:4326", always_xy=True)
            lons, lats = t.transform(xs, ys)
            return list(lons), list(lats)

        return with_pyproj
    except ImportError:
        pass
    try:
        from rasterio.crs import CRS
        from rasterio.warp import transform

        def with_rasterio(wkt: str, xs: list, ys: list):
            lons, lats = transform(CRS.from_wkt(wkt), CRS.from_epsg(4326), xs, ys)
            return list(lons), list(lats)

        return with_rasterio
    except ImportError:
        return None


def _geotransform(transform: Any) -> list[float] | None:
    if transform is None:
        return None
    if hasattr(transform, "to_gdal"):
        return list(transform.to_gdal())
    values = [float(v) for v in transform]
    if len(values) != 6:
        raise EmbArgumentError(f"transform={transform!r}: give a GDAL geotransform (6 numbers) or an affine.Affine")
    return values


# -- headers ----------------------------------------------------------------------------------
def _per_band(value: Any, count: int, name: str) -> list[Any]:
    if value is None or isinstance(value, (int, float, str, np.number)):
        return [value] * count
    values = list(value)
    if len(values) != count:
        raise EmbArgumentError(f"{name}: {len(values)} values for {count} bands")
    return values


def _metadata(metadata: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """``{key: value}`` (the default domain) or ``{domain: {key: value}}`` → GDAL item lists."""
    if not metadata:
        return {}
    nested = all(isinstance(v, Mapping) for v in metadata.values())
    domains = metadata if nested else {"": metadata}
    return {d: [f"{k}={v}" for k, v in items.items()] for d, items in domains.items()}


def _header(
    pixels: np.ndarray,
    crs: Any,
    transform: Any,
    nodata: Any,
    descriptions: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    height, width, count = pixels.shape
    nodata_values = _per_band(nodata, count, "nodata")
    names = _per_band(descriptions, count, "descriptions") if descriptions is not None else [""] * count
    return {
        "width": width,
        "height": height,
        "dtype": pixels.dtype.name,
        "bands": [
            {"description": names[i] or "", "nodata": None if nodata_values[i] is None else float(nodata_values[i])}
            for i in range(count)
        ],
        "geotransform": _geotransform(transform),
        "srs": _srs(crs),
        "metadata": _metadata(metadata),
        "info": [("source_driver", "numpy (geoembed Python)")],
    }


def _strips(planes: list[np.ndarray]) -> Callable[[int, int, int], bytes]:
    """``read_rows`` over (rows, cols, bands) arrays: C-contiguous little-endian bytes."""

    def read_rows(plane: int, y0: int, rows: int) -> bytes:
        strip = planes[plane][y0 : y0 + rows]
        return np.ascontiguousarray(strip, dtype=strip.dtype.newbyteorder("<")).tobytes()

    return read_rows


def _as_pixels(array: Any, interleave: str) -> np.ndarray:
    data = np.asarray(array)
    if data.dtype.name not in _DTYPES:
        raise EmbArgumentError(f".emb stores {', '.join(sorted(_DTYPES))} samples, not {data.dtype}")
    if interleave not in ("band", "pixel"):
        raise EmbArgumentError(f"interleave '{interleave}': choose 'band' or 'pixel'")
    if data.ndim == 2:
        data = data[:, :, None]
    elif data.ndim != 3:
        raise EmbArgumentError(f"expected a 2-D or 3-D array, got shape {data.shape}")
    elif interleave == "band":
        data = np.moveaxis(data, 0, -1)
    if 0 in data.shape:
        raise EmbArgumentError(f"empty array of shape {data.shape}")
    return data


# -- public API -------------------------------------------------------------------------------
def write(
    path: str | os.PathLike,
    array: Any,
    *,
    interleave: str = "band",
    crs: Any = None,
    transform: Any = None,
    nodata: Any = None,
    descriptions: Sequence[str] | None = None,
    scales: Any = None,
    metadata: Mapping[str, Any] | None = None,
    codec: str = "auto",
    effort: str = "default",
    tile: int | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    max_error: MaxError = None,
    rel_rmse: RelRmse = None,
    quality: Quality = None,
) -> dict[str, Any]:
    """Writes ``array`` to the ``.emb`` file ``path`` (and its sidecar ``path.json``).

    ``array`` is (bands, rows, cols) with ``interleave="band"`` (rasterio's layout) or
    (rows, cols, bands) with ``"pixel"`` (GeoTessera's); 2-D arrays are one band.
    ``crs``: WKT, ``"EPSG:n"``, an EPSG int or a CRS object; ``transform``: a GDAL
    geotransform or an ``affine.Affine``; ``nodata`` and ``descriptions``: one value or one
    per band; ``scales``: per-pixel dequantisation scales (rows, cols) or
    (rows, cols, bands), stored as an aux plane with the GeoTessera recipe; ``metadata``:
    ``{key: value}`` or ``{domain: {key: value}}``. ``progress(done, total)`` is called per
    tile; returning False cancels (nothing is written). Returns a report: ``bytes_in``,
    ``bytes_out``, ``samples``, ``codecs`` (tiles per codec), ``loss`` (None: lossless).

    The file is lossless unless asked otherwise, as ``geoembed convert`` is:
    ``max_error=E`` (or one per band, ``[0, 2, 2]``) makes it near-lossless (LOSSY; every
    sample within ``E`` in value units, whole numbers for integers; nodata and
    NaN exact), ``rel_rmse=R`` (``0.05`` or ``"5%"``) transform-codes a raster of two or
    more bands to that relative RMSE (LOSSY; codec ``klt``), and ``quality=Q`` (a whole
    number from 1, smallest, to 100, closest; not with ``rel_rmse``) does the same with the
    target ``geoembed convert --quality Q`` maps it to: 1: 30%, 10: 20%, 25: 10%, 50: 5%,
    75: 2.5%, 90: 1%, 100: 0.5%, and between two anchors ``(q0, r0)``, ``(q1, r1)``
    ``R = r0 * (r1 / r0) ** ((Q - q0) / (q1 - q0))``. ``max_error`` beside ``rel_rmse`` or
    ``quality`` refines the transform so that every sample is also within ``E`` (not with
    ``scales``: the transform codes the values, the bound would be in codes). All are checked before any
    work; a bad value raises :class:`EmbArgumentError`. The report's and the header's
    ``loss`` give the bound and the error reached.
    """
    pixels = _as_pixels(array, interleave)
    header = _header(pixels, crs, transform, nodata, descriptions, metadata)
    planes = [pixels]
    if scales is not None:
        scale_plane = np.asarray(scales, dtype=np.float32)
        scale_plane = scale_plane[:, :, None] if scale_plane.ndim == 2 else scale_plane
        if scale_plane.shape[:2] != pixels.shape[:2] or scale_plane.shape[2] not in (1, pixels.shape[2]):
            raise EmbArgumentError(
                f"scales of shape {np.shape(scales)} do not fit the {pixels.shape[0]}x{pixels.shape[1]}"
                f"x{pixels.shape[2]} array: give (rows, cols) or (rows, cols, bands)"
            )
        planes.append(scale_plane)
        header["aux_planes"] = [{
            "name": "scales",
            "dtype": "float32",
            "bands": scale_plane.shape[2],
            "description": "per-pixel dequantisation scale: value = sample x scale",
        }]
        header["dequantization"] = {"recipe": "per_pixel_scale", "aux_plane": 0}
    lossy = _lossy_options(max_error, rel_rmse, quality)
    return _geoembed.write_emb(
        os.fspath(path), header, _strips(planes), codec, effort, tile, overwrite, progress, _to_lon_lat(), **lossy
    )


def _rasterio_header(src: Any) -> dict[str, Any]:
    """The header the CLI would write for this raster, from rasterio's view of it."""
    dtypes = set(src.dtypes)
    if len(dtypes) != 1:
        raise EmbArgumentError(f"{src.name}: bands of several types ({', '.join(sorted(dtypes))}); .emb needs one")
    dtype = dtypes.pop()
    if dtype not in _DTYPES:
        raise EmbArgumentError(f"{src.name}: sample type {dtype} is not supported")
    bands = []
    for i in range(1, src.count + 1):
        namespaces = [ns for ns in (src.tag_namespaces(i) or []) if ns != "IMAGE_STRUCTURE"]
        band_meta = {"": [f"{k}={v}" for k, v in src.tags(i).items()]}
        band_meta.update({ns: [f"{k}={v}" for k, v in src.tags(i, ns=ns).items()] for ns in namespaces})
        try:
            colormap = src.colormap(i)
            color_table = (1, [list(colormap[k]) for k in range(max(colormap) + 1)])
        except ValueError:
            color_table = None
        bands.append({
            "description": src.descriptions[i - 1] or "",
            "nodata": src.nodatavals[i - 1],
            "scale": src.scales[i - 1] if src.scales[i - 1] != 1.0 else None,
            "offset": src.offsets[i - 1] if src.offsets[i - 1] != 0.0 else None,
            "unit": src.units[i - 1] or "",
            "color_interp": int(src.colorinterp[i - 1].value),
            "metadata": {k: v for k, v in band_meta.items() if v},
            "color_table": color_table,
        })
    metadata = {"": [f"{k}={v}" for k, v in src.tags().items()]}
    for ns in src.tag_namespaces() or []:
        if ns not in ("IMAGE_STRUCTURE", "DERIVED_SUBDATASETS"):
            metadata[ns] = [f"{k}={v}" for k, v in src.tags(ns=ns).items()]
    gcps, gcp_crs = src.gcps
    header = {
        "width": src.width,
        "height": src.height,
        "dtype": dtype,
        "bands": bands,
        "geotransform": list(src.transform.to_gdal()) if src.crs is not None or not src.transform.is_identity else None,
        "srs": _srs(src.crs) if src.crs is not None else None,
        "gcps": [{"id": g.id or "", "info": g.info or "", "pixel": g.col, "line": g.row, "x": g.x, "y": g.y, "z": g.z or 0.0} for g in gcps],
        "gcp_srs": _srs(gcp_crs) if gcps and gcp_crs is not None else None,
        "metadata": {k: v for k, v in metadata.items() if v},
        "info": [("source_driver", f"{src.driver} (rasterio)")],
    }
    if gcps:
        header["geotransform"] = None
    return header


def from_rasterio(src_path: Any, dst_path: str | os.PathLike, **encode_opts: Any) -> dict[str, Any]:
    """Converts any raster rasterio reads (its PyPI wheel carries GDAL) to ``.emb``,
    streaming strip by strip. ``encode_opts``: ``codec``, ``effort``, ``tile``,
    ``overwrite``, ``progress``, ``max_error``, ``rel_rmse``, ``quality`` as for :func:`write`. Needs ``pip install geoembed[rasterio]``."""
    import rasterio
    from rasterio.windows import Window

    options = _encode_options(encode_opts)
    with rasterio.open(src_path) as src:
        header = _rasterio_header(src)

        def read_rows(plane: int, y0: int, rows: int) -> bytes:
            strip = src.read(window=Window(0, y0, src.width, rows))
            return np.ascontiguousarray(np.moveaxis(strip, 0, -1), dtype=strip.dtype.newbyteorder("<")).tobytes()

        return _geoembed.write_emb(
            os.fspath(dst_path), header, read_rows, kind=f"{src.driver} (rasterio)", to_lon_lat=_to_lon_lat(), **options
        )


def from_geotessera(
    npy: str | os.PathLike,
    scales: str | os.PathLike,
    landmask: str | os.PathLike | None,
    dst_path: str | os.PathLike,
    **encode_opts: Any,
) -> dict[str, Any]:
    """Converts a GeoTessera tile (int8 ``.npy`` (H, W, C), float32 ``_scales.npy``) to
    ``.emb``, georeferenced by its landmask GeoTIFF (read with rasterio) when given; the
    same file ``geoembed convert TILE.npy OUT.emb --scales ... --georef ...`` writes.
    ``encode_opts`` as for :func:`from_rasterio` (``rel_rmse`` and ``quality`` code the float32 values
    ``q x scale``, as the CLI does)."""
    georef = None
    if landmask is not None:
        import rasterio

        with rasterio.open(landmask) as lm:
            georef = {"geotransform": list(lm.transform.to_gdal()), "srs": _srs(lm.crs) if lm.crs else None}
    options = _encode_options(encode_opts)
    return _geoembed.write_geotessera(
        os.fspath(npy), os.fspath(scales), georef, os.fspath(dst_path), to_lon_lat=_to_lon_lat(), **options
    )


def _encode_options(options: dict[str, Any]) -> dict[str, Any]:
    allowed = {"codec", "effort", "tile", "overwrite", "progress", "max_error", "rel_rmse", "quality"}
    unknown = set(options) - allowed
    if unknown:
        raise EmbArgumentError(f"unknown option(s) {', '.join(sorted(unknown))}; choose from {', '.join(sorted(allowed))}")
    lossy = _lossy_options(options.get("max_error"), options.get("rel_rmse"), options.get("quality"))
    return {**{k: v for k, v in options.items() if k not in lossy}, **lossy}


def _lossy_options(max_error: MaxError, rel_rmse: RelRmse, quality: Quality = None) -> dict[str, str | None]:
    """The lossy options as the text the CLI takes (``"2"``, ``"0,2,2"``, ``"5%"``, ``"90"``):
    the extension parses and checks them with the CLI's own parsers, so both accept the same
    values and word the same errors."""
    return {
        "max_error": _option_text(max_error, "max_error", per_band=True),
        "rel_rmse": _option_text(rel_rmse, "rel_rmse"),
        "quality": _quality_text(quality),
    }


def _quality_text(value: Any) -> str | None:
    """A quality as the CLI's text: whole numbers as they are; anything else is refused
    by the extension with the CLI's message (a float stays a float: ``quality=90.5`` fails)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise EmbArgumentError(f"quality={value!r}: give a whole number from 1 to 100")
    return str(int(value)) if isinstance(value, (int, np.integer)) else repr(float(value))


def _option_text(value: Any, name: str, per_band: bool = False) -> str | None:
    if value is None or isinstance(value, str):
        return value
    per_band_values = per_band and not isinstance(value, (int, float, np.number))
    values = list(value) if per_band_values and hasattr(value, "__iter__") else [value]
    if not values or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)) for v in values):
        raise EmbArgumentError(f"{name}={value!r}: give a number{', or one per band' if per_band else ''}")
    # repr of a float is its shortest round-trip text: the bound the caller gave, exactly.
    return ",".join(repr(float(v)) for v in values)
