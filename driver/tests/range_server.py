#!/usr/bin/env python3
"""A minimal HTTP server with Range support (python3 -m http.server has none), serving one
directory on 127.0.0.1 and logging every body it sends as "path start length" lines, so the
/vsicurl/ test can count the bytes GDAL fetched.

Usage: range_server.py DIR LOGFILE  (prints the port on stdout, then serves forever)
"""
import http.server
import os
import re
import sys

ROOT, LOG = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _target(self):
        path = os.path.join(ROOT, os.path.basename(self.path.split("?")[0]))
        return path if os.path.isfile(path) else None

    def do_HEAD(self):
        path = self._target()
        if not path:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self):
        path = self._target()
        if not path:
            self.send_error(404)
            return
        size = os.path.getsize(path)
        start, end = 0, size - 1
        m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            self.send_response(200)
        length = max(0, end - start + 1)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        with open(path, "rb") as f:
            f.seek(start)
            self.wfile.write(f.read(length))
        with open(LOG, "a") as log:
            log.write(f"{os.path.basename(path)} {start} {length}\n")


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
