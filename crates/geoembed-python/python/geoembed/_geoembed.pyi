"""Type stubs of the Rust extension `geoembed._geoembed` (the public API is in `geoembed`)."""

from typing import Any, Callable, Optional

import numpy as np

__version__: str
HAS_JXL: bool

Window = tuple[int, int, int, int]

class EmbReader:
    @staticmethod
    def open_path(
        path: str, max_tile_bytes: Optional[int] = None, limits: Optional[list[str]] = None
    ) -> "EmbReader": ...
    @staticmethod
    def open_file(
        file: Any, name: str, max_tile_bytes: Optional[int] = None, limits: Optional[list[str]] = None
    ) -> "EmbReader": ...
    @property
    def name(self) -> str: ...
    @property
    def file_len(self) -> int: ...
    def header(self) -> dict[str, Any]: ...
    def tile_codecs(self, plane: int) -> list[str]: ...
    def read(self, plane: int, window: Window, bands: list[int], interleave: str) -> np.ndarray: ...
    def dequantize(self, window: Window) -> np.ndarray: ...
    def verify(self) -> int: ...

def encode_chunk(
    samples: np.ndarray, dtype: str, shape: tuple[int, int, int], codec: str = "auto", effort: str = "default"
) -> bytes: ...
def decode_chunk(data: bytes) -> tuple[np.ndarray, str]: ...
def write_emb(
    path: str,
    header: dict[str, Any],
    read_rows: Callable[[int, int, int], bytes],
    codec: str = "auto",
    effort: str = "default",
    tile: Optional[int] = None,
    overwrite: bool = False,
    progress: Optional[Callable[[int, int], Optional[bool]]] = None,
    to_lon_lat: Optional[Callable[[str, list[float], list[float]], Any]] = None,
    kind: str = "numpy",
    max_error: Optional[str] = None,
    rel_rmse: Optional[str] = None,
    quality: Optional[str] = None,
) -> dict[str, Any]: ...
def check_encode_options(
    codec: str = "auto",
    effort: str = "default",
    tile: Optional[int] = None,
    max_error: Optional[str] = None,
    rel_rmse: Optional[str] = None,
    quality: Optional[str] = None,
) -> None: ...
def write_geotessera(
    npy: str,
    scales: str,
    georef: Optional[dict[str, Any]],
    path: str,
    codec: str = "auto",
    effort: str = "default",
    tile: Optional[int] = None,
    overwrite: bool = False,
    progress: Optional[Callable[[int, int], Optional[bool]]] = None,
    to_lon_lat: Optional[Callable[[str, list[float], list[float]], Any]] = None,
    max_error: Optional[str] = None,
    rel_rmse: Optional[str] = None,
    quality: Optional[str] = None,
) -> dict[str, Any]: ...
