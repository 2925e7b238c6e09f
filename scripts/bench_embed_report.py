#!/usr/bin/env python3
"""The report of scripts/bench_embed.sh (issue 13): one markdown section from the results of
one run, printed to stdout. Reads OUT/run_info.txt, OUT/LABEL.bench.json (`geoembed bench`),
OUT/peers/LABEL/results.json (../shared/bench/peerbench.py), OUT/raw/LABEL.json (xz -6 and
zstd -19 on the raw arrays), OUT/LABEL.{default,max}.info.json (`geoembed info --json` of
the .emb files) and OUT/convert_times.txt. Standard library only.

Usage: bench_embed_report.py OUT
"""
import json
import os
import sys

OUT = sys.argv[1]


def load(*parts):
    path = os.path.join(OUT, *parts)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def labels():
    """The labels in the script's order (its `sets`), as the run wrote them."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_embed.sh")
    with open(script) as f:
        text = f.read()
    block = text[text.index("sets=(") : text.index("\n)\n", text.index("sets=("))]
    return [line.strip().strip('"').split("|")[0] for line in block.split("\n")[1:] if "|" in line]


def geoembed_rows(label):
    """{method: row} of the geoembed bench run on the file (bands only)."""
    bench = load(f"{label}.bench.json")
    if not bench:
        return {}
    return {row["method"]: row for result in bench["results"] for row in result["rows"]}


def best_peer(results):
    """The smallest exact peer: (name, bytes, sampled)."""
    exact = [r for r in results if r.get("exact") and r.get("comp_bytes_full_equiv")]
    if not exact:
        return None
    best = min(exact, key=lambda r: r["comp_bytes_full_equiv"])
    return best["peer"], best["comp_bytes_full_equiv"], best.get("sample_frac", 1.0) < 1.0


def raw_sizes(label, part):
    raw = load("raw", f"{label}.json") or {}
    return {name: raw.get(f"{part}:{name}", {}).get("bytes") for name in ("xz -6", "zstd -19")}


def mb(n):
    return "–" if n is None else f"{n / 1e6:.3f}"


def ratio(a, b):
    return "–" if not a or not b else f"{a / b:.3f}"


def speed(row):
    """A speed (MB/s) with the range of its rounds, when there were several."""
    rounds = row.get("enc_MBps_rounds", [])
    spread = f" ({min(rounds):.1f}–{max(rounds):.1f})" if len(rounds) > 1 else ""
    return f"{row['enc_MBps']:.1f}{spread}"


def bands_table(names):
    """Every file's bands (the int8 codes for embedding tiles): geoembed auto against the
    smallest peer and xz/zstd on the same array."""
    out = [
        "| file | raw MB | auto MB | auto:max MB | smallest peer | peer MB | xz -6 MB | zstd -19 MB "
        "| auto / best other | auto enc MB/s (rounds) | max enc MB/s | max / default time | exact |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for label in names:
        rows = geoembed_rows(label)
        peers = load("peers", label, "results.json")
        if not rows or not peers:
            continue
        data = peers["arrays"]["data"]
        auto, best_max = rows.get("auto"), rows.get("auto:max")
        peer = best_peer(data["results"])
        raw = raw_sizes(label, "data")
        others = [b for b in [peer and peer[1], raw["xz -6"], raw["zstd -19"]] if b]
        best_other = min(others) if others else None
        peer_name = "–" if not peer else peer[0] + (" (sampled)" if peer[2] else "")
        slower = (
            f"{auto['enc_MBps'] / best_max['enc_MBps']:.1f}x" if auto and best_max else "–"
        )
        exact = "yes" if auto and auto["exact"] and (not best_max or best_max["exact"]) else "NO"
        out.append(
            f"| {label} | {mb(data['raw_bytes'])} | {mb(auto and auto['bytes'])} "
            f"| {mb(best_max and best_max['bytes'])} | {peer_name} | {mb(peer and peer[1])} "
            f"| {mb(raw['xz -6'])} | {mb(raw['zstd -19'])} "
            f"| {ratio(auto and auto['bytes'], best_other)} "
            f"| {speed(auto)} | {best_max['enc_MBps'] if best_max else float('nan'):.1f} "
            f"| {slower} | {exact} |"
        )
    return out


def emb_bytes(label, effort):
    info = load(f"{label}.{effort}.info.json")
    return info and info["geoembed"]["file_bytes"]


def whole_tiles_table(names):
    """Embedding tiles as files: int8 + scales in one .emb against the smallest peer pair
    (the peer harness's best data peer + best scales peer) and xz/zstd on both arrays."""
    out = [
        "| tile | int8 + scales raw MB | .emb default MB | .emb max MB | best peer pair MB "
        "| xz -6 MB | zstd -19 MB | .emb / best other | scales share | scales bits/value |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label in names:
        peers = load("peers", label, "results.json")
        info = load(f"{label}.default.info.json")
        if not peers or "scales" not in peers["arrays"] or not info:
            continue
        pair = peers["best_total"]["bytes"]
        sizes = {
            name: (raw_sizes(label, "data")[name] or 0) + (raw_sizes(label, "scales")[name] or 0)
            for name in ("xz -6", "zstd -19")
        }
        default, best_max = emb_bytes(label, "default"), emb_bytes(label, "max")
        scales = [p for p in info["geoembed"]["planes"] if p["name"] == "scales"]
        share = f"{scales[0]['share_of_file'] * 100:.1f}%" if scales else "–"
        bits = f"{scales[0]['bits_per_sample']:.2f}" if scales else "–"
        raw = peers["best_total"]["raw"]
        out.append(
            f"| {label} | {mb(raw)} | {mb(default)} | {mb(best_max)} | {mb(pair)} "
            f"| {mb(sizes['xz -6'])} | {mb(sizes['zstd -19'])} "
            f"| {ratio(default, min(pair, *sizes.values()))} | {share} | {bits} |"
        )
    return out


def dequantised_table():
    """The float32 downloads against the int8 + scales .emb of the same tile."""
    out = [
        "| float32 download | raw MB | .emb MB | int8 + scales .emb MB | ratio | scales inside "
        "(bits/value) | int8 + scales' scale plane (bits/value) | exact |",
        "|---|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for label, source in [("deq_presto_s2", "presto_s2"), ("deq_proxy", "proxy")]:
        info, twin = load(f"{label}.default.info.json"), load(f"{source}.default.info.json")
        rows = geoembed_rows(label)
        if not info or not twin:
            continue
        inside = info["geoembed"].get("dequant_scales") or {}
        plane = [p for p in twin["geoembed"]["planes"] if p["name"] == "scales"]
        exact = "yes" if rows.get("auto", {}).get("exact") else "–"
        size, twin_size = info["geoembed"]["file_bytes"], twin["geoembed"]["file_bytes"]
        out.append(
            f"| {label} | {mb(info['geoembed']['raw_bytes'])} | {mb(size)} | {mb(twin_size)} "
            f"| {ratio(size, twin_size)} | {inside.get('bits_per_value', float('nan')):.2f} "
            f"| {plane[0]['bits_per_sample'] if plane else float('nan'):.2f} | {exact} |"
        )
    return out


def main():
    names = labels()
    run = {}
    if os.path.exists(os.path.join(OUT, "run_info.txt")):
        with open(os.path.join(OUT, "run_info.txt")) as f:
            run = dict(line.strip().split("=", 1) for line in f if "=" in line)
    lines = [
        "## Embedding files as users hold them, smooth grids, DEMs and climate grids (issue 13)",
        "",
        f"One run of `scripts/bench_embed.sh` on this machine (2 cores), {run.get('date', '?')}, "
        f"{run.get('geoembed', 'geoembed')} at commit {run.get('commit', '?')}; load average "
        f"{run.get('load_before', '?')} before and {run.get('load_after', '?')} after geoembed's "
        "part. geoembed: `geoembed bench --codecs auto,auto:max --threads 1 --reps 5` in "
        f"{run.get('rounds', '1')} rounds over every file, each speed the median of the "
        "rounds' (their range in brackets); peers: "
        "`../shared/bench/peerbench.py` (one thread; peers over their time cap are measured "
        "on a sample of rows and marked *sampled*: their size is extrapolated); xz -6 and "
        "zstd -19 (one thread) on the raw pixel-interleaved array. MB = 10^6 bytes.",
        "",
        "**Bands** (for embedding tiles the int8 codes; the scales are in the next table):",
        "",
        *bands_table(names),
        "",
        "**Embedding tiles as files** (int8 codes + float32 per-pixel scales; geoembed: one "
        "`.emb` from `geoembed convert TILE.npy --scales TILE_scales.npy`, default and max "
        "effort; peer pair: the harness's smallest data peer plus its smallest scales peer):",
        "",
        *whole_tiles_table(names),
        "",
        "**Dequantised float32 downloads** (float32(q) x scale per pixel, as GeoTessera serves "
        "them, written by GDAL) against the int8 + scales `.emb` of the same tile:",
        "",
        *dequantised_table(),
    ]
    print("\n".join(lines))


main()
