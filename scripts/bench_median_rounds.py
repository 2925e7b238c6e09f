#!/usr/bin/env python3
"""Merges the `geoembed bench --json` results of several rounds over the same file into one:
every speed the median of the rounds' (each already a median of its timings), the rounds'
speeds kept beside it. The sizes must agree across rounds (the encoder is deterministic).

    bench_median_rounds.py OUT.json ROUND1.json ROUND2.json ...
"""
import json
import statistics
import sys

SPEEDS = ("enc_MBps", "dec_MBps", "dec_parallel_MBps")


def merge(rounds):
    merged = rounds[0]
    for r, result in enumerate(merged["results"]):
        for m, row in enumerate(result["rows"]):
            same = [rnd["results"][r]["rows"][m] for rnd in rounds]
            sizes = {s["bytes"] for s in same}
            if len(sizes) != 1:
                sys.exit(f"{result['file']} {row['method']}: sizes differ across rounds: {sizes}")
            for key in SPEEDS:
                values = [s[key] for s in same if s.get(key) is not None]
                if values:
                    row[key] = statistics.median(values)
                    row[key + "_rounds"] = values
    merged["rounds"] = len(rounds)
    return merged


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    if not paths:
        sys.exit("no rounds to merge")
    rounds = [json.load(open(p)) for p in paths]
    with open(out, "w") as f:
        json.dump(merge(rounds), f, indent=1)


if __name__ == "__main__":
    main()
