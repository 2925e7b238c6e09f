#!/usr/bin/env bash
# Regenerates docs/benchmarks.md: `geoembed bench` beside the peer harness
# (../shared/bench/peerbench.py) on the rasters the native codec is measured on, in one run
# on this machine. Slow (about an hour, mostly JPEG XL at effort 9); not
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
cargo build --release -q -p geoembed-cli
G=${CARGO_TARGET_DIR:-target}/release/geoembed
mkdir -p "$OUT/data" "$OUT/peers"

# The synthetic GeoTessera-like proxy tile (1000 x 750 x 128 int8 + scales): the generator
# is deterministic, so every run measures the same array.
[ -f "$OUT/data/synth_emb_int8.npy" ] || "$PY" "$SHARED/data/embeddings/make_embedding_tile.py" "$OUT/data" >/dev/null

D="$SHARED/data"
# label | input. Every peer runs at full size except on the 96 MB proxy tile, where the
# harness samples its slowest peers (JPEG XL per band at e9 alone would take hours); the key
# peers of the checks (png128, decor+jxl e7/e9, GTiff DEFLATE) then run again at full size
# as "emb_full", whose rows take precedence in the report.
sets=(
  "emb|$OUT/data/synth_emb_int8.npy"
  "jasper|$D/hyperspectral/MeiShaohui_SVASU/jasperRidge2_R198_Y_HxWxC.npy"
  "rgb|$D/multispectral/rasterio/RGB.byte.tif"
  "rgba|$D/multispectral/rasterio/RGBA.uint16.tif"
  "srtm|$D/dem/srtm.py/N44W072.hgt"
)
methods=native:fast,native,native:max,auto,auto:max,png128,decorrelate+png128,jxl,decorrelate+jxl
# geoembed first: its timings (including the 2-thread decode) want a quiet machine.
for s in "${sets[@]}"; do
  IFS='|' read -r label input <<<"$s"
  echo "bench: $label: geoembed" >&2
  "$G" bench "$input" --codecs "$methods" --parallel 2 --json "$OUT/$label.geoembed.json" -q \
    >"$OUT/$label.geoembed.md"
done
# The seed's png128 configured like the harness's peer (faithfulness check of issue #2).
cargo run --release -q -p geoembed-codec --example png128_harness -- "$OUT/data/synth_emb_int8.npy" \
  >"$OUT/emb.png128_harness.json"
peer() { # label input args...
  local label=$1 input=$2
  shift 2
  echo "bench: $label: peers" >&2
  "$PY" "$SHARED/bench/peerbench.py" "$input" "$@" --out "$OUT/peers/$label" --label "$label" \
    >"$OUT/peers/$label.log" 2>&1
}
for s in "${sets[@]}"; do
  IFS='|' read -r label input <<<"$s"
  if [ "$label" = emb ]; then peer "$label" "$input"; else peer "$label" "$input" --full; fi
done
peer emb_full "$OUT/data/synth_emb_int8.npy" --full --only 'decor\+jxl:extra-ch|png128:paeth-bpp=C|DEFLATE'
python3 scripts/bench_report.py "$OUT" >docs/benchmarks.md
echo "bench: wrote docs/benchmarks.md" >&2
