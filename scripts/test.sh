#!/usr/bin/env bash
# Installs what is needed and runs the whole test suite (unit, format golden files, codec
# round trips, end-to-end CLI tests against GDAL, the GDAL plugin under gdalinfo,
# gdal_translate, python3-gdal and headless QGIS). Runs as root: one test mounts a tiny
# tmpfs to check the full-disk error.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_FOR_TESTS=1 source scripts/setup.sh
cargo test --workspace --release
