//! What an open dataset presents to GDAL: the file's bands as stored, one of its aux planes
//! (a subdataset, `EMB:"x.emb":scales`), or the bands as physical float32 values by the
//! file's dequantisation recipe (open option `DEQUANTIZE=YES`). Each view is described by a
//! header of its own (shape, sample type, per-band information) so that everything the
//! shim asks is answered the same way whichever view is open, and decodes its tiles itself.

use geoembed_codec::{
    dequantize, scale_plane, BandInfo, Dequantization, Header, Reader, Result, SampleType, TileRows,
};
use std::io::{Read, Seek};

/// Prefix of subdataset names: `EMB:"path":plane` (GDAL's `DRIVER:"file":part` convention).
pub const SUBDATASET_PREFIX: &str = "EMB:";

/// The part of a `.emb` a dataset shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    /// Plane 0 as stored.
    Bands,
    /// Aux plane `index` (0-based into the header's aux planes; block plane `index + 1`).
    AuxPlane(usize),
    /// Plane 0 as float32 physical values, by the header's recipe.
    Dequantized,
}

/// A dataset name split into the file and the part asked for: `EMB:"x.emb":scales` or
/// `EMB:x.emb:scales` names an aux plane; anything else is the whole file.
pub fn parse_name(name: &str) -> (String, Option<String>) {
    let Some(rest) = name
        .get(..SUBDATASET_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(SUBDATASET_PREFIX))
        .map(|_| &name[SUBDATASET_PREFIX.len()..])
    else {
        return (name.to_string(), None);
    };
    if let Some(quoted) = rest.strip_prefix('"') {
        if let Some((file, part)) = quoted.split_once("\":") {
            return (file.to_string(), Some(part.to_string()));
        }
    }
    match rest.rsplit_once(':') {
        Some((file, part)) => (file.to_string(), Some(part.to_string())),
        None => (rest.to_string(), None),
    }
}

impl View {
    /// The view a name part and the `DEQUANTIZE` open option ask for, checked against the
    /// file.
    pub fn choose(
        header: &Header,
        part: Option<&str>,
        dequantize: bool,
    ) -> std::result::Result<Self, String> {
        if let Some(part) = part {
            if dequantize {
                return Err(format!(
                    "DEQUANTIZE=YES applies to the file's bands, not to its aux plane {part}"
                ));
            }
            let names: Vec<&str> = header.aux_planes.iter().map(|a| a.name.as_str()).collect();
            return names
                .iter()
                .position(|n| *n == part)
                .map(View::AuxPlane)
                .ok_or_else(|| match names.is_empty() {
                    true => format!("no aux plane {part}: the file has no aux planes"),
                    false => format!("no aux plane {part}; the file has {}", names.join(", ")),
                });
        }
        if dequantize {
            if header.dequantization.is_none() {
                return Err("DEQUANTIZE=YES: the file has no dequantisation recipe (its samples are already values)".into());
            }
            return Ok(View::Dequantized);
        }
        Ok(View::Bands)
    }

    /// The header as GDAL sees this view: its bands, sample type and per-band facts.
    pub fn presented(&self, header: &Header) -> Header {
        let mut shown = header.clone();
        match self {
            View::Bands => {}
            View::AuxPlane(index) => {
                let plane = &header.aux_planes[*index];
                shown.sample_type = plane.sample_type;
                shown.bands = (0..plane.bands)
                    .map(|band| BandInfo {
                        description: match plane.bands {
                            1 => plane.name.clone(),
                            _ => format!("{} {}", plane.name, band + 1),
                        },
                        ..Default::default()
                    })
                    .collect();
                shown.dequantization = None;
            }
            View::Dequantized => {
                shown.sample_type = SampleType::F32;
                for band in &mut shown.bands {
                    // As `geoembed convert --dequantize` writes them: values, not codes.
                    band.nodata = band.nodata.map(|_| f64::NAN);
                    band.scale = None;
                    band.offset = None;
                    band.color_table = None;
                }
                shown.dequantization = None;
            }
        }
        shown
    }

    /// Decodes tile `(tx, ty)` of this view: pixel-interleaved little-endian samples of
    /// the presented sample type.
    pub fn decode_tile<R: Read + Seek>(
        &self,
        reader: &mut Reader<R>,
        tx: u32,
        ty: u32,
    ) -> Result<Vec<u8>> {
        match self {
            View::Bands => reader.read_block(0, tx, ty),
            View::AuxPlane(index) => reader.read_block(index + 1, tx, ty),
            View::Dequantized => {
                let samples = reader.read_block(0, tx, ty)?;
                let header = reader.header().clone();
                // A scale plane coded from the codes reuses the bands just decoded.
                let scales = match scale_plane(&header) {
                    Some(plane) => {
                        Some(reader.read_block_given_bands(plane, tx, ty, Some(&samples))?)
                    }
                    None => None,
                };
                let mut values = Vec::new();
                dequantize(&header, &samples, scales.as_deref(), &mut values)?;
                Ok(values.iter().flat_map(|v| v.to_le_bytes()).collect())
            }
        }
    }

    /// Tile `(tx, ty)` of this view for reading by rows (see [`TileRows`]): the file's
    /// planes row by row where their codec allows, dequantised values whole.
    pub fn tile_rows<R: Read + Seek>(
        &self,
        reader: &mut Reader<R>,
        tx: u32,
        ty: u32,
    ) -> Result<TileRows> {
        match self {
            View::Bands => reader.block_rows(0, tx, ty),
            View::AuxPlane(index) => reader.block_rows(index + 1, tx, ty),
            View::Dequantized => {
                let (_, _, _, height) = reader.header().tile_rect(tx, ty);
                let values = self.decode_tile(reader, tx, ty)?;
                Ok(TileRows::whole(values, height as usize))
            }
        }
    }

    /// The view's name for GDAL's PAM (`None` for the bands as stored).
    pub fn pam_name(&self, header: &Header) -> Option<String> {
        match self {
            View::Bands => None,
            View::AuxPlane(index) => Some(header.aux_planes[*index].name.clone()),
            View::Dequantized => Some("dequantized".into()),
        }
    }

    /// How the view's values come from the file, for the `GEOEMBED` metadata domain.
    pub fn describe(&self, header: &Header) -> Option<String> {
        match self {
            View::Bands => None,
            View::AuxPlane(index) => Some(format!(
                "aux plane {} of the file",
                header.aux_planes[*index].name
            )),
            View::Dequantized => Some(match &header.dequantization {
                Some(Dequantization::PerPixelScale { .. }) => {
                    "physical values: float32(sample) x scale, computed in float32".into()
                }
                Some(Dequantization::PowerLaw { .. }) => {
                    "physical values: the power law of DEQUANTIZATION, nodata as NaN".into()
                }
                None => "physical values".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoembed_codec::AuxPlane;

    #[test]
    fn names_split_into_file_and_part() {
        assert_eq!(parse_name("x.emb"), ("x.emb".into(), None));
        assert_eq!(
            parse_name("EMB:\"/d/x y.emb\":scales"),
            ("/d/x y.emb".into(), Some("scales".into()))
        );
        assert_eq!(
            parse_name("emb:/d/x.emb:scales"),
            ("/d/x.emb".into(), Some("scales".into()))
        );
        let name = geoembed::info::gdalinfo::subdataset_name("/d/x.emb", "scales");
        assert_eq!(
            parse_name(&name),
            ("/d/x.emb".into(), Some("scales".into()))
        );
    }

    #[test]
    fn views_are_checked_against_the_file() {
        let mut h = Header::new(4, 4, 2, SampleType::I8);
        assert_eq!(View::choose(&h, None, false), Ok(View::Bands));
        assert!(View::choose(&h, None, true)
            .unwrap_err()
            .contains("no dequantisation recipe"));
        assert_eq!(
            View::choose(&h, Some("scales"), false).unwrap_err(),
            "no aux plane scales: the file has no aux planes"
        );
        h.aux_planes.push(AuxPlane {
            name: "scales".into(),
            sample_type: SampleType::F32,
            bands: 1,
            description: String::new(),
        });
        h.dequantization = Some(Dequantization::PerPixelScale { aux_plane: 0 });
        assert_eq!(
            View::choose(&h, Some("scales"), false),
            Ok(View::AuxPlane(0))
        );
        let shown = View::AuxPlane(0).presented(&h);
        assert_eq!((shown.bands.len(), shown.sample_type), (1, SampleType::F32));
        assert_eq!(View::choose(&h, None, true), Ok(View::Dequantized));
        assert_eq!(View::Dequantized.presented(&h).sample_type, SampleType::F32);
    }
}
