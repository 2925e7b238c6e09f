"""Opening and reading ``.emb`` files: :func:`open` and :class:`Dataset`.

The heavy lifting (range reads of only the tiles a window touches, parallel decoding with
the GIL released) happens in the Rust extension; this module turns its header dict into the
attributes rasterio users know and checks arguments the Pythonic way (1-based bands,
``(col_off, row_off, width, height)`` windows or rasterio ``Window`` objects).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np

from . import _geoembed
from ._errors import EmbArgumentError

WindowLike = Any  # (col_off, row_off, width, height), or an object with those attributes


def _is_url(src: str) -> bool:
    return "://" in src and not src.startswith("file://")


def _limit_items(limits: dict[str, int | str] | None) -> tuple[Any, ...]:
    """The extension's trailing ``limits`` argument: ``("key=value", ...)``, or nothing (an
    extension built before limits were settable by key keeps working without them)."""
    if not limits:
        return ()
    return ([f"{key}={value}" for key, value in limits.items()],)


def open(
    src: Any,
    *,
    max_tile_bytes: int | None = None,
    limits: dict[str, int | str] | None = None,
    **fsspec_options: Any,
) -> "Dataset":
    """Opens a ``.emb`` file.

    ``src`` is a local path, an fsspec URL (``https://``, ``s3://``, ``gs://``...: needs
    ``fsspec`` and the filesystem's package; ``fsspec_options`` go to ``fsspec.open``), or
    any object with ``read`` and ``seek``. Only the preamble, the tile index, the header and
    the tiles a read needs are fetched.

    A file whose header declares more than the reader's limits is refused with
    ``EmbFormatError`` before anything is allocated for it. ``max_tile_bytes`` sets the
    decoded-tile limit (default 128 MiB); ``limits`` sets any of them by key, as the CLI's
    ``--limit`` and the GDAL plugin's open options do: ``max_tile_bytes``,
    ``max_header_bytes`` (32 MiB), ``max_metadata_items`` (1048576), ``max_blocks``
    (4194304), ``max_bands`` (65536), ``max_aux_planes`` (16), ``max_width`` and
    ``max_height`` (16777216), with values such as ``512 * 2**20`` or ``"512M"``.
    """
    extra = _limit_items(limits)
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if _is_url(path):
            try:
                import fsspec
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise EmbArgumentError(f"{path}: reading URLs needs fsspec (pip install 'geoembed[fsspec]')") from e
            options = {"block_size": 256 * 1024, **fsspec_options}
            handle = fsspec.open(path, mode="rb", **options).open()
            return Dataset(_geoembed.EmbReader.open_file(handle, path, max_tile_bytes, *extra), handle)
        return Dataset(_geoembed.EmbReader.open_path(path, max_tile_bytes, *extra))
    if hasattr(src, "read") and hasattr(src, "seek"):
        name = getattr(src, "path", None) or getattr(src, "name", None) or repr(src)
        return Dataset(_geoembed.EmbReader.open_file(src, str(name), max_tile_bytes, *extra))
    raise EmbArgumentError(f"cannot open {src!r}: give a path, a URL or a file object with read() and seek()")


def _window(window: WindowLike, width: int, height: int) -> tuple[int, int, int, int]:
    if window is None:
        return (0, 0, width, height)
    if all(hasattr(window, a) for a in ("col_off", "row_off", "width", "height")):
        parts = (window.col_off, window.row_off, window.width, window.height)
    else:
        parts = tuple(window)
        if len(parts) != 4:
            raise EmbArgumentError(f"window {window!r}: expected (col_off, row_off, width, height)")
    ints = tuple(int(p) for p in parts)
    if any(p != int(p) for p in parts) or any(p < 0 for p in ints):
        raise EmbArgumentError(f"window {window!r}: offsets and sizes must be non-negative integers")
    return ints  # type: ignore[return-value]


def _split_item(item: str) -> tuple[str, str]:
    for i, c in enumerate(item):
        if c in "=:":
            return item[:i], item[i + 1 :]
    return "", item


class Dataset:
    """An open ``.emb`` file. Thread-safe: reads from several threads overlap their decoding.

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, reader: Any, handle: Any = None) -> None:
        self._reader = reader
        self._handle = handle
        self._header = reader.header()
        self.closed = False

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> "Dataset":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases the file (an fsspec handle opened for a URL is closed too)."""
        self.closed = True
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __repr__(self) -> str:
        return (
            f"<geoembed.Dataset {self.name!r} {self.count}x{self.height}x{self.width} {self.dtype}"
            f"{' closed' if self.closed else ''}>"
        )

    # -- description -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The path or URL."""
        return self._reader.name

    @property
    def header(self) -> dict[str, Any]:
        """The whole header as a dict (every field the file stores)."""
        return self._header

    @property
    def width(self) -> int:
        return self._header["width"]

    @property
    def height(self) -> int:
        return self._header["height"]

    @property
    def count(self) -> int:
        """Number of bands."""
        return len(self._header["bands"])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._header["dtype"])

    @property
    def shape(self) -> tuple[int, int, int]:
        """(bands, rows, cols), as rasterio's ``read()`` returns."""
        return (self.count, self.height, self.width)

    @property
    def tile_size(self) -> tuple[int, int]:
        """(tile width, tile height) in pixels: reads aligned to it decode each tile once."""
        return (self._header["tile_width"], self._header["tile_height"])

    @property
    def crs(self) -> str | None:
        """The coordinate reference system as WKT2, or None."""
        srs = self._header["srs"]
        return srs["wkt"] if srs else None

    @property
    def epsg(self) -> int | None:
        srs = self._header["srs"]
        return srs["epsg"] if srs else None

    @property
    def transform(self) -> tuple[float, ...] | None:
        """The GDAL geotransform (x0, dx, rx, y0, ry, dy), or None."""
        gt = self._header["geotransform"]
        return tuple(gt) if gt else None

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """(left, bottom, right, top) in CRS units: the envelope of the raster's corners."""
        gt = self.transform
        if gt is None:
            return None
        corners = [(c, r) for c in (0, self.width) for r in (0, self.height)]
        xs = [gt[0] + c * gt[1] + r * gt[2] for c, r in corners]
        ys = [gt[3] + c * gt[4] + r * gt[5] for c, r in corners]
        return (min(xs), min(ys), max(xs), max(ys))

    @property
    def gcps(self) -> list[dict[str, Any]]:
        return self._header["gcps"]

    @property
    def nodata(self) -> tuple[float | None, ...]:
        """Per band, the nodata value or None."""
        return tuple(b["nodata"] for b in self._header["bands"])

    @property
    def descriptions(self) -> tuple[str, ...]:
        return tuple(b["description"] for b in self._header["bands"])

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(b["unit"] for b in self._header["bands"])

    @property
    def scales_info(self) -> dict[str, Any] | None:
        """The dequantisation recipe (``recipe`` = ``per_pixel_scale`` with its
        ``scale_plane``, or ``power_law`` with ``divisor`` and ``exponent``), or None."""
        return self._header["dequantization"]

    @property
    def aux_planes(self) -> list[dict[str, Any]]:
        """Per-pixel planes stored beside the bands (e.g. GeoTessera's ``scales``)."""
        return self._header["aux_planes"]

    @property
    def metadata(self) -> dict[str, Any]:
        """GDAL metadata domains: ``{domain: {key: value}}`` (``""`` is the default domain;
        ``xml:`` domains map to their documents)."""
        out: dict[str, Any] = {}
        for domain, items in self._header["metadata"].items():
            if domain.startswith("xml:"):
                out[domain] = items[0] if len(items) == 1 else list(items)
            else:
                out[domain] = dict(_split_item(i) for i in items)
        return out

    def tile_codecs(self) -> list[str]:
        """The codec of every tile of the bands, row by row."""
        return self._reader.tile_codecs(0)

    # -- reading ---------------------------------------------------------------------------
    def _bands(self, bands: int | Sequence[int] | None, count: int) -> tuple[list[int], bool]:
        if bands is None:
            return list(range(count)), False
        single = isinstance(bands, (int, np.integer))
        listed: Iterable[int] = [bands] if single else bands  # type: ignore[list-item]
        out = []
        for b in listed:
            if not isinstance(b, (int, np.integer)) or not 1 <= b <= count:
                raise EmbArgumentError(f"{self.name}: band {b!r} does not exist (bands are 1..{count})")
            out.append(int(b) - 1)
        if not out:
            raise EmbArgumentError(f"{self.name}: no bands requested")
        return out, single

    def _check_open(self) -> None:
        if self.closed:
            raise EmbArgumentError(f"{self.name}: the dataset is closed")

    def read(
        self,
        bands: int | Sequence[int] | None = None,
        window: WindowLike = None,
        interleave: str = "band",
    ) -> np.ndarray:
        """Reads samples. ``bands`` are 1-based (an int gives a 2-D array, as in rasterio);
        ``window`` is ``(col_off, row_off, width, height)`` or a rasterio ``Window``.
        Returns (bands, rows, cols), or (rows, cols, bands) with ``interleave="pixel"``
        (GeoTessera's ``.npy`` layout)."""
        self._check_open()
        band_list, single = self._bands(bands, self.count)
        win = _window(window, self.width, self.height)
        data = self._reader.read(0, win, band_list, interleave)
        if single:
            return data[0] if interleave == "band" else data[..., 0]
        return data

    def _aux_plane(self, name: str) -> tuple[int, dict[str, Any]]:
        for i, p in enumerate(self.aux_planes):
            if p["name"] == name:
                return i + 1, p
        names = ", ".join(p["name"] for p in self.aux_planes) or "none"
        raise EmbArgumentError(f"{self.name}: no aux plane '{name}' (the file has: {names})")

    def read_plane(self, name: str, window: WindowLike = None) -> np.ndarray:
        """Reads an aux plane by name: (rows, cols) for one band, else (rows, cols, bands)."""
        self._check_open()
        plane, info = self._aux_plane(name)
        win = _window(window, self.width, self.height)
        data = self._reader.read(plane, win, list(range(info["bands"])), "pixel")
        return data[..., 0] if info["bands"] == 1 else data

    def read_scales(self, window: WindowLike = None) -> np.ndarray:
        """The dequantisation scales (GeoTessera's ``_scales.npy`` layout: (rows, cols), or
        (rows, cols, bands) for per-band scales)."""
        info = self.scales_info
        if not info or info.get("recipe") != "per_pixel_scale":
            raise EmbArgumentError(f"{self.name}: the file has no per-pixel scales")
        return self.read_plane(info["scale_plane"], window)

    def dequantize(
        self,
        bands: int | Sequence[int] | None = None,
        window: WindowLike = None,
        interleave: str = "band",
    ) -> np.ndarray:
        """Physical float32 values by the file's recipe (``q * scale`` for GeoTessera,
        the power law for AlphaEarth; nodata becomes NaN there), bit-identical to
        ``geoembed convert --dequantize``."""
        self._check_open()
        if not self.scales_info:
            raise EmbArgumentError(
                f"{self.name}: the file has no dequantisation recipe (its samples are already values)"
            )
        band_list, single = self._bands(bands, self.count)
        if interleave not in ("band", "pixel"):
            raise EmbArgumentError(f"interleave '{interleave}': choose 'band' or 'pixel'")
        win = _window(window, self.width, self.height)
        values = self._reader.dequantize(win)[..., band_list]
        if interleave == "band":
            values = np.ascontiguousarray(values.transpose(2, 0, 1))
        if single:
            return values[0] if interleave == "band" else values[..., 0]
        return values

    def verify(self) -> int:
        """Decodes every tile of every plane and checks every checksum; returns the number of
        tiles. Raises :class:`EmbChecksumError` or :class:`EmbFormatError` naming the tile."""
        self._check_open()
        return self._reader.verify()
