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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _geoembed
from ._errors import EmbArgumentError, EmbFormatError

if TYPE_CHECKING:  # pragma: no cover
    from zarr.core.array_spec import ArraySpec
    from zarr.core.buffer import Buffer, NDBuffer

CODEC_NAME = "geoembed"
_DTYPES = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"}


def _check_options(codec: str, effort: str, band_axis: int) -> None:
    if band_axis not in (0, -1, 2):
        raise EmbArgumentError(f"band_axis={band_axis}: choose 0 (band, y, x) or -1 (y, x, band)")
    # The extension parses codec and effort; encode nothing to check them early.
    _geoembed.encode_chunk(np.zeros(1, np.uint8), "uint8", (1, 1, 1), codec, effort)


def encode_array(array: np.ndarray, codec: str = "auto", effort: str = "default", band_axis: int = -1) -> bytes:
    """One chunk (2-D, or 3-D with the band on ``band_axis``) → geoembed chunk bytes."""
    array = np.asarray(array)
    if array.dtype.name not in _DTYPES:
        raise EmbArgumentError(f"geoembed chunks hold {', '.join(sorted(_DTYPES))}, not {array.dtype}")
    if array.ndim == 2:
        tile = array[:, :, None]
    elif array.ndim == 3:
        tile = np.moveaxis(array, 0, -1) if band_axis == 0 else array
    else:
        raise EmbArgumentError(f"geoembed chunks are 2-D or 3-D, not {array.ndim}-D {array.shape}")
    tile = np.ascontiguousarray(tile, dtype=tile.dtype.newbyteorder("<"))
    raw = tile.reshape(-1).view(np.uint8)
    return _geoembed.encode_chunk(raw, array.dtype.name, tile.shape, codec, effort)


def decode_bytes(data: Any, band_axis: int = -1, ndim: int = 3) -> np.ndarray:
    """Geoembed chunk bytes → the chunk array (C-contiguous, native byte order)."""
    tile, _ = _geoembed.decode_chunk(bytes(data))
    if ndim == 2:
        return tile[:, :, 0]
    if band_axis == 0:
        return np.ascontiguousarray(np.moveaxis(tile, -1, 0))
    return tile


@dataclass(frozen=True)
class _Options:
    codec: str = "auto"
    effort: str = "default"
    band_axis: int = -1


try:
    from zarr.abc.codec import ArrayBytesCodec
    from zarr.core.common import parse_named_configuration
except ImportError:  # pragma: no cover - zarr is optional
    ArrayBytesCodec = object  # type: ignore[misc,assignment]


@dataclass(frozen=True)
class GeoEmbedCodec(ArrayBytesCodec):  # type: ignore[misc,valid-type]
    """Zarr v3 array→bytes codec storing each chunk as a geoembed tile.

    ``codec``: ``auto`` (smallest per chunk) or a codec name; ``effort``: ``fast``,
    ``default`` or ``max``; ``band_axis``: -1 for (y, x, band) chunks, 0 for (band, y, x).
    """

    is_fixed_size = False
    codec: str = "auto"
    effort: str = "default"
    band_axis: int = -1

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

    def evolve_from_array_spec(self, array_spec: "ArraySpec") -> "GeoEmbedCodec":
        return self if array_spec.ndim != 3 or self.band_axis != 2 else replace(self, band_axis=-1)

    def validate(self, *, shape: tuple[int, ...], dtype: Any, chunk_grid: Any) -> None:
        name = np.dtype(dtype.to_native_dtype()).name
        if name not in _DTYPES:
            raise EmbArgumentError(f"the geoembed codec stores {', '.join(sorted(_DTYPES))}, not {name}")
        if len(shape) not in (2, 3):
            raise EmbArgumentError(f"the geoembed codec stores 2-D or 3-D arrays, not {len(shape)}-D")

    def _decode_sync(self, chunk_bytes: "Buffer", chunk_spec: "ArraySpec") -> "NDBuffer":
        array = decode_bytes(chunk_bytes.to_bytes(), self.band_axis, len(chunk_spec.shape))
        if array.shape != tuple(chunk_spec.shape):
            raise EmbFormatError(f"geoembed chunk holds {array.shape}, the array's chunks are {tuple(chunk_spec.shape)}")
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

    def __init__(self, codec: str = "auto", effort: str = "default", band_axis: int = -1) -> None:
        _check_options(codec, effort, band_axis)
        self.codec = codec
        self.effort = effort
        self.band_axis = band_axis

    def encode(self, buf: Any) -> bytes:
        array = np.asarray(buf)
        if array.ndim not in (2, 3):
            raise EmbArgumentError(
                f"the geoembed compressor needs the chunk as a 2-D or 3-D array, got shape {array.shape}"
            )
        return encode_array(array, self.codec, self.effort, self.band_axis)

    def decode(self, buf: Any, out: Any = None) -> np.ndarray:
        tile, _ = _geoembed.decode_chunk(bytes(buf))
        array = tile[:, :, 0] if tile.shape[2] == 1 else tile
        if array.ndim == 3 and self.band_axis == 0:
            array = np.ascontiguousarray(np.moveaxis(array, -1, 0))
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
