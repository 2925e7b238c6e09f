#!/usr/bin/env bash
# Installs what is needed and runs the whole test suite; CI (.ci/run) runs exactly this.
# Cheap gates first, so a formatting slip or a lint fails in seconds rather than after the
# release build: formatting, clippy (warnings are errors, workspace lints in Cargo.toml),
# the fuzz targets still compiling against the codec API, the codec crate without libjxl,
# rustdoc (warnings are errors), then every test (unit, format golden files, codec round
# trips, end-to-end CLI tests against GDAL, the GDAL plugin under gdalinfo, gdal_translate,
# python3-gdal and headless QGIS), then the Python package in a fresh venv. Runs as root: one test mounts a tiny tmpfs to check the
# full-disk error.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_FOR_TESTS=1 source scripts/setup.sh

# Each gate's start, with the seconds since the script began (so a slow gate shows in CI logs).
gate() {
  echo "test.sh: [${SECONDS}s] $1" >&2
}

gate "formatting (cargo fmt --check)"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

gate "lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings
# The fuzz targets are their own workspace (cargo fuzz needs nightly to run them); linting
# them on stable keeps them compiling as the codec API moves.
cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings

gate "codec crate without JPEG XL (--no-default-features)"
cargo test -p geoembed-codec --no-default-features --release

gate "converter library without GDAL (--no-default-features: what the Python wheel links)"
cargo test -p geoembed --no-default-features --release

gate "API docs (rustdoc -D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace

gate "tests"
cargo test --workspace --release

# The Python package, installed the README's way into a fresh venv (registries only: pip
# fetches maturin and the test dependencies), then its pytest suite, which compares against
# rasterio, rioxarray and the CLI and plugin built above.
gate "Python package (fresh venv, pip install crates/geoembed-python, pytest)"
venv=$(mktemp -d)/venv
trap 'rm -rf "$(dirname "$venv")"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "crates/geoembed-python[test]"
GEOEMBED_REQUIRE_TOOLS=1 "$venv/bin/python" -m pytest -q -rs -p no:cacheprovider crates/geoembed-python/tests
# The README's other command, on the same build: its plugin install once failed on a clean
# machine (a pipefail race) while every test passed.
gate "the README's first command (scripts/demo.sh)"
bash scripts/demo.sh
gate "done"
