"""GeoTessera's Zarr layouts (per-tile float32 export; int8 zone store with scales) to .emb
and back, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import rioxarray  # noqa: F401 - registers .rio
import xarray as xr
import zarr

import geoembed
from geoembed.zarr import from_emb, to_emb

from conftest import FIXTURES

CODES = np.load(FIXTURES / "tessera_proxy.npy")
SCALES = np.load(FIXTURES / "tessera_proxy_scales.npy")
GT = (503000.0, 10.0, 0.0, 4996000.0, 0.0, -10.0)


def _tile_export(path) -> xr.DataArray:
    """A per-tile export as GeoTessera writes it: dequantised float32 (y, x, band), pixel
    centres origin + step * (i + 0.5), CRS and transform written by rioxarray."""
    from affine import Affine

    values = CODES.astype(np.float32) * SCALES[..., None]
    h, w, c = values.shape
    x = GT[0] + GT[1] * (np.arange(w) + 0.5)
    y = GT[3] + GT[5] * (np.arange(h) + 0.5)
    da = xr.DataArray(values, dims=("y", "x", "band"), coords={"x": x, "y": y, "band": np.arange(c)}, name="embedding")
    da = da.rio.write_crs("EPSG:32631").rio.write_transform(Affine.from_gdal(*GT))
    da.to_dataset().to_zarr(path, mode="w", consolidated=False)
    return da


def test_per_tile_export_round_trip(tmp_path):
    store = tmp_path / "tile.zarr"
    original = _tile_export(store)
    emb = tmp_path / "tile.emb"
    to_emb(store, emb, tile=32)
    with geoembed.open(emb) as ds:
        assert ds.dtype == np.float32 and ds.epsg == 32631 and ds.transform == GT
        np.testing.assert_array_equal(ds.read(interleave="pixel"), original.values)
    back = tmp_path / "back.zarr"
    from_emb(emb, back, layout="tile")
    again = xr.open_zarr(back, consolidated=False)
    assert again["embedding"].dims == ("y", "x", "band")
    assert again["embedding"].values.tobytes() == original.values.tobytes()
    np.testing.assert_array_equal(again["x"].values, original["x"].values)
    np.testing.assert_array_equal(again["y"].values, original["y"].values)
    assert again.rio.crs.to_epsg() == 32631
    assert zarr.open_array(back / "embedding").metadata.codecs[0].to_dict()["name"] == "geoembed"


def _zone_store(path):
    root = zarr.open_group(path, mode="w")
    g = root.create_group("utm31")
    codes = np.stack([CODES.transpose(2, 0, 1), CODES[::-1].transpose(2, 0, 1)])
    scales = np.stack([SCALES, SCALES[::-1]]).astype(np.float32)
    scales[0, :3, :5] = np.nan
    codes[0, :, :3, :5] = 0
    scales[1, 20:, 40:] = np.inf
    g.create_array("embeddings", data=codes, chunks=(1, 128, 32, 32), dimension_names=("time", "band", "y", "x"))
    g.create_array("scales", data=scales, chunks=(1, 32, 32), dimension_names=("time", "y", "x"))
    g.create_array("time", data=np.array([2024, 2025], np.int32))
    g.create_array("band", data=np.arange(128, dtype=np.int32))
    g.create_array("x", data=GT[0] + GT[1] * (np.arange(CODES.shape[1]) + 0.5))
    g.create_array("y", data=GT[3] + GT[5] * (np.arange(CODES.shape[0]) + 0.5))
    return codes, scales


@pytest.mark.parametrize("year,t", [(2024, 0), (2025, 1)])
def test_zone_store_window_round_trip(tmp_path, year, t):
    store = tmp_path / "zones.zarr"
    codes, scales = _zone_store(store)
    emb = tmp_path / f"z{year}.emb"
    window = (2, 1, 40, 50)
    to_emb(store, emb, year=year, window=window, tile=16)
    col, row, w, h = window
    with geoembed.open(emb) as ds:
        assert ds.epsg == 32631
        np.testing.assert_array_equal(ds.read(), codes[t, :, row : row + h, col : col + w])
        assert ds.read_scales().tobytes() == scales[t, row : row + h, col : col + w].tobytes()
        assert ds.transform == (GT[0] + col * 10, 10.0, 0.0, GT[3] - row * 10, 0.0, -10.0)
        expected = codes[t, :, row : row + h, col : col + w].transpose(1, 2, 0).astype(np.float32)
        with np.errstate(invalid="ignore"):
            expected = expected * scales[t, row : row + h, col : col + w, None]
        assert ds.dequantize(interleave="pixel").tobytes() == expected.tobytes(), "GeoTessera's float32 values"
    back = tmp_path / f"back{year}.zarr"
    from_emb(emb, back, layout="zone")
    g = zarr.open_group(back)["utm31"]
    np.testing.assert_array_equal(g["embeddings"][0], codes[t, :, row : row + h, col : col + w])
    assert g["scales"][0].tobytes() == scales[t, row : row + h, col : col + w].tobytes()
    assert int(g["time"][0]) == year


def test_zone_store_errors_name_the_choice(tmp_path):
    store = tmp_path / "zones.zarr"
    _zone_store(store)
    with pytest.raises(geoembed.EmbArgumentError, match=r"pick a year with year=\.\.\.; the zone holds 2024, 2025"):
        to_emb(store, tmp_path / "x.emb")
    with pytest.raises(geoembed.EmbArgumentError, match="no zone utm30"):
        to_emb(store, tmp_path / "x.emb", zone=30, year=2024)
    with pytest.raises(geoembed.EmbArgumentError, match="outside the 50x60 zone"):
        to_emb(store, tmp_path / "x.emb", year=2024, window=(40, 0, 20, 10))
    with pytest.raises(geoembed.EmbFormatError, match="not a Zarr group"):
        to_emb(tmp_path / "missing.zarr", tmp_path / "x.emb")
