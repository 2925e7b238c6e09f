#!/usr/bin/env bash
# Issue 13: geoembed on embedding files as users hold them (int8 + scales, GeoTessera's and a
# synthetic proxy's float32 downloads, repeated vectors), smooth interpolated grids and the
# DEMs and climate grids of docs/benchmarks.md, beside ../shared/bench/peerbench.py and
# `xz -6` / `zstd -19` on each raw pixel-interleaved array, in one run on this machine.
# Writes OUT/report.md (scripts/bench_embed_report.py) and puts it into docs/benchmarks.md
# between <!-- embed-bench:start --> and <!-- embed-bench:end -->. Not part of the tests.
#
#   SHARED=../shared          data and peer harness
#   PROXY=/work/bench/proxy   the synthetic proxy tile (seed 1): synth_emb_int8.npy + _scales
#   OUT=target/bench_embed    results: OUT/LABEL.*.json, OUT/peers/LABEL/, OUT/raw/LABEL.*
#   STAGES="data peers raw geoembed report"   what to run (peers and raw compressors take
#                             most of an hour; geoembed wants the quietest machine)
#   PEERBENCH_VENV=DIR        the harness's venv (default target/peerbench-venv)
#   DOCS=0                    leave docs/benchmarks.md alone
#   ROUNDS=3                  passes of geoembed's timings (each speed: the median of the rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
PROXY=${PROXY:-/work/bench/proxy}
OUT=${OUT:-target/bench_embed}
STAGES=${STAGES:-data peers raw geoembed report}
DOC=${DOC:-docs/benchmarks.md}
DOCS=${DOCS:-1}
ROUNDS=${ROUNDS:-3}
export PEERBENCH_VENV=${PEERBENCH_VENV:-$PWD/target/peerbench-venv}
PY="$PEERBENCH_VENV/bin/python"
D="$SHARED/data"
P="$D/embeddings/presto"
say() { echo "bench_embed: $*" >&2; }
stage() { [[ " $STAGES " == *" $1 "* ]]; }
mkdir -p "$OUT/data" "$OUT/peers" "$OUT/raw"
export GDAL_PAM_ENABLED=NO

# label | input | scales (embedding tiles: int8 + per-pixel scales) — the report's order
sets=(
  "presto_s2|$P/presto_s2_int8.npy|$P/presto_s2_scales.npy"
  "presto_eol|$P/presto_eol_int8.npy|$P/presto_eol_scales.npy"
  "proxy|$PROXY/synth_emb_int8.npy|$PROXY/synth_emb_scales.npy"
  "rep_presto_s2|$OUT/data/rep_presto_s2_int8.npy|$OUT/data/rep_presto_s2_scales.npy"
  "deq_presto_s2|$OUT/data/deq_presto_s2.tif|"
  "deq_proxy|$OUT/data/deq_proxy.tif|"
  "era5_interp|$OUT/data/era5_interp.npy|"
  "era5_anomaly|$OUT/data/era5_anomaly.npy|"
  "pre_runout|$D/dem/landlab/pre_runout_DEM.asc|"
  "exampleDEM|$D/dem/topotoolbox/exampleDEM.txt|"
  "era5_t2m|$D/climate/xarray-data/era5-2mt-2019-03-uk.grib|"
  "srtmgl3_i32|$D/dem/landlab/SRTMGL3_40.09_-105.55_40.209999999999994_-105.35000000000001.asc|"
  "west_bijou_i32|$D/dem/landlab/west_bijou_escarpment_snippet.asc|"
  "pysheds|$D/dem/pysheds/dem.tif|"
  "N44W072|$D/dem/srtm.py/N44W072.hgt|"
  "N19W155|$D/dem/srtm.py/extracted/N19W155.hgt|"
  "N22W160|$D/dem/srtm.py/extracted/N22W160.hgt|"
  "S16E166|$D/dem/srtm.py/extracted/S16E166.hgt|"
  "bigtujunga|$D/dem/topotoolbox/srtm_bigtujunga30m_utm11.tif|"
  "tmmx|$D/climate/rioxarray/tmmx_20190121.nc|"
  "eraint_z|NETCDF:\"$D/climate/xarray-data/eraint_uvz.nc\":z|"
  "eraint_u|NETCDF:\"$D/climate/xarray-data/eraint_uvz.nc\":u|"
  "eraint_v|NETCDF:\"$D/climate/xarray-data/eraint_uvz.nc\":v|"
)

if stage data; then
  [ -x "$PY" ] || bash "$SHARED/bench/setup.sh" >"$OUT/setup.log" 2>&1
  "$PY" scripts/bench_embed_data.py "$D" "$PROXY" "$OUT/data"
fi

# A GDAL dataset name goes to the harness and the raw export as a VRT of the same dataset.
file_of() {
  local label=$1 input=$2
  if [ -f "$input" ]; then echo "$input"; return; fi
  [ -f "$OUT/data/$label.vrt" ] || gdal_translate -q -of VRT "$input" "$OUT/data/$label.vrt"
  echo "$OUT/data/$label.vrt"
}

if stage peers; then
  for s in "${sets[@]}"; do
    IFS='|' read -r label input scales <<<"$s"
    [ -f "$OUT/peers/$label/results.json" ] && { say "$label: peers: reusing"; continue; }
    say "$label: peers"
    args=("$(file_of "$label" "$input")" --budget 900 --peer-cap 120 --out "$OUT/peers/$label" --label "$label")
    [ -n "$scales" ] && args+=(--scales "$scales")
    "$PY" "$SHARED/bench/peerbench.py" "${args[@]}" >"$OUT/peers/$label.log" 2>&1 ||
      { tail -5 "$OUT/peers/$label.log" >&2; say "$label: peers FAILED"; }
  done
fi

# xz -6 and zstd -19 on the raw pixel-interleaved array (and on the scales), one thread.
if stage raw; then
  for s in "${sets[@]}"; do
    IFS='|' read -r label input scales <<<"$s"
    [ -f "$OUT/raw/$label.json" ] && continue
    say "$label: xz -6, zstd -19"
    "$PY" - "$(file_of "$label" "$input")" "$scales" "$OUT/raw/$label" <<'EOF'
import json, subprocess, sys, time
import numpy as np
src, scales, dst = sys.argv[1:4]
def array(path):
    if path.endswith(".npy"):
        return np.load(path)
    import rasterio
    with rasterio.open(path) as d:
        return np.moveaxis(d.read(), 0, -1)
result = {}
for part, path in [("data", src), ("scales", scales)]:
    if not path:
        continue
    raw = np.ascontiguousarray(array(path)).tobytes()
    for name, cmd in [("xz -6", ["xz", "-6", "-T1", "-c"]), ("zstd -19", ["zstd", "-19", "-T1", "-c", "-q"])]:
        t = time.perf_counter()
        size = len(subprocess.run(cmd, input=raw, capture_output=True, check=True).stdout)
        result[f"{part}:{name}"] = {"bytes": size, "raw": len(raw), "seconds": time.perf_counter() - t}
json.dump(result, open(dst + ".json", "w"), indent=1)
EOF
  done
fi

if stage geoembed; then
  cargo build --release -q -p geoembed-cli
  cp "${CARGO_TARGET_DIR:-target}/release/geoembed" "$OUT/geoembed"
  G=$OUT/geoembed
  {
    echo "commit=$(git rev-parse --short HEAD)"
    echo "geoembed=$("$G" --version)"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "rounds=$ROUNDS"
  } >"$OUT/run_info.txt"
  t0=$SECONDS
  rm -f "$OUT"/*.bench.[0-9]*.json
  # Timings in ROUNDS passes over every file, each file's speeds the median of its rounds:
  # on this shared machine slow spells of seconds to minutes took single passes' speeds
  # down by a fifth (presto_s2 19.5-27.5 MB/s within a minute, the same binary).
  for round in $(seq "$ROUNDS"); do
    for s in "${sets[@]}"; do
      IFS='|' read -r label input scales <<<"$s"
      say "$label: geoembed (round $round of $ROUNDS)"
      "$G" bench "$input" --codecs auto,auto:max --no-gdal --threads 1 --reps 5 \
        --json "$OUT/$label.bench.$round.json" -q >"$OUT/$label.bench.md" 2>"$OUT/$label.bench.err" ||
        say "$label: geoembed bench FAILED"
    done
  done
  for s in "${sets[@]}"; do
    IFS='|' read -r label input scales <<<"$s"
    python3 scripts/bench_median_rounds.py "$OUT/$label.bench.json" "$OUT/$label.bench".*.json
    # Embedding tiles as files: int8 + scales .emb (default and max effort), one thread.
    if [ -n "$scales" ]; then
      for effort in default max; do
        start=$(date +%s.%N)
        "$G" --threads 1 -q convert "$input" "$OUT/$label.$effort.emb" --scales "$scales" \
          --effort "$effort" --overwrite
        end=$(date +%s.%N)
        "$G" info "$OUT/$label.$effort.emb" --json >"$OUT/$label.$effort.info.json"
        echo "$label $effort $(echo "$end - $start" | bc)" >>"$OUT/convert_times.txt"
      done
    elif [[ "$label" == deq_* ]]; then
      "$G" --threads 1 -q convert "$input" "$OUT/$label.default.emb" --overwrite
      "$G" info "$OUT/$label.default.emb" --json >"$OUT/$label.default.info.json"
    fi
  done
  printf 'geoembed_s=%s\nload_after=%s\n' "$((SECONDS - t0))" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/run_info.txt"
fi

if stage report; then
  python3 scripts/bench_embed_report.py "$OUT" >"$OUT/report.md"
  say "wrote $OUT/report.md"
  if [ "$DOCS" != 0 ]; then
    python3 scripts/put_report.py "$DOC" "$OUT/report.md" embed-bench
    say "updated $DOC"
  fi
fi
