"""The LOSSY write modes from Python: ``max_error`` (near-lossless, every sample within the
bound) and ``rel_rmse`` or ``quality`` (transform coding to a relative RMSE), parsed and checked by the
CLI's own functions; lossless stays the default, byte for byte. Needs only numpy."""

from __future__ import annotations

import numpy as np
import pytest

import geoembed
import geoembed.dask

from conftest import FIXTURES


def _embedding_int16() -> np.ndarray:
    """16 bands of the GeoTessera proxy's codes as int16 (bands, rows, cols): an 8/16-bit
    raster the native codec codes near-losslessly."""
    return np.load(FIXTURES / "tessera_proxy.npy").transpose(2, 0, 1)[:16].astype(np.int16)


def _embedding_values() -> np.ndarray:
    """The GeoTessera proxy's physical values (codes x scales), float32 (rows, cols, bands)."""
    codes = np.load(FIXTURES / "tessera_proxy.npy")
    scales = np.load(FIXTURES / "tessera_proxy_scales.npy")
    return codes.astype(np.float32) * scales[..., None]


def test_max_error_holds_on_every_sample(tmp_path):
    data = _embedding_int16()
    dst = tmp_path / "e2.emb"
    report = geoembed.write(dst, data, max_error=2, tile=32)
    with geoembed.open(dst) as ds:
        back = ds.read()
        loss = ds.header["loss"]
    error = np.abs(back.astype(np.int32) - data.astype(np.int32))
    assert error.max() <= 2 and error.max() > 0
    assert loss["mode"] == "near-lossless" and loss["max_error"] == [2.0] * 16
    assert loss["achieved_max_error"] == [float(e) for e in error.reshape(16, -1).max(axis=1)]
    assert report["loss"] == loss
    assert report["bytes_out"] < geoembed.write(tmp_path / "exact.emb", data, tile=32)["bytes_out"]


def test_max_error_per_band_and_on_floats(tmp_path):
    data = _embedding_int16()[:3]
    dst = tmp_path / "per_band.emb"
    geoembed.write(dst, data, max_error=[0, 3, 7], tile=32)
    with geoembed.open(dst) as ds:
        back = ds.read().astype(np.int32)
    error = np.abs(back - data).reshape(3, -1).max(axis=1)
    assert error[0] == 0 and error[1] <= 3 and error[2] <= 7
    era5 = np.load(FIXTURES / "float64_12b_era5_t2m_uk_20190301_first12h.npy")
    dst = tmp_path / "era5.emb"
    geoembed.write(dst, era5, interleave="pixel", max_error="0.01")
    with geoembed.open(dst) as ds:
        back = ds.read(interleave="pixel")
    assert back.dtype == np.float64 and np.abs(back - era5).max() <= 0.01


def test_max_error_on_32_bit_integers(tmp_path):
    # int32/uint32 take whole bounds (format 1.5): the float codec codes the multiples of
    # 2E + 1 nearest the samples; a fraction is refused.
    rng = np.random.default_rng(5)
    ramp = np.add.outer(np.arange(40) * 97, np.arange(50) * 13).astype(np.int64)
    for dtype, offset in ((np.int32, -(2**31)), (np.uint32, 2**31)):
        data = (ramp + rng.integers(0, 9, ramp.shape) + offset + 2**20).astype(dtype)
        data[0, 0] = np.iinfo(dtype).max
        dst = tmp_path / f"{np.dtype(dtype).name}.emb"
        geoembed.write(dst, data[None], max_error=3, tile=32)
        with geoembed.open(dst) as ds:
            back = ds.read()[0]
            assert ds.header["loss"]["max_error"] == [3.0]
        assert back.dtype == dtype
        error = np.abs(back.astype(np.int64) - data.astype(np.int64))
        assert error.max() <= 3 and error.max() > 0
        with pytest.raises(geoembed.EmbArgumentError, match="whole"):
            geoembed.write(tmp_path / "frac.emb", data[None], max_error=0.5)


def test_rel_rmse_is_reached_within_five_percent(tmp_path):
    values = _embedding_values()
    dst = tmp_path / "klt.emb"
    report = geoembed.write(dst, values, interleave="pixel", rel_rmse="5%")
    with geoembed.open(dst) as ds:
        back = ds.read(interleave="pixel").astype(np.float64)
        loss = ds.header["loss"]
        assert ds.tile_codecs() and set(ds.tile_codecs()) == {"klt"}
    achieved = np.linalg.norm(back - values) / np.linalg.norm(values.astype(np.float64))
    assert abs(achieved / 0.05 - 1) <= 0.05, achieved
    assert loss["mode"] == "transform" and loss["rel_rmse"] == 0.05
    assert loss["achieved_rel_rmse"] == pytest.approx(achieved, rel=1e-3)
    assert report["loss"] == loss


def test_from_geotessera_takes_rel_rmse(tmp_path):
    dst = tmp_path / "tile.emb"
    geoembed.from_geotessera(FIXTURES / "tessera_proxy.npy", FIXTURES / "tessera_proxy_scales.npy", None, dst, rel_rmse=0.1)
    values = _embedding_values()
    with geoembed.open(dst) as ds:
        # Coded as its float32 values, without a scale plane (as the CLI writes it).
        assert ds.dtype == np.float32 and ds.aux_planes == []
        back = ds.read(interleave="pixel").astype(np.float64)
    achieved = np.linalg.norm(back - values) / np.linalg.norm(values.astype(np.float64))
    assert abs(achieved / 0.1 - 1) <= 0.05, achieved


def test_max_error_refines_rel_rmse_and_quality(tmp_path):
    """rel_rmse= or quality= beside max_error=: the transform refined to the bound (klt
    payload version 2); both the bound and the figures are in the report and the header."""
    codes = np.load(FIXTURES / "presto_s2_crop_int8.npy")  # real Presto codes, int8, no scales
    dst = tmp_path / "klt_e2.emb"
    report = geoembed.write(dst, codes, interleave="pixel", rel_rmse=0.05, max_error=2, tile=32)
    with geoembed.open(dst) as ds:
        back = ds.read(interleave="pixel")
        loss = ds.header["loss"]
    error = np.abs(back.astype(np.int32) - codes.astype(np.int32))
    assert error.max() <= 2
    assert loss["mode"] == "transform" and loss["rel_rmse"] == 0.05
    assert loss["max_error"] == [2.0] * 128 and max(loss["achieved_max_error"]) == error.max()
    rel = np.linalg.norm(back.astype(np.float64) - codes) / np.linalg.norm(codes.astype(np.float64))
    assert rel <= 0.05 * 1.01 and abs(loss["achieved_rel_rmse"] / rel - 1) < 1e-6
    assert report["loss"]["max_error"] == [2.0] * 128
    dst = tmp_path / "q75_e3.emb"
    report = geoembed.write(dst, codes, interleave="pixel", quality=75, max_error=3, tile=32)
    assert report["loss"]["rel_rmse"] == 0.025 and report["loss"]["max_error"] == [3.0] * 128


def test_max_error_beside_rel_rmse_is_refused_on_codes_with_scales(tmp_path):
    codes = np.load(FIXTURES / "presto_s2_crop_int8.npy")
    scales = np.load(FIXTURES / "presto_s2_crop_scales.npy")
    with pytest.raises(geoembed.EmbArgumentError, match=r"max_error=2: a bound beside rel_rmse cannot be kept on codes"):
        geoembed.write(tmp_path / "x.emb", codes, interleave="pixel", scales=scales, rel_rmse=0.05, max_error=2)
    assert list(tmp_path.iterdir()) == []


def _presto_values() -> np.ndarray:
    """The real Presto crop's values as GeoTessera dequantises them (codes x scales)."""
    codes = np.load(FIXTURES / "presto_s2_crop_int8.npy")
    scales = np.load(FIXTURES / "presto_s2_crop_scales.npy")
    return codes.astype(np.float32) * scales[..., None]


# Not 10 (20%) on this crop: its band means alone are within 16% (klt keeps them), so no
# coding of it is as far off as 20%.
@pytest.mark.parametrize("quality, target", [(90, 0.01), (75, 0.025), (50, 0.05), (25, 0.1)])
def test_quality_is_the_documented_rel_rmse(tmp_path, quality, target):
    dst = tmp_path / "q.emb"
    npy, scales = FIXTURES / "presto_s2_crop_int8.npy", FIXTURES / "presto_s2_crop_scales.npy"
    report = geoembed.from_geotessera(npy, scales, None, dst, quality=quality)
    values = _presto_values()
    with geoembed.open(dst) as ds:
        back = ds.read(interleave="pixel").astype(np.float64)
        loss = ds.header["loss"]
    achieved = np.linalg.norm(back - values) / np.linalg.norm(values.astype(np.float64))
    assert loss["mode"] == "transform" and loss["rel_rmse"] == target
    assert abs(achieved / target - 1) <= 0.05, achieved
    assert report["loss"] == loss


def test_quality_between_anchors_and_as_text(tmp_path):
    values = _presto_values()
    geoembed.write(tmp_path / "q60.emb", values, interleave="pixel", quality="60")
    with geoembed.open(tmp_path / "q60.emb") as ds:
        assert ds.header["loss"]["rel_rmse"] == pytest.approx(0.05 * 0.5 ** (10 / 25), rel=1e-12)


def test_lossless_is_the_default_byte_for_byte(tmp_path):
    data = _embedding_int16()
    default, explicit, zero = tmp_path / "default.emb", tmp_path / "none.emb", tmp_path / "zero.emb"
    report = geoembed.write(default, data, tile=32)
    geoembed.write(explicit, data, tile=32, max_error=None, rel_rmse=None)
    geoembed.write(zero, data, tile=32, max_error=0)
    assert default.read_bytes() == explicit.read_bytes() == zero.read_bytes()
    assert report["loss"] is None
    with geoembed.open(default) as ds:
        assert ds.header["loss"] is None
        np.testing.assert_array_equal(ds.read(), data)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_error": -1}, r"max_error=-1\.0: give a non-negative number, or one per band separated by commas"),
        ({"max_error": "two"}, r"max_error=two: give a non-negative number"),
        ({"max_error": True}, r"max_error=True: give a number, or one per band"),
        ({"max_error": 1.5}, r"max_error=1\.5: int16 samples need a whole-number bound"),
        ({"max_error": [1, 2]}, r"max_error=1,2: 2 bounds for 16 bands"),
        ({"rel_rmse": "lots"}, r"rel_rmse=lots: give a fraction such as 0\.05, or a percentage such as 5%"),
        ({"rel_rmse": 1.5}, r"rel_rmse=1\.5: a relative RMSE target must be above 0 and below 1"),
        ({"rel_rmse": 0.05, "max_error": 1.5}, r"max_error=1\.5: int16 samples need a whole-number bound"),
        ({"rel_rmse": 0.05, "codec": "native"}, r"codec native is lossless; transform coding needs codec=klt or auto"),
        ({"quality": 90, "rel_rmse": 0.05}, r"quality=90: give quality or rel_rmse, not both"),
        ({"quality": 0}, r"quality=0: give a whole number from 1 \(smallest file\) to 100 \(closest to the source\)"),
        ({"quality": 101}, r"quality=101: give a whole number from 1"),
        ({"quality": 90.5}, r"quality=90\.5: give a whole number from 1"),
        ({"quality": True}, r"quality=True: give a whole number from 1 to 100"),
    ],
)
def test_bad_lossy_options_raise_before_writing(tmp_path, options, message):
    dst = tmp_path / "bad.emb"
    with pytest.raises(geoembed.EmbArgumentError, match=message):
        geoembed.write(dst, _embedding_int16(), **options)
    assert list(tmp_path.iterdir()) == []


def test_one_band_cannot_be_transform_coded(tmp_path):
    with pytest.raises(geoembed.EmbArgumentError, match=r"rel_rmse=0\.05: the klt transform needs at least 2 bands"):
        geoembed.write(tmp_path / "one.emb", np.zeros((20, 20), np.float32), rel_rmse=0.05)


def test_convert_many_refuses_a_bad_lossy_option_before_any_task(tmp_path):
    with pytest.raises(geoembed.EmbArgumentError, match=r"rel_rmse=5: a relative RMSE target must be above 0"):
        geoembed.dask.convert_many(["a.tif"], tmp_path / "out", rel_rmse=5)
    with pytest.raises(geoembed.EmbArgumentError, match=r"max_error=-2\.0: give a non-negative number"):
        geoembed.dask.convert_many(["a.tif"], tmp_path / "out", max_error=-2)
    with pytest.raises(geoembed.EmbArgumentError, match=r"quality=0: give a whole number"):
        geoembed.dask.convert_many(["a.tif"], tmp_path / "out", quality=0)
