//! Header chunks: serialisation of [`Header`] fields other than the grid (which lives in the
//! preamble). Layouts are specified byte by byte in `docs/format.md`.
//!
//! A chunk is `tag[4] | u32 length | payload`. Tags whose first letter is upper case are
//! critical (a reader that does not know one must refuse the file); lower case tags are
//! ancillary and skipped when unknown, as in PNG.

use super::bytes::{ByteReader, ByteWriter};
use super::header::{
    AuxPlane, BandInfo, Decorrelation, DecorrelationGroup, Dequantization, Gcp, Header,
    MetadataDomain, NearLossless, Srs, TransformAchieved, TransformLoss,
};
use crate::entropy::deflate;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::sample::SampleType;

pub(super) const BANDS: [u8; 4] = *b"BNDS";
/// `BNDS`'s payload as a zlib stream (format 1.7, §4.1a): written instead of `BNDS` in
/// transform-coded files, whose tiles can be smaller than the band table.
pub(super) const BANDS_ZLIB: [u8; 4] = *b"BNDZ";
pub(super) const AUX_PLANES: [u8; 4] = *b"AUXP";
pub(super) const GEOTRANSFORM: [u8; 4] = *b"GEOT";
pub(super) const SRS: [u8; 4] = *b"SRS_";
pub(super) const GCPS: [u8; 4] = *b"GCPS";
pub(super) const METADATA: [u8; 4] = *b"META";
pub(super) const DEQUANTIZATION: [u8; 4] = *b"DEQU";
pub(super) const DECORRELATION: [u8; 4] = *b"DCOR";
pub(super) const NEAR_LOSSLESS: [u8; 4] = *b"loss";
/// The bound a transform-coded file's tiles were refined to (format 1.4, §4.9; ancillary).
pub(super) const LOSS_BOUND: [u8; 4] = *b"lbnd";
pub(super) const INFO: [u8; 4] = *b"info";

/// `loss` mode 1: every band has an absolute error bound, as a `u32` (integer samples).
const MODE_NEAR_LOSSLESS: u8 = 1;
/// `loss` mode 2: transform coding to a relative RMSE.
const MODE_TRANSFORM: u8 = 2;
/// `loss` mode 3: every band has an absolute error bound, as an `f64` (float samples).
const MODE_NEAR_LOSSLESS_F64: u8 = 3;
/// A mode 1 `loss` chunk's achieved error when the writer did not record it.
const NOT_RECORDED: u32 = u32::MAX;

const FLAG_NODATA: u8 = 1;
const FLAG_SCALE: u8 = 2;
const FLAG_OFFSET: u8 = 4;
const FLAG_COLOR_TABLE: u8 = 8;

fn chunk(out: &mut ByteWriter, tag: [u8; 4], body: impl FnOnce(&mut ByteWriter)) {
    let mut body_writer = ByteWriter::default();
    body(&mut body_writer);
    out.bytes(&tag);
    out.u32(body_writer.buf.len() as u32);
    out.bytes(&body_writer.buf);
}

/// Serialises the header chunks (without the trailing CRC).
pub(super) fn encode(h: &Header) -> Vec<u8> {
    let mut out = ByteWriter::default();
    write_band_table(&mut out, h);
    if !h.aux_planes.is_empty() {
        chunk(&mut out, AUX_PLANES, |w| {
            w.u32(h.aux_planes.len() as u32);
            for a in &h.aux_planes {
                w.str(&a.name);
                w.u8(a.sample_type as u8);
                w.u32(a.bands);
                w.str(&a.description);
            }
        });
    }
    if let Some(gt) = &h.georef.geotransform {
        chunk(&mut out, GEOTRANSFORM, |w| {
            gt.iter().for_each(|v| w.f64(*v))
        });
    }
    if let Some(srs) = &h.georef.srs {
        chunk(&mut out, SRS, |w| write_srs(w, srs));
    }
    if !h.georef.gcps.is_empty() {
        chunk(&mut out, GCPS, |w| {
            match &h.georef.gcp_srs {
                Some(s) => {
                    w.u8(1);
                    write_srs(w, s);
                }
                None => w.u8(0),
            }
            w.u32(h.georef.gcps.len() as u32);
            for g in &h.georef.gcps {
                w.str(&g.id);
                w.str(&g.info);
                for v in [g.pixel, g.line, g.x, g.y, g.z] {
                    w.f64(v);
                }
            }
        });
    }
    if !h.metadata.is_empty() {
        chunk(&mut out, METADATA, |w| write_domains(w, &h.metadata));
    }
    if let Some(d) = &h.dequantization {
        chunk(&mut out, DEQUANTIZATION, |w| match d {
            Dequantization::PerPixelScale { aux_plane } => {
                w.u8(1);
                w.u32(*aux_plane);
            }
            Dequantization::PowerLaw { divisor, exponent } => {
                w.u8(2);
                w.f64(*divisor);
                w.f64(*exponent);
            }
        });
    }
    if let Some(d) = &h.decorrelation {
        chunk(&mut out, DECORRELATION, |w| {
            w.u8(d.shift);
            w.u32(d.groups.len() as u32);
            for g in &d.groups {
                w.u32(g.first_band);
                w.u32(g.bands);
                g.coefficients.iter().for_each(|c| w.i32(*c));
                g.bias.iter().for_each(|b| w.i64(*b));
            }
        });
    }
    let bound = h.near_lossless.as_ref().filter(|n| n.is_lossy());
    if let Some(t) = &h.transform_loss {
        chunk(&mut out, NEAR_LOSSLESS, |w| write_transform_loss(w, t));
        if let Some(n) = bound {
            chunk(&mut out, LOSS_BOUND, |w| write_bounds_f64(w, n));
        }
    } else if let Some(n) = bound {
        let floats = h.sample_type.is_float();
        chunk(&mut out, NEAR_LOSSLESS, |w| {
            write_near_lossless(w, n, floats)
        });
    }
    if !h.info.is_empty() {
        chunk(&mut out, INFO, |w| {
            w.u32(h.info.len() as u32);
            for (k, v) in &h.info {
                w.str(k);
                w.str(v);
            }
        });
    }
    out.buf
}

/// The `BNDS` chunk, or `BNDZ` with the same payload zlib-compressed.
fn write_band_table(out: &mut ByteWriter, h: &Header) {
    let mut bands = ByteWriter::default();
    bands.u32(h.bands.len() as u32);
    h.bands.iter().for_each(|b| write_band(&mut bands, b));
    if compresses_band_table(h) {
        // Level 9 of a fixed zlib build: the same header gives the same bytes, so `finish`
        // can rewrite it in place.
        let stream = deflate::zlib(&bands.buf, 9).expect("zlib into a Vec cannot fail");
        chunk(out, BANDS_ZLIB, |w| {
            w.u32(bands.buf.len() as u32);
            w.bytes(&stream);
        });
    } else {
        chunk(out, BANDS, |w| w.bytes(&bands.buf));
    }
}

/// Whether the header's band table is written as `BNDZ` (format 1.7) rather than `BNDS`:
/// in transform-coded files, which readers before 1.6 cannot decode anyway, and where the
/// table (about 40 bytes a band when nothing is set) can outweigh the lossy tiles.
pub(super) fn compresses_band_table(h: &Header) -> bool {
    h.transform_loss.is_some()
}

/// `loss`: fixed-size fields only, so the writer can fill in the achieved errors once every
/// tile is written without moving anything. Mode 1 (`u32` bounds) for integer samples, so
/// their files stay as they were; mode 3 (`f64`) for floats.
fn write_near_lossless(w: &mut ByteWriter, n: &NearLossless, floats: bool) {
    let count = n.max_error.len();
    let achieved = |b: usize| n.achieved.get(b).copied().flatten();
    if floats {
        w.u8(MODE_NEAR_LOSSLESS_F64);
        write_bounds_f64(w, n);
    } else {
        w.u8(MODE_NEAR_LOSSLESS);
        w.u32(count as u32);
        n.max_error.iter().for_each(|&e| w.u32(e as u32));
        (0..count).for_each(|b| w.u32(achieved(b).map_or(NOT_RECORDED, |e| e as u32)));
    }
}

/// Mode 3's fields after the mode, also the whole of `lbnd`: the count, the bounds and the
/// achieved errors as `f64` (NaN: not recorded).
fn write_bounds_f64(w: &mut ByteWriter, n: &NearLossless) {
    let count = n.max_error.len();
    w.u32(count as u32);
    n.max_error.iter().for_each(|&e| w.f64(e));
    (0..count).for_each(|b| w.f64(n.achieved.get(b).copied().flatten().unwrap_or(f64::NAN)));
}

/// `loss` mode 2: the target and the four achieved figures, NaN until `finish` records
/// them (fixed size, like mode 1).
fn write_transform_loss(w: &mut ByteWriter, t: &TransformLoss) {
    w.u8(MODE_TRANSFORM);
    w.f64(t.target_rel_rmse);
    let a = t.achieved;
    let figures = a.map(|a| [a.rel_rmse, a.max_abs_error, a.mean_cosine, a.p01_cosine]);
    figures
        .unwrap_or([f64::NAN; 4])
        .iter()
        .for_each(|&v| w.f64(v));
}

fn read_transform_loss(c: &mut ByteReader, what: &str) -> Result<TransformLoss> {
    let target_rel_rmse = c.f64("target relative RMSE")?;
    if !(target_rel_rmse > 0.0 && target_rel_rmse < 1.0) {
        return Err(Error::corrupt(format!(
            "{what}: target relative RMSE {target_rel_rmse} is not in (0, 1)"
        )));
    }
    let mut figures = [0.0; 4];
    for (v, field) in
        figures
            .iter_mut()
            .zip(["rel_rmse", "max_abs_error", "mean_cosine", "p01_cosine"])
    {
        *v = c.f64(field)?;
    }
    let achieved = (!figures.iter().any(|v| v.is_nan())).then_some(TransformAchieved {
        rel_rmse: figures[0],
        max_abs_error: figures[1],
        mean_cosine: figures[2],
        p01_cosine: figures[3],
    });
    Ok(TransformLoss {
        target_rel_rmse,
        achieved,
    })
}

/// The `loss` chunk: near-lossless bounds (mode 1 integers, mode 3 floats) or a transform's
/// target (mode 2).
fn read_loss(c: &mut ByteReader, what: &str, h: &mut Header) -> Result<()> {
    match c.u8("mode")? {
        mode @ (MODE_NEAR_LOSSLESS | MODE_NEAR_LOSSLESS_F64) => {
            h.near_lossless = Some(read_near_lossless(c, what, h.bands.len(), mode)?)
        }
        MODE_TRANSFORM => h.transform_loss = Some(read_transform_loss(c, what)?),
        // Ancillary: a mode this reader does not know says nothing it can use.
        mode => return Err(Error::corrupt(format!("{what}: unknown mode {mode}"))),
    }
    Ok(())
}

fn read_near_lossless(
    c: &mut ByteReader,
    what: &str,
    bands: usize,
    mode: u8,
) -> Result<NearLossless> {
    let count = c.count("band count", 8)?;
    if count != bands {
        return Err(Error::corrupt(format!(
            "{what} lists {count} bands, the file has {bands}"
        )));
    }
    // Mode 1 holds u32 (0xFFFFFFFF: an achieved error not recorded), mode 3 f64 (NaN).
    let mut field = |name: &str, achieved: bool| -> Result<Option<f64>> {
        Ok(if mode == MODE_NEAR_LOSSLESS {
            let e = c.u32(name)?;
            Some(f64::from(e)).filter(|_| !achieved || e != NOT_RECORDED)
        } else {
            Some(c.f64(name)?).filter(|e| !e.is_nan())
        })
    };
    let max_error = (0..count)
        .map(|b| {
            field(&format!("max_error[{b}]"), false)?
                .filter(|e| e.is_finite() && *e >= 0.0)
                .ok_or_else(|| Error::corrupt(format!("{what}: max_error[{b}] is not a bound")))
        })
        .collect::<Result<Vec<f64>>>()?;
    let achieved = (0..count)
        .map(|b| field(&format!("achieved[{b}]"), true))
        .collect::<Result<Vec<Option<f64>>>>()?;
    Ok(NearLossless {
        max_error,
        achieved,
    })
}

fn write_band(w: &mut ByteWriter, b: &BandInfo) {
    w.str(&b.description);
    let mut flags = 0;
    if b.nodata.is_some() {
        flags |= FLAG_NODATA;
    }
    if b.scale.is_some() {
        flags |= FLAG_SCALE;
    }
    if b.offset.is_some() {
        flags |= FLAG_OFFSET;
    }
    if b.color_table.is_some() {
        flags |= FLAG_COLOR_TABLE;
    }
    w.u8(flags);
    w.f64(b.nodata.unwrap_or(0.0));
    w.f64(b.scale.unwrap_or(0.0));
    w.f64(b.offset.unwrap_or(0.0));
    w.u16(b.color_interp);
    w.str(&b.unit);
    write_domains(w, &b.metadata);
    if let Some((interp, entries)) = &b.color_table {
        w.u16(*interp);
        w.u32(entries.len() as u32);
        for e in entries {
            e.iter().for_each(|c| w.u16(*c as u16));
        }
    }
}

fn write_srs(w: &mut ByteWriter, s: &Srs) {
    w.str(&s.wkt);
    w.u32(s.epsg.unwrap_or(0));
    w.u32(s.axis_mapping.len() as u32);
    s.axis_mapping.iter().for_each(|a| w.i32(*a));
}

fn write_domains(w: &mut ByteWriter, domains: &[MetadataDomain]) {
    w.u32(domains.len() as u32);
    for d in domains {
        w.str(&d.name);
        w.u32(d.items.len() as u32);
        d.items.iter().for_each(|i| w.str(i));
    }
}

/// What a header may still hold, charged as its lists are read: every count is checked
/// against the bytes left (by [`ByteReader::count`]) and against [`Limits`] before the list
/// is allocated.
struct Budget<'l> {
    limits: &'l Limits,
    /// Metadata items, domains, GCPs, colour entries and provenance entries read so far.
    items: u64,
}

impl Budget<'_> {
    /// Reads a list's item count (each item taking at least `min_item_bytes`) and charges
    /// it to the header's item limit.
    fn items(&mut self, c: &mut ByteReader, field: &str, min_item_bytes: usize) -> Result<usize> {
        let count = c.count(field, min_item_bytes)?;
        self.items += count as u64;
        let limit = self.limits.max_metadata_items;
        if self.items > u64::from(limit) {
            return Err(Error::limit_exceeded(
                format!("header metadata items (at {field})"),
                self.items.into(),
                "max_metadata_items",
                limit.into(),
            ));
        }
        Ok(count)
    }
}

/// Fills `h` (whose grid came from the preamble) from the chunk bytes, within `limits`.
pub(super) fn decode(bytes: &[u8], h: &mut Header, limits: &Limits) -> Result<()> {
    let mut budget = Budget { limits, items: 0 };
    let mut chunks = ByteReader::new(bytes, "header");
    let mut seen: Vec<[u8; 4]> = Vec::new();
    while !chunks.is_empty() {
        let tag: [u8; 4] = chunks.take(4, "chunk tag")?.try_into().unwrap();
        let name = String::from_utf8_lossy(&tag).into_owned();
        let len = chunks.u32(&format!("chunk {name} length"))? as usize;
        let body = chunks.take(len, &format!("chunk {name} body"))?;
        if seen.contains(&tag) {
            return Err(Error::corrupt(format!(
                "header: chunk {name} appears twice"
            )));
        }
        seen.push(tag);
        let what = format!("header chunk {name}");
        let mut chunk = ByteReader::new(body, &what);
        match tag {
            BANDS => read_bands(&mut chunk, h, &mut budget)?,
            BANDS_ZLIB => {
                let table = inflate_band_table(&mut chunk, &what, limits)?;
                let mut table_reader = ByteReader::new(&table, "header chunk BNDZ (inflated)");
                read_bands(&mut table_reader, h, &mut budget)?;
                table_reader.finish()?;
            }
            AUX_PLANES => h.aux_planes = read_aux_planes(&mut chunk, &what, limits)?,
            GEOTRANSFORM => {
                let mut geotransform = [0f64; 6];
                for (i, v) in geotransform.iter_mut().enumerate() {
                    *v = chunk.f64(&format!("geotransform[{i}]"))?;
                }
                h.georef.geotransform = Some(geotransform);
            }
            SRS => h.georef.srs = Some(read_srs(&mut chunk, "srs")?),
            GCPS => {
                if chunk.u8("gcp_srs present")? != 0 {
                    h.georef.gcp_srs = Some(read_srs(&mut chunk, "gcp_srs")?);
                }
                h.georef.gcps = read_gcps(&mut chunk, &mut budget)?;
            }
            METADATA => h.metadata = read_domains(&mut chunk, "metadata", &mut budget)?,
            DEQUANTIZATION => h.dequantization = Some(read_dequantization(&mut chunk, &what)?),
            DECORRELATION => {
                let bands = h.bands.len();
                h.decorrelation = Some(read_decorrelation(&mut chunk, &what, bands)?)
            }
            NEAR_LOSSLESS => read_loss(&mut chunk, &what, h)?,
            LOSS_BOUND => {
                if h.near_lossless.is_some() {
                    return Err(Error::corrupt(format!(
                        "{what}: a refinement bound beside near-lossless bounds"
                    )));
                }
                let (bands, mode) = (h.bands.len(), MODE_NEAR_LOSSLESS_F64);
                h.near_lossless = Some(read_near_lossless(&mut chunk, &what, bands, mode)?);
            }
            INFO => {
                let count = budget.items(&mut chunk, "entry count", 8)?;
                for i in 0..count {
                    let key = chunk.str(&format!("entry[{i}].key"))?;
                    let value = chunk.str(&format!("entry[{i}].value"))?;
                    h.info.push((key, value));
                }
            }
            _ if tag[0].is_ascii_lowercase() => continue, // ancillary: skip
            _ => {
                return Err(Error::unsupported(format!(
                    "header: unknown critical chunk {name:?}; the file needs a newer geoembed"
                )))
            }
        }
        chunk.finish()?;
    }
    if seen.contains(&BANDS) && seen.contains(&BANDS_ZLIB) {
        return Err(Error::corrupt("header: both BNDS and BNDZ hold the bands"));
    }
    if !seen.contains(&BANDS) && !seen.contains(&BANDS_ZLIB) {
        return Err(Error::corrupt(
            "header: required chunk BNDS (or BNDZ) is missing",
        ));
    }
    if seen.contains(&LOSS_BOUND) && h.transform_loss.is_none() {
        return Err(Error::corrupt(
            "header chunk lbnd: a refinement bound without a transform (loss mode 2)",
        ));
    }
    Ok(())
}

/// `BNDZ`'s body: the inflated length, checked against the header limit before anything is
/// allocated, then the zlib stream, which must end the chunk.
fn inflate_band_table(c: &mut ByteReader, what: &str, limits: &Limits) -> Result<Vec<u8>> {
    let length = c.u32("inflated length")?;
    if length > limits.max_header_bytes {
        return Err(Error::limit_exceeded(
            format!("{what}: inflated length"),
            length.into(),
            "max_header_bytes",
            limits.max_header_bytes.into(),
        ));
    }
    let stream = c.take(c.remaining(), "zlib stream")?;
    deflate::unzlib_exact(stream, length as usize, what)
}

fn read_bands(c: &mut ByteReader, h: &mut Header, budget: &mut Budget) -> Result<()> {
    let count = c.count("band count", 39)?;
    if count != h.bands.len() {
        return Err(Error::corrupt(format!(
            "header chunk BNDS lists {count} bands but the preamble says {}",
            h.bands.len()
        )));
    }
    for (i, band) in h.bands.iter_mut().enumerate() {
        *band = read_band(c, i, budget)?;
    }
    Ok(())
}

fn read_aux_planes(c: &mut ByteReader, what: &str, limits: &Limits) -> Result<Vec<AuxPlane>> {
    let count = c.count("aux plane count", 13)?;
    if count as u64 > u64::from(limits.max_aux_planes) {
        return Err(Error::limit_exceeded(
            format!("{what}: aux plane count"),
            count as u128,
            "max_aux_planes",
            limits.max_aux_planes.into(),
        ));
    }
    let mut planes = Vec::with_capacity(count);
    for i in 0..count {
        let name = c.str(&format!("aux[{i}].name"))?;
        let sample_type = SampleType::from_code(c.u8(&format!("aux[{i}].sample_type"))?)
            .map_err(|e| e.context(what))?;
        let bands = c.u32(&format!("aux[{i}].bands"))?;
        if bands > limits.max_bands {
            return Err(Error::limit_exceeded(
                format!("{what}: aux[{i}].bands"),
                bands.into(),
                "max_bands",
                limits.max_bands.into(),
            ));
        }
        let description = c.str(&format!("aux[{i}].description"))?;
        planes.push(AuxPlane {
            name,
            sample_type,
            bands,
            description,
        });
    }
    Ok(planes)
}

fn read_gcps(c: &mut ByteReader, budget: &mut Budget) -> Result<Vec<Gcp>> {
    let count = budget.items(c, "gcp count", 48)?;
    let mut gcps = Vec::with_capacity(count);
    for i in 0..count {
        let field = |s: &str| format!("gcp[{i}].{s}");
        gcps.push(Gcp {
            id: c.str(&field("id"))?,
            info: c.str(&field("info"))?,
            pixel: c.f64(&field("pixel"))?,
            line: c.f64(&field("line"))?,
            x: c.f64(&field("x"))?,
            y: c.f64(&field("y"))?,
            z: c.f64(&field("z"))?,
        });
    }
    Ok(gcps)
}

fn read_dequantization(c: &mut ByteReader, what: &str) -> Result<Dequantization> {
    Ok(match c.u8("kind")? {
        1 => Dequantization::PerPixelScale {
            aux_plane: c.u32("aux_plane")?,
        },
        2 => Dequantization::PowerLaw {
            divisor: c.f64("divisor")?,
            exponent: c.f64("exponent")?,
        },
        kind => {
            return Err(Error::unsupported(format!(
                "{what}: unknown dequantization kind {kind}"
            )))
        }
    })
}

fn read_decorrelation(c: &mut ByteReader, what: &str, band_count: usize) -> Result<Decorrelation> {
    let shift = c.u8("shift")?;
    let group_count = c.count("group count", 8)?;
    let mut groups = Vec::with_capacity(group_count);
    for g in 0..group_count {
        let first_band = c.u32(&format!("group[{g}].first_band"))?;
        let bands = c.u32(&format!("group[{g}].bands"))? as u64;
        if bands > band_count as u64 {
            return Err(Error::corrupt(format!(
                "{what}: group[{g}] declares {bands} bands; the raster has {band_count}"
            )));
        }
        // 128 bits: n(n-1)/2 coefficients of 4 bytes overflow u64 for n near 2^32.
        let coefficient_count = bands * bands.saturating_sub(1) / 2;
        let group_bytes = u128::from(coefficient_count) * 4 + u128::from(bands) * 8;
        if group_bytes > c.remaining() as u128 {
            return Err(Error::corrupt(format!(
                "{what}: group[{g}] declares {bands} bands, more than the chunk holds"
            )));
        }
        let mut coefficients = Vec::with_capacity(coefficient_count as usize);
        for _ in 0..coefficient_count {
            coefficients.push(c.i32(&format!("group[{g}].coefficients"))?);
        }
        let mut bias = Vec::with_capacity(bands as usize);
        for _ in 0..bands {
            bias.push(c.i64(&format!("group[{g}].bias"))?);
        }
        groups.push(DecorrelationGroup {
            first_band,
            bands: bands as u32,
            coefficients,
            bias,
        });
    }
    Ok(Decorrelation { shift, groups })
}

fn read_band(c: &mut ByteReader, i: usize, budget: &mut Budget) -> Result<BandInfo> {
    let field = |s: &str| format!("band[{i}].{s}");
    let description = c.str(&field("description"))?;
    let flags = c.u8(&field("flags"))?;
    let nodata = c.f64(&field("nodata"))?;
    let scale = c.f64(&field("scale"))?;
    let offset = c.f64(&field("offset"))?;
    let color_interp = c.u16(&field("color_interp"))?;
    let unit = c.str(&field("unit"))?;
    let metadata = read_domains(c, &field("metadata"), budget)?;
    let color_table = if flags & FLAG_COLOR_TABLE != 0 {
        let interp = c.u16(&field("color_table.interp"))?;
        let count = budget.items(c, &field("color_table.count"), 8)?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let mut entry = [0i16; 4];
            for v in entry.iter_mut() {
                *v = c.u16(&field("color_table.entry"))? as i16;
            }
            entries.push(entry);
        }
        Some((interp, entries))
    } else {
        None
    };
    Ok(BandInfo {
        description,
        nodata: (flags & FLAG_NODATA != 0).then_some(nodata),
        scale: (flags & FLAG_SCALE != 0).then_some(scale),
        offset: (flags & FLAG_OFFSET != 0).then_some(offset),
        color_interp,
        unit,
        metadata,
        color_table,
    })
}

fn read_srs(c: &mut ByteReader, field: &str) -> Result<Srs> {
    let wkt = c.str(&format!("{field}.wkt"))?;
    let epsg = c.u32(&format!("{field}.epsg"))?;
    let count = c.count(&format!("{field}.axis_mapping count"), 4)?;
    let mut axis_mapping = Vec::with_capacity(count);
    for _ in 0..count {
        axis_mapping.push(c.i32(&format!("{field}.axis_mapping"))?);
    }
    Ok(Srs {
        wkt,
        epsg: (epsg != 0).then_some(epsg),
        axis_mapping,
    })
}

fn read_domains(
    c: &mut ByteReader,
    field: &str,
    budget: &mut Budget,
) -> Result<Vec<MetadataDomain>> {
    let count = budget.items(c, &format!("{field} domain count"), 8)?;
    let mut out = Vec::with_capacity(count);
    for d in 0..count {
        let name = c.str(&format!("{field}[{d}].name"))?;
        let item_count = budget.items(c, &format!("{field}[{d}].item count"), 4)?;
        let mut items = Vec::with_capacity(item_count);
        for i in 0..item_count {
            items.push(c.str(&format!("{field}[{d}].items[{i}]"))?);
        }
        out.push(MetadataDomain { name, items });
    }
    Ok(out)
}
