#!/usr/bin/env bash
# GDAL clients reading .emb through the plugin versus the same raster as a GeoTIFF (DEFLATE,
# PREDICTOR=2, 256x256 tiles, pixel-interleaved), in one run on one machine: CPU seconds
# (user + sys) of `gdalinfo -stats`, `gdal_translate -of COG`, `gdal_translate -of netCDF`,
# a rioxarray + Dask per-band mean, and python3-gdal reads (the whole raster band by band
# and all bands at once; 512 rows one at a time, all bands and band by band), on the
# 1000x750x128 int8 proxy embedding tile and on a 2x2 mosaic of it (4x the pixels). Prints
# a Markdown table (docs/benchmarks.md).
#
#   bash scripts/bench_gdal_clients.sh [WORKDIR]
#   CLIENTS="stats rows_pixel" bash scripts/bench_gdal_clients.sh WORKDIR   # some rows only
#
# Needs gdal-bin, python3-gdal, python3-rioxarray and python3-dask (Debian) and the proxy
# tile: PROXY (default /work/bench/proxy/synth_emb_int8.tif) or, if missing, one made with
# ../shared/data/embeddings/make_embedding_tile.py --seed 1 by PYTHON (a Python with numpy
# and rasterio; default /work/venv-py/bin/python). The plugin is used from a private
# directory (GDAL_DRIVER_PATH); nothing is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${1:-$(mktemp -d /tmp/bench_gdal_clients.XXXXXX)}
mkdir -p "$WORK/plugins"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PROXY=${PROXY:-/work/bench/proxy/synth_emb_int8.tif}
PYTHON=${PYTHON:-/work/venv-py/bin/python}

cargo build --release -q -p geoembed-cli -p geoembed-gdal-driver
cp "$TARGET/release/libgdal_GeoEmbed.so" "$WORK/plugins/gdal_GeoEmbed.so"
GEOEMBED="$TARGET/release/geoembed"
export GDAL_DRIVER_PATH="$WORK/plugins"
# No .aux.xml: every run computes its statistics afresh.
export GDAL_PAM_ENABLED=NO
cd "$WORK"

if [ ! -f "$PROXY" ]; then
  "$PYTHON" "$ROOT/../shared/data/embeddings/make_embedding_tile.py" "$WORK/proxy" --seed 1
  PROXY="$WORK/proxy/synth_emb_int8.tif"
fi
GTIFF=(-co COMPRESS=DEFLATE -co PREDICTOR=2 -co TILED=YES -co INTERLEAVE=PIXEL)
[ -f proxy.tif ] || gdal_translate -q "${GTIFF[@]}" "$PROXY" proxy.tif
# The mosaic: four copies of the tile side by side (2 x 2), 1500 x 2000 pixels.
if [ ! -f mosaic.tif ]; then
  read -r x0 dx y0 dy w h < <(/usr/bin/python3 -c "
from osgeo import gdal
d = gdal.Open('proxy.tif'); g = d.GetGeoTransform()
print(g[0], g[1], g[3], g[5], d.RasterXSize, d.RasterYSize)")
  parts=()
  for i in 0 1; do
    for j in 0 1; do
      ulx=$(/usr/bin/python3 -c "print($x0 + $i * $w * $dx)")
      uly=$(/usr/bin/python3 -c "print($y0 + $j * $h * $dy)")
      lrx=$(/usr/bin/python3 -c "print($ulx + $w * $dx)")
      lry=$(/usr/bin/python3 -c "print($uly + $h * $dy)")
      gdal_translate -q -of VRT -a_ullr "$ulx" "$uly" "$lrx" "$lry" proxy.tif "part$i$j.vrt"
      parts+=("part$i$j.vrt")
    done
  done
  gdalbuildvrt -q mosaic.vrt "${parts[@]}"
  # A VRT forgets that the bytes are signed (GDAL 3.6 has no Int8): say it again.
  gdal_translate -q "${GTIFF[@]}" -co PIXELTYPE=SIGNEDBYTE mosaic.vrt mosaic.tif
fi
for r in proxy mosaic; do
  [ -f "$r.emb" ] || "$GEOEMBED" -q convert "$r.tif" "$r.emb"
done

cat > mean.py <<'EOF'
# Per-band mean with rioxarray + Dask (one chunk per block), CPU seconds of the compute.
import resource, sys
import rioxarray
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
da = rioxarray.open_rasterio(sys.argv[1], chunks=True)
t0 = cpu()
means = da.mean(dim=("y", "x")).compute()
print(f"{cpu() - t0:.2f}")
assert means.shape == (da.shape[0],)
EOF

cat > reads.py <<'EOF'
# python3-gdal reads, CPU seconds: the whole raster band by band ("bands") or all bands in
# one call ("pixel"); the first 512 rows one at a time, all bands per call ("rows_pixel")
# or band by band ("rows_band").
import resource, sys
from osgeo import gdal
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
ds = gdal.Open(sys.argv[1])
w, rows, how = ds.RasterXSize, min(512, ds.RasterYSize), sys.argv[2]
t0 = cpu()
if how == "bands":
    for b in range(1, ds.RasterCount + 1):
        ds.GetRasterBand(b).ReadRaster()
elif how == "pixel":
    ds.ReadRaster()
elif how == "rows_pixel":
    for y in range(rows):
        ds.ReadRaster(0, y, w, 1)
else:
    for b in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(b)
        for y in range(rows):
            band.ReadRaster(0, y, w, 1)
print(f"{cpu() - t0:.2f}")
EOF

# CPU seconds (user + sys) of a command (GNU time writes them to a file: the command's
# own output is discarded).
cpu() {
  /usr/bin/time -o cpu.txt -f "%U %S" "$@" >/dev/null 2>&1
  awk '{printf "%.2f", $1 + $2}' cpu.txt
}
measure() { # tool file
  case $1 in
    stats) cpu gdalinfo -stats "$2" ;;
    cog) rm -f out_cog.tif; cpu gdal_translate -q -of COG "$2" out_cog.tif ;;
    netcdf) rm -f out.nc; cpu gdal_translate -q -of netCDF "$2" out.nc ;;
    dask) /usr/bin/python3 mean.py "$2" 2>/dev/null | tail -1 ;;
    *) /usr/bin/python3 reads.py "$2" "$1" | tail -1 ;;
  esac
}

echo "GDAL $(gdal-config --version), $(nproc) cores; CPU seconds (user+sys); GeoTIFF = DEFLATE PREDICTOR=2 tiled 256 PIXEL"
echo
echo "| client | proxy .tif | proxy .emb | ratio | mosaic .tif | mosaic .emb | ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|"
declare -A LABEL=([stats]="gdalinfo -stats" [cog]="gdal_translate -of COG"
  [netcdf]="gdal_translate -of netCDF" [dask]="rioxarray + Dask per-band mean"
  [bands]="whole raster, band by band" [pixel]="whole raster, all bands in one read"
  [rows_pixel]="512 rows one by one, all bands" [rows_band]="512 rows one by one, band by band")
for tool in ${CLIENTS:-stats cog netcdf dask bands pixel rows_pixel rows_band}; do
  row="| ${LABEL[$tool]}"
  for r in proxy mosaic; do
    a=$(measure "$tool" "$r.tif")
    b=$(measure "$tool" "$r.emb")
    row+=" | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b / a}')"
  done
  echo "$row |"
done
rm -f out_cog.tif out.nc cpu.txt
