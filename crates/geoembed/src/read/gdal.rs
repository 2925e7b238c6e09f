//! Any GDAL raster as a [`RasterSource`], with its georeferencing and metadata mapped into a
//! `.emb` header.

use crate::error::{Error, Result};
use crate::gdal::{self as gdal_util, last_gdal_error};
use crate::read::RasterSource;
use gdal::{Dataset, Metadata};
use gdal_sys::GDALDataType;
use geoembed_codec::{BandInfo, Header, SampleType};
use std::ffi::CStr;
use std::path::Path;

pub struct GdalSource {
    ds: Dataset,
    header: Header,
    name: String,
    /// GDAL's block cache sized for a one-pass read, while a conversion reads this source.
    cache: Option<gdal_util::StreamingCache>,
    /// Whether this source may size GDAL's (process-wide) cache: yes when geoembed opened
    /// the dataset, no for a dataset lent by a GDAL host (the plugin's CreateCopy).
    sizes_cache: bool,
}

/// Whether a dataset name is a plain path (as opposed to `NETCDF:"f.nc":var`, `/vsizip/...`,
/// `HDF5:...`), so a missing file can be reported before GDAL's less direct message.
pub fn is_plain_path(name: &str) -> bool {
    !name.starts_with("/vsi")
        && !name.contains(":\"")
        && !name.split_once(':').is_some_and(|(p, _)| {
            p.len() > 1
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

/// Opens a GDAL raster read-only, with errors that name the file and say what is wrong.
pub fn open_dataset(name: &str) -> Result<Dataset> {
    if is_plain_path(name) {
        let p = Path::new(name);
        match std::fs::metadata(p) {
            Err(e) => return Err(Error::io(p, e)),
            Ok(m) if m.is_dir() && !name.ends_with(".zarr") => {
                return Err(Error::unsupported(p, "is a directory, not a raster"))
            }
            Ok(_) => {
                std::fs::File::open(p).map_err(|e| Error::io(p, e))?;
            }
        }
    }
    let opts = gdal::DatasetOptions {
        open_flags: gdal::GdalOpenFlags::GDAL_OF_RASTER
            | gdal::GdalOpenFlags::GDAL_OF_READONLY
            | gdal::GdalOpenFlags::GDAL_OF_VERBOSE_ERROR,
        ..Default::default()
    };
    Dataset::open_ex(name, opts).map_err(|e| {
        let why = match &e {
            gdal::errors::GdalError::NullPointer { msg, .. } if !msg.is_empty() => msg.clone(),
            _ => last_gdal_error(),
        };
        if why.contains("not recognized as") || why.contains("not recognised as") {
            Error::unsupported(name, "not a raster format GDAL can read").with_source(e)
        } else {
            Error::gdal(name, why).with_source(e)
        }
    })
}

fn sample_type(name: &str, band: &gdal::raster::RasterBand, index: usize) -> Result<SampleType> {
    // SAFETY: the band handle is valid while the dataset lives.
    let dt = unsafe { gdal_sys::GDALGetRasterDataType(band.c_rasterband()) };
    Ok(match dt {
        GDALDataType::GDT_Byte => {
            // GDAL 3.6 has no Int8: signed bytes are flagged in IMAGE_STRUCTURE.
            if band
                .metadata_item("PIXELTYPE", "IMAGE_STRUCTURE")
                .as_deref()
                == Some("SIGNEDBYTE")
            {
                SampleType::I8
            } else {
                SampleType::U8
            }
        }
        GDALDataType::GDT_UInt16 => SampleType::U16,
        GDALDataType::GDT_Int16 => SampleType::I16,
        GDALDataType::GDT_UInt32 => SampleType::U32,
        GDALDataType::GDT_Int32 => SampleType::I32,
        GDALDataType::GDT_Float32 => SampleType::F32,
        GDALDataType::GDT_Float64 => SampleType::F64,
        other => {
            // SAFETY: GDALGetDataTypeName returns a static string.
            let tname = unsafe { CStr::from_ptr(gdal_sys::GDALGetDataTypeName(other)) }
                .to_string_lossy()
                .into_owned();
            let why = if tname.starts_with('C') {
                format!("complex samples ({tname}) are not supported")
            } else {
                format!("sample type {tname} is not supported")
            };
            return Err(Error::unsupported(name, format!("band {index}: {why}; supported: uint8, int8, uint16, int16, uint32, int32, float32, float64")));
        }
    })
}

fn band_info(band: &gdal::raster::RasterBand) -> BandInfo {
    // SAFETY: the handle is only used while `band` (and its dataset) lives.
    let h = unsafe { band.c_rasterband() };
    let mut ok = 0;
    // SAFETY: h is a valid band handle for all calls below; returned strings are copied.
    unsafe {
        let nodata = gdal_sys::GDALGetRasterNoDataValue(h, &mut ok);
        let nodata = (ok != 0).then_some(nodata);
        let scale = gdal_sys::GDALGetRasterScale(h, &mut ok);
        let scale = (ok != 0).then_some(scale);
        let offset = gdal_sys::GDALGetRasterOffset(h, &mut ok);
        let offset = (ok != 0).then_some(offset);
        let ct = gdal_sys::GDALGetRasterColorTable(h);
        let color_table = (!ct.is_null()).then(|| {
            let n = gdal_sys::GDALGetColorEntryCount(ct);
            let entries = (0..n)
                .map(|i| {
                    let e = &*gdal_sys::GDALGetColorEntry(ct, i);
                    [e.c1, e.c2, e.c3, e.c4]
                })
                .collect();
            (gdal_sys::GDALGetPaletteInterpretation(ct) as u16, entries)
        });
        BandInfo {
            description: band.description().unwrap_or_default(),
            nodata,
            scale,
            offset,
            color_interp: gdal_sys::GDALGetRasterColorInterpretation(h) as u16,
            unit: band.unit(),
            metadata: gdal_util::metadata_domains(h as _),
            color_table,
        }
    }
}

/// The first `n` names and how many more there are (a Zarr store lists hundreds).
fn first_names(names: &[&str], n: usize) -> String {
    let shown = names[..names.len().min(n)].join(", ");
    match names.len().saturating_sub(n) {
        0 => shown,
        more => format!("{shown} and {more} more (gdalinfo lists them)"),
    }
}

/// Builds the `.emb` header for a GDAL dataset.
pub fn header_from_dataset(name: &str, ds: &Dataset) -> Result<Header> {
    let count = ds.raster_count();
    if count == 0 {
        let subs = ds.metadata_domain("SUBDATASETS").unwrap_or_default();
        let names: Vec<&str> = subs
            .iter()
            .filter(|s| s.contains("_NAME="))
            .filter_map(|s| s.split_once('=').map(|x| x.1))
            .collect();
        return Err(Error::unsupported(
            name,
            if names.is_empty() {
                "has no raster bands".to_string()
            } else {
                format!(
                    "has no raster bands of its own; pick one of its subdatasets: {}",
                    first_names(&names, 3)
                )
            },
        ));
    }
    let (w, h) = ds.raster_size();
    let mut ty = None;
    let mut bands = Vec::with_capacity(count);
    for i in 1..=count {
        let band = ds
            .rasterband(i)
            .map_err(|e| Error::gdal(name, &e).with_source(e))?;
        let t = sample_type(name, &band, i)?;
        if ty.is_some_and(|x| x != t) {
            return Err(Error::unsupported(
                name,
                format!(
                    "band {i} is {t} but band 1 is {}; .emb needs one sample type for all bands",
                    ty.unwrap()
                ),
            ));
        }
        ty = Some(t);
        bands.push(band_info(&band));
    }
    let mut header = Header::new(w as u32, h as u32, count, ty.expect("count > 0"));
    header.bands = bands;
    let mut gt = [0f64; 6];
    // SAFETY: gt has room for the six coefficients.
    if unsafe { gdal_sys::GDALGetGeoTransform(ds.c_dataset(), gt.as_mut_ptr()) }
        == gdal_sys::CPLErr::CE_None
    {
        header.georef.geotransform = Some(gt);
    }
    header.georef.srs = gdal_util::dataset_srs(ds);
    let (gcps, gcp_srs) = gdal_util::dataset_gcps(ds);
    header.georef.gcps = gcps;
    header.georef.gcp_srs = gcp_srs;
    // SAFETY: the dataset handle is live while `ds` is.
    header.metadata = unsafe { gdal_util::metadata_domains(ds.c_dataset() as _) };
    header
        .info
        .push(("source_driver".into(), ds.driver().short_name()));
    Ok(header)
}

impl GdalSource {
    pub fn open(name: &str) -> Result<Self> {
        let ds = open_dataset(name)?;
        let header = header_from_dataset(name, &ds)?;
        Ok(GdalSource {
            ds,
            header,
            name: name.to_string(),
            cache: None,
            sizes_cache: true,
        })
    }

    /// A source over a dataset opened elsewhere (the GDAL driver's `CreateCopy`).
    pub fn from_parts(name: &str, ds: Dataset, header: Header) -> Self {
        GdalSource {
            ds,
            header,
            name: name.to_string(),
            cache: None,
            sizes_cache: false,
        }
    }

    /// Gives the dataset back (a caller that does not own it must not let it close).
    pub fn into_dataset(self) -> Dataset {
        self.ds
    }

    pub fn dataset(&self) -> &Dataset {
        &self.ds
    }

    pub fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}

impl RasterSource for GdalSource {
    fn header(&self) -> &Header {
        &self.header
    }

    fn read_rows(&mut self, plane: usize, y0: u32, rows: u32, out: &mut [u8]) -> Result<()> {
        assert_eq!(plane, 0, "GDAL sources have no aux planes");
        let h = &self.header;
        let n = h.width as usize * rows as usize * h.bands.len() * h.sample_type.size();
        assert_eq!(out.len(), n);
        gdal_util::raster_io(
            &self.ds,
            false,
            h.sample_type,
            h.bands.len(),
            h.width as usize,
            y0 as usize..y0 as usize + rows as usize,
            out,
        )
        .map_err(|e| e.at(&self.name))
    }

    fn read_window(
        &mut self,
        plane: usize,
        columns: std::ops::Range<u32>,
        y0: u32,
        rows: u32,
        out: &mut [u8],
    ) -> Result<()> {
        assert_eq!(plane, 0, "GDAL sources have no aux planes");
        let h = &self.header;
        let columns = columns.start as usize..columns.end as usize;
        let rows = y0 as usize..y0 as usize + rows as usize;
        gdal_util::raster_io_window(
            &self.ds,
            false,
            h.sample_type,
            h.bands.len(),
            columns,
            rows,
            out,
        )
        .map_err(|e| e.at(&self.name))
    }

    fn kind(&self) -> String {
        format!("GDAL {}", self.ds.driver().short_name())
    }

    fn prepare_streaming(&mut self, tile: (u32, u32), batch_bytes: usize) {
        if !self.sizes_cache {
            return;
        }
        let pixel_bytes = self.header.bands.len() * self.header.sample_type.size();
        self.cache = Some(gdal_util::StreamingCache::for_dataset(
            &self.ds,
            tile,
            pixel_bytes,
            batch_bytes,
        ));
    }

    fn reads_windows(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_subdataset_lists_are_cut() {
        let names: Vec<String> = (0..300).map(|i| format!("ZARR:\"t.zarr\":/{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            first_names(&refs, 3),
            "ZARR:\"t.zarr\":/0, ZARR:\"t.zarr\":/1, ZARR:\"t.zarr\":/2 and 297 more (gdalinfo lists them)"
        );
        assert_eq!(
            first_names(&refs[..2], 3),
            "ZARR:\"t.zarr\":/0, ZARR:\"t.zarr\":/1"
        );
    }
}
