#!/usr/bin/env bash
# Installs what is needed and runs the whole test suite (unit, format golden files, codec
# round trips, end-to-end CLI tests against GDAL). Runs as root: one test mounts a tiny
# tmpfs to check the full-disk error.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo test --workspace --release
