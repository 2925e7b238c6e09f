//! Outputs appear complete or not at all: everything is written under a temporary name in
//! the destination directory and renamed into place only after it was fully written and
//! synced. A failure (bad input, full disk, Ctrl-C between steps) leaves no partial file.

use crate::error::{Error, ErrorKind, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// Refuses to clobber an existing output unless asked to (an `Io(AlreadyExists)` error;
/// front ends add how to ask).
pub fn check_overwrite(path: &Path, overwrite: bool) -> Result<()> {
    if !overwrite && fs::symlink_metadata(path).is_ok() {
        let exists = std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists");
        return Err(Error::io(path, exists));
    }
    Ok(())
}

/// A private temporary directory beside the destination; removed on drop unless committed.
pub struct Staging {
    dir: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl Staging {
    pub fn new(dest: &Path) -> Result<Self> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            let why = format!("output directory {} does not exist", parent.display());
            return Err(Error::new(ErrorKind::Io(std::io::ErrorKind::NotFound), why).at(dest));
        }
        let name = dest.file_name().ok_or_else(|| {
            Error::new(
                ErrorKind::Io(std::io::ErrorKind::InvalidInput),
                "output path has no file name",
            )
            .at(dest)
        })?;
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{}.geoembed-", name.to_string_lossy()))
            .tempdir_in(&parent)
            .map_err(|e| Error::io(dest, e))?
            .keep();
        Ok(Staging {
            dir,
            dest: dest.to_path_buf(),
            committed: false,
        })
    }

    /// Where to write the file that will become `dest` (same file name, so multi-file
    /// formats name their sidecars correctly).
    pub fn path(&self) -> PathBuf {
        self.dir
            .join(self.dest.file_name().expect("checked in new"))
    }

    /// Syncs every staged file and renames it into the destination directory.
    pub fn commit(mut self) -> Result<()> {
        let target_dir = self
            .dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let entries: Vec<_> = fs::read_dir(&self.dir)
            .map_err(|e| Error::io(&self.dest, e))?
            .collect();
        for e in entries {
            let e = e.map_err(|e| Error::io(&self.dest, e))?;
            let f = fs::File::open(e.path()).map_err(|err| Error::io(&self.dest, err))?;
            f.sync_all().map_err(|err| Error::io(&self.dest, err))?;
            fs::rename(e.path(), target_dir.join(e.file_name()))
                .map_err(|err| Error::io(&self.dest, err))?;
        }
        self.committed = true;
        let _ = fs::remove_dir(&self.dir);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
