"""The Zarr codecs: v3 stores (plain and sharded, (y, x, band) and (band, y, x) chunks)
reopened in a fresh process bit-exact; v2 stores with the numcodecs compressor; damage."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import zarr

import geoembed
from geoembed.zarr import GeoEmbedCodec, GeoEmbedNumcodec, decode_bytes, encode_array

from conftest import FIXTURES


@pytest.fixture(scope="module")
def tile() -> np.ndarray:
    return np.load(FIXTURES / "tessera_proxy.npy")


def _reopen_in_subprocess(store, expected_path) -> None:
    code = (
        "import sys, numpy as np, zarr; "
        "a = zarr.open_array(sys.argv[1])[:]; "
        "sys.exit(0 if np.array_equal(a, np.load(sys.argv[2])) else 3)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(store), str(expected_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_v3_store_reopens_in_a_fresh_process(tile, tmp_path):
    store = tmp_path / "tile.zarr"
    z = zarr.create_array(store, shape=tile.shape, chunks=(32, 32, 128), dtype="int8", serializer=GeoEmbedCodec(), compressors=None)
    z[:] = tile
    meta = json.loads((store / "zarr.json").read_text())
    assert meta["codecs"] == [{"name": "geoembed", "configuration": {"codec": "auto", "effort": "default", "band_axis": -1}}]
    expected = tmp_path / "expected.npy"
    np.save(expected, tile)
    _reopen_in_subprocess(store, expected)
    np.testing.assert_array_equal(zarr.open_array(store)[7:40, 3:29, 5:9], tile[7:40, 3:29, 5:9])


def test_sharded_and_band_first_stores(tile, tmp_path):
    sharded = zarr.create_array(
        tmp_path / "sharded.zarr", shape=tile.shape, shards=(64, 64, 128), chunks=(16, 16, 128),
        dtype="int8", serializer=GeoEmbedCodec(effort="fast"), compressors=None,
    )
    sharded[:] = tile
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "sharded.zarr")[:], tile)
    planar = np.ascontiguousarray(tile.transpose(2, 0, 1))
    band_first = zarr.create_array(
        tmp_path / "planar.zarr", shape=planar.shape, chunks=(128, 32, 32), dtype="int8",
        serializer=GeoEmbedCodec(band_axis=0), compressors=None,
    )
    band_first[:] = planar
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "planar.zarr")[:], planar)


@pytest.mark.parametrize("fixture", ["float64_12b_era5_t2m_uk_20190301_first12h.npy"])
def test_float_arrays(fixture, tmp_path):
    data = np.load(FIXTURES / fixture)
    z = zarr.create_array(tmp_path / "f.zarr", shape=data.shape, chunks=(16, 16, data.shape[2]), dtype=data.dtype, serializer=GeoEmbedCodec(), compressors=None)
    z[:] = data
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "f.zarr")[:], data)


def test_v2_store_with_the_numcodecs_compressor(tile, tmp_path):
    z = zarr.create_array(tmp_path / "v2.zarr", shape=tile.shape, chunks=(32, 32, 128), dtype="int8", zarr_format=2, compressors=GeoEmbedNumcodec())
    z[:] = tile
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "v2.zarr")[:], tile)
    meta = json.loads((tmp_path / "v2.zarr" / ".zarray").read_text())
    assert meta["compressor"]["id"] == "geoembed"


def test_damaged_chunks_and_bad_options(tile):
    data = bytearray(encode_array(tile[:16, :16]))
    np.testing.assert_array_equal(decode_bytes(bytes(data)), tile[:16, :16])
    data[-1] ^= 1
    with pytest.raises(geoembed.EmbError, match="geoembed chunk"):
        decode_bytes(bytes(data))
    with pytest.raises(geoembed.EmbFormatError, match="not a geoembed chunk"):
        decode_bytes(b"\x28\xb5\x2f\xfd" + bytes(40))
    with pytest.raises(ValueError, match="unknown codec 'zip'"):
        GeoEmbedCodec(codec="zip")
    with pytest.raises(ValueError, match="band_axis='y'"):
        GeoEmbedCodec(band_axis="y")
    with pytest.raises(ValueError, match=r"axes \[0\] must have chunk length 1"):
        encode_array(np.zeros((2, 3, 4, 5), np.int8), band_axis=1)


def test_geotessera_zone_layout_time_band_y_x(tile, tmp_path):
    """GeoTessera's zone stores: int8 (time, band, y, x) in (1, 128, 32, 32) chunks and float32
    scales (time, y, x) with NaN (water) and +inf (not yet filled) sentinels."""
    codes = np.stack([tile.transpose(2, 0, 1), tile[::-1].transpose(2, 0, 1)])
    scales = np.random.default_rng(5).random((2, *tile.shape[:2]), dtype=np.float32)
    scales[0, :4, :4] = np.nan
    scales[1, 10:20] = np.inf
    z = zarr.create_array(tmp_path / "e.zarr", shape=codes.shape, chunks=(1, 128, 32, 32), dtype="int8",
                          serializer=GeoEmbedCodec(band_axis=1), compressors=None)
    z[:] = codes
    s = zarr.create_array(tmp_path / "s.zarr", shape=scales.shape, chunks=(1, 32, 32), dtype="float32",
                          serializer=GeoEmbedCodec(band_axis=None), compressors=None)
    s[:] = scales
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "e.zarr")[:], codes)
    back = zarr.open_array(tmp_path / "s.zarr")[:]
    assert back.tobytes() == scales.tobytes(), "NaN and inf kept bit for bit"
