#!/usr/bin/env bash
# The main job on a bundled real raster: AVIRIS hyperspectral (Jasper Ridge, 198 bands,
# uint16; provenance in fixtures/README.md) → .emb → GeoTIFF, with sizes and a bit-exact
# check made by GDAL itself (both rasters dumped to raw ENVI and compared byte for byte);
# then installs the GDAL plugin driver and reads the .emb with gdal_translate directly.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet
G=${CARGO_TARGET_DIR:-target}/release/geoembed
SRC=fixtures/uint16_198b_aviris_jasper_ridge_crop.tif
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
$G convert "$SRC" "$OUT/jasper.emb"
$G convert "$OUT/jasper.emb" "$OUT/jasper_back.tif"
$G verify "$OUT/jasper.emb"
gdal_translate -q -of ENVI "$SRC" "$OUT/a.raw"
gdal_translate -q -of ENVI "$OUT/jasper_back.tif" "$OUT/b.raw"
raw=$(stat -c %s "$OUT/a.raw")
tif=$(stat -c %s "$SRC")
emb=$(stat -c %s "$OUT/jasper.emb")
echo
echo "raw samples           : $raw bytes"
echo "source GeoTIFF        : $tif bytes ($SRC, DEFLATE+PREDICTOR=2)"
echo "geoembed .emb         : $emb bytes (ratio $(awk "BEGIN{printf \"%.3f\", $raw/$emb}") vs raw, $(awk "BEGIN{printf \"%.1f\", 100*(1-$emb/$tif)}")% smaller than the GeoTIFF)"
if cmp -s "$OUT/a.raw" "$OUT/b.raw"; then
  echo "round trip            : bit-exact (GDAL reads identical samples from source and .emb → GeoTIFF)"
else
  echo "round trip            : MISMATCH" >&2
  exit 1
fi
# The same file through GDAL itself, with the plugin driver installed.
bash scripts/install_driver.sh
gdal_translate -q -of ENVI "$OUT/jasper.emb" "$OUT/c.raw"
if cmp -s "$OUT/a.raw" "$OUT/c.raw"; then
  echo "GDAL plugin           : gdal_translate reads the .emb directly, bit-exact ($(gdalinfo "$OUT/jasper.emb" | head -1))"
else
  echo "GDAL plugin           : MISMATCH" >&2
  exit 1
fi
