//! Files through GDAL's virtual file layer (`VSIFOpenL`...), so the plugin reads `/vsicurl/`
//! (range requests: the preamble, index and header, then only the tiles asked for),
//! `/vsizip/` and `/vsimem/` exactly as it reads local files.

use gdal_sys::VSILFILE;
use std::ffi::CString;
use std::io::{self, Read, Seek, SeekFrom, Write};

pub struct VsiFile {
    fp: *mut VSILFILE,
}

// SAFETY: a VSILFILE handle may be used from any thread, one thread at a time; VsiFile is
// not Sync and is moved, never shared.
unsafe impl Send for VsiFile {}

/// GDAL's last error as an `io::Error`; the file name is left to the caller's message.
fn last_error(what: &str) -> io::Error {
    // SAFETY: CPLGetLastErrorMsg returns a thread-local NUL-terminated string.
    let msg = unsafe { std::ffi::CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) };
    let msg = msg.to_string_lossy();
    let why = if msg.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {msg}")
    };
    io::Error::other(why)
}

impl VsiFile {
    /// `mode` is a C `fopen` mode ("rb", "wb").
    pub fn open(name: &str, mode: &str) -> io::Result<Self> {
        let cname = CString::new(name).map_err(|_| io::Error::other("NUL in file name"))?;
        let cmode = CString::new(mode).expect("static mode");
        // SAFETY: both strings are valid for the call; NULL means failure.
        let fp = unsafe { gdal_sys::VSIFOpenL(cname.as_ptr(), cmode.as_ptr()) };
        if fp.is_null() {
            let kind = if mode.starts_with('r') {
                "cannot open"
            } else {
                "cannot create"
            };
            return Err(last_error(kind));
        }
        Ok(VsiFile { fp })
    }

    /// Closes, reporting a failed flush (a full disk shows here for buffered writers).
    pub fn close(mut self) -> io::Result<()> {
        let fp = std::mem::replace(&mut self.fp, std::ptr::null_mut());
        // SAFETY: fp is open and closed exactly once.
        if unsafe { gdal_sys::VSIFCloseL(fp) } != 0 {
            return Err(last_error("close failed"));
        }
        Ok(())
    }
}

impl Drop for VsiFile {
    fn drop(&mut self) {
        if !self.fp.is_null() {
            // SAFETY: fp is open and closed exactly once.
            unsafe { gdal_sys::VSIFCloseL(self.fp) };
        }
    }
}

impl Read for VsiFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: buf is writable for buf.len() bytes.
        let n = unsafe { gdal_sys::VSIFReadL(buf.as_mut_ptr().cast(), 1, buf.len(), self.fp) };
        // A short read before the end of the file is an I/O error (GDAL 3.6 has no
        // VSIFErrorL).
        // SAFETY: fp is open.
        if n < buf.len() && unsafe { gdal_sys::VSIFEofL(self.fp) } == 0 {
            return Err(last_error("read failed"));
        }
        Ok(n)
    }
}

impl Write for VsiFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: buf is readable for buf.len() bytes.
        let n = unsafe { gdal_sys::VSIFWriteL(buf.as_ptr().cast(), 1, buf.len(), self.fp) };
        if n < buf.len() {
            return Err(last_error("write failed (disk full?)"));
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // SAFETY: fp is open.
        if unsafe { gdal_sys::VSIFFlushL(self.fp) } != 0 {
            return Err(last_error("flush failed"));
        }
        Ok(())
    }
}

impl Seek for VsiFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let (off, whence) = match pos {
            SeekFrom::Start(o) => (o, libc_seek::SET),
            SeekFrom::End(0) => (0, libc_seek::END),
            SeekFrom::Current(d) => {
                // SAFETY: fp is open.
                let cur = unsafe { gdal_sys::VSIFTellL(self.fp) };
                let to = cur
                    .checked_add_signed(d)
                    .ok_or_else(|| io::Error::other("seek before the start"))?;
                (to, libc_seek::SET)
            }
            SeekFrom::End(d) => {
                let end = self.seek(SeekFrom::End(0))?;
                let to = end
                    .checked_add_signed(d)
                    .ok_or_else(|| io::Error::other("seek before the start"))?;
                (to, libc_seek::SET)
            }
        };
        // SAFETY: fp is open.
        if unsafe { gdal_sys::VSIFSeekL(self.fp, off, whence) } != 0 {
            return Err(last_error("seek failed"));
        }
        // SAFETY: fp is open.
        Ok(unsafe { gdal_sys::VSIFTellL(self.fp) })
    }
}

/// `whence` values of `VSIFSeekL` (C's SEEK_SET / SEEK_END).
mod libc_seek {
    pub const SET: i32 = 0;
    pub const END: i32 = 2;
}
