"""The xarray backend against rioxarray's reading of the source GeoTIFFs: values,
coordinates, CRS and transform; lazy tile-aligned Dask chunks; mosaics of tiles."""

from __future__ import annotations

import numpy as np
import pytest
import rioxarray
import xarray as xr

import geoembed

from conftest import FIXTURES, run_cli


@pytest.mark.parametrize("name", ["u8", "i16", "i8_128b", "f32"])
def test_values_and_coordinates_equal_rioxarray(converted, name):
    src, emb = converted[name]
    ref = rioxarray.open_rasterio(src)
    ds = xr.open_dataset(emb, engine="geoembed", chunks={})
    data = ds["band_data"]
    assert data.dims == ("band", "y", "x")
    assert data.chunks is not None, "lazy: Dask-backed"
    tile_w, tile_h = geoembed.open(emb).tile_size
    assert data.chunks[1][0] == min(tile_h, ds.sizes["y"]) and data.chunks[2][0] == min(tile_w, ds.sizes["x"])
    np.testing.assert_array_equal(data.values, ref.values)
    np.testing.assert_array_equal(ds["x"].values, ref["x"].values)
    np.testing.assert_array_equal(ds["y"].values, ref["y"].values)
    np.testing.assert_array_equal(ds["band"].values, ref["band"].values)
    assert ds.rio.crs == ref.rio.crs
    assert ds.rio.transform() == ref.rio.transform()
    sub = data.isel(band=0, y=slice(3, 40, 2), x=slice(5, None, 3))
    np.testing.assert_array_equal(sub.values, ref.isel(band=0, y=slice(3, 40, 2), x=slice(5, None, 3)).values)


def test_per_band_reductions_with_dask(converted):
    src, emb = converted["i8_128b"]
    ref = rioxarray.open_rasterio(src)
    ds = xr.open_dataset(emb, engine="geoembed", chunks={})
    np.testing.assert_allclose(
        ds["band_data"].astype("f8").mean(dim=("y", "x")).compute().values,
        ref.astype("f8").mean(dim=("y", "x")).values,
    )


def test_scales_are_a_second_variable(tessera):
    ds = xr.open_dataset(tessera, engine="geoembed", chunks={})
    assert ds["scales"].dims == ("y", "x")
    np.testing.assert_array_equal(ds["scales"].values, np.load(FIXTURES / "tessera_proxy_scales.npy"))


def test_open_mfdataset_mosaics_neighbouring_tiles(converted, tmp_path):
    src, _ = converted["i16"]
    ref = rioxarray.open_rasterio(src)
    parts = []
    for i, (x0, x1) in enumerate([(0, 150), (150, 300)]):
        for j, (y0, y1) in enumerate([(0, 100), (100, 250)]):
            piece = tmp_path / f"piece_{i}_{j}.tif"
            ref.isel(x=slice(x0, x1), y=slice(y0, y1)).rio.to_raster(piece)
            emb = tmp_path / f"piece_{i}_{j}.emb"
            run_cli("convert", piece, emb, "--tile", 64, "-q")
            parts.append(emb)
    mosaic = xr.open_mfdataset(parts, engine="geoembed", combine="by_coords")
    np.testing.assert_array_equal(mosaic["band_data"].values, ref.values)
    np.testing.assert_array_equal(mosaic["x"].values, ref["x"].values)
    np.testing.assert_array_equal(mosaic["y"].values, ref["y"].values)
