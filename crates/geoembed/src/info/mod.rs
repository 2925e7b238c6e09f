//! What a `.emb` holds, gathered once for `geoembed info` (which prints it as text like
//! gdalinfo, or as JSON) and any other front end: the header, every tile's codec, size and
//! ratio, what the float codec chose per band, what the dequant codec holds (codes, scale
//! plane, exceptions), and each plane's share of the file, the scale planes inside
//! dequantised float tiles included.

mod coordinates;
#[cfg(feature = "gdal")]
pub mod gdalinfo;

pub use coordinates::band_coordinates;

use crate::error::{Error, Result};
use geoembed_codec::codec::{dequant, float, scales_from_codes};
use geoembed_codec::{block_shape, CodecId, Header, IndexEntry, Limits, Reader, TileShape};
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// One tile (block) of one plane.
#[derive(Clone, Debug)]
pub struct TileInfo {
    pub plane: usize,
    pub tx: u32,
    pub ty: u32,
    /// The codec's name (`unknown(N)` for a codec id this build does not know).
    pub codec: String,
    /// Payload bytes.
    pub bytes: u64,
    pub shape: TileShape,
    /// For float-codec tiles: the transform and the per-band choices, condensed; for
    /// dequant and scales-from-codes tiles, what the payload holds; empty for other tiles and beyond
    /// [`MAX_DESCRIBED`] described tiles.
    pub choices: String,
    /// For dequant tiles with a per-pixel scale: the bytes of the scale plane inside the
    /// payload.
    pub scale_bytes: Option<u64>,
}

impl TileInfo {
    /// Decoded bytes of the tile.
    pub fn raw_bytes(&self) -> u64 {
        self.shape.bytes() as u64
    }
    pub fn ratio(&self) -> f64 {
        self.raw_bytes() as f64 / self.bytes.max(1) as f64
    }
    pub fn bits_per_sample(&self) -> f64 {
        8.0 * self.bytes as f64 / self.shape.samples() as f64
    }
}

/// One plane's payload bytes and share of the file.
#[derive(Clone, Debug)]
pub struct PlaneShare {
    pub plane: usize,
    /// "bands", or the aux plane's name ("scales").
    pub name: String,
    pub bytes: u64,
    pub share_of_file: f64,
    /// Payload bits per sample of the plane.
    pub bits_per_sample: f64,
}

/// Everything `info` reports about a `.emb`.
#[derive(Clone, Debug)]
pub struct FileInfo {
    pub path: PathBuf,
    pub header: Header,
    pub tiles: Vec<TileInfo>,
    pub file_bytes: u64,
    /// The preamble's `(major, minor)` format version.
    pub format_version: (u16, u16),
}

/// The scale planes inside dequantised float tiles (GeoTessera's float download): their
/// bytes, share of the file and bits per scale.
#[derive(Clone, Debug)]
pub struct ScaleShare {
    pub bytes: u64,
    pub share_of_file: f64,
    pub bits_per_value: f64,
}

/// Float and dequant tiles whose choices are read (each costs a payload read).
pub const MAX_DESCRIBED: usize = 1024;

impl FileInfo {
    pub fn read(path: &Path) -> Result<FileInfo> {
        Self::read_with_limits(path, &Limits::default())
    }

    /// [`FileInfo::read`] within `limits`.
    pub fn read_with_limits(path: &Path, limits: &Limits) -> Result<FileInfo> {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let src = std::io::BufReader::new(f);
        let mut r = Reader::open_with_limits(src, *limits).map_err(|e| Error::codec(path, e))?;
        let mut tiles = tile_list(r.header(), r.entries());
        describe_tiles(&mut r, &mut tiles);
        Ok(FileInfo {
            path: path.to_path_buf(),
            header: r.header().clone(),
            tiles,
            file_bytes: r.file_len(),
            format_version: r.format_version(),
        })
    }

    /// Decoded bytes of every tile of every plane.
    pub fn raw_bytes(&self) -> u64 {
        self.tiles.iter().map(TileInfo::raw_bytes).sum()
    }

    pub fn samples(&self) -> u64 {
        self.tiles.iter().map(|t| t.shape.samples() as u64).sum()
    }

    pub fn ratio(&self) -> f64 {
        self.raw_bytes() as f64 / self.file_bytes as f64
    }

    pub fn bits_per_sample(&self) -> f64 {
        8.0 * self.file_bytes as f64 / self.samples() as f64
    }

    /// Per codec: tiles and payload bytes.
    pub fn codec_totals(&self) -> BTreeMap<&str, (u64, u64)> {
        let mut by: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for t in &self.tiles {
            let e = by.entry(t.codec.as_str()).or_default();
            e.0 += 1;
            e.1 += t.bytes;
        }
        by
    }

    /// The scale planes inside dequant tiles, if any tile has one.
    pub fn dequant_scales(&self) -> Option<ScaleShare> {
        let with_scales = || self.tiles.iter().filter(|t| t.scale_bytes.is_some());
        let bytes: u64 = with_scales().filter_map(|t| t.scale_bytes).sum();
        let scales: u64 = with_scales().map(|t| t.shape.pixels() as u64).sum();
        (scales > 0).then(|| ScaleShare {
            bytes,
            share_of_file: bytes as f64 / self.file_bytes.max(1) as f64,
            bits_per_value: 8.0 * bytes as f64 / scales as f64,
        })
    }

    /// Bytes of every plane (the bands, then each aux plane such as TESSERA's scales) and
    /// their share of the file.
    pub fn plane_shares(&self) -> Vec<PlaneShare> {
        let h = &self.header;
        (0..h.plane_count())
            .map(|plane| {
                let name = match plane {
                    0 => "bands".to_string(),
                    p => h.aux_planes[p - 1].name.clone(),
                };
                let tiles = || self.tiles.iter().filter(|t| t.plane == plane);
                let bytes: u64 = tiles().map(|t| t.bytes).sum();
                let samples: u64 = tiles().map(|t| t.shape.samples() as u64).sum();
                let share_of_file = bytes as f64 / self.file_bytes.max(1) as f64;
                PlaneShare {
                    plane,
                    name,
                    bytes,
                    share_of_file,
                    bits_per_sample: 8.0 * bytes as f64 / samples.max(1) as f64,
                }
            })
            .collect()
    }
}

fn tile_list(h: &Header, entries: &[IndexEntry]) -> Vec<TileInfo> {
    let mut out = Vec::new();
    for plane in 0..h.plane_count() {
        for ty in 0..h.tiles_down() {
            for tx in 0..h.tiles_across() {
                let e = &entries[h.block_index(plane, tx, ty) as usize];
                let codec = CodecId::from_code(e.codec)
                    .map(|c| c.name().to_string())
                    .unwrap_or_else(|_| format!("unknown({})", e.codec));
                let shape = block_shape(h, plane, tx, ty).expect("in grid");
                out.push(TileInfo {
                    plane,
                    tx,
                    ty,
                    codec,
                    bytes: e.length,
                    shape,
                    choices: String::new(),
                    scale_bytes: None,
                });
            }
        }
    }
    out
}

/// Fills in what the float codec chose for (up to [`MAX_DESCRIBED`]) float tiles — the
/// transform, then each distinct band choice with its count ("k/1e4 LS5 x1") — and what
/// dequant and scales-from-codes tiles hold.
fn describe_tiles<R: Read + Seek>(r: &mut Reader<R>, tiles: &mut [TileInfo]) {
    let (float, dequant) = (CodecId::Float.name(), CodecId::Dequant.name());
    let from_codes = CodecId::ScalesFromCodes.name();
    for tile in tiles
        .iter_mut()
        .filter(|t| [float, dequant, from_codes].contains(&t.codec.as_str()))
        .take(MAX_DESCRIBED)
    {
        let payload = match r.read_payload(tile.plane, tile.tx, tile.ty) {
            Ok(payload) => payload,
            Err(_) => {
                tile.choices = "unreadable payload".into();
                continue;
            }
        };
        if tile.codec == from_codes {
            tile.choices = match scales_from_codes::summarize(&payload) {
                Ok(summary) => describe_scales_from_codes(&summary, tile.shape.pixels()),
                Err(e) => format!("unreadable: {e}"),
            };
            continue;
        }
        if tile.codec == dequant {
            match dequant::summarize(&tile.shape, &payload) {
                Ok(summary) => {
                    tile.scale_bytes = summary.scales.map(|(_, bytes)| bytes as u64);
                    tile.choices = describe_dequant(&summary, tile.shape.pixels());
                }
                Err(e) => tile.choices = format!("unreadable: {e}"),
            }
            continue;
        }
        tile.choices = match float::summarize(&tile.shape, &payload) {
            Ok((transform, bands)) => condense(transform.name(), bands),
            Err(e) => format!("unreadable: {e}"),
        };
    }
}

/// "per-pixel scale; codes int8 native 1036903 B; scales float 157595 B (19.2 bits);
/// verbatim 0 px + 0 samples".
fn describe_dequant(s: &dequant::Summary, pixels: usize) -> String {
    let mut d = format!(
        "{}; codes {} {} {} B",
        s.mode.name(),
        s.code_type,
        s.codes.0,
        s.codes.1
    );
    if let Some((codec, bytes)) = s.scales {
        let bits = 8.0 * bytes as f64 / pixels.max(1) as f64;
        let how = if s.scale_model == 1 { " predicted" } else { "" };
        d += &format!("; scales{how} {codec} {bytes} B ({bits:.1} bits)");
    }
    if s.table_values > 0 {
        d += &format!("; table of {} values", s.table_values);
    }
    d + &format!(
        "; verbatim {} px + {} samples ({} B)",
        s.exception_pixels, s.exception_samples, s.exception_bytes
    )
}

/// "predicted from the codes; residuals float 188831 B (16.8 bits)".
fn describe_scales_from_codes(s: &scales_from_codes::Summary, pixels: usize) -> String {
    let (codec, bytes) = s.residuals;
    let bits = 8.0 * bytes as f64 / pixels.max(1) as f64;
    format!("predicted from the codes; residuals {codec} {bytes} B ({bits:.1} bits)")
}

/// "transform; choice xN; ..." with the four commonest band choices.
fn condense(transform: &str, bands: Vec<String>) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for b in bands {
        // Lattice offsets differ band by band; the step is what describes it.
        let key = match b.find("+k*") {
            Some(i) => b[i + 1..].to_string(),
            None => b,
        };
        *counts.entry(key).or_default() += 1;
    }
    let mut parts: Vec<(usize, String)> = counts.into_iter().map(|(k, n)| (n, k)).collect();
    parts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut d = transform.to_string();
    for (n, k) in parts.iter().take(4) {
        d += &format!("; {k} x{n}");
    }
    if parts.len() > 4 {
        d += &format!("; {} more", parts.len() - 4);
    }
    d
}
