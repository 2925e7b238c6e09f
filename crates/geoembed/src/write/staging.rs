//! Outputs appear complete or not at all. Everything is written in a private staging
//! directory beside the destination (`.NAME.geoembed-HOST-PID-XXXXXX`) and renamed into
//! place only after it was fully written and synced:
//!
//! * the output itself is renamed first, without clobbering (`renameat2(RENAME_NOREPLACE)`,
//!   or `link` + `unlink` where the file system lacks it) unless overwriting was asked for,
//!   so of two conversions racing to one path the second fails with "already exists"
//!   instead of silently replacing the first; its companions (the STAC sidecar, GDAL's
//!   `.aux.xml`) follow only once it is in place;
//! * a failure, a panic or a cancelled run removes the directory (on drop); SIGINT, SIGTERM
//!   and SIGHUP do too in a program that called [`remove_staging_on_signals`];
//! * what a killed run (SIGKILL, power loss) leaves is removed by the next run writing the
//!   same output, once the process that made it is gone (its host and process id are in
//!   the directory's name);
//! * errors name the destination, never the staging path ([`Staging::redact`]).

use crate::error::{Error, ErrorKind, Result};
use std::ffi::{CString, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Refuses to clobber an existing output unless asked to (an `Io(AlreadyExists)` error;
/// front ends add how to ask).
pub fn check_overwrite(path: &Path, overwrite: bool) -> Result<()> {
    if !overwrite && fs::symlink_metadata(path).is_ok() {
        return Err(exists(path));
    }
    Ok(())
}

/// [`check_overwrite`] for an output file: a directory in the way is refused even when
/// overwriting (replacing a directory with a file is never what a conversion means), and
/// the output's directory must exist. Called before any work.
pub fn check_output_file(path: &Path, overwrite: bool) -> Result<()> {
    check_overwrite(path, overwrite)?;
    if path.is_dir() {
        let why = "is a directory; give a file name for the output";
        return Err(Error::new(ErrorKind::Io(io::ErrorKind::IsADirectory), why).at(path));
    }
    let parent = parent_dir(path);
    if !parent.is_dir() {
        let why = format!("output directory {} does not exist", parent.display());
        return Err(Error::new(ErrorKind::Io(io::ErrorKind::NotFound), why).at(path));
    }
    Ok(())
}

fn exists(path: &Path) -> Error {
    let exists = io::Error::new(io::ErrorKind::AlreadyExists, "already exists");
    Error::io(path, exists)
}

/// Staging directories of this process that are not committed yet: what a signal removes.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A private temporary directory beside the destination; removed on drop unless committed.
pub struct Staging {
    dir: PathBuf,
    dest: PathBuf,
    overwrite: bool,
    committed: bool,
}

impl Staging {
    /// Stages `dest`; `overwrite` says whether the commit may replace an existing file.
    pub fn new(dest: &Path, overwrite: bool) -> Result<Self> {
        let parent = parent_dir(dest);
        if !parent.is_dir() {
            let why = format!("output directory {} does not exist", parent.display());
            return Err(Error::new(ErrorKind::Io(io::ErrorKind::NotFound), why).at(dest));
        }
        let name = dest.file_name().ok_or_else(|| {
            Error::new(
                ErrorKind::Io(io::ErrorKind::InvalidInput),
                "output path has no file name",
            )
            .at(dest)
        })?;
        let prefix = staging_prefix(name);
        remove_stale(&parent, &prefix);
        let mut registry = live();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{prefix}{}-{}-", host_name(), std::process::id()))
            .tempdir_in(&parent)
            .map_err(|e| Error::io(dest, e))?
            .keep();
        registry.push(dir.clone());
        Ok(Staging {
            dir,
            dest: dest.to_path_buf(),
            overwrite,
            committed: false,
        })
    }

    /// Where to write the file that will become `dest` (same file name, so multi-file
    /// formats name their sidecars correctly).
    pub fn path(&self) -> PathBuf {
        self.dir
            .join(self.dest.file_name().expect("checked in new"))
    }

    /// `e` with the staging directory's paths replaced by the destination's, so that no
    /// message (GDAL's included) names a file that will not exist.
    pub fn redact(&self, e: Error) -> Error {
        let staged = self.path();
        e.redact_path(&staged, &self.dest)
            .redact_path(&self.dir, parent_dir(&self.dest).as_path())
    }

    /// Syncs every staged file and renames it into the destination directory: the output
    /// first (without replacing an existing one unless overwriting), then its companions.
    /// A signal arriving meanwhile waits for the renames (they hold the registry).
    pub fn commit(mut self) -> Result<()> {
        let target_dir = parent_dir(&self.dest);
        let main = self.dest.file_name().expect("checked in new").to_owned();
        let mut companions = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dest, e))? {
            let name = entry.map_err(|e| Error::io(&self.dest, e))?.file_name();
            sync(&self.dir.join(&name)).map_err(|e| Error::io(&self.dest, e))?;
            if name != main {
                companions.push(name);
            }
        }
        for name in &companions {
            if target_dir.join(name).is_dir() {
                return Err(exists(&target_dir.join(name)));
            }
        }
        let mut registry = live();
        self.place(&main, &target_dir)?;
        for name in &companions {
            fs::rename(self.dir.join(name), target_dir.join(name))
                .map_err(|e| Error::io(target_dir.join(name), e))?;
        }
        self.committed = true;
        let _ = fs::remove_dir(&self.dir);
        registry.retain(|d| d != &self.dir);
        Ok(())
    }

    /// Renames the staged output to the destination.
    fn place(&self, main: &OsString, target_dir: &Path) -> Result<()> {
        let (from, to) = (self.dir.join(main), target_dir.join(main));
        let placed = if self.overwrite {
            fs::rename(&from, &to)
        } else {
            rename_no_clobber(&from, &to)
        };
        placed.map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => exists(&self.dest),
            _ => Error::io(&self.dest, e),
        })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let mut registry = live();
            let _ = fs::remove_dir_all(&self.dir);
            registry.retain(|d| d != &self.dir);
        }
    }
}

fn parent_dir(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.NAME.geoembed-`: what every staging directory for `NAME` starts with.
fn staging_prefix(name: &std::ffi::OsStr) -> String {
    format!(".{}.geoembed-", name.to_string_lossy())
}

/// This machine's name (staging directories on a shared file system belong to a host).
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; gethostname NUL-terminates within it or fails.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
    let name = String::from_utf8_lossy(&buf[..if ok { end } else { 0 }]).into_owned();
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    if safe.is_empty() {
        "host".into()
    } else {
        safe
    }
}

/// Removes staging directories for the same output left by processes of this host that
/// no longer run (killed before they could clean up). Directories of live processes, of
/// other hosts, or named otherwise are left alone.
fn remove_stale(parent: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let own_host = format!("{prefix}{}-", host_name());
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&own_host)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|pid| pid > 0 && !process_runs(pid)) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn process_runs(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; it sends nothing.
    let probed = unsafe { libc::kill(pid, 0) };
    probed == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

fn sync(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    fs::File::open(path)?.sync_all()
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::other("NUL in a path"))
}

/// Renames `from` to `to` unless `to` exists (then `AlreadyExists`), atomically:
/// `renameat2(RENAME_NOREPLACE)`, or on file systems without it `link` + `unlink` (files
/// only), which fails the same way when `to` exists.
fn rename_no_clobber(from: &Path, to: &Path) -> io::Result<()> {
    let (c_from, c_to) = (c_path(from)?, c_path(to)?);
    // SAFETY: both paths are NUL-terminated and live for the call.
    let renamed = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            c_from.as_ptr(),
            libc::AT_FDCWD,
            c_to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if renamed == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    let unsupported = matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS));
    if !unsupported || from.is_dir() {
        return Err(e);
    }
    fs::hard_link(from, to)?;
    fs::remove_file(from)
}

/// Makes SIGINT, SIGTERM and SIGHUP remove this process's staging directories before the
/// process dies of the signal (exit status as usual: 130 for Ctrl-C). For programs that
/// own the process (the CLI), not for libraries inside someone else's (the GDAL plugin).
///
/// Call it first thing in `main`, before any thread starts: it blocks the signals in the
/// calling thread, every thread started afterwards inherits that, and one watcher thread
/// takes them with `sigwait`, so the cleanup runs as ordinary code, not in a signal handler.
pub fn remove_staging_on_signals() -> Result<()> {
    let signals = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
    // SAFETY: sigset_t is plain data, initialised by sigemptyset before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t; the signal numbers are valid.
    let blocked = unsafe {
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut())
    };
    if blocked != 0 {
        let why = format!(
            "cannot block signals: {}",
            io::Error::from_raw_os_error(blocked)
        );
        return Err(Error::new(ErrorKind::Other, why));
    }
    std::thread::Builder::new()
        .name("geoembed-signals".into())
        .spawn(move || watch_signals(set))
        .map_err(|e| Error::new(ErrorKind::Other, format!("cannot watch signals: {e}")))?;
    Ok(())
}

/// Waits for one of the blocked signals, removes the staging directories, then dies of
/// the signal with its default action.
fn watch_signals(set: libc::sigset_t) {
    let mut signal = 0;
    // SAFETY: `set` is a valid sigset_t and `signal` a writable int.
    while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
    {
        let registry = live();
        for dir in registry.iter() {
            // A writer may add a file between a listing and the removal: try again.
            for _ in 0..3 {
                if fs::remove_dir_all(dir).is_ok() || !dir.exists() {
                    break;
                }
            }
        }
        // Keep the registry locked: no commit may start once cleanup began.
        std::mem::forget(registry);
    }
    // SAFETY: restoring the default action, unblocking the signal in this thread and
    // raising it ends the process as the signal would have; all arguments are valid.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let mut only: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut only);
        libc::sigaddset(&mut only, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &only, std::ptr::null_mut());
        libc::raise(signal);
    }
    // Not reached for a terminating signal; never return to a half-cleaned process.
    std::process::exit(128 + signal);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_clobber_rename_refuses_an_existing_file_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, "new").unwrap();
        fs::write(&b, "old").unwrap();
        let e = rename_no_clobber(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&b).unwrap(), "old");
        fs::remove_file(&b).unwrap();
        rename_no_clobber(&a, &b).unwrap();
        assert_eq!(fs::read_to_string(&b).unwrap(), "new");
        assert!(!a.exists());
    }

    #[test]
    fn stale_staging_of_a_dead_process_is_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = staging_prefix("o.emb".as_ref());
        let host = host_name();
        // pid 2^22 + 1 is above Linux's largest pid: no such process.
        let dead = dir.path().join(format!("{prefix}{host}-4194305-abc"));
        let alive = dir
            .path()
            .join(format!("{prefix}{host}-{}-abc", std::process::id()));
        let other_host = dir.path().join(format!("{prefix}elsewhere-4194305-abc"));
        for d in [&dead, &alive, &other_host] {
            fs::create_dir(d).unwrap();
        }
        let staging = Staging::new(&dir.path().join("o.emb"), false).unwrap();
        assert!(!dead.exists());
        assert!(alive.exists() && other_host.exists());
        drop(staging);
    }

    #[test]
    fn errors_name_the_destination_not_the_staging_path() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("o.tif");
        let staging = Staging::new(&dest, false).unwrap();
        let staged = staging.path();
        let gdal = Error::gdal(&staged, format!("cannot create `{}'", staged.display()));
        let e = staging.redact(gdal);
        assert_eq!(
            e.to_string(),
            format!("{0}: cannot create `{0}'", dest.display())
        );
    }
}
