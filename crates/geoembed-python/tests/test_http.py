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
    from conftest import FIXTURES, run_cli

    emb = tmp_path / "era5.emb"
    run_cli("convert", FIXTURES / "float64_240b_era5_t2m_uk_201903_first240h.tif", emb, "--tile", 8, "-q")
    local = geoembed.open(emb)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_RangeHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/era5.emb"
        _RangeHandler.served = 0
        with geoembed.open(url, block_size=16 * 1024) as remote:
            window = (9, 10, 6, 5)  # inside one 8x8 tile... and its neighbours
            np.testing.assert_array_equal(remote.read(window=window), local.read(window=window))
            assert remote.crs == local.crs and remote.transform == local.transform
        size = emb.stat().st_size
        tiles = len(local.tile_codecs())
        print(f"served {_RangeHandler.served} of {size} bytes")
        assert _RangeHandler.served < size * 0.25, f"served {_RangeHandler.served} of {size} bytes for 4 of {tiles} tiles"
    finally:
        server.shutdown()
