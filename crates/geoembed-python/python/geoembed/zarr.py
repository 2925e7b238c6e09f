"""Zarr codecs: each chunk is one geoembed tile (native, float, png128... as ``auto`` picks).

* :class:`GeoEmbedCodec`, a Zarr v3 array→bytes codec for zarr-python ≥ 3, registered under
  the name ``geoembed`` (entry point ``zarr.codecs``), so a store reopens in a fresh process::

      zarr.create_array(store, shape=(H, W, C), chunks=(256, 256, C), dtype="int8",
                        serializer=GeoEmbedCodec())

* :class:`GeoEmbedNumcodec`, the same as a numcodecs compressor (entry point
  ``numcodecs.codecs``, id ``geoembed``) for Zarr v2 stores.

Chunks are (y, x, band) by default, GeoTessera's layout and the tile layout itself; pass
``band_axis=0`` for (band, y, x) chunks. Two-dimensional chunks are one band. The chunk
bytes carry their shape, sample type, codec and a CRC-32 of the samples (docs/format.md,
"Zarr chunks"), so a damaged chunk raises :class:`geoembed.EmbChecksumError`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _geoembed
from ._errors import EmbArgumentError, EmbFormatError

if TYPE_CHECKING:  # pragma: no cover
    from zarr.core.array_spec import ArraySpec
    from zarr.core.buffer import Buffer, NDBuffer

CODEC_NAME = "geoembed"
_DTYPES = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"}


def _check_options(codec: str, effort: str, band_axis: int | None) -> None:
    if band_axis is not None and not isinstance(band_axis, int):
        raise EmbArgumentError(f"band_axis={band_axis!r}: give an axis index or None")
    # The extension parses codec and effort; encode nothing to check them early.
    _geoembed.encode_chunk(np.zeros(1, np.uint8), "uint8", (1, 1, 1), codec, effort)


def _axes(ndim: int, band_axis: int | None) -> tuple[int, int, int | None]:
    """(y axis, x axis, band axis or None) of a chunk: the band is ``band_axis``; y and x are
    the two axes before it when it is the last, else the last two. Any other axis must have
    chunk length 1 (a time step, say)."""
    if ndim < 2:
        raise EmbArgumentError(f"geoembed chunks have at least 2 dimensions, not {ndim}")
    if band_axis is None or ndim == 2:
        return ndim - 2, ndim - 1, None
    if not -ndim <= band_axis < ndim:
        raise EmbArgumentError(f"band_axis={band_axis} does not exist in a {ndim}-D array")
    band = band_axis % ndim
    y, x = (ndim - 3, ndim - 2) if band == ndim - 1 else (ndim - 2, ndim - 1)
    return y, x, band


def _to_tile(array: np.ndarray, band_axis: int | None) -> np.ndarray:
    """A chunk as the (rows, cols, bands) tile geoembed codes."""
    y, x, band = _axes(array.ndim, band_axis)
    used = [y, x] + ([band] if band is not None else [])
    extra = [a for a in range(array.ndim) if a not in used]
    if any(array.shape[a] != 1 for a in extra):
        raise EmbArgumentError(
            f"chunk of shape {array.shape}: axes {extra} must have chunk length 1 (y, x and band are axes {used})"
        )
    tile = np.moveaxis(array, used, list(range(array.ndim - len(used), array.ndim)))
    return tile.reshape(array.shape[y], array.shape[x], array.shape[band] if band is not None else 1)


def _from_tile(tile: np.ndarray, shape: tuple[int, ...], band_axis: int | None) -> np.ndarray:
    """The inverse of :func:`_to_tile` for a chunk of ``shape``."""
    y, x, band = _axes(len(shape), band_axis)
    used = [y, x] + ([band] if band is not None else [])
    extra = [a for a in range(len(shape)) if a not in used]
    moved_shape = [shape[a] for a in extra] + [shape[a] for a in used]
    moved = tile.reshape(moved_shape)
    return np.ascontiguousarray(np.moveaxis(moved, list(range(len(extra), len(shape))), used))


def encode_array(array: np.ndarray, codec: str = "auto", effort: str = "default", band_axis: int | None = -1) -> bytes:
    """One chunk → geoembed chunk bytes. ``band_axis`` names the band axis (None: one band);
    y and x are the two axes before a last band axis, else the last two."""
    array = np.asarray(array)
    if array.dtype.name not in _DTYPES:
        raise EmbArgumentError(f"geoembed chunks hold {', '.join(sorted(_DTYPES))}, not {array.dtype}")
    tile = np.ascontiguousarray(_to_tile(array, band_axis), dtype=array.dtype.newbyteorder("<"))
    raw = tile.reshape(-1).view(np.uint8)
    return _geoembed.encode_chunk(raw, array.dtype.name, tile.shape, codec, effort)


def decode_bytes(data: Any, shape: tuple[int, ...] | None = None, band_axis: int | None = -1) -> np.ndarray:
    """Geoembed chunk bytes → the chunk array of ``shape`` (default: the (rows, cols, bands)
    tile), C-contiguous, native byte order."""
    tile, _ = _geoembed.decode_chunk(bytes(data))
    if shape is None:
        return tile
    if tile.size != int(np.prod(shape)):
        raise EmbFormatError(f"geoembed chunk holds {tile.shape}, the array's chunks are {tuple(shape)}")
    return _from_tile(tile, tuple(shape), band_axis)


try:
    from zarr.abc.codec import ArrayBytesCodec
    from zarr.core.common import parse_named_configuration
except ImportError:  # pragma: no cover - zarr is optional
    ArrayBytesCodec = object  # type: ignore[misc,assignment]


@dataclass(frozen=True)
class GeoEmbedCodec(ArrayBytesCodec):  # type: ignore[misc,valid-type]
    """Zarr v3 array→bytes codec storing each chunk as a geoembed tile.

    ``codec``: ``auto`` (smallest per chunk) or a codec name; ``effort``: ``fast``,
    ``default`` or ``max``; ``band_axis``: the band's axis (-1 for (y, x, band) chunks, 0
    for (band, y, x), 1 for GeoTessera's (time, band, y, x)), or None for single-band
    arrays; y and x are the two axes before a last band axis, else the last two, and any
    other axis must have chunk length 1.
    """

    is_fixed_size = False
    codec: str = "auto"
    effort: str = "default"
    band_axis: int | None = -1

    def __post_init__(self) -> None:
        _check_options(self.codec, self.effort, self.band_axis)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GeoEmbedCodec":
        _, config = parse_named_configuration(data, CODEC_NAME, require_configuration=False)
        return cls(**(config or {}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": CODEC_NAME,
            "configuration": {"codec": self.codec, "effort": self.effort, "band_axis": self.band_axis},
        }

    def validate(self, *, shape: tuple[int, ...], dtype: Any, chunk_grid: Any) -> None:
        name = np.dtype(dtype.to_native_dtype()).name
        if name not in _DTYPES:
            raise EmbArgumentError(f"the geoembed codec stores {', '.join(sorted(_DTYPES))}, not {name}")
        _axes(len(shape), self.band_axis)

    def _decode_sync(self, chunk_bytes: "Buffer", chunk_spec: "ArraySpec") -> "NDBuffer":
        array = decode_bytes(chunk_bytes.to_bytes(), tuple(chunk_spec.shape), self.band_axis)
        return chunk_spec.prototype.nd_buffer.from_numpy_array(array)

    def _encode_sync(self, chunk_array: "NDBuffer", chunk_spec: "ArraySpec") -> "Buffer | None":
        data = encode_array(chunk_array.as_numpy_array(), self.codec, self.effort, self.band_axis)
        return chunk_spec.prototype.buffer.from_bytes(data)

    async def _decode_single(self, chunk_bytes: "Buffer", chunk_spec: "ArraySpec") -> "NDBuffer":
        # The Rust decoder releases the GIL: chunks decode in parallel on zarr's threads.
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)

    async def _encode_single(self, chunk_array: "NDBuffer", chunk_spec: "ArraySpec") -> "Buffer | None":
        return await asyncio.to_thread(self._encode_sync, chunk_array, chunk_spec)

    def compute_encoded_size(self, input_byte_length: int, chunk_spec: "ArraySpec") -> int:
        raise NotImplementedError("geoembed chunks have data-dependent sizes")


try:
    from numcodecs.abc import Codec as _NumcodecsCodec
except ImportError:  # pragma: no cover - numcodecs is optional
    _NumcodecsCodec = object  # type: ignore[misc,assignment]


class GeoEmbedNumcodec(_NumcodecsCodec):  # type: ignore[misc,valid-type]
    """The geoembed codec as a numcodecs compressor (Zarr v2 stores): ``compressor=
    GeoEmbedNumcodec()``. Chunks carry their shape, so decoding needs no metadata."""

    codec_id = CODEC_NAME

    def __init__(self, codec: str = "auto", effort: str = "default", band_axis: int | None = -1) -> None:
        _check_options(codec, effort, band_axis)
        self.codec = codec
        self.effort = effort
        self.band_axis = band_axis

    def encode(self, buf: Any) -> bytes:
        return encode_array(np.asarray(buf), self.codec, self.effort, self.band_axis)

    def decode(self, buf: Any, out: Any = None) -> np.ndarray:
        # A v2 compressor is not told the chunk's shape: return the samples in the chunk's
        # C order (zarr reshapes them), which for a band-first chunk means transposed back.
        tile, _ = _geoembed.decode_chunk(bytes(buf))
        if self.band_axis is not None and self.band_axis != -1 and tile.shape[2] > 1:
            array = np.ascontiguousarray(np.moveaxis(tile, -1, 0))
        else:
            array = tile
        if out is not None:
            target = np.asarray(out)
            target.reshape(-1).view(array.dtype)[:] = array.reshape(-1)
            return out
        return array

    def get_config(self) -> dict[str, Any]:
        return {"id": self.codec_id, "codec": self.codec, "effort": self.effort, "band_axis": self.band_axis}

    def __repr__(self) -> str:
        return f"GeoEmbedNumcodec(codec={self.codec!r}, effort={self.effort!r}, band_axis={self.band_axis})"


__all__ = ["GeoEmbedCodec", "GeoEmbedNumcodec", "encode_array", "decode_bytes", "CODEC_NAME"]

from ._geotessera_zarr import from_emb, to_emb  # noqa: E402 - after the codecs they use

__all__ += ["to_emb", "from_emb"]
