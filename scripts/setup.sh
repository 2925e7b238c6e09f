#!/usr/bin/env bash
# Installs what geoembed needs on Debian 12 (run as root): GDAL (library, headers, command
# line tools, Python bindings for the plugin tests), libjxl, a C/C++ toolchain, and a Rust
# toolchain if none is present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(libgdal-dev gdal-bin python3-gdal libjxl-dev pkg-config build-essential ca-certificates curl util-linux)
# The test suite also checks the plugin driver under QGIS (headless) and rasterio, and
# the STAC sidecar with pystac (PyPI only: a venv beside Debian's packages).
if [ "${SETUP_FOR_TESTS:-0}" = 1 ]; then
  pkgs+=(qgis python3-qgis python3-rasterio python3-venv python3-pip)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing the Rust toolchain (rustup)" >&2
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
# The test suite's gates (scripts/test.sh) need rustfmt and clippy, which rustup's minimal
# profile leaves out.
if [ "${SETUP_FOR_TESTS:-0}" = 1 ] && command -v rustup >/dev/null 2>&1; then
  for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" ||
      rustup component add "$component" >/dev/null
  done
fi
STAC_VENV=${GEOEMBED_STAC_VENV:-/opt/geoembed-stac-venv}
if [ "${SETUP_FOR_TESTS:-0}" = 1 ] && ! "$STAC_VENV/bin/python" -c "import pystac" 2>/dev/null; then
  echo "setup: making $STAC_VENV (pystac for the STAC sidecar test)" >&2
  /usr/bin/python3 -m venv --system-site-packages "$STAC_VENV"
  "$STAC_VENV/bin/pip" install -q 'pystac[validation]==1.10.1'
fi
export GEOEMBED_STAC_PYTHON="$STAC_VENV/bin/python"
echo "setup: $(gdalinfo --version), libjxl $(dpkg-query -W -f='${Version}' libjxl-dev), $(cargo --version)" >&2
