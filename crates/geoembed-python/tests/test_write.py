"""Writing from Python: `write` (numpy), `from_rasterio`, `from_geotessera`; read back by the
CLI (`geoembed verify`), by Debian's GDAL through the plugin, and by geoembed itself."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS

import geoembed

from conftest import FIXTURES, RASTERS, cli, run_cli


def _gdal_reads(plugins, emb, tmp_path) -> np.ndarray:
    """Debian's gdal_translate reads the .emb through the plugin into a GeoTIFF."""
    out = tmp_path / (emb.stem + "_gdal.tif")
    env = {**os.environ, "GDAL_DRIVER_PATH": str(plugins)}
    done = subprocess.run(["gdal_translate", "-q", str(emb), str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with rasterio.open(out) as ds:
        return ds.read()


@pytest.mark.parametrize("name", RASTERS)
def test_from_rasterio_round_trips_and_keeps_the_header(name, tmp_path, converted):
    src, cli_emb = converted[name]
    dst = tmp_path / f"{name}.emb"
    report = geoembed.from_rasterio(src, dst, tile=RASTERS[name][1])
    assert report["bytes_out"] == dst.stat().st_size and sum(report["codecs"].values()) > 0
    with rasterio.open(src) as ref, geoembed.open(dst) as ours, geoembed.open(cli_emb) as theirs:
        np.testing.assert_array_equal(ours.read(), ref.read())
        assert ours.nodata == theirs.nodata
        assert ours.descriptions == theirs.descriptions
        assert ours.units == theirs.units
        assert ours.transform == theirs.transform
        assert (ours.crs is None) == (theirs.crs is None)
        if ours.crs:
            assert CRS.from_wkt(ours.crs) == CRS.from_wkt(theirs.crs)
            assert ours.epsg == theirs.epsg
        assert [b["scale"] for b in ours.header["bands"]] == [b["scale"] for b in theirs.header["bands"]]
        assert [b["color_interp"] for b in ours.header["bands"]] == [b["color_interp"] for b in theirs.header["bands"]]
        assert ours.metadata.get("", {}) == theirs.metadata.get("", {})
    run_cli("verify", dst)


def test_write_numpy_then_cli_verify_and_gdal_plugin_read_back(tmp_path, gdal_plugin_dir):
    data = np.load(FIXTURES / "tessera_proxy.npy").transpose(2, 0, 1)[:16].astype(np.int16) * 7
    dst = tmp_path / "written.emb"
    geoembed.write(
        dst, data, crs="EPSG:32631", transform=(503000.0, 10.0, 0.0, 4996000.0, 0.0, -10.0),
        nodata=-32768, descriptions=[f"dim {i}" for i in range(16)], metadata={"SOURCE": "test"}, tile=32,
    )
    run_cli("verify", dst)
    np.testing.assert_array_equal(_gdal_reads(gdal_plugin_dir, dst, tmp_path), data)
    info = json.loads(run_cli("info", dst, "--json").stdout)
    assert info["size"] == [data.shape[2], data.shape[1]]
    with geoembed.open(dst) as ds:
        assert ds.epsg == 32631 and ds.nodata == (-32768.0,) * 16 and ds.descriptions[3] == "dim 3"
        assert ds.metadata[""] == {"SOURCE": "test"}
    sidecar = json.loads((tmp_path / "written.emb.json").read_text())
    assert sidecar["type"] == "Feature" and sidecar["properties"]["proj:epsg"] == 32631
    west, south, east, north = sidecar["bbox"]
    assert 2.9 < west < east < 3.1 and 45.0 < south < north < 45.2


def test_pixel_interleaved_arrays_with_scales(tmp_path):
    codes = np.load(FIXTURES / "tessera_proxy.npy")
    scales = np.load(FIXTURES / "tessera_proxy_scales.npy")
    dst = tmp_path / "pixel.emb"
    geoembed.write(dst, codes, interleave="pixel", scales=scales)
    with geoembed.open(dst) as ds:
        np.testing.assert_array_equal(ds.read(interleave="pixel"), codes)
        np.testing.assert_array_equal(ds.read_scales(), scales)
        np.testing.assert_array_equal(ds.dequantize(interleave="pixel"), codes.astype(np.float32) * scales[..., None])


def test_from_geotessera_equals_the_cli(tmp_path, tessera):
    dst = tmp_path / "tile.emb"
    geoembed.from_geotessera(
        FIXTURES / "tessera_proxy.npy", FIXTURES / "tessera_proxy_scales.npy",
        FIXTURES / "tessera_proxy_landmask.tif", dst, tile=16,
    )
    with geoembed.open(dst) as ours, geoembed.open(tessera) as theirs:
        np.testing.assert_array_equal(ours.read(), theirs.read())
        np.testing.assert_array_equal(ours.read_scales(), theirs.read_scales())
        assert ours.transform == theirs.transform and ours.epsg == theirs.epsg == 32631
        assert ours.descriptions == theirs.descriptions
        assert ours.scales_info == theirs.scales_info
        assert ours.metadata == theirs.metadata
        assert ours.tile_codecs() == theirs.tile_codecs()


def test_outputs_are_atomic_and_errors_are_named(tmp_path):
    data = np.zeros((2, 20, 20), np.uint8)
    dst = tmp_path / "a.emb"
    geoembed.write(dst, data)
    with pytest.raises(geoembed.EmbIOError, match=r"a\.emb: already exists \(pass overwrite=True to replace it\)"):
        geoembed.write(dst, data)
    geoembed.write(dst, data + 1, overwrite=True)
    assert geoembed.open(dst).read().max() == 1
    cancelled = tmp_path / "cancelled.emb"
    with pytest.raises(geoembed.EmbError, match=r"cancelled\.emb: cancelled"):
        geoembed.write(cancelled, np.zeros((1, 600, 600), np.uint8), tile=64, progress=lambda done, total: done < 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.emb", "a.emb.json"]
    with pytest.raises(geoembed.EmbArgumentError, match="not complex128"):
        geoembed.write(tmp_path / "c.emb", np.zeros((4, 4), complex))
    with pytest.raises(ValueError, match="unknown codec 'zip'"):
        geoembed.write(tmp_path / "z.emb", data, codec="zip")
    with pytest.raises(ValueError, match=r"nodata: 3 values for 2 bands"):
        geoembed.write(tmp_path / "n.emb", data, nodata=[1, 2, 3])
    with pytest.raises(geoembed.EmbArgumentError, match=r"unknown option\(s\) compress"):
        geoembed.from_rasterio(FIXTURES / RASTERS["u8"][0], tmp_path / "r.emb", compress="zstd")
