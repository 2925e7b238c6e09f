//! An open `.emb` as the shim sees it: the view's header turned once into C strings and
//! arrays (so every getter is a borrow), the reader over VSI, and the decoded-tile cache of
//! multi-band window reads.

use crate::open_options::OpenOptions;
use crate::tile_cache::TileCache;
use crate::view::View;
use crate::vsi::VsiFile;
use geoembed::gdal::{cstring, CStringList};
use geoembed::info::gdalinfo::{gdal_compression, reversibility, subdataset_name, subdatasets};
use geoembed_codec::{
    BandInfo, CodecId, Dequantization, Header, IndexEntry, MetadataDomain, Reader, SampleType, Srs,
    TileRows,
};
use std::collections::BTreeMap;
use std::ffi::{c_char, CString};

pub struct CSrs {
    pub wkt: CString,
    pub axis: Vec<i32>,
}

impl CSrs {
    fn new(s: &Option<Srs>) -> Option<Self> {
        s.as_ref().map(|s| CSrs {
            wkt: cstring(&s.wkt),
            axis: s.axis_mapping.clone(),
        })
    }
}

pub struct CBand {
    pub info: BandInfo,
    pub description: CString,
    pub unit: CString,
    pub metadata: Vec<(CString, CStringList)>,
    pub color_table: Vec<i16>,
}

pub struct CGcps {
    _strings: Vec<CString>,
    pub list: Vec<gdal_sys::GDAL_GCP>,
}

pub struct Handle {
    pub reader: Reader<VsiFile>,
    /// The file's header.
    pub file_header: Header,
    /// The header of what this dataset shows (see [`View::presented`]).
    pub header: Header,
    pub view: View,
    /// The file's name and the view's name for GDAL's PAM (see the C header).
    pub file_name: CString,
    pub view_name: Option<CString>,
    pub gdal_type: i32,
    pub srs: Option<CSrs>,
    pub gcp_srs: Option<CSrs>,
    pub gcps: CGcps,
    pub metadata: Vec<(CString, CStringList)>,
    pub bands: Vec<CBand>,
    pub cache: TileCache,
    /// The last tile decoded without caching it (its bands went to GDAL's block cache).
    scratch: Vec<u8>,
    pub last_error: CString,
}

fn domains(list: &[MetadataDomain]) -> Vec<(CString, CStringList)> {
    list.iter()
        .map(|d| (cstring(&d.name), CStringList::new(&d.items)))
        .collect()
}

/// Adds items to a domain, creating it if needed.
fn add_items(list: &mut Vec<MetadataDomain>, name: &str, items: Vec<String>) {
    match list.iter_mut().find(|d| d.name == name) {
        Some(d) => d.items.extend(items),
        None => list.push(MetadataDomain {
            name: name.to_string(),
            items,
        }),
    }
}

impl CBand {
    fn new(header: &Header, b: &BandInfo) -> Self {
        let mut meta = b.metadata.clone();
        if header.sample_type == SampleType::I8 {
            // GDAL 3.6 has no Int8 type: signed bytes are flagged, as GTiff does.
            add_items(
                &mut meta,
                "IMAGE_STRUCTURE",
                vec!["PIXELTYPE=SIGNEDBYTE".into()],
            );
        }
        CBand {
            info: b.clone(),
            description: cstring(&b.description),
            unit: cstring(&b.unit),
            metadata: domains(&meta),
            color_table: b
                .color_table
                .as_ref()
                .map(|(_, e)| e.iter().flatten().copied().collect())
                .unwrap_or_default(),
        }
    }
}

impl CGcps {
    fn new(header: &Header) -> Self {
        let mut strings = Vec::new();
        let mut list = Vec::new();
        for g in &header.georef.gcps {
            let id = cstring(&g.id);
            let info = cstring(&g.info);
            list.push(gdal_sys::GDAL_GCP {
                pszId: id.as_ptr() as *mut c_char,
                pszInfo: info.as_ptr() as *mut c_char,
                dfGCPPixel: g.pixel,
                dfGCPLine: g.line,
                dfGCPX: g.x,
                dfGCPY: g.y,
                dfGCPZ: g.z,
            });
            // Moving a CString does not move its heap buffer: the pointers stay valid.
            strings.push(id);
            strings.push(info);
        }
        CGcps {
            _strings: strings,
            list,
        }
    }
}

/// Tiles per codec name in `entries`, and the codec of every tile of `plane` in row-major
/// tile order.
fn codec_counts(
    header: &Header,
    entries: &[IndexEntry],
    plane: usize,
) -> (BTreeMap<String, u64>, Vec<String>) {
    let mut codecs: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_tile = Vec::new();
    let tiles = header.tiles_per_plane();
    for (i, e) in entries.iter().enumerate() {
        let name = CodecId::from_code(e.codec)
            .map(|c| c.name().to_string())
            .unwrap_or_else(|_| format!("unknown-{}", e.codec));
        if i as u64 / tiles == plane as u64 {
            per_tile.push(name.clone());
            *codecs.entry(name).or_default() += 1;
        }
    }
    (codecs, per_tile)
}

/// The dataset's metadata as GDAL shows it: the file's own domains, plus how it stores
/// its pixels (`IMAGE_STRUCTURE`), what a reader needs to know (`GEOEMBED`) and the aux
/// planes as subdatasets (`SUBDATASETS`).
fn dataset_metadata(
    file: &Header,
    view: &View,
    entries: &[IndexEntry],
    name: &str,
) -> Vec<MetadataDomain> {
    let mut ds_meta = file.metadata.clone();
    let plane = match view {
        View::AuxPlane(index) => index + 1,
        View::Bands | View::Dequantized => 0,
    };
    let (codecs, per_tile) = codec_counts(file, entries, plane);
    let counts: Vec<String> = codecs.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    let mut structure = vec![
        format!(
            "COMPRESSION={}",
            gdal_compression(codecs.keys().map(String::as_str))
        ),
        "INTERLEAVE=PIXEL".into(),
        format!("GEOEMBED_TILE_CODECS={}", counts.join(",")),
    ];
    // Lossless, or lossy with the bound kept and the error reached, per band.
    let reversible = reversibility(file, plane).into_iter();
    structure.extend(reversible.map(|(k, v)| format!("{k}={v}")));
    add_items(&mut ds_meta, "IMAGE_STRUCTURE", structure);
    // What a reader needs to get physical values back, stated rather than guessed.
    let mut emb_items: Vec<String> = file.info.iter().map(|(k, v)| format!("{k}={v}")).collect();
    emb_items.push(format!("CODECS={}", counts.join(",")));
    // The codec of every tile of the plane shown, in row-major tile order.
    emb_items.push(format!("TILE_CODECS={}", per_tile.join(",")));
    if let Some(d) = &file.dequantization {
        emb_items.push(format!("DEQUANTIZATION={}", recipe(d, file)));
    }
    for (i, a) in file.aux_planes.iter().enumerate() {
        emb_items.push(format!(
            "AUX_PLANE_{i}={} ({} band(s) of {}; subdataset {})",
            a.name,
            a.bands,
            a.sample_type.name(),
            subdataset_name(name, &a.name)
        ));
    }
    if let Some(what) = view.describe(file) {
        emb_items.push(format!("VIEW={what}"));
    }
    add_items(&mut ds_meta, "GEOEMBED", emb_items);
    if *view == View::Bands && !file.aux_planes.is_empty() {
        let items = subdatasets(name, file)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"));
        add_items(&mut ds_meta, "SUBDATASETS", items.collect());
    }
    ds_meta
}

impl Handle {
    /// `name` is the file as GDAL named it (subdataset names are built from it).
    pub fn new(reader: Reader<VsiFile>, name: &str, view: View, options: &OpenOptions) -> Self {
        let file_header = reader.header().clone();
        let header = view.presented(&file_header);
        let metadata = domains(&dataset_metadata(
            &file_header,
            &view,
            reader.entries(),
            name,
        ));
        let bands = header
            .bands
            .iter()
            .map(|b| CBand::new(&header, b))
            .collect();
        // Tiles as clipped to the raster (what they decode to), in saturating arithmetic:
        // declared tile sizes can be anything up to 2^32 - 1.
        let tile_bytes = (header.tile_width.min(header.width) as usize)
            .saturating_mul(header.tile_height.min(header.height) as usize)
            .saturating_mul(header.bands.len())
            .saturating_mul(header.sample_type.size());
        // SAFETY: GDALGetCacheMax64 only reads GDAL's configuration.
        let gdal_cache = unsafe { gdal_sys::GDALGetCacheMax64() }.max(0) as usize;
        // Two rows of tiles serve a row-by-row or swath reader; more would only duplicate
        // what GDAL's block cache (which gets every band of a decoded tile) already holds,
        // and make a one-pass copy's memory grow with the raster up to twice GDAL_CACHEMAX.
        // A small GDAL_CACHEMAX lowers it, but never below one row: a row-by-row reader
        // would decode every tile again for each of its rows.
        let row = tile_bytes.saturating_mul(header.tiles_across() as usize);
        let budget = options
            .tile_cache_bytes
            .unwrap_or(row.saturating_mul(2).min(gdal_cache.max(row)));
        Handle {
            gdal_type: geoembed::gdal::gdal_type(header.sample_type) as i32,
            srs: CSrs::new(&header.georef.srs),
            gcp_srs: CSrs::new(&header.georef.gcp_srs),
            gcps: CGcps::new(&header),
            metadata,
            bands,
            cache: TileCache::new(budget, tile_bytes),
            scratch: Vec::new(),
            last_error: CString::default(),
            view_name: view.pam_name(&file_header).map(|n| cstring(&n)),
            file_name: cstring(name),
            file_header,
            header,
            view,
            reader,
        }
    }

    /// The decoded tile (tx, ty) of the view, native-endian: from the cache, or decoded
    /// now and cached if `keep`, else held only until the next call.
    pub fn tile(&mut self, tx: u32, ty: u32, keep: bool) -> geoembed_codec::Result<&[u8]> {
        let (_, _, _, height) = self.header.tile_rect(tx, ty);
        if keep || self.cache.get((tx, ty)).is_some() {
            return self.tile_rows(tx, ty, 0, height as usize);
        }
        let size = self.header.sample_type.size();
        self.scratch = self.view.decode_tile(&mut self.reader, tx, ty)?;
        to_native_endian(&mut self.scratch, size);
        debug_decoded(tx, ty);
        Ok(&self.scratch)
    }

    /// Rows `from..to` of tile (tx, ty) of the view (tile coordinates), native-endian,
    /// contiguous: from the tile's entry in the cache, decoding its rows as far as `to`.
    /// A tile asked for rows it has released, or whose decoding failed, starts again.
    pub fn tile_rows(
        &mut self,
        tx: u32,
        ty: u32,
        from: usize,
        to: usize,
    ) -> geoembed_codec::Result<&[u8]> {
        let size = self.header.sample_type.size();
        let (reader, view, cache, key) = (&mut self.reader, &self.view, &mut self.cache, (tx, ty));
        let tile = cache.get_or_start(key, || start_tile(reader, view, key, size))?;
        let kept = tile.rows(reader, from, to).map(|rows| rows.is_some());
        if kept.is_err() {
            cache.remove(key);
        }
        if !kept? {
            cache.remove(key);
            cache.get_or_start(key, || start_tile(reader, view, key, size))?;
        }
        let tile = cache.get(key).expect("started above");
        let rows = tile.rows(reader, from, to)?;
        Ok(rows.expect("rows of a tile just started"))
    }
}

/// Tile `key` of the view, ready to be read by rows in native byte order.
fn start_tile(
    reader: &mut Reader<VsiFile>,
    view: &View,
    (tx, ty): (u32, u32),
    sample_size: usize,
) -> geoembed_codec::Result<TileRows> {
    debug_decoded(tx, ty);
    Ok(view.tile_rows(reader, tx, ty)?.in_native_order(sample_size))
}

/// Tells GDAL's debug log (`CPL_DEBUG=GeoEmbed`) that a tile was decoded: how a reader
/// sees whether its access pattern decodes a tile more than once.
fn debug_decoded(tx: u32, ty: u32) {
    let message = cstring(&format!("decoded tile ({tx}, {ty})"));
    // SAFETY: NUL-terminated strings; "%s" takes the one argument given.
    unsafe { gdal_sys::CPLDebug(c"GeoEmbed".as_ptr(), c"%s".as_ptr(), message.as_ptr()) };
}

/// The dequantisation recipe in words, for the `GEOEMBED` metadata domain.
fn recipe(d: &Dequantization, h: &Header) -> String {
    match d {
        Dequantization::PerPixelScale { aux_plane } => {
            let name = h
                .aux_planes
                .get(*aux_plane as usize)
                .map_or("?", |a| a.name.as_str());
            format!("value = sample * scale, scale per pixel from aux plane {aux_plane} ({name})")
        }
        Dequantization::PowerLaw { divisor, exponent } => {
            format!("value = sign(sample) * (|sample| / {divisor})^{exponent}; nodata -> NaN")
        }
    }
}

/// Tiles decode to little-endian samples; GDAL wants native order.
fn to_native_endian(samples: &mut [u8], size: usize) {
    if cfg!(target_endian = "big") && size > 1 {
        for s in samples.chunks_exact_mut(size) {
            s.reverse();
        }
    }
}
