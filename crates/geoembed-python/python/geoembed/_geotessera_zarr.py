"""GeoTessera's Zarr layouts to ``.emb`` and back, bit for bit.

Two layouts exist in the wild:

* the **per-tile export**: an xarray dataset with one float32 variable ``embedding`` on
  dims (``y``, ``x``, ``band``) (values already dequantised), pixel-centre ``x``/``y``
  coordinates and a ``spatial_ref`` written by rioxarray;
* the **zone store**: one group per UTM zone (``utm30``, ...) holding int8 ``embeddings``
  (``time``, ``band``, ``y``, ``x``), float32 ``scales`` (``time``, ``y``, ``x``) whose NaN
  marks water and +inf a pixel not yet filled, and ``time``/``band``/``x``/``y``
  coordinates.

A zone-store window becomes an int8 ``.emb`` with its scales as an aux plane (the GeoTessera
recipe, so ``dequantize`` gives GeoTessera's float32 values); a per-tile export becomes a
float32 ``.emb``. Both convert back to the same layout with identical arrays.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from . import _geoembed
from ._dataset import open as open_emb
from ._errors import EmbArgumentError, EmbFormatError
from ._write import _encode_options, _srs, _to_lon_lat

_ZONE = re.compile(r"^utm(\d\d)$")


# -- reading a store ----------------------------------------------------------------------------
def _open_group(store: Any, group: str | None = None):
    import zarr

    try:
        return zarr.open_group(store, mode="r", path=group)
    except Exception as e:  # noqa: BLE001 - zarr raises many kinds; say what the store is
        raise EmbFormatError(f"{store}: not a Zarr group ({type(e).__name__}: {str(e)[:200]})") from None


def _zone_group(root: Any, zone: int | str | None):
    if "embeddings" in root and "scales" in root:
        return root, root.path.rsplit("/", 1)[-1] if root.path else None
    zones = sorted(name for name, _ in root.groups() if _ZONE.match(name))
    if not zones:
        raise EmbFormatError(
            f"{root.store}: neither a GeoTessera per-tile export (an 'embedding' array) nor a zone store "
            "('embeddings' and 'scales', or utmNN groups)"
        )
    if zone is None:
        if len(zones) > 1:
            raise EmbArgumentError(f"{root.store}: pick a zone with zone=...; the store has {', '.join(zones)}")
        name = zones[0]
    else:
        name = zone if isinstance(zone, str) else f"utm{int(zone):02d}"
        if name not in zones:
            raise EmbArgumentError(f"{root.store}: no zone {name} (the store has {', '.join(zones)})")
    return root[name], name


def _affine_from_centres(x: np.ndarray, y: np.ndarray) -> list[float]:
    dx = float(x[1] - x[0]) if len(x) > 1 else 10.0
    dy = float(y[1] - y[0]) if len(y) > 1 else -10.0
    return [float(x[0]) - dx / 2, dx, 0.0, float(y[0]) - dy / 2, 0.0, dy]


def _zone_crs(group: Any, name: str | None) -> dict[str, Any] | None:
    attrs = dict(group.attrs)
    for key in ("proj:wkt2", "crs_wkt"):
        if key in attrs:
            return _srs(attrs[key])
    for key in ("proj:code", "proj:epsg"):
        if key in attrs:
            code = attrs[key]
            return _srs(code if isinstance(code, str) else f"EPSG:{code}")
    match = _ZONE.match(name or "")
    return _srs(f"EPSG:{32600 + int(match.group(1))}") if match else None


def _time_index(group: Any, year: int | None) -> int:
    times = np.asarray(group["time"][:]) if "time" in group else np.arange(group["embeddings"].shape[0])
    if year is None:
        if len(times) != 1:
            raise EmbArgumentError(f"pick a year with year=...; the zone holds {', '.join(map(str, times))}")
        return 0
    hits = np.flatnonzero(times == year)
    if not len(hits):
        raise EmbArgumentError(f"no year {year} in the zone (it holds {', '.join(map(str, times))})")
    return int(hits[0])


def _window(shape: tuple[int, int], window: Any) -> tuple[int, int, int, int]:
    height, width = shape
    if window is None:
        return 0, 0, width, height
    col, row, w, h = (int(v) for v in window)
    if col < 0 or row < 0 or w <= 0 or h <= 0 or col + w > width or row + h > height:
        raise EmbArgumentError(f"window {window!r} lies outside the {width}x{height} zone")
    return col, row, w, h


def _zone_to_emb(group: Any, name: str | None, dst: str, year: int | None, window: Any, options: dict) -> dict:
    codes, scales = group["embeddings"], group["scales"]
    t = _time_index(group, year)
    col, row, w, h = _window(codes.shape[2:], window)
    x = np.asarray(group["x"][col : col + w]) if "x" in group else np.arange(col, col + w) + 0.5
    y = np.asarray(group["y"][row : row + h]) if "y" in group else np.arange(row, row + h) + 0.5
    bands = codes.shape[1]
    times = np.asarray(group["time"][:]) if "time" in group else None
    header = {
        "width": w,
        "height": h,
        "dtype": np.dtype(codes.dtype).name,
        "bands": [{"description": f"embedding dimension {i + 1}"} for i in range(bands)],
        "geotransform": _affine_from_centres(x, y),
        "srs": _zone_crs(group, name),
        "metadata": {"": [
            f"GEOTESSERA_ZONE={name or ''}",
            f"GEOTESSERA_YEAR={times[t] if times is not None else t}",
            f"GEOTESSERA_WINDOW={col},{row},{w},{h}",
        ]},
        "aux_planes": [{
            "name": "scales", "dtype": "float32", "bands": 1,
            "description": "GeoTessera per-pixel dequantisation scale (NaN: water, +inf: not yet filled)",
        }],
        "dequantization": {"recipe": "per_pixel_scale", "aux_plane": 0},
        "info": [("source_driver", "GeoTessera Zarr zone store")],
    }

    def read_rows(plane: int, y0: int, rows: int) -> bytes:
        if plane == 0:
            strip = np.asarray(codes[t, :, row + y0 : row + y0 + rows, col : col + w])
            return np.ascontiguousarray(np.moveaxis(strip, 0, -1)).tobytes()
        return np.ascontiguousarray(scales[t, row + y0 : row + y0 + rows, col : col + w], dtype="<f4").tobytes()

    return _geoembed.write_emb(dst, header, read_rows, kind="GeoTessera Zarr zone store", to_lon_lat=_to_lon_lat(), **options)


def _tile_to_emb(store: Any, dst: str, options: dict) -> dict:
    import xarray as xr

    ds = xr.open_zarr(store, consolidated=False, chunks=None)
    emb = ds["embedding"].transpose("y", "x", "band")
    crs = None
    if "spatial_ref" in ds.coords or "spatial_ref" in ds:
        attrs = ds["spatial_ref"].attrs
        crs = attrs.get("crs_wkt") or attrs.get("spatial_ref")
    gt_text = ds["spatial_ref"].attrs.get("GeoTransform") if "spatial_ref" in ds.variables else None
    geotransform = [float(v) for v in gt_text.split()] if gt_text else _affine_from_centres(ds["x"].values, ds["y"].values)
    height, width, bands = emb.shape
    header = {
        "width": width,
        "height": height,
        "dtype": np.dtype(emb.dtype).name,
        "bands": [{"description": f"band {int(b)}" if "band" in emb.coords else ""} for b in (emb["band"].values if "band" in emb.coords else range(bands))],
        "geotransform": geotransform,
        "srs": _srs(crs) if crs else None,
        "metadata": {"": [f"{k}={v}" for k, v in ds.attrs.items()]},
        "info": [("source_driver", "GeoTessera Zarr tile export")],
    }

    def read_rows(plane: int, y0: int, rows: int) -> bytes:
        return np.ascontiguousarray(emb[y0 : y0 + rows].values, dtype=emb.dtype.newbyteorder("<")).tobytes()

    return _geoembed.write_emb(dst, header, read_rows, kind="GeoTessera Zarr tile export", to_lon_lat=_to_lon_lat(), **options)


def to_emb(
    store: Any,
    dst: str | os.PathLike,
    *,
    group: str | None = None,
    zone: int | str | None = None,
    year: int | None = None,
    window: Any = None,
    **encode_opts: Any,
) -> dict[str, Any]:
    """Converts a GeoTessera Zarr store to ``.emb``.

    A per-tile export (an ``embedding`` array) converts whole. A zone store converts one
    zone (``zone=30`` or ``"utm30"``; optional when there is one), one ``year`` (optional
    when there is one) and a ``window`` ``(col_off, row_off, width, height)`` of the zone
    grid (default: the whole zone, which can be very large). ``encode_opts`` as for
    :func:`geoembed.write`. Returns the write report.
    """
    options = _encode_options(encode_opts)
    root = _open_group(store, group)
    if "embedding" in root:
        return _tile_to_emb(store if group is None else f"{store}/{group}", os.fspath(dst), options)
    zone_group, name = _zone_group(root, zone)
    return _zone_to_emb(zone_group, name, os.fspath(dst), year, window, options)


# -- writing a store ----------------------------------------------------------------------------
def _codec(serializer: Any, band_axis: int | None):
    from .zarr import GeoEmbedCodec

    return GeoEmbedCodec(band_axis=band_axis) if serializer is None else serializer


def _centres(gt: tuple[float, ...], width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    # As GeoTessera computes them: origin + step * (index + 0.5).
    return gt[0] + gt[1] * (np.arange(width) + 0.5), gt[3] + gt[5] * (np.arange(height) + 0.5)


def _from_emb_tile(ds: Any, store: Any, serializer: Any, chunk: int) -> None:
    import xarray as xr

    values = ds.dequantize(interleave="pixel") if ds.scales_info else ds.read(interleave="pixel")
    x, y = _centres(ds.transform, ds.width, ds.height)
    array = xr.DataArray(values, dims=("y", "x", "band"), coords={"x": x, "y": y, "band": np.arange(ds.count)}, name="embedding")
    out = array.to_dataset()
    if ds.crs:
        out = out.assign_coords(spatial_ref=xr.Variable((), np.int64(0), {
            "crs_wkt": ds.crs, "spatial_ref": ds.crs, "GeoTransform": " ".join(repr(float(v)) for v in ds.transform),
        }))
        out["embedding"].attrs["grid_mapping"] = "spatial_ref"
    encoding = {"embedding": {"serializer": _codec(serializer, -1), "compressors": None, "chunks": (chunk, chunk, ds.count)}}
    out.to_zarr(store, mode="w-", encoding=encoding, consolidated=False, zarr_format=3)


def _from_emb_zone(ds: Any, store: Any, serializer: Any, chunk: int) -> None:
    import zarr

    info = ds.scales_info
    if not info or info.get("recipe") != "per_pixel_scale":
        raise EmbArgumentError(f"{ds.name}: a zone store needs int8 codes with per-pixel scales; this file has none")
    epsg = ds.epsg or 0
    zone = epsg - 32600 if 32601 <= epsg <= 32660 else epsg - 32700 if 32701 <= epsg <= 32760 else None
    if zone is None:
        raise EmbArgumentError(f"{ds.name}: CRS EPSG:{epsg} is not a UTM zone")
    meta = ds.metadata.get("", {})
    year = int(meta.get("GEOTESSERA_YEAR", 0) or 0)
    root = zarr.open_group(store, mode="w-")
    group = root.create_group(f"utm{zone:02d}", attributes={"proj:code": f"EPSG:{epsg}"})
    codes = ds.read()[None]  # (time, band, y, x)
    group.create_array("embeddings", data=codes, chunks=(1, ds.count, chunk, chunk),
                       serializer=_codec(serializer, 1), compressors=None, dimension_names=("time", "band", "y", "x"))
    group.create_array("scales", data=ds.read_scales()[None], chunks=(1, chunk, chunk),
                       serializer=_codec(serializer, None), compressors=None, dimension_names=("time", "y", "x"))
    x, y = _centres(ds.transform, ds.width, ds.height)
    group.create_array("x", data=x, dimension_names=("x",))
    group.create_array("y", data=y, dimension_names=("y",))
    group.create_array("time", data=np.array([year], np.int32), dimension_names=("time",))
    group.create_array("band", data=np.arange(ds.count, dtype=np.int32), dimension_names=("band",))


def from_emb(src: Any, store: Any, *, layout: str = "tile", serializer: Any = None, chunk: int | None = None) -> None:
    """Writes a ``.emb`` as a GeoTessera Zarr layout: ``"tile"`` (a per-tile export: float32
    ``embedding`` (y, x, band), dequantised when the file has a recipe) or ``"zone"`` (a
    zone store holding this window: int8 ``embeddings`` (time, band, y, x) and float32
    ``scales``). Chunks are the file's tiles (or ``chunk`` pixels square), coded by
    :class:`geoembed.zarr.GeoEmbedCodec` unless ``serializer`` says otherwise. The store must
    not exist yet."""
    with open_emb(src) as ds:
        edge = chunk or ds.tile_size[0]
        if layout == "tile":
            _from_emb_tile(ds, store, serializer, edge)
        elif layout == "zone":
            _from_emb_zone(ds, store, serializer, edge)
        else:
            raise EmbArgumentError(f"layout '{layout}': choose 'tile' or 'zone'")
