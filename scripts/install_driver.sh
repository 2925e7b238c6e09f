#!/usr/bin/env bash
# Builds the GDAL plugin driver and installs it as gdal_GeoEmbed.so in GDAL's plugin
# directory, so gdalinfo, gdal_translate, rasterio (with the system GDAL), python3-gdal
# and QGIS open .emb files. Run as root on Debian 12 from anywhere.
#   PLUGIN_DIR=...   install elsewhere (then point GDAL_DRIVER_PATH at it)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet -p geoembed-gdal-driver
# Debian's GDAL looks in <libdir>/gdalplugins (where its drivers.ini lives).
lib=$(readlink -f "$(gcc -print-file-name=libgdal.so)")
PLUGIN_DIR=${PLUGIN_DIR:-$(dirname "$lib")/gdalplugins}
mkdir -p "$PLUGIN_DIR"
install -m 0644 "${CARGO_TARGET_DIR:-target}/release/libgdal_GeoEmbed.so" "$PLUGIN_DIR/gdal_GeoEmbed.so"
# The list is read whole before grep looks at it: `gdalinfo | grep -q` under pipefail
# fails whenever grep stops reading before gdalinfo stops writing (SIGPIPE), and GeoEmbed,
# registered before Debian's drivers, is near the top.
formats=$(GDAL_DRIVER_PATH="$PLUGIN_DIR" gdalinfo --formats)
if [ -z "${GDAL_DRIVER_PATH:-}" ] || [ "$GDAL_DRIVER_PATH" = "$PLUGIN_DIR" ]; then
  grep -q '^ *GeoEmbed' <<<"$formats" ||
    { echo "install_driver: GDAL does not list GeoEmbed after installing to $PLUGIN_DIR" >&2; exit 1; }
fi
echo "install_driver: $PLUGIN_DIR/gdal_GeoEmbed.so ($(grep GeoEmbed <<<"$formats" | sed 's/^ *//'))" >&2
