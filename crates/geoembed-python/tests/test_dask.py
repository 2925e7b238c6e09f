"""`geoembed.dask.convert_many` on a two-worker LocalCluster: files byte-identical to serial
conversion, a corrupt input reported without losing the others."""

from __future__ import annotations

import numpy as np
import pytest

import geoembed
import geoembed.dask

from conftest import FIXTURES, RASTERS

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_convert_many_equals_serial_and_reports_failures(client, tmp_path):
    rasters = [FIXTURES / f for f, _ in RASTERS.values()]
    tessera = (FIXTURES / "tessera_proxy.npy", FIXTURES / "tessera_proxy_scales.npy", FIXTURES / "tessera_proxy_landmask.tif")
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\0" + bytes(200))
    sources = [*rasters, tessera, broken]
    reports = geoembed.dask.convert_many(sources, tmp_path / "parallel", client=client, progress=False, tile=32)
    assert [r["source"] for r in reports] == [str(s if not isinstance(s, tuple) else s[0]) for s in sources]
    failed = [r for r in reports if r["error"]]
    assert len(failed) == 1 and failed[0]["source"] == str(broken)
    assert "broken.tif" in failed[0]["error"]
    for r in reports[:-1]:
        assert r["error"] is None and r["bytes_out"] > 0 and r["seconds"] > 0 and r["codecs"]
    serial = tmp_path / "serial"
    serial.mkdir()
    for src in rasters:
        geoembed.from_rasterio(src, serial / (src.stem + ".emb"), tile=32)
    geoembed.from_geotessera(*tessera, serial / "tessera_proxy.emb", tile=32)
    for made in sorted(serial.glob("*.emb")):
        assert (tmp_path / "parallel" / made.name).read_bytes() == made.read_bytes(), made.name
    assert not (tmp_path / "parallel" / "broken.emb").exists()


def test_inputs_that_would_collide_are_refused(tmp_path):
    with pytest.raises(ValueError, match="same output"):
        geoembed.dask.convert_many([FIXTURES / "a" / "x.tif", FIXTURES / "b" / "x.tif"], tmp_path, client=object())
