"""`geoembed.open(...).read()` against rasterio (its PyPI wheel, GDAL inside) on real rasters:
whole rasters, windows, band subsets, both interleaves, georeferencing; and bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS
from rasterio.windows import Window

import geoembed

from conftest import RASTERS


@pytest.mark.parametrize("name", RASTERS)
def test_whole_raster_equals_rasterio(converted, name):
    src, emb = converted[name]
    with rasterio.open(src) as ref, geoembed.open(emb) as ds:
        expected = ref.read()
        got = ds.read()
        assert got.dtype == expected.dtype
        assert got.shape == expected.shape == ds.shape
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(ds.read(interleave="pixel"), expected.transpose(1, 2, 0))
        assert (ds.width, ds.height, ds.count) == (ref.width, ref.height, ref.count)
        assert ds.nodata == ref.nodatavals
        assert ds.descriptions == tuple(d or "" for d in ref.descriptions)


@pytest.mark.parametrize("name", RASTERS)
def test_georeferencing_equals_rasterio(converted, name):
    src, emb = converted[name]
    with rasterio.open(src) as ref, geoembed.open(emb) as ds:
        if ref.crs is None:
            assert ds.crs is None
        else:
            assert CRS.from_wkt(ds.crs) == ref.crs
            assert ds.epsg == ref.crs.to_epsg()
            assert ds.transform == ref.transform.to_gdal()
            assert ds.bounds == pytest.approx(tuple(ref.bounds))


@pytest.mark.parametrize("name", RASTERS)
def test_windows_and_band_subsets_equal_rasterio(converted, name):
    src, emb = converted[name]
    with rasterio.open(src) as ref, geoembed.open(emb) as ds:
        w, h = ds.width, ds.height
        windows = [(0, 0, 1, 1), (w - 1, h - 1, 1, 1), (w // 3, h // 4, w // 2, h // 2), (0, h // 2, w, h - h // 2)]
        picks = [[1], [ds.count, 1], list(range(1, ds.count + 1, max(1, ds.count // 5)))]
        for col, row, ww, hh in windows:
            rw = Window(col, row, ww, hh)
            for bands in picks:
                expected = ref.read(bands, window=rw)
                np.testing.assert_array_equal(ds.read(bands, window=(col, row, ww, hh)), expected)
                np.testing.assert_array_equal(ds.read(bands, window=rw, interleave="pixel"), expected.transpose(1, 2, 0))
            np.testing.assert_array_equal(ds.read(1, window=rw), ref.read(1, window=rw))


def test_scales_and_dequantize_match_the_geotessera_inputs(tessera):
    from conftest import FIXTURES

    codes = np.load(FIXTURES / "tessera_proxy.npy")
    scales = np.load(FIXTURES / "tessera_proxy_scales.npy")
    with geoembed.open(tessera) as ds:
        assert ds.scales_info["recipe"] == "per_pixel_scale"
        np.testing.assert_array_equal(ds.read(interleave="pixel"), codes)
        np.testing.assert_array_equal(ds.read_scales(), scales)
        np.testing.assert_array_equal(ds.read_scales(window=(3, 5, 7, 9)), scales[5:14, 3:10])
        physical = codes.astype(np.float32) * scales[..., None]
        np.testing.assert_array_equal(ds.dequantize(interleave="pixel"), physical)
        np.testing.assert_array_equal(ds.dequantize([2, 1], window=(1, 2, 3, 4)), physical[2:6, 1:4, [1, 0]].transpose(2, 0, 1))


def test_dequantize_equals_the_cli(tessera, tmp_path):
    from conftest import run_cli

    out = tmp_path / "phys.tif"
    run_cli("convert", tessera, out, "--dequantize", "-q")
    with rasterio.open(out) as ref, geoembed.open(tessera) as ds:
        np.testing.assert_array_equal(ds.dequantize(), ref.read())


def test_file_objects_and_threads(converted):
    from concurrent.futures import ThreadPoolExecutor

    _, emb = converted["i8_128b"]
    whole = geoembed.open(emb).read()
    ds = geoembed.open(io.BytesIO(emb.read_bytes()))
    np.testing.assert_array_equal(ds.read(), whole)
    windows = [(x, y, 10, 10) for x in range(0, 40, 10) for y in range(0, 50, 10)]
    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(lambda w: ds.read(window=w), windows))
    for (x, y, ww, hh), part in zip(windows, parts):
        np.testing.assert_array_equal(part, whole[:, y : y + hh, x : x + ww])


def test_bad_input_names_the_file_and_the_problem(converted, tmp_path):
    _, emb = converted["u8"]
    not_emb = tmp_path / "x.emb"
    not_emb.write_bytes(b"GIF89a" + bytes(100))
    with pytest.raises(geoembed.EmbFormatError, match=r"x\.emb: not a \.emb file \(bad magic number\)"):
        geoembed.open(not_emb)
    truncated = tmp_path / "truncated.emb"
    truncated.write_bytes(emb.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"truncated\.emb: .*(ends|beyond|truncat)"):
        geoembed.open(truncated).read()
    with pytest.raises(OSError, match="missing.emb"):
        geoembed.open(tmp_path / "missing.emb")
    ds = geoembed.open(emb)
    with pytest.raises(geoembed.EmbArgumentError, match=r"window 10x10 at column 250, row 0 lies outside the 256x200 raster"):
        ds.read(window=(250, 0, 10, 10))
    with pytest.raises(ValueError, match=r"band 4 does not exist \(bands are 1\.\.3\)"):
        ds.read([1, 4])
    with pytest.raises(ValueError, match=r"band 0 does not exist"):
        ds.read(0)
    with pytest.raises(geoembed.EmbArgumentError, match="interleave 'planar'"):
        ds.read(interleave="planar")


def test_reader_limits_are_set_by_key(converted):
    _, emb = converted["u8"]  # 256 x 200, 3 bands, 64-pixel tiles
    with pytest.raises(geoembed.EmbFormatError, match=r"width = 256 exceeds the limit max_width = 255"):
        geoembed.open(emb, limits={"max_width": 255})
    with pytest.raises(geoembed.EmbFormatError, match=r"= 12288 exceeds the limit max_tile_bytes = 12287"):
        geoembed.open(emb, limits={"max_tile_bytes": 12287})
    with pytest.raises(geoembed.EmbFormatError, match=r"max_tile_bytes = 1000"):
        geoembed.open(emb, max_tile_bytes=1000)
    with pytest.raises(geoembed.EmbArgumentError, match=r"unknown limit 'max_tiles'"):
        geoembed.open(emb, limits={"max_tiles": 3})
    assert geoembed.open(emb, limits={"max_tile_bytes": "12K", "max_blocks": 16}).shape == (3, 200, 256)


def test_a_corrupt_tile_is_a_checksum_error_naming_the_tile(converted, tmp_path):
    _, emb = converted["u8"]
    data = bytearray(emb.read_bytes())
    data[-10] ^= 0xFF  # inside the last tile's payload
    broken = tmp_path / "broken.emb"
    broken.write_bytes(bytes(data))
    ds = geoembed.open(broken)
    with pytest.raises(geoembed.EmbChecksumError, match=r"broken\.emb: tile \(\d+, \d+\): payload checksum mismatch"):
        ds.verify()
    np.testing.assert_array_equal(ds.read(window=(0, 0, 10, 10)), geoembed.open(emb).read(window=(0, 0, 10, 10)))


def test_jxl_tiles_without_libjxl_are_unsupported_not_corrupt(tmp_path):
    """The wheel has no libjxl: a file whose tiles use the jxl codec is valid, and says why it
    cannot be read."""
    from conftest import FIXTURES, run_cli

    if geoembed.HAS_JXL:
        pytest.skip("this build has JPEG XL support")
    emb = tmp_path / "jxl.emb"
    run_cli("convert", FIXTURES / "uint8_3b_landsat7_rgb_crop.tif", emb, "--codec", "jxl", "-q")
    with geoembed.open(emb) as ds:
        assert ds.tile_codecs() == ["jxl"]
        with pytest.raises(geoembed.EmbUnsupportedError, match=r"jxl\.emb: tile \(0, 0\) \(jxl\): the tile uses jxl, and this build has no JPEG XL support"):
            ds.read()
