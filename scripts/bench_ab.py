#!/usr/bin/env python3
"""Before/after: two `geoembed` binaries benchmarked in one run, alternating A and B.

The machine is noisy (two shared cores), so a refactor's speed claim needs both builds timed
side by side: each round runs `geoembed bench` of A then B (B then A on odd rounds) on every
raster, and the table reports sizes (which must be equal when payloads are unchanged) and the
median encode/decode MB/s of each side with their ratio.

  python3 scripts/bench_ab.py OLD_BINARY NEW_BINARY OUT.md [--rounds 3] [--codecs native,auto]
                              [--raster LABEL=PATH ...]

Default rasters: the ones docs/benchmarks.md measures the native codec on (from ../shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEFAULT_RASTERS = {
    "proxy (synthetic)": "/work/bench/proxy/synth_emb_int8.npy",
    "jasper": str(SHARED / "data/hyperspectral/MeiShaohui_SVASU/jasperRidge2_R198_Y_HxWxC.npy"),
    "rgb": str(SHARED / "data/multispectral/rasterio/RGB.byte.tif"),
    "rgba": str(SHARED / "data/multispectral/rasterio/RGBA.uint16.tif"),
    "srtm": str(SHARED / "data/dem/srtm.py/N44W072.hgt"),
    "pre_runout f32": str(SHARED / "data/dem/landlab/pre_runout_DEM.asc"),
}


def bench(binary: str, raster: str, codecs: str) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        subprocess.run([binary, "bench", raster, "--codecs", codecs, "--no-gdal", "--threads", "1",
                        "--json", str(out), "-q"], check=True, capture_output=True)
        result = json.loads(out.read_text())["results"][0]
    return {row["method"]: row for row in result["rows"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("out", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--codecs", default="native,auto")
    ap.add_argument("--raster", action="append", default=[], help="LABEL=PATH (default: the benchmark set)")
    a = ap.parse_args()
    rasters = dict(r.split("=", 1) for r in a.raster) if a.raster else {k: v for k, v in DEFAULT_RASTERS.items() if Path(v).exists()}
    samples: dict[tuple[str, str, str], list[dict]] = {}
    for rnd in range(a.rounds):
        for label, path in rasters.items():
            order = [("old", a.old), ("new", a.new)] if rnd % 2 == 0 else [("new", a.new), ("old", a.old)]
            for side, binary in order:
                for codec, row in bench(binary, path, a.codecs).items():
                    samples.setdefault((label, codec, side), []).append(row)
            print(f"round {rnd + 1}/{a.rounds}: {label}", flush=True)
    lines = [f"Load average at the end: {os.getloadavg()[0]:.2f} (2 cores). {a.rounds} rounds, A/B alternated; "
             "one thread; medians.", "",
             "| raster | codec | bytes old | bytes new | enc MB/s old | enc MB/s new | ratio | dec MB/s old | dec MB/s new | ratio |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label in rasters:
        for codec in a.codecs.split(","):
            old, new = samples.get((label, codec, "old")), samples.get((label, codec, "new"))
            if not old or not new:
                continue
            med = lambda rows, key: statistics.median(float(r[key]) for r in rows)  # noqa: E731
            size_old, size_new = med(old, "bytes"), med(new, "bytes")
            enc_old, enc_new = med(old, "enc_MBps"), med(new, "enc_MBps")
            dec_old, dec_new = med(old, "dec_MBps"), med(new, "dec_MBps")
            lines.append(f"| {label} | {codec} | {size_old:,.0f} | {size_new:,.0f} | {enc_old:.1f} | {enc_new:.1f} | "
                         f"{enc_new / enc_old:.2f} | {dec_old:.1f} | {dec_new:.1f} | {dec_new / dec_old:.2f} |")
    a.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
