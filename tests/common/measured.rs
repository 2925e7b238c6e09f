//! Runs a program and reports how it ended and its peak memory, from the kernel's own
//! accounting (`wait4`'s rusage): what "no signal, under 1 GiB" is checked with.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};

/// How a program ended.
pub struct Measured {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident set size in bytes.
    pub max_rss: u64,
}

impl Measured {
    /// The signal that killed it, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }
}

/// Runs `cmd` to the end, capturing its output.
// The child is reaped by `wait4` (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
pub fn run(cmd: &mut Command) -> Measured {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let mut stderr = String::new();
    let _ = err.read_to_string(&mut stderr);
    let (status, max_rss) = wait(child.id());
    Measured {
        status,
        stdout: out_thread.join().unwrap(),
        stderr,
        max_rss,
    }
}

/// Reaps process `pid` (spawned, not yet waited for) with its rusage.
pub fn wait(pid: u32) -> (ExitStatus, u64) {
    let mut status = 0;
    // SAFETY: rusage is plain data the kernel fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, status and usage are writable.
    let reaped = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut usage) };
    assert_eq!(
        reaped,
        pid as i32,
        "wait4: {}",
        std::io::Error::last_os_error()
    );
    (ExitStatus::from_raw(status), usage.ru_maxrss as u64 * 1024)
}
