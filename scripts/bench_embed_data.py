#!/usr/bin/env python3
"""Inputs of scripts/bench_embed.sh (issue 13) that do not exist as files: the float downloads
users hold, a repeated-vector tile and smooth interpolated grids. Needs numpy and rasterio (the
peer harness's venv). Deterministic: every run writes the same arrays.

Usage: bench_embed_data.py SHARED_DATA PROXY_DIR OUT_DIR

* deq_presto_s2.tif, deq_proxy.tif: GeoTessera's float download, float32(q) * scale in numpy
  float32, of the real Presto tile presto_s2 (300 x 300 x 128) and of the SYNTHETIC proxy tile
  (seed 1, 1000 x 750 x 128), written by GDAL (rasterio) as 128-band pixel-interleaved
  Float32 GeoTIFFs (tiled 256, DEFLATE + PREDICTOR=3: a user's file; geoembed reads the
  samples, the peers the arrays).
* rep_presto_s2_int8.npy / _scales.npy / .raw: presto_s2 with 75% of its pixels (a smooth
  "uniform land cover" mask) replaced by one of 12 whole vectors of the tile and 8 rows of
  one vector (nodata fill): REAL vectors, SYNTHETIC repeats, as an input-starved model makes.
* era5_interp.npy, era5_anomaly.npy: the March 2019 mean of ERA5 2 m temperature over the UK
  (49 x 33, real) interpolated 16x with cubic convolution (a = -0.5) to 784 x 528 float32, and
  the same of its anomaly (values cross zero): SYNTHETIC smooth grids standing for
  interpolated climatologies and geoid/anomaly fields.
* *.raw beside every int8 tile: the pixel-interleaved bytes xz and zstd compress.
"""
import os
import sys

import numpy as np
import rasterio
from rasterio.transform import from_origin

data, proxy, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
presto = os.path.join(data, "embeddings", "presto")


def save(name, array):
    np.save(os.path.join(out, name), np.ascontiguousarray(array))


def float_download(q, s, name):
    x = q.astype(np.float32) * s[..., None].astype(np.float32)
    assert x.dtype == np.float32
    path = os.path.join(out, name)
    if os.path.exists(path):
        return
    h, w, c = x.shape
    with rasterio.open(path + ".tmp", "w", driver="GTiff", width=w, height=h, count=c,
                       dtype="float32", crs="EPSG:32631",
                       transform=from_origin(500000, 5000000, 10, 10), tiled=True,
                       blockxsize=256, blockysize=256, interleave="pixel",
                       compress="deflate", predictor=3) as d:
        d.write(np.moveaxis(x, -1, 0))
    os.replace(path + ".tmp", path)


q = np.load(os.path.join(presto, "presto_s2_int8.npy"))
s = np.load(os.path.join(presto, "presto_s2_scales.npy"))
float_download(q, s, "deq_presto_s2.tif")
float_download(np.load(os.path.join(proxy, "synth_emb_int8.npy")),
               np.load(os.path.join(proxy, "synth_emb_scales.npy")), "deq_proxy.tif")
for name, path in [("presto_s2", presto), ("presto_eol", presto), ("proxy", proxy)]:
    stem = "synth_emb" if name == "proxy" else name
    raw = os.path.join(out, name + "_int8.raw")
    if not os.path.exists(raw):
        np.load(os.path.join(path, stem + "_int8.npy")).tofile(raw)

# Repeated vectors.
h, w, c = q.shape
rng = np.random.default_rng(5)
yy, xx = np.mgrid[0:h, 0:w]
field = np.sin(xx / 23.0) + np.cos(yy / 17.0) + 0.5 * np.sin((xx + yy) / 9.0)
mask = (field > np.quantile(field, 0.25)).ravel()
picks = rng.choice(h * w, 12, replace=False)
cls = (np.floor(xx * 0.11 + yy * 0.07 + 3 * np.sin(yy / 13.0)) % 12).astype(int).ravel()
qf, sf = q.reshape(-1, c).copy(), s.ravel().copy()
qf[mask], sf[mask] = qf[picks[cls[mask]]], sf[picks[cls[mask]]]
qf, sf = qf.reshape(h, w, c), sf.reshape(h, w)
qf[h // 2:h // 2 + 8], sf[h // 2:h // 2 + 8] = qf[0, 0], sf[0, 0]
save("rep_presto_s2_int8.npy", qf)
save("rep_presto_s2_scales.npy", sf.astype(np.float32))
qf.tofile(os.path.join(out, "rep_presto_s2_int8.raw"))

# Smooth grids.
with rasterio.open(os.path.join(data, "climate", "xarray-data", "era5-2mt-2019-03-uk.grib")) as d:
    mean = d.read().astype(np.float64).mean(0)


def cubic(t, a=-0.5):
    t = np.abs(t)
    return np.where(t <= 1, (a + 2) * t**3 - (a + 3) * t**2 + 1,
                    np.where(t < 2, a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a, 0.0))


def resample(v, n):
    x = (np.arange(n) + 0.5) * len(v) / n - 0.5
    i0 = np.floor(x).astype(int)
    return sum(v[np.clip(i0 + k, 0, len(v) - 1)] * cubic(x - (i0 + k)) for k in range(-1, 3))


def upsample(img, f):
    rows = np.stack([resample(img[:, j], img.shape[0] * f) for j in range(img.shape[1])], 1)
    return np.stack([resample(r, img.shape[1] * f) for r in rows], 0)


save("era5_interp.npy", upsample(mean, 16).astype(np.float32)[:, :, None])
save("era5_anomaly.npy", upsample(mean - mean.mean(), 16).astype(np.float32)[:, :, None])
print("bench_embed_data: inputs in", out)
