#!/usr/bin/env bash
# Issue 4: geoembed's lossless float / wide-integer coding beside the peer harness
# (../shared/bench/peerbench.py) on real float32/float64 and int16/int32/uint16 rasters,
# in one run on this machine. Writes OUT/report.md (scripts/bench_float_report.py) and puts
# it into docs/benchmarks.md between the lines <!-- float-bench:start --> and
# <!-- float-bench:end --> (appended at the end if they are absent). Not part of the test
# suite. Run as root on Debian 12.
#
# From scratch on the 2-core dev VM: about 25-30 min (setup and a clean release build a few
# minutes, the synthetic tile 1 min, geoembed 4 min, the peers 16 min). Reusing the peer
# results of an earlier run (PEERS_DIR, SETUP=0): about 5 min. The report gives the measured
# times of each part.
#
#   SHARED=../shared        where the data and the peer harness live
#   OUT=target/bench_float  raw results: OUT/LABEL.geoembed.{json,md}, OUT/peers/LABEL/
#   METHODS=auto,auto:max,float,float:max,png128
#                           what `geoembed bench --codecs` measures; an unknown codec name
#                           stops the run before anything is measured
#   PEERS_DIR=DIR           reuse DIR/LABEL/results.json of an earlier peer run (linked into
#                           OUT/peers); peers are run only for labels found in neither place
#   PEERBENCH_VENV=DIR      the peer harness's venv (default target/peerbench-venv)
#   SETUP=0                 skip scripts/setup.sh and the peer venv setup (already done)
#   ALLOW_BUSY=1            measure even though another peerbench.py is running (timings
#                           will be noisy; without it the script refuses)
#   DOC=docs/benchmarks.md  the file that gets the report between the markers
#   DOCS=0                  leave DOC alone (OUT/report.md only)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
OUT=${OUT:-target/bench_float}
METHODS=${METHODS:-auto,auto:max,float,float:max,png128}
PEERS_DIR=${PEERS_DIR:-}
SETUP=${SETUP:-1}
ALLOW_BUSY=${ALLOW_BUSY:-0}
DOC=${DOC:-docs/benchmarks.md}
DOCS=${DOCS:-1}
say() { echo "bench_float: $*" >&2; }
die() { say "$*"; exit 1; }

[ -f "$SHARED/bench/peerbench.py" ] || die "no peer harness at $SHARED/bench"
D="$SHARED/data"
export PATH="$HOME/.cargo/bin:$PATH"
export PEERBENCH_VENV=${PEERBENCH_VENV:-$PWD/target/peerbench-venv}
mkdir -p "$OUT/data" "$OUT/peers"
if [ "$SETUP" != 0 ]; then
  bash scripts/setup.sh
  bash "$SHARED/bench/setup.sh" >"$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log" >&2; die "peer venv setup failed"; }
fi
PY="$PEERBENCH_VENV/bin/python"
[ -x "$PY" ] || die "no peer venv at $PEERBENCH_VENV (run without SETUP=0, or set PEERBENCH_VENV)"
cargo build --release -q -p geoembed-cli
# A copy, so that a rebuild in the shared target/ during the run cannot swap the binary.
cp "${CARGO_TARGET_DIR:-target}/release/geoembed" "$OUT/geoembed"
G=$OUT/geoembed
{
  echo "commit=$(git rev-parse --short HEAD)"
  echo "uncommitted=$(git status --porcelain --untracked-files=all -- crates Cargo.toml Cargo.lock | awk '{print $2}' | tr '\n' ' ')"
  echo "methods=$METHODS"
  echo "geoembed=$("$G" --version)"
} >"$OUT/run_info.txt"
# GDAL must not write .aux.xml statistics beside the inputs.
export GDAL_PAM_ENABLED=NO

# Every method name must parse before anything is measured (e.g. `float` before that codec
# has landed): a short run on the smallest raster.
if ! err=$("$G" bench "$D/dem/landlab/pre_runout_DEM.asc" --codecs "$METHODS" --no-gdal --reps 1 -q 2>&1 >/dev/null); then
  printf '%s\n' "$err" >&2
  die "geoembed bench does not accept METHODS=$METHODS (is every codec built into $G?)"
fi

busy() { # another peer run would disturb every timing taken now
  if pgrep -f 'peerbench[.]py' >/dev/null 2>&1; then
    [ "$ALLOW_BUSY" = 1 ] && { say "WARNING: another peerbench.py is running; timings are noisy"; return 0; }
    die "another peerbench.py is running (pgrep -af peerbench.py); wait for it or set ALLOW_BUSY=1"
  fi
}

# --- inputs
# aras-p's float_compr_tester float4 file: raw little-endian float32, 232630 x 4, as a
# 1 x 232630 x 4 (H, W, C) .npy for both geoembed and the peers (bytes unchanged).
if [ ! -f "$OUT/data/float4.npy" ]; then
  python3 - "$D/float_compr_tester/232630_float4.bin" "$OUT/data/float4.npy" <<'EOF'
import hashlib, os, sys
src, dst = sys.argv[1:3]
data = open(src, "rb").read()
if len(data) != 232630 * 4 * 4 or hashlib.md5(data).hexdigest() != "3b108cf0bf4d8099e2b0c4feeca9b7a0":
    sys.exit(f"{src}: not the expected 232630 x 4 float32 file (size or MD5 differs)")
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 232630, 4), }"
hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"  # NumPy 1.0: 64-byte aligned data
with open(dst + ".tmp", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr.encode("latin1") + data)
os.replace(dst + ".tmp", dst)
EOF
fi
# The float32 per-pixel scales of the SYNTHETIC GeoTessera-like proxy tile (1000 x 750): the
# generator is deterministic, so every run measures the same array.
[ -f "$OUT/data/synth_emb_scales.npy" ] ||
  "$PY" "$SHARED/data/embeddings/make_embedding_tile.py" "$OUT/data" >"$OUT/data/make_embedding_tile.log"

# label | input (the order of the report's tables)
sets=(
  "pre_runout|$D/dem/landlab/pre_runout_DEM.asc"
  "exampleDEM|$D/dem/topotoolbox/exampleDEM.txt"
  "era5_t2m|$D/climate/xarray-data/era5-2mt-2019-03-uk.grib"
  "float4|$OUT/data/float4.npy"
  "tessera_scales|$OUT/data/synth_emb_scales.npy"
  "srtmgl3_i32|$D/dem/landlab/SRTMGL3_40.09_-105.55_40.209999999999994_-105.35000000000001.asc"
  "west_bijou_i32|$D/dem/landlab/west_bijou_escarpment_snippet.asc"
  "pysheds|$D/dem/pysheds/dem.tif"
  "N10W110|/vsizip/$(realpath "$D")/dem/rasterio/N10W110.hgt.zip/N10W110.hgt"
  "N44W072|$D/dem/srtm.py/N44W072.hgt"
  "N19W155|$D/dem/srtm.py/extracted/N19W155.hgt"
  "N22W160|$D/dem/srtm.py/extracted/N22W160.hgt"
  "S16E166|$D/dem/srtm.py/extracted/S16E166.hgt"
  "bigtujunga|$D/dem/topotoolbox/srtm_bigtujunga30m_utm11.tif"
  "tmmx|$D/climate/rioxarray/tmmx_20190121.nc"
  "eraint_z|NETCDF:\"$D/climate/xarray-data/eraint_uvz.nc\":z"
  "eraint_u|NETCDF:\"$D/climate/xarray-data/eraint_uvz.nc\":u"
  "eraint_v|NETCDF:\"$D/climate/xarray-data/eraint_uvz.nc\":v"
)

# --- geoembed first: its timings want a quiet machine.
busy
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$OUT/run_info.txt"
failed=()
t0=$SECONDS
for s in "${sets[@]}"; do
  IFS='|' read -r label input <<<"$s"
  say "$label: geoembed"
  rm -f "$OUT/$label.geoembed.json"
  # GTiff ZSTD22 + predictor is read through GDAL in the same process, right beside the
  # codecs: decode speeds on this VM drift by tens of percent between runs.
  if ! "$G" bench "$input" --codecs "$METHODS" --gdal DEFLATE9,ZSTD22 --json "$OUT/$label.geoembed.json" -q \
    >"$OUT/$label.geoembed.md" 2>"$OUT/$label.geoembed.err"; then
    cat "$OUT/$label.geoembed.err" >&2
    failed+=("$label (geoembed)")
  fi
done
printf 'geoembed_s=%s\nload_after=%s\n' "$((SECONDS - t0))" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/run_info.txt"

# --- then the peers, at full size (no row sampling), single-threaded. --budget/--peer-cap
# only matter without --full; they are the values of the stored run.
for s in "${sets[@]}"; do
  IFS='|' read -r label input <<<"$s"
  dst="$OUT/peers/$label"
  if [ -f "$dst/results.json" ]; then
    say "$label: peers: reusing $dst"
    continue
  fi
  if [ -n "$PEERS_DIR" ] && [ -f "$PEERS_DIR/$label/results.json" ]; then
    say "$label: peers: reusing $PEERS_DIR/$label"
    [ ! -e "$dst" ] || [ -L "$dst" ] || die "$dst exists without results.json; remove it first"
    ln -sfn "$(realpath "$PEERS_DIR/$label")" "$dst"
    continue
  fi
  busy
  say "$label: peers (full size)"
  # The harness takes file paths only: a GDAL dataset name (/vsizip/..., NETCDF:"f.nc":var)
  # goes to it as a VRT of the same dataset.
  if [ ! -f "$input" ]; then
    gdal_translate -q -of VRT "$input" "$OUT/data/$label.vrt"
    input=$OUT/data/$label.vrt
  fi
  if ! "$PY" "$SHARED/bench/peerbench.py" "$input" --full --budget 900 --peer-cap 120 \
    --out "$dst" --label "$label" >"$OUT/peers/$label.log" 2>&1; then
    tail -20 "$OUT/peers/$label.log" >&2
    failed+=("$label (peers)")
  fi
done

python3 scripts/bench_float_report.py "$OUT" >"$OUT/report.md"
say "wrote $OUT/report.md"
if [ ${#failed[@]} -gt 0 ]; then
  die "FAILED: ${failed[*]} ($DOC left unchanged)"
fi
if [ "$DOCS" != 0 ]; then
  python3 scripts/put_report.py "$DOC" "$OUT/report.md" float-bench
  say "updated $DOC (between the float-bench markers)"
fi
