//! An open `.emb` as the shim sees it: the header turned once into C strings and arrays
//! (so every getter is a borrow), the reader over VSI, and a small decoded-tile cache so
//! that reading 128 bands of one tile decodes it once.

use crate::tile_cache::TileCache;
use crate::vsi::VsiFile;
use geoembed::gdal::{cstring, CStringList};
use geoembed_codec::{
    BandInfo, CodecId, Dequantization, Header, IndexEntry, MetadataDomain, Reader, SampleType, Srs,
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
    pub header: Header,
    pub gdal_type: i32,
    pub srs: Option<CSrs>,
    pub gcp_srs: Option<CSrs>,
    pub gcps: CGcps,
    pub metadata: Vec<(CString, CStringList)>,
    pub bands: Vec<CBand>,
    pub cache: TileCache,
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

/// The dataset's metadata as GDAL shows it: the file's own domains, plus how it stores
/// its pixels (`IMAGE_STRUCTURE`) and what a reader needs to know (`GEOEMBED`).
fn dataset_metadata(header: &Header, entries: &[IndexEntry]) -> Vec<MetadataDomain> {
    let mut ds_meta = header.metadata.clone();
    let mut codecs: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_tile = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let name = CodecId::from_code(e.codec)
            .map(|c| c.name().to_string())
            .unwrap_or_else(|_| format!("unknown-{}", e.codec));
        if (i as u64) < header.tiles_per_plane() {
            per_tile.push(name.clone());
        }
        *codecs.entry(name).or_default() += 1;
    }
    let codecs: Vec<String> = codecs.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    add_items(
        &mut ds_meta,
        "IMAGE_STRUCTURE",
        vec![
            "COMPRESSION=GEOEMBED".into(),
            "INTERLEAVE=PIXEL".into(),
            format!("GEOEMBED_TILE_CODECS={}", codecs.join(",")),
        ],
    );
    // What a reader needs to get physical values back, stated rather than guessed.
    let mut emb_items: Vec<String> = header
        .info
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    // The codec of every tile of the bands, in row-major tile order.
    emb_items.push(format!("TILE_CODECS={}", per_tile.join(",")));
    if let Some(d) = &header.dequantization {
        emb_items.push(format!("DEQUANTIZATION={}", recipe(d, header)));
    }
    for (i, a) in header.aux_planes.iter().enumerate() {
        emb_items.push(format!(
            "AUX_PLANE_{i}={} ({} band(s) of {}; read them with `geoembed convert --dequantize`)",
            a.name,
            a.bands,
            a.sample_type.name()
        ));
    }
    add_items(&mut ds_meta, "GEOEMBED", emb_items);
    ds_meta
}

impl Handle {
    pub fn new(reader: Reader<VsiFile>) -> Self {
        let header = reader.header().clone();
        let metadata = domains(&dataset_metadata(&header, reader.entries()));
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
        Handle {
            gdal_type: geoembed::gdal::gdal_type(header.sample_type) as i32,
            srs: CSrs::new(&header.georef.srs),
            gcp_srs: CSrs::new(&header.georef.gcp_srs),
            gcps: CGcps::new(&header),
            metadata,
            bands,
            cache: TileCache::new(tile_bytes),
            last_error: CString::default(),
            header,
            reader,
        }
    }

    /// The decoded tile (tx, ty), from the cache or decoded now.
    pub fn tile(&mut self, tx: u32, ty: u32) -> geoembed_codec::Result<&[u8]> {
        let reader = &mut self.reader;
        self.cache.get_or_decode((tx, ty), || {
            let mut samples = reader.read_block(0, tx, ty)?;
            to_native_endian(&mut samples, reader.header().sample_type.size());
            Ok(samples)
        })
    }
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
