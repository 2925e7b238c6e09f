//! What the plugin's integration tests share: installing the freshly built driver where
//! GDAL looks for plugins.

use std::path::Path;
use tempfile::TempDir;

/// A private plugin directory holding the built driver under GDAL's plugin name.
pub fn plugin_dir() -> TempDir {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    // `cargo test` links the cdylib into deps/ (without copying it up to target/<profile>/
    // as `cargo build` does): take the newer of the two, the one built from this code.
    let built = [profile.join("deps"), profile.to_path_buf()]
        .into_iter()
        .map(|d| d.join("libgdal_GeoEmbed.so"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .expect("libgdal_GeoEmbed.so not built (cargo build --release -p geoembed-gdal-driver)");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&built, dir.path().join("gdal_GeoEmbed.so")).expect("copy plugin");
    dir
}
