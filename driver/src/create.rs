//! `Create()`: for writers that produce pixels as they go (gdal_calc.py, gdal_merge.py,
//! rasterio's mode "w"), which a `.emb` cannot take tile by tile in any order. The shim keeps
//! the dataset in a staged GeoTIFF beside the output (checked creation options first), and
//! on close encodes it with the same code as `CreateCopy`, atomically, then removes the
//! staging. Here: where the staging goes, and its removal.

use crate::create_copy::{creation_error, options};
use geoembed::Error;
use std::path::{Path, PathBuf};

/// The staged GeoTIFF for an output `path`: in a private directory beside it (so a crash
/// leaves an obviously temporary `.NAME.geoembed-create-*` directory, never a half `.emb`),
/// or beside it in GDAL's virtual file systems (`/vsimem/`).
pub fn stage(path: &str, creation_options: &[String]) -> Result<String, String> {
    options(creation_options).map_err(|e| creation_error(e.at(path)))?;
    if path.starts_with("/vsi") {
        return Ok(format!("{path}.geoembed-stage.tif"));
    }
    let dest = Path::new(path);
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{path}: output path has no file name"))?;
    let dir = tempfile::Builder::new()
        .prefix(&format!(".{name}.geoembed-create-"))
        .tempdir_in(&parent)
        .map_err(|e| Error::io(dest, e).to_string())?
        .keep();
    Ok(dir
        .join(format!("{name}.stage.tif"))
        .to_string_lossy()
        .into_owned())
}

/// Removes a staging made by [`stage`] (the shim has deleted the GeoTIFF through GDAL).
pub fn unstage(stage_path: &str) {
    if stage_path.starts_with("/vsi") {
        return;
    }
    if let Some(dir) = Path::new(stage_path).parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_is_private_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("calc.emb");
        let staged = stage(out.to_str().unwrap(), &["CODEC=NATIVE".into()]).unwrap();
        assert!(staged.ends_with("calc.emb.stage.tif"), "{staged}");
        let private = Path::new(&staged).parent().unwrap();
        assert!(private.is_dir());
        assert!(private
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".calc.emb.geoembed-create-"));
        unstage(&staged);
        assert!(!private.exists());
        let e = stage(out.to_str().unwrap(), &["SPEED=9".into()]).unwrap_err();
        assert!(
            e.contains("creation option SPEED=9: unknown creation option"),
            "{e}"
        );
        assert_eq!(
            stage("/vsimem/x.emb", &[]).unwrap(),
            "/vsimem/x.emb.geoembed-stage.tif"
        );
    }
}
