#!/usr/bin/env python3
"""Issue 12's benchmark: the Python package against the Zarr codecs users have today, on the
same chunks, in one run; Dask scale-out; the cost of the Python binding over the CLI.

  python scripts/bench_python.py OUTDIR --proxy DIR --presto DIR [--cli target/release/geoembed]

1. Zarr v3 stores of each embedding tile, chunks (256, 256, 128) int8 (y, x, band), the
   GeoTessera layout: GeoEmbedCodec (auto, default effort) vs zstd level 3 (zarr's default
   compressor) and 19, and Blosc (numcodecs, zstd level 5, bitshuffle). Size of the store,
   write and read MB/s (raw int8 MB / wall time, whole array, one process, median of 3).
2. geoembed.dask.convert_many on 8 GeoTessera tiles (the proxy tile cut into 8 pieces), with
   1 and 2 single-threaded workers of a LocalCluster: MB/s of raw input.
3. geoembed.open(path).read() against `geoembed verify` (the CLI decoding every tile and
   checking every checksum) on the same .emb: seconds and MB/s.

Writes OUTDIR/bench_python.md (markdown tables) and OUTDIR/bench_python.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _median_seconds(fn, reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def zarr_rows(name: str, codes: np.ndarray, out: Path) -> list[dict]:
    import zarr
    from zarr.codecs import BloscCodec, BytesCodec, ZstdCodec

    from geoembed.zarr import GeoEmbedCodec

    chunks = (256, 256, codes.shape[2])
    configs = {
        "geoembed (auto)": dict(serializer=GeoEmbedCodec(), compressors=None),
        "zstd -3": dict(serializer=BytesCodec(), compressors=ZstdCodec(level=3)),
        "zstd -19": dict(serializer=BytesCodec(), compressors=ZstdCodec(level=19)),
        "blosc zstd-5 bitshuffle": dict(
            serializer=BytesCodec(), compressors=BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle")
        ),
    }
    raw_mb = codes.nbytes / 1e6
    rows = []
    for label, codec in configs.items():
        store = out / f"{name}_{label.split()[0]}_{label.split()[-1]}.zarr"

        def write():
            shutil.rmtree(store, ignore_errors=True)
            z = zarr.create_array(store, shape=codes.shape, chunks=chunks, dtype=codes.dtype, **codec)
            z[:] = codes

        write_s = _median_seconds(write)
        read_s = _median_seconds(lambda: zarr.open_array(store)[:])
        assert np.array_equal(zarr.open_array(store)[:], codes), label
        size = _dir_bytes(store)
        rows.append({
            "raster": name, "codec": label, "bytes": size, "ratio": codes.nbytes / size,
            "bits_per_sample": 8 * size / codes.size, "write_MBps": raw_mb / write_s, "read_MBps": raw_mb / read_s,
        })
        print(f"  {name:10s} {label:26s} {size:>10d} B  {8 * size / codes.size:6.3f} b/s  "
              f"write {raw_mb / write_s:7.1f} MB/s  read {raw_mb / read_s:7.1f} MB/s", flush=True)
    return rows


def dask_rows(codes: np.ndarray, scales: np.ndarray, out: Path) -> list[dict]:
    from dask.distributed import Client, LocalCluster

    import geoembed.dask

    pieces = out / "pieces"
    pieces.mkdir(exist_ok=True)
    triples = []
    rows_per, cols_per = codes.shape[0] // 4, codes.shape[1] // 2
    for i in range(4):
        for j in range(2):
            part = codes[i * rows_per : (i + 1) * rows_per, j * cols_per : (j + 1) * cols_per]
            npy = pieces / f"tile_{i}_{j}.npy"
            np.save(npy, np.ascontiguousarray(part))
            np.save(pieces / f"tile_{i}_{j}_scales.npy", np.ascontiguousarray(scales[i * rows_per : (i + 1) * rows_per, j * cols_per : (j + 1) * cols_per]))
            triples.append((npy, pieces / f"tile_{i}_{j}_scales.npy", None))
    raw_mb = sum(np.load(t[0], mmap_mode="r").nbytes + np.load(t[1], mmap_mode="r").nbytes for t in triples) / 1e6
    rows = []
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            client.run(lambda: __import__("geoembed"))  # import once before timing
            target = out / f"dask_{workers}"
            shutil.rmtree(target, ignore_errors=True)
            t0 = time.perf_counter()
            reports = geoembed.dask.convert_many(triples, target, client=client, progress=False, overwrite=True)
            seconds = time.perf_counter() - t0
        assert all(r["error"] is None for r in reports), reports
        rows.append({"workers": workers, "tiles": len(triples), "raw_MB": raw_mb, "seconds": seconds, "MBps": raw_mb / seconds})
        print(f"  convert_many {workers} worker(s): {len(triples)} tiles, {raw_mb:.1f} MB in {seconds:.2f} s = {raw_mb / seconds:.1f} MB/s", flush=True)
    return rows


def overhead_rows(name: str, emb: Path, cli: Path) -> list[dict]:
    import geoembed

    with geoembed.open(emb) as ds:
        raw_mb = ds.width * ds.height * ds.count * ds.dtype.itemsize / 1e6
        python_s = _median_seconds(lambda: geoembed.open(emb).read())
    cli_s = _median_seconds(lambda: subprocess.run([str(cli), "verify", str(emb)], check=True, capture_output=True))
    row = {"raster": name, "raw_MB": raw_mb, "python_read_s": python_s, "cli_verify_s": cli_s,
           "python_MBps": raw_mb / python_s, "cli_MBps": raw_mb / cli_s, "ratio": python_s / cli_s}
    print(f"  {name:10s} open().read() {python_s:.3f} s ({raw_mb / python_s:.1f} MB/s)  "
          f"geoembed verify {cli_s:.3f} s ({raw_mb / cli_s:.1f} MB/s)  ratio {python_s / cli_s:.2f}", flush=True)
    return [row]


def markdown(results: dict) -> str:
    out = ["## Zarr v3 stores, chunks (256, 256, 128) int8 (y, x, band)", "",
           "| raster | codec | bytes | bits/sample | ratio | write MB/s | read MB/s |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in results["zarr"]:
        out.append(f"| {r['raster']} | {r['codec']} | {r['bytes']:,} | {r['bits_per_sample']:.3f} | {r['ratio']:.2f} | "
                   f"{r['write_MBps']:.1f} | {r['read_MBps']:.1f} |")
    out += ["", "## geoembed.dask.convert_many, 8 GeoTessera tiles", "", "| workers | tiles | raw MB | seconds | MB/s |", "|---:|---:|---:|---:|---:|"]
    for r in results["dask"]:
        out.append(f"| {r['workers']} | {r['tiles']} | {r['raw_MB']:.1f} | {r['seconds']:.2f} | {r['MBps']:.1f} |")
    out += ["", "## geoembed.open().read() vs the CLI decoding the same file", "",
            "| raster | raw MB | Python read s | CLI verify s | Python MB/s | CLI MB/s | Python / CLI time |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results["overhead"]:
        out.append(f"| {r['raster']} | {r['raw_MB']:.1f} | {r['python_read_s']:.3f} | {r['cli_verify_s']:.3f} | "
                   f"{r['python_MBps']:.1f} | {r['cli_MBps']:.1f} | {r['ratio']:.2f} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--proxy", type=Path, required=True, help="directory of make_embedding_tile.py output (seed 1)")
    ap.add_argument("--presto", type=Path, required=True, help="../shared/data/embeddings/presto")
    ap.add_argument("--cli", type=Path, default=Path("target/release/geoembed"))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    import geoembed

    tiles = {
        "proxy (synthetic)": (np.load(a.proxy / "synth_emb_int8.npy"), np.load(a.proxy / "synth_emb_scales.npy")),
        "presto_s2": (np.load(a.presto / "presto_s2_int8.npy"), np.load(a.presto / "presto_s2_scales.npy")),
        "presto_eol": (np.load(a.presto / "presto_eol_int8.npy"), np.load(a.presto / "presto_eol_scales.npy")),
    }
    results = {"machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                           "geoembed": geoembed.__version__}, "zarr": [], "dask": [], "overhead": []}
    print("Zarr stores", flush=True)
    for name, (codes, _) in tiles.items():
        results["zarr"] += zarr_rows(name.split()[0], codes, a.out)
    print("Dask", flush=True)
    results["dask"] = dask_rows(*tiles["proxy (synthetic)"], a.out)
    print("Python vs CLI", flush=True)
    for name, (codes, scales) in tiles.items():
        emb = a.out / f"{name.split()[0]}.emb"
        geoembed.write(emb, codes, interleave="pixel", scales=scales, overwrite=True)
        results["overhead"] += overhead_rows(name.split()[0], emb, a.cli)
    (a.out / "bench_python.json").write_text(json.dumps(results, indent=1))
    (a.out / "bench_python.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
