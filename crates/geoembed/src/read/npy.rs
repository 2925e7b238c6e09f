//! Minimal `.npy` reader (NumPy format versions 1–3) for GeoTessera tiles: parses the
//! header dictionary, checks dtype and layout, and reads C-ordered little-endian data.

use crate::error::{Error, Result};
use geoembed_codec::SampleType;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"\x93NUMPY";

/// An opened `.npy` file: its element type, shape and where the data starts.
#[derive(Debug)]
pub struct Npy {
    pub path: PathBuf,
    pub sample_type: SampleType,
    pub shape: Vec<usize>,
    pub data_offset: u64,
    file: File,
}

fn dtype(descr: &str) -> Option<SampleType> {
    // '|' = not applicable (1-byte), '<' = little-endian; '=' is native (little-endian here).
    let (order, code) = descr.split_at(1);
    if !matches!(order, "<" | "|" | "=") {
        return None;
    }
    Some(match code {
        "u1" => SampleType::U8,
        "i1" => SampleType::I8,
        "u2" => SampleType::U16,
        "i2" => SampleType::I16,
        "u4" => SampleType::U32,
        "i4" => SampleType::I32,
        "f4" => SampleType::F32,
        "f8" => SampleType::F64,
        _ => return None,
    })
}

/// Value of `'key': value` in NumPy's header dict (a Python literal we only need to read
/// three keys of).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let k = format!("'{key}':");
    let start = header.find(&k)? + k.len();
    let rest = header[start..].trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else if let Some(stripped) = rest.strip_prefix('\'') {
        stripped.find('\'')? + 2
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

impl Npy {
    pub fn open(path: &Path) -> Result<Self> {
        let bad = |msg: String| Error::unsupported(path, msg);
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut pre = [0u8; 10];
        file.read_exact(&mut pre)
            .map_err(|_| bad("not a .npy file (too short)".into()))?;
        if &pre[..6] != MAGIC {
            return Err(bad("not a .npy file (bad magic)".into()));
        }
        let major = pre[6];
        let header_len = match major {
            1 => u16::from_le_bytes([pre[8], pre[9]]) as usize,
            2 | 3 => {
                let mut more = [0u8; 2];
                file.read_exact(&mut more)
                    .map_err(|_| bad("truncated .npy header".into()))?;
                u32::from_le_bytes([pre[8], pre[9], more[0], more[1]]) as usize
            }
            v => return Err(bad(format!("unsupported .npy format version {v}"))),
        };
        if header_len > 1 << 20 {
            return Err(bad(format!(
                ".npy header of {header_len} bytes is implausible"
            )));
        }
        let mut h = vec![0u8; header_len];
        file.read_exact(&mut h)
            .map_err(|_| bad("truncated .npy header".into()))?;
        let h = String::from_utf8_lossy(&h).into_owned();
        let descr =
            dict_value(&h, "descr").ok_or_else(|| bad("no 'descr' in .npy header".into()))?;
        let descr = descr.trim_matches('\'');
        let sample_type = dtype(descr).ok_or_else(|| {
            bad(format!(
                "unsupported .npy dtype {descr:?} (need little-endian ints or floats)"
            ))
        })?;
        let fortran = dict_value(&h, "fortran_order")
            .ok_or_else(|| bad("no 'fortran_order' in .npy header".into()))?;
        if fortran != "False" {
            return Err(bad(
                "Fortran-ordered .npy arrays are not supported; save with C order".into(),
            ));
        }
        let shape_s =
            dict_value(&h, "shape").ok_or_else(|| bad("no 'shape' in .npy header".into()))?;
        let shape = shape_s
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<usize>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| bad(format!("cannot parse .npy shape {shape_s}")))?;
        let data_offset = file.stream_position().map_err(|e| Error::io(path, e))?;
        let n: usize = shape.iter().product::<usize>() * sample_type.size();
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len < data_offset + n as u64 {
            return Err(bad(format!(
                "truncated .npy: shape {shape:?} {sample_type} needs {n} data bytes, file has {}",
                len.saturating_sub(data_offset)
            )));
        }
        Ok(Npy {
            path: path.to_path_buf(),
            sample_type,
            shape,
            data_offset,
            file,
        })
    }

    /// Reads `len` bytes of data starting `offset` bytes into the array.
    pub fn read_at(&mut self, offset: u64, out: &mut [u8]) -> Result<()> {
        self.file
            .seek(SeekFrom::Start(self.data_offset + offset))
            .and_then(|_| self.file.read_exact(out))
            .map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpy_header_dicts() {
        let h = "{'descr': '|i1', 'fortran_order': False, 'shape': (1000, 750, 128), }";
        assert_eq!(dict_value(h, "descr"), Some("'|i1'"));
        assert_eq!(dict_value(h, "fortran_order"), Some("False"));
        assert_eq!(dict_value(h, "shape"), Some("(1000, 750, 128)"));
        assert_eq!(dtype("<f4"), Some(SampleType::F32));
        assert_eq!(dtype(">f4"), None);
    }
}
