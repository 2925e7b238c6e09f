#!/usr/bin/env bash
# Regenerates docs/benchmarks.md: `geoembed bench` beside the peer harness
# (../shared/bench/peerbench.py) on the rasters the native codec is measured on, in one run
# on this machine. Slow (about 1.5 h: JPEG XL at effort 9 and the full-size peer runs); not
# part of the test suite. Run as root on Debian 12 from the repository root.
#   SHARED=../shared   where the data and the peer harness live
#   OUT=target/bench   scratch directory for the raw results
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
OUT=${OUT:-target/bench}
[ -f "$SHARED/bench/peerbench.py" ] || { echo "bench: no peer harness at $SHARED/bench" >&2; exit 1; }
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export PEERBENCH_VENV=${PEERBENCH_VENV:-$PWD/target/peerbench-venv}
bash "$SHARED/bench/setup.sh"
PY="$PEERBENCH_VENV/bin/python"
cargo build --release -q
G=target/release/geoembed
mkdir -p "$OUT/data" "$OUT/peers"

# The synthetic GeoTessera-like proxy tile (1000 x 750 x 128 int8 + scales): the generator
# is deterministic, so every run measures the same array.
[ -f "$OUT/data/synth_emb_int8.npy" ] || "$PY" "$SHARED/data/embeddings/make_embedding_tile.py" "$OUT/data" >/dev/null

D="$SHARED/data"
# label | input | peerbench extra arguments
sets=(
  "emb|$OUT/data/synth_emb_int8.npy|--full"
  "jasper|$D/hyperspectral/MeiShaohui_SVASU/jasperRidge2_R198_Y_HxWxC.npy|--full"
  "rgb|$D/multispectral/rasterio/RGB.byte.tif|--full"
  "rgba|$D/multispectral/rasterio/RGBA.uint16.tif|--full"
  "srtm|$D/dem/srtm.py/N44W072.hgt|--full"
)
methods=native:fast,native,native:max,auto,auto:max,png128,decorrelate+png128,jxl,decorrelate+jxl
for s in "${sets[@]}"; do
  IFS='|' read -r label input extra <<<"$s"
  echo "bench: $label: geoembed" >&2
  "$G" bench "$input" --codecs "$methods" --parallel 2 --json "$OUT/$label.geoembed.json" -q \
    >"$OUT/$label.geoembed.md"
  echo "bench: $label: peers" >&2
  # shellcheck disable=SC2086
  "$PY" "$SHARED/bench/peerbench.py" "$input" $extra --out "$OUT/peers/$label" --label "$label" \
    >"$OUT/peers/$label.log" 2>&1
done
python3 scripts/bench_report.py "$OUT" >docs/benchmarks.md
echo "bench: wrote docs/benchmarks.md" >&2
