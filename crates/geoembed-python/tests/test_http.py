"""Remote reads through fsspec over HTTP fetch only the preamble, index, header and the tiles a
window needs: a local range-capable server counts the bytes it serves."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import geoembed

pytest.importorskip("aiohttp")


class _RangeHandler(SimpleHTTPRequestHandler):
    """Serves files with single-range requests (http.server has none) and counts bytes."""

    served = 0

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.translate_path(self.path)
        try:
            data = open(path, "rb").read()
        except OSError:
            self.send_error(404)
            return
        start, end = 0, len(data) - 1
        ranged = self.headers.get("Range")
        if ranged:
            first, _, last = ranged.removeprefix("bytes=").partition("-")
            start = int(first) if first else len(data) - int(last)
            end = min(int(last), len(data) - 1) if first and last else len(data) - 1
        body = data[start : end + 1]
        self.send_response(206 if ranged else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        self.wfile.write(body)
        type(self).served += len(body)

    def do_HEAD(self):  # noqa: N802
        path = self.translate_path(self.path)
        try:
            size = len(open(path, "rb").read())
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()


def test_a_window_over_http_fetches_a_fraction_of_the_file(tmp_path):
    import rasterio

    from conftest import FIXTURES

    with rasterio.open(FIXTURES / "int16_1b_srtm30m_bigtujunga_utm11_crop.tif") as src:
        dem = np.tile(src.read(1), (4, 4))  # 1000 x 1200, 304 tiles of 64 x 64
    emb = tmp_path / "dem.emb"
    geoembed.write(emb, dem, tile=64)
    local = geoembed.open(emb)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_RangeHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/dem.emb"
        _RangeHandler.served = 0
        with geoembed.open(url, block_size=16 * 1024) as remote:
            window = (70, 75, 40, 30)  # inside tiles (1, 1) and (2, 1)
            np.testing.assert_array_equal(remote.read(window=window), local.read(window=window))
            assert remote.crs == local.crs and remote.transform == local.transform
        size = emb.stat().st_size
        tiles = len(local.tile_codecs())
        print(f"served {_RangeHandler.served} of {size} bytes for 2 of {tiles} tiles")
        assert _RangeHandler.served < size * 0.10, f"served {_RangeHandler.served} of {size} bytes for 2 of {tiles} tiles"
    finally:
        server.shutdown()
