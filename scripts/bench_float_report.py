#!/usr/bin/env python3
"""Prints (to stdout) the float / wide-integer section of docs/benchmarks.md from one run of
scripts/bench_float.sh: `geoembed bench` JSON and the peer harness results for every raster,
and the checks of issue 4. Standard library only; any missing result shows as "–".

Usage: bench_float_report.py OUT_DIR
  reads OUT_DIR/LABEL.geoembed.json, OUT_DIR/peers/LABEL/results.json, OUT_DIR/run_info.txt
"""
import json
import os
import subprocess
import sys

# label, what it is (the type, shape and size come from the data itself)
SETS = [
    ("pre_runout", "Landlab `pre_runout_DEM.asc` (DEM)"),
    ("exampleDEM", "TopoToolbox `exampleDEM.txt` (DEM)"),
    ("era5_t2m", "ERA5 2 m temperature, UK, March 2019 (GRIB, one band per hour)"),
    ("float4", "aras-p float_compr_tester `232630_float4.bin` (game-scene float4 data, NOT geospatial), as 1 x 232630 x 4"),
    ("tessera_scales", "per-pixel float32 scales of the SYNTHETIC proxy TESSERA tile (`make_embedding_tile.py`; NOT a real embedding)"),
    ("srtmgl3_i32", "Landlab SRTMGL3 snippet (`.asc`, read as int32)"),
    ("west_bijou_i32", "Landlab `west_bijou_escarpment_snippet.asc` (read as int32)"),
    ("pysheds", "pysheds `dem.tif`"),
    ("N10W110", "rasterio test `N10W110.hgt` (SRTM, read from its zip)"),
    ("N44W072", "SRTM3 `N44W072.hgt`"),
    ("N19W155", "SRTM3 `N19W155.hgt`"),
    ("N22W160", "SRTM3 `N22W160.hgt`"),
    ("S16E166", "SRTM3 `S16E166.hgt`"),
    ("bigtujunga", "TopoToolbox `srtm_bigtujunga30m_utm11.tif`"),
    ("tmmx", "gridMET `tmmx_20190121.nc` (daily max temperature)"),
    ("eraint_z", "ERA-Interim `eraint_uvz.nc` variable z (packed NetCDF)"),
    ("eraint_u", "ERA-Interim `eraint_uvz.nc` variable u (packed NetCDF)"),
    ("eraint_v", "ERA-Interim `eraint_uvz.nc` variable v (packed NetCDF)"),
]
DEFAULT, MAX = "auto", "auto:max"
TARGET = 0.90  # issue 4: geoembed bits/sample ≤ 0.90 × the best exact peer
GTIFF_ZSTD = ("gdal3.10.3:ZSTD22:PIXEL", "gdal3.10.3:ZSTD22:BAND")
FLOAT_DEMS = ("pre_runout", "exampleDEM")


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_geoembed(out, label):
    g = read_json(os.path.join(out, f"{label}.geoembed.json"))
    try:
        return g["results"][0]
    except (TypeError, KeyError, IndexError):
        return None


def load_peers(out, label):
    p = read_json(os.path.join(out, "peers", label, "results.json"))
    try:
        p["arrays"]["data"]["results"]
        return p
    except (TypeError, KeyError):
        return None


def run_info(out):
    info = {}
    try:
        with open(os.path.join(out, "run_info.txt")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                info[k] = v.strip()
    except OSError:
        pass
    return info


def f3(v):
    return "–" if v is None else f"{v:.3f}"


def f1(v):
    return "–" if v is None else f"{v:.1f}"


def yes(ok):
    return "–" if ok is None else ("yes" if ok else "**no**")


def short(name):
    """A peer name without the part its family column already says."""
    if name.startswith("gdal3.6.2-cli:"):
        return "GDAL 3.6 " + name.split(":", 1)[1]
    if name.startswith("blosc2:"):
        return name[len("blosc2:"):].replace(":zstd9", "")
    for pre in ("gdal3.10.3:", "pcodec:", "jxl:", "fpzip:", "zfp:", "lerc:"):
        if name.startswith(pre):
            return name[len(pre):]
    return name


# Peer families of the second table; every peer the harness runs falls into one column.
FAMILIES = [
    ("pcodec", lambda n: n.startswith("pcodec:")),
    ("GTiff DEFLATE/ZSTD + predictor", lambda n: n.startswith("gdal") and (":DEFLATE" in n or ":ZSTD" in n)),
    ("blosc2 shuffle+bytedelta", lambda n: n.startswith("blosc2:") and "shuffle+bytedelta" in n),
    ("fpzip", lambda n: n.startswith("fpzip:")),
    ("zfp", lambda n: n.startswith("zfp:")),
    ("LERC (lerc 4.0 / GTiff LERC, LERC_ZSTD)", lambda n: "lerc" in n.lower()),
    ("xz / LZMA", lambda n: n == "cli:xz" or n.startswith("lzma") or ":LZMA" in n),
    ("JPEG XL", lambda n: n.startswith(("jxl:", "decor+jxl"))),
]


def family_of(name):
    for col, pred in FAMILIES:
        if pred(name):
            return col
    return "other"


class Raster:
    def __init__(self, out, label, what):
        self.label, self.what = label, what
        self.g = load_geoembed(out, label)
        self.p = load_peers(out, label)
        self.rows = {r["method"]: r for r in self.g["rows"]} if self.g else {}
        self.arr = self.p["arrays"]["data"] if self.p else None
        self.peers = [r for r in (self.arr["results"] if self.arr else [])
                      if r.get("exact") is True and r.get("bits_per_sample") is not None and not r.get("error")]
        self.failed_peers = [r for r in (self.arr["results"] if self.arr else []) if r not in self.peers]

    def present(self):
        return self.g is not None or self.p is not None

    def dtype(self):
        if self.g:
            return self.g["data_type"]
        return self.arr["meta"].get("dtype", "?") if self.arr else "–"

    def shape(self):
        if self.g:
            s = f"{self.g['height']}×{self.g['width']}×{self.g['bands']}"
            m = self.arr["meta"] if self.arr else {}
            hwc = [self.g["height"], self.g["width"], self.g["bands"]]
            if m.get("shape_hwc") and (list(m["shape_hwc"]) != hwc or m.get("dtype") != self.g["data_type"]):
                s += f" **(peers: {'×'.join(map(str, m['shape_hwc']))} {m.get('dtype')})**"
            return s
        if self.arr and self.arr["meta"].get("shape_hwc"):
            return "×".join(str(v) for v in self.arr["meta"]["shape_hwc"])
        return "–"

    def raw(self):
        if self.g:
            return int(self.g["raw_bytes"])
        return self.arr["raw_bytes"] if self.arr else None

    def samples(self):
        if self.arr and self.arr.get("samples"):
            return self.arr["samples"]
        return self.g["width"] * self.g["height"] * self.g["bands"] if self.g else "?"

    def source(self):
        if self.g:
            return self.g["file"]
        return self.arr["meta"].get("path", "?") if self.arr else "?"

    def geo(self, method):
        """geoembed's row for method, or None when it was not measured."""
        return self.rows.get(method)

    def bps(self, method):
        r = self.geo(method)
        return r["bits_per_sample"] if r and r.get("exact") else None

    def bps_cell(self, method):
        r = self.geo(method)
        if r is None:
            return "–"
        return f3(r["bits_per_sample"]) + ("" if r.get("exact") else " **NOT EXACT**")

    def best_peer(self, pred=lambda n: True):
        c = [r for r in self.peers if pred(r["peer"])]
        return min(c, key=lambda r: r["bits_per_sample"]) if c else None

    def same_run_zstd_dec(self):
        """GTiff ZSTD22 + predictor read through GDAL (3.6, the gdal crate) by `geoembed bench`
        in the same process as the codecs: the fair speed reference on a drifting VM."""
        c = [r for m, r in self.rows.items() if m.startswith("gdal:GTiff ZSTD22")]
        return max(c, key=lambda r: r["dec_MBps"]) if c else None

    def gtiff_zstd_dec(self):
        c = [r for r in self.peers if r["peer"] in GTIFF_ZSTD]
        return max(c, key=lambda r: r["dec_MBps"]) if c else None


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    info = run_info(out)
    rs = [Raster(out, label, what) for label, what in SETS]
    rs = [r for r in rs if r.present()]
    lines = []
    w = lines.append

    # --- header
    commit = info.get("commit") or run(["git", "rev-parse", "--short", "HEAD"]) or "?"
    dirty = info.get("uncommitted", "").split()
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    peer_runs = [r.p for r in rs if r.p]
    started = sorted(p.get("started", "?") for p in peer_runs)
    peer_wall = sum(p.get("wall_s") or 0 for p in peer_runs)
    peer_machines = sorted({f"{p['machine'].get('cpu', '?')}, {p['machine'].get('nproc', '?')} cores"
                            for p in peer_runs if p.get("machine")})
    methods = info.get("methods") or ",".join(dict.fromkeys(m for r in rs for m in r.rows if not m.startswith("gdal")))
    efforts = []
    for m in methods.split(","):
        name, _, eff = m.partition(":")
        efforts.append(f"`{m}` = {name} at effort {eff or 'default'}")
    a0 = next((p["args"] for p in peer_runs if p.get("args")), {})

    w("## Lossless float and wide-integer rasters (issue 4)")
    w("")
    w("Generated by `scripts/bench_float.sh` (`geoembed bench` on every raster first, because its timings")
    w("want a quiet machine, then `../shared/bench/peerbench.py --full` on the same rasters). Do not edit by hand.")
    w("")
    dirty_s = f" plus uncommitted changes to {len(dirty)} file(s) under `crates/` ({', '.join('`' + d + '`' for d in dirty[:6])}{', …' if len(dirty) > 6 else ''})" if dirty else ""
    w(f"- geoembed: commit `{commit}`{dirty_s}, `{info.get('geoembed', '?')}`, release build, measured "
      f"{info.get('date', '?')}" + (f" ({float(info['geoembed_s']) / 60:.1f} min for all rasters)" if info.get("geoembed_s") else "") + "."
      + (f" Load average (1/5/15 min) before: {info['load_before']}, after: {info.get('load_after', '?')}." if info.get("load_before") else ""))
    if peer_runs:
        w(f"- peers: {len(peer_runs)} harness runs, started {started[0]} – {started[-1]} (machine local time), "
          f"{peer_wall / 60:.0f} min of harness wall time in all; every peer at full size (no row sampling).")
    w(f"- machine: {cpu}, {os.cpu_count()} cores" +
      (f"; the peers ran on: {'; '.join(peer_machines)}" if peer_machines else "") + ".")
    w(f"- effort levels: {'; '.join(efforts)}. Peers: JPEG XL lossless effort "
      f"{'/'.join(str(e) for e in a0.get('jxl_efforts', [7, 9]))}, pcodec level {a0.get('pco_level', 8)}, GTiff DEFLATE 9 "
      "(and libdeflate 12) / ZSTD 19 and 22 with PREDICTOR=3 (floats) or 2 (integers), blosc2 zstd 9, zstd 22, "
      "xz -9e, brotli 11, LERC maxZErr=0, fpzip and zfp lossless modes.")
    w("- All timings single-threaded; MB = 10^6 bytes; MB/s of raw samples; bits/sample = 8·compressed "
      "bytes / samples. Sizes are whole files (`.emb` with header, index and checksums; whole `.tif`), "
      "so on the smallest rasters (tens of kB) fixed overheads are a visible part.")
    w("- geoembed decodes an in-memory `.emb`; the GTiff peers are read from a `.tif` in the page cache "
      "through GDAL 3.10.3 (rasterio), including the open and the band-to-pixel transpose.")
    w("- Decode speeds on this VM drift by tens of percent from one run to the next (the same codec on the same "
      "file measured 84 and 122 MB/s a minute apart), so `geoembed bench` also writes and reads GTiff ZSTD22 + "
      "predictor through GDAL (Debian's 3.6.2, the gdal crate, tiled 512) in the same process, right beside the "
      "codecs: the *same run* column. The *peer run* column is the harness's GDAL 3.10.3 read, measured at "
      "another time.")
    w("- **Caveat:** `tessera_scales` is the float32 scale plane of the *synthetic* proxy TESSERA tile "
      "(`../shared/data/embeddings/make_embedding_tile.py`), not of a real GeoTessera tile: its scales "
      "are full-precision float32 from a generator, and real scale planes may compress quite differently. "
      "`float4` is not geospatial data.")
    w("")

    # --- table 1: sizes, checks, speeds
    w(f"### geoembed against the best exact peer (check: bits/sample ≤ {TARGET:.2f} × best peer; "
      "decode ≥ GTiff ZSTD22 + predictor read through GDAL: in the same run (GDAL 3.6, beside the codecs) "
      "and in the peer run (GDAL 3.10, another time))")
    w("")
    w("| raster | type | H×W×C | raw bytes | geoembed `auto` bits/sample | `auto:max` bits/sample | best exact peer | "
      "peer bits/sample | `auto` ÷ peer | `auto:max` ÷ peer | ≤ 0.90× (`auto` / `max`) | "
      "dec MB/s `auto` | GTiff ZSTD22 same run | dec ≥ | GTiff ZSTD22 peer run | dec ≥ | enc MB/s `auto` / `max` |")
    w("|---|---|---|---:|---:|---:|---|---:|---:|---:|:---:|---:|---:|:---:|---:|:---:|---:|")
    tally = {"size_def": [], "size_max": [], "dec_same": [], "dec": []}
    for r in rs:
        best = r.best_peer()
        pb = best["bits_per_sample"] if best else None
        rd, rm = ratio(r.bps(DEFAULT), pb), ratio(r.bps(MAX), pb)
        okd = None if rd is None else rd <= TARGET
        okm = None if rm is None else rm <= TARGET
        z = r.gtiff_zstd_dec()
        gd = r.geo(DEFAULT)
        gdec = gd["dec_MBps"] if gd else None
        okdec = None if gdec is None or z is None else gdec >= z["dec_MBps"]
        zs = r.same_run_zstd_dec()
        oksame = None if gdec is None or zs is None else gdec >= zs["dec_MBps"]
        for k, v in (("size_def", okd), ("size_max", okm), ("dec_same", oksame), ("dec", okdec)):
            if v is not None:
                tally[k].append(v)
        enc = f"{f1(gd['enc_MBps'] if gd else None)} / {f1(r.geo(MAX)['enc_MBps'] if r.geo(MAX) else None)}"
        zname = f" ({z['peer'].rsplit(':', 1)[1]})" if z else ""
        w(f"| {r.label} | {r.dtype()} | {r.shape()} | {r.raw() if r.raw() is not None else '–'} | "
          f"{r.bps_cell(DEFAULT)} | {r.bps_cell(MAX)} | {best['peer'] if best else '–'} | {f3(pb)} | "
          f"{f3(rd)} | {f3(rm)} | {yes(okd)} / {yes(okm)} | {f1(gdec)} | "
          f"{f1(zs['dec_MBps'] if zs else None)} | {yes(oksame)} | {f1(z['dec_MBps'] if z else None)}{zname} | "
          f"{yes(okdec)} | {enc} |")
    w("")
    for k, what in (("size_def", f"`auto` ≤ {TARGET:.2f}× best peer"), ("size_max", f"`auto:max` ≤ {TARGET:.2f}× best peer"),
                    ("dec_same", "`auto` decode ≥ GTiff ZSTD22 read in the same run"),
                    ("dec", "`auto` decode ≥ GTiff ZSTD22 of the peer run")):
        v = tally[k]
        w(f"- {what}: holds on {sum(v)} of {len(v)} rasters measured.")
    w("")

    # --- table 2: every peer family
    cols = [c for c, _ in FAMILIES] + ["other (best)"]
    w("### Bits/sample by peer family (best exact variant of each; smallest in the row in bold)")
    w("")
    w("| raster | type | geoembed `auto` | geoembed `auto:max` | " + " | ".join(cols) + " |")
    w("|---|---|" + "---:|" * (2 + len(cols)))
    for r in rs:
        cells = []
        vals = [r.bps(DEFAULT), r.bps(MAX)]
        bests = []
        for c in cols:
            b = r.best_peer(lambda n, c=c: family_of(n) == (c if c != "other (best)" else "other"))
            bests.append(b)
            vals.append(b["bits_per_sample"] if b else None)
        lo = min((v for v in vals if v is not None), default=None)

        def cell(v, text):
            if v is None:
                return text
            return f"**{text}**" if v == lo else text

        cells.append(cell(vals[0], r.bps_cell(DEFAULT)))
        cells.append(cell(vals[1], r.bps_cell(MAX)))
        for b, v in zip(bests, vals[2:]):
            cells.append("–" if b is None else cell(v, f"{v:.3f}") + f" `{short(b['peer'])}`")
        w(f"| {r.label} | {r.dtype()} | " + " | ".join(cells) + " |")
    w("")
    w("\"–\": not run for this type (fpzip is float-only; the harness runs JPEG XL and JPEG-LS on ≤ 16-bit "
      "integers, and JPEG XL also on float32) or not measured. Peers that failed or were not bit-exact are left out:")
    failed = [f"{r.label}: {p['peer']} ({p.get('error') or 'not bit-exact'})" for r in rs for p in r.failed_peers]
    w("; ".join(failed) + "." if failed else "none.")
    w("")

    # --- table 3: every geoembed method
    ms = [m for m in methods.split(",") if m]
    w("### geoembed, every method measured (bits/sample · decode MB/s · encode MB/s)")
    w("")
    w("| raster | " + " | ".join(f"`{m}`" for m in ms) + " | tiles chosen by `auto` / `auto:max` |")
    w("|---|" + "---:|" * len(ms) + "---|")
    for r in rs:
        cells = []
        for m in ms:
            g = r.geo(m)
            cells.append("–" if g is None else f"{r.bps_cell(m)} · {g['dec_MBps']:.1f} · {g['enc_MBps']:.1f}")
        tiles = " / ".join((r.geo(m) or {}).get("tiles", "–") or "–" for m in (DEFAULT, MAX))
        w(f"| {r.label} | " + " | ".join(cells) + f" | {tiles} |")
    w("")
    w("\"–\": the method was not measured (a codec that does not take this sample type is skipped by "
      "`geoembed bench`, or no result).")
    beaten = []
    for r in rs:
        top = r.bps(MAX)
        exact = [(r.bps(m), m) for m in ms if r.bps(m) is not None]
        if top is not None and exact and min(exact)[0] < 0.99 * top:
            v, m = min(exact)
            beaten.append(f"{r.label} (`{m}` {v:.3f} vs {top:.3f})")
    if beaten:
        w("A fixed codec measured here beat `auto:max` by more than 1% on: " + "; ".join(beaten) + ".")
    w("")

    # --- Gridfour
    dems = [r for r in rs if r.label in FLOAT_DEMS]
    parts = []
    for r in dems:
        best = r.best_peer()
        parts.append(f"`{r.label}` ({r.shape()}) {f3(r.bps(DEFAULT))} bits/sample with `auto` and {f3(r.bps(MAX))} with "
                     f"`auto:max`, against {f3(best['bits_per_sample']) if best else '–'} for the best peer "
                     f"({best['peer'] if best else '–'})")
    w("### Beside Gridfour's published figures")
    w("")
    w("On the two real float32 DEMs measured here, geoembed stores " + ("; ".join(parts) if parts else "– (not measured)") + ". "
      "Gridfour's own documentation (`../shared/seeds/002_…`) reports 12.6–17.7 bits/sample for its lossless float "
      "coder on five 1/3-arc-second USGS float32 DEM tiles (15.4 on GEBCO_2019). Those are Gridfour's published numbers "
      "on different data, not a same-data comparison: bits/sample depend mostly on how much precision and relief a "
      "DEM carries" + (f", and these DEMs are small ({' and '.join(str(r.samples()) for r in dems)} samples), so header "
      "and model overheads weigh more than on a 10812² USGS tile" if dems else "") + ".")
    w("")
    w("Rasters: " + "; ".join(f"`{r.label}` = {r.what}" + (f" (`{r.source()}`)" if r.source() != "?" else "") for r in rs) + ".")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
