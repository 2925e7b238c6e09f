"""Shared fixtures: the repository's real rasters, converted to `.emb` by the `geoembed` CLI
(the reference writer) with small tiles so every file has several tiles and edge tiles."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))

# (fixture, tile size): one per sample type the issue names, georeferenced where the source is.
RASTERS = {
    "u8": ("uint8_3b_landsat7_rgb_crop.tif", 64),
    "i16": ("int16_1b_srtm30m_bigtujunga_utm11_crop.tif", 64),
    "u16_198b": ("uint16_198b_aviris_jasper_ridge_crop.tif", 16),
    "i8_128b": ("int8_128b_synthetic_embedding_crop.tif", 32),
    "f32": ("float32_1b_gridmet_tmmx_crop_kelvin.tif", 32),
    "f64": ("float64_240b_era5_t2m_uk_201903_first240h.tif", 16),
}


def missing(why: str) -> None:
    """Skips a test whose tool is not built, except under scripts/test.sh
    (GEOEMBED_REQUIRE_TOOLS=1), where a skip would hide a test that CI must run."""
    if os.environ.get("GEOEMBED_REQUIRE_TOOLS") == "1":
        pytest.fail(why)
    pytest.skip(why)


def cli() -> Path:
    exe = TARGET / "release" / "geoembed"
    if not exe.exists():
        missing(f"{exe} is not built (cargo build --release)")
    return exe


def run_cli(*args: object) -> subprocess.CompletedProcess:
    done = subprocess.run([str(cli()), *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """name -> (source GeoTIFF, its .emb)."""
    out = tmp_path_factory.mktemp("emb")
    files = {}
    for name, (fixture, tile) in RASTERS.items():
        src = FIXTURES / fixture
        dst = out / f"{name}.emb"
        run_cli("convert", src, dst, "--tile", tile, "-q")
        files[name] = (src, dst)
    return files


@pytest.fixture(scope="session")
def tessera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GeoTessera proxy tile (int8 embedding + float32 scales + landmask) as .emb."""
    dst = tmp_path_factory.mktemp("tessera") / "tile.emb"
    run_cli(
        "convert",
        FIXTURES / "tessera_proxy.npy",
        dst,
        "--scales",
        FIXTURES / "tessera_proxy_scales.npy",
        "--georef",
        FIXTURES / "tessera_proxy_landmask.tif",
        "--tile",
        16,
        "-q",
    )
    return dst


@pytest.fixture(scope="session")
def gdal_plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GDAL_DRIVER_PATH holding the freshly built plugin, for Debian's GDAL tools."""
    # `cargo test` links the cdylib into deps/ without copying it up as `cargo build` does:
    # take the newer of the two, the one built from this code.
    built = [
        lib
        for lib in (TARGET / "release" / "libgdal_GeoEmbed.so", TARGET / "release" / "deps" / "libgdal_GeoEmbed.so")
        if lib.exists()
    ]
    if not built or shutil.which("gdal_translate") is None:
        missing("the GDAL plugin or Debian's gdal-bin is not available")
    lib = max(built, key=lambda p: p.stat().st_mtime)
    plugins = tmp_path_factory.mktemp("gdalplugins")
    shutil.copy(lib, plugins / "gdal_GeoEmbed.so")
    return plugins
