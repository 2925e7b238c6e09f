#!/usr/bin/env bash
# Peak memory (RSS) and speed of `geoembed convert` both ways and of `gdal_translate` reading
# `.emb` through the plugin (with GDAL's default block cache, 5% of RAM, and with 64 MB), at
# 128 MB, 512 MB and 2 GB rasters of two kinds: an int16 DEM and a 128-band int8 embedding
# (GitHub issue 15: peak RSS must not grow with the raster).
#
# The rasters are made here, outside the repository, by mosaicking the proxy rasters of
# ../bench/proxy (synth_dem_f32.tif scaled to decimetres as int16, synth_emb_int8.tif) with a
# VRT and writing them as tiled, uncompressed GeoTIFF; kind `presto` mosaics a real Presto
# embedding tile (../shared/data/embeddings/presto/presto_s2_int8.npy, 300 x 300 x 128) the
# same way. Everything big goes to $BENCH_DIR
# (default /work/bench/memory) and is deleted at the end unless KEEP=1.
#
#   bash scripts/bench_memory.sh                    # all sizes, prints a Markdown table
#   SIZES="128 512" bash scripts/bench_memory.sh    # MiB of samples per raster
#   KINDS=emb SIZES=2048 bash scripts/bench_memory.sh   # one kind (dem, emb, presto)
#
# Needs: a release build (cargo build --release -p geoembed-cli -p geoembed-gdal-driver;
# CARGO_TARGET_DIR is honoured), gdal-bin, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
GEOEMBED=${GEOEMBED:-$TARGET/release/geoembed}
PLUGIN=${PLUGIN:-$TARGET/release/libgdal_GeoEmbed.so}
PROXY=${PROXY:-/work/bench/proxy}
PRESTO=${PRESTO:-../shared/data/embeddings/presto/presto_s2_int8.npy}
BENCH_DIR=${BENCH_DIR:-/work/bench/memory}
SIZES=${SIZES:-"128 512 2048"}
KINDS=${KINDS:-"dem emb presto"}
mkdir -p "$BENCH_DIR/plugin"
cp "$PLUGIN" "$BENCH_DIR/plugin/gdal_GeoEmbed.so"
export GDAL_DRIVER_PATH="$BENCH_DIR/plugin"

# A VRT repeating SOURCE (W x H, BANDS bands) to fill OUT_W x OUT_H.
mosaic_vrt() {
    local source=$1 w=$2 h=$3 bands=$4 out_w=$5 out_h=$6 type=$7 signed=$8
    python3 - "$source" "$w" "$h" "$bands" "$out_w" "$out_h" "$type" "$signed" <<'EOF'
import sys
src, w, h, bands, ow, oh, ty, signed = sys.argv[1], *map(int, sys.argv[2:7]), sys.argv[7], sys.argv[8] == "1"
out = [f'<VRTDataset rasterXSize="{ow}" rasterYSize="{oh}">']
for b in range(1, bands + 1):
    out.append(f'<VRTRasterBand dataType="{ty}" band="{b}">')
    if signed:
        out.append('<Metadata domain="IMAGE_STRUCTURE"><MDI key="PIXELTYPE">SIGNEDBYTE</MDI></Metadata>')
    for y in range(0, oh, h):
        for x in range(0, ow, w):
            cw, ch = min(w, ow - x), min(h, oh - y)
            out.append(
                f'<SimpleSource><SourceFilename relativeToVRT="0">{src}</SourceFilename>'
                f'<SourceBand>{b}</SourceBand><SrcRect xOff="0" yOff="0" xSize="{cw}" ySize="{ch}"/>'
                f'<DstRect xOff="{x}" yOff="{y}" xSize="{cw}" ySize="{ch}"/></SimpleSource>')
    out.append('</VRTRasterBand>')
out.append('</VRTDataset>')
print("\n".join(out))
EOF
}

# The rasters: dem_<MiB>.tif (int16, 1 band), emb_<MiB>.tif and presto_<MiB>.tif (int8,
# 128 bands).
make_rasters() {
    local mib=$1
    local dem="$BENCH_DIR/dem_${mib}.tif" emb="$BENCH_DIR/emb_${mib}.tif"
    local presto="$BENCH_DIR/presto_${mib}.tif"
    if [[ " $KINDS " == *" presto "* && ! -f "$presto" ]]; then
        if [ ! -f "$BENCH_DIR/presto_s2.tif" ]; then
            /usr/bin/python3 - "$PRESTO" "$BENCH_DIR/presto_s2.tif" <<'PYEOF'
import sys
import numpy as np
from osgeo import gdal
codes = np.load(sys.argv[1])
h, w, bands = codes.shape
ds = gdal.GetDriverByName("GTiff").Create(sys.argv[2], w, h, bands, gdal.GDT_Byte,
                                          ["TILED=YES", "PIXELTYPE=SIGNEDBYTE"])
for b in range(bands):
    ds.GetRasterBand(b + 1).WriteArray(codes[:, :, b].view(np.uint8))
PYEOF
        fi
        local edge
        edge=$(python3 -c "import math; print(int(math.sqrt($mib * 2**20 / 128)))")
        mosaic_vrt "$BENCH_DIR/presto_s2.tif" 300 300 128 "$edge" "$edge" Byte 1 >"$BENCH_DIR/presto_${mib}.vrt"
        gdal_translate -q -co TILED=YES -co BIGTIFF=YES -co PIXELTYPE=SIGNEDBYTE \
            "$BENCH_DIR/presto_${mib}.vrt" "$presto"
    fi
    if [ ! -f "$BENCH_DIR/dem_i16.tif" ]; then
        gdal_translate -q -ot Int16 -scale 0 2500 0 25000 "$PROXY/synth_dem_f32.tif" "$BENCH_DIR/dem_i16.tif"
    fi
    if [ ! -f "$dem" ]; then
        local edge
        edge=$(python3 -c "import math; print(int(math.sqrt($mib * 2**20 / 2)))")
        mosaic_vrt "$BENCH_DIR/dem_i16.tif" 2000 2000 1 "$edge" "$edge" Int16 0 >"$BENCH_DIR/dem_${mib}.vrt"
        gdal_translate -q -co TILED=YES -co BIGTIFF=YES "$BENCH_DIR/dem_${mib}.vrt" "$dem"
    fi
    if [ ! -f "$emb" ]; then
        local edge
        edge=$(python3 -c "import math; print(int(math.sqrt($mib * 2**20 / 128)))")
        mosaic_vrt "$PROXY/synth_emb_int8.tif" 750 1000 128 "$edge" "$edge" Byte 1 >"$BENCH_DIR/emb_${mib}.vrt"
        gdal_translate -q -co TILED=YES -co BIGTIFF=YES -co PIXELTYPE=SIGNEDBYTE \
            "$BENCH_DIR/emb_${mib}.vrt" "$emb"
    fi
}

# Runs a command; prints "seconds peak_rss_bytes".
measure() {
    /usr/bin/time -f "%e %M" -o "$BENCH_DIR/time.txt" "$@" >/dev/null 2>"$BENCH_DIR/stderr.txt" || {
        cat "$BENCH_DIR/stderr.txt" >&2
        return 1
    }
    awk '{ printf "%s %d\n", $1, $2 * 1024 }' "$BENCH_DIR/time.txt"
}

# "RSS MB, MB/s" for `measure` output and the raster's bytes of samples.
cell() {
    awk -v bytes="$2" '{ printf "%.0f MB, %.0f MB/s", $2 / 1e6, bytes / 1e6 / $1 }' <<<"$1"
}

echo "| raster | samples | convert → .emb | convert .emb → GeoTIFF | gdal_translate .emb → GeoTIFF | same, GDAL_CACHEMAX=64 | reference: gdal_translate source GeoTIFF → GeoTIFF |"
echo "|---|---:|---|---|---|---|---|"
for mib in $SIZES; do
    make_rasters "$mib"
    for kind in $KINDS; do
        src="$BENCH_DIR/${kind}_${mib}.tif"
        out="$BENCH_DIR/${kind}_${mib}.emb"
        back="$BENCH_DIR/${kind}_${mib}_back.tif"
        gt="$BENCH_DIR/${kind}_${mib}_gt.tif"
        bytes=$(gdalinfo "$src" | python3 -c "
import re, sys
t = sys.stdin.read()
w, h = map(int, re.search(r'Size is (\d+), (\d+)', t).groups())
bands = len(re.findall(r'^Band \d+', t, re.M))
size = 2 if 'Type=Int16' in t else 1
print(w * h * bands * size)")
        rm -f "$out" "$out.json" "$back" "$gt"
        enc=$(measure "$GEOEMBED" -q convert "$src" "$out")
        dec=$(measure "$GEOEMBED" -q convert "$out" "$back")
        gtr=$(measure gdal_translate -q "$out" "$gt")
        rm -f "$gt"
        gtr64=$(measure gdal_translate -q --config GDAL_CACHEMAX 64 "$out" "$gt")
        rm -f "$gt"
        # GDAL's own cost of the same copy (its block cache holds the output's blocks).
        ref=$(measure gdal_translate -q "$src" "$gt")
        # Sample by sample, all bands of 256 rows at a time (gdalinfo -checksum goes band by
        # band, re-reading every pixel-interleaved block per band: hours at 2 GB x 128 bands).
        /usr/bin/python3 - "$src" "$back" <<'PYEOF' ||
import sys
from osgeo import gdal
a, b = (gdal.Open(p) for p in sys.argv[1:3])
assert (a.RasterXSize, a.RasterYSize, a.RasterCount) == (b.RasterXSize, b.RasterYSize, b.RasterCount)
for y in range(0, a.RasterYSize, 256):
    rows = min(256, a.RasterYSize - y)
    if a.ReadRaster(0, y, a.RasterXSize, rows) != b.ReadRaster(0, y, b.RasterXSize, rows):
        sys.exit(1)
PYEOF
            { echo "$kind $mib: the decoded GeoTIFF differs from the source" >&2; exit 1; }
        case $kind in
            dem) label="int16 DEM" ;;
            emb) label="128-band int8 (synthetic proxy)" ;;
            *) label="128-band int8 (real Presto mosaic)" ;;
        esac
        echo "| $label | $((bytes / 1000000)) MB | $(cell "$enc" "$bytes") | $(cell "$dec" "$bytes") | $(cell "$gtr" "$bytes") | $(cell "$gtr64" "$bytes") | $(cell "$ref" "$bytes") |"
        rm -f "$out" "$out.json" "$back" "$gt"
    done
done
if [ "${KEEP:-0}" != 1 ]; then
    rm -f "$BENCH_DIR"/dem_*.tif "$BENCH_DIR"/emb_*.tif "$BENCH_DIR"/presto_*.tif "$BENCH_DIR"/*.vrt
fi
