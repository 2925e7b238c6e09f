//! A picture of a multichannel raster: three chosen bands, or the first three principal
//! components (for embeddings, whose 128 channels have no colours), each stretched
//! robustly (2nd to 98th percentile) to 8 bits, with nodata transparent. Used by
//! `geoembed preview` and `geoembed tiles`.

use crate::error::{Error, OptionKey, Result};
use crate::read::RasterSource;
use geoembed_codec::{Georef, Header};
use nalgebra::{DMatrix, SymmetricEigen};
use std::str::FromStr;

/// Which view to draw.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewKind {
    /// PCA for more than three bands, else the bands themselves.
    Auto,
    /// First three principal components (PC1 = red).
    Pca,
    /// Three 1-based band numbers, as red, green, blue.
    Bands([usize; 3]),
}

/// An RGBA picture of the raster, pixel-interleaved, with the raster's georeferencing.
pub struct RgbaView {
    pub width: usize,
    pub height: usize,
    pub rgba: Vec<u8>,
    pub georef: Georef,
    /// What each channel shows, for messages ("PC1 (31.2% of variance)", "band 3").
    pub channels: [String; 3],
}

impl RgbaView {
    /// Shrinks by a whole factor so the longer edge is at most `max_edge`: each output
    /// pixel averages the valid (opaque) pixels of its box; boxes with none stay
    /// transparent, so nodata does not darken the edges.
    pub fn shrink_to(self, max_edge: usize) -> RgbaView {
        let f = self.width.max(self.height).div_ceil(max_edge.max(1)).max(1);
        if f == 1 {
            return self;
        }
        let (w, h) = (self.width.div_ceil(f), self.height.div_ceil(f));
        let mut out = vec![0u8; w * h * 4];
        for oy in 0..h {
            for ox in 0..w {
                let (mut sum, mut n) = ([0u32; 3], 0u32);
                for y in oy * f..((oy + 1) * f).min(self.height) {
                    for x in ox * f..((ox + 1) * f).min(self.width) {
                        let p = &self.rgba[(y * self.width + x) * 4..][..4];
                        if p[3] != 0 {
                            sum.iter_mut().zip(p).for_each(|(s, &v)| *s += v as u32);
                            n += 1;
                        }
                    }
                }
                if n > 0 {
                    let o = &mut out[(oy * w + ox) * 4..][..4];
                    for c in 0..3 {
                        o[c] = (sum[c] as f64 / n as f64).round() as u8;
                    }
                    o[3] = 255;
                }
            }
        }
        let mut georef = self.georef;
        if let Some(gt) = &mut georef.geotransform {
            for i in [1, 2, 4, 5] {
                gt[i] *= f as f64;
            }
        }
        RgbaView {
            width: w,
            height: h,
            rgba: out,
            georef,
            channels: self.channels,
        }
    }
}

/// The default view: PCA for more than three bands, else the bands as they come (one band
/// as grey).
fn default_kind(bands: usize) -> ViewKind {
    match bands {
        0 | 1 => ViewKind::Bands([1, 1, 1]),
        2 => ViewKind::Bands([1, 2, 2]),
        3 => ViewKind::Bands([1, 2, 3]),
        _ => ViewKind::Pca,
    }
}

/// `R,G,B` (1-based band numbers) or one number for grey.
impl FromStr for ViewKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid_option(OptionKey::Bands, s, why);
        let v: Vec<usize> = s
            .split(',')
            .map(|t| t.trim().parse::<usize>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad("give three band numbers, e.g. 4,3,2"))?;
        match v[..] {
            [r, g, b] => Ok(ViewKind::Bands([r, g, b])),
            [g] => Ok(ViewKind::Bands([g, g, g])),
            _ => Err(bad("give three band numbers (or one for grey)")),
        }
    }
}

/// Pixels used to fit the PCA and the stretch (a regular subsample beyond this).
const SAMPLE_PIXELS: usize = 200_000;
/// Rows read per strip.
const STRIP_ROWS: u32 = 64;

/// Calls `f(y, pixel values)` for every pixel, strip by strip; `None` for nodata pixels
/// (every band that has a nodata value holds it, or a value is NaN).
fn for_each_pixel(
    src: &mut dyn RasterSource,
    mut f: impl FnMut(usize, Option<&[f64]>),
) -> Result<()> {
    let h = src.header().clone();
    let (w, ty, n) = (h.width as usize, h.sample_type, h.bands.len());
    let nodata: Vec<Option<f64>> = h.bands.iter().map(|b| b.nodata).collect();
    let any_nodata = nodata.iter().any(Option::is_some);
    let size = ty.size();
    let mut buf = Vec::new();
    let mut px = vec![0f64; n];
    let mut y0 = 0;
    while y0 < h.height {
        let rows = STRIP_ROWS.min(h.height - y0);
        buf.resize(w * rows as usize * n * size, 0);
        src.read_rows(0, y0, rows, &mut buf)?;
        for (i, p) in buf.chunks_exact(n * size).enumerate() {
            for (v, s) in px.iter_mut().zip(p.chunks_exact(size)) {
                *v = ty.value_f64(s);
            }
            let missing = px.iter().any(|v| v.is_nan())
                || (any_nodata
                    && px
                        .iter()
                        .zip(&nodata)
                        .all(|(v, nd)| nd.is_none_or(|nd| *v == nd)));
            f(y0 as usize + i / w, (!missing).then_some(&px[..]));
        }
        y0 += rows;
    }
    Ok(())
}

/// The 2nd and 98th percentiles of `v` (sorted in place); (0, 1) if empty.
fn robust_range(v: &mut [f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    let (lo, hi) = (at(0.02), at(0.98));
    if hi > lo {
        (lo, hi)
    } else {
        (lo, lo + 1.0)
    }
}

/// Three projection vectors (rows of `axes`) and a centre; a band view is a projection
/// onto unit vectors.
struct Projection {
    centre: Vec<f64>,
    axes: [Vec<f64>; 3],
    channels: [String; 3],
}

impl Projection {
    fn apply(&self, px: &[f64]) -> [f64; 3] {
        self.axes.each_ref().map(|a| {
            a.iter()
                .zip(px.iter().zip(&self.centre))
                .map(|(w, (v, c))| w * (v - c))
                .sum()
        })
    }
}

fn pca(samples: &[Vec<f64>], n: usize) -> Option<Projection> {
    if samples.len() < 2 {
        return None;
    }
    let m = samples.len() as f64;
    let mut centre = vec![0f64; n];
    for s in samples {
        for (c, v) in centre.iter_mut().zip(s) {
            *c += v / m;
        }
    }
    let mut cov = DMatrix::<f64>::zeros(n, n);
    for s in samples {
        let d = nalgebra::DVector::from_iterator(n, s.iter().zip(&centre).map(|(v, c)| v - c));
        cov.syger(1.0 / m, &d, &d, 1.0);
    }
    let eig = SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let total: f64 = eig
        .eigenvalues
        .iter()
        .map(|v| v.max(0.0))
        .sum::<f64>()
        .max(1e-300);
    let axis = |k: usize| -> (Vec<f64>, String) {
        let Some(&i) = order.get(k) else {
            return (vec![0.0; n], format!("PC{} (none: {n} band(s))", k + 1));
        };
        let mut v: Vec<f64> = eig.eigenvectors.column(i).iter().copied().collect();
        // Eigenvectors have no sign: fix it so the same data always gives the same colours.
        let big = v
            .iter()
            .copied()
            .fold(0f64, |a, x| if x.abs() > a.abs() { x } else { a });
        if big < 0.0 {
            v.iter_mut().for_each(|x| *x = -*x);
        }
        let share = 100.0 * eig.eigenvalues[i].max(0.0) / total;
        (v, format!("PC{} ({share:.1}% of variance)", k + 1))
    };
    let (a0, c0) = axis(0);
    let (a1, c1) = axis(1);
    let (a2, c2) = axis(2);
    Some(Projection {
        centre,
        axes: [a0, a1, a2],
        channels: [c0, c1, c2],
    })
}

/// Renders the view of the raster `src`; `name` (its file) is used in messages.
pub fn render(src: &mut dyn RasterSource, name: &str, kind: &ViewKind) -> Result<RgbaView> {
    let h = src.header().clone();
    let n = h.bands.len();
    let (w, ht) = (h.width as usize, h.height as usize);
    let kind = match kind {
        ViewKind::Auto => default_kind(n),
        k => k.clone(),
    };
    if let ViewKind::Bands(b) = kind {
        if let Some(bad) = b.iter().find(|&&i| i == 0 || i > n) {
            let typed = format!("{},{},{}", b[0], b[1], b[2]);
            let why = format!("band {bad} does not exist (the raster has {n} bands)");
            return Err(Error::invalid_option(OptionKey::Bands, typed, why).at(name));
        }
    }
    // Pass 1: a regular subsample of valid pixels, to fit the PCA and the stretch.
    let step = (w * ht).div_ceil(SAMPLE_PIXELS).max(1);
    let mut samples: Vec<Vec<f64>> = Vec::new();
    let mut i = 0usize;
    for_each_pixel(src, |_, px| {
        if let (Some(px), true) = (px, i.is_multiple_of(step)) {
            samples.push(px.to_vec());
        }
        i += 1;
    })?;
    let proj = match kind {
        ViewKind::Pca | ViewKind::Auto => pca(&samples, n).ok_or_else(|| {
            Error::unsupported(
                name,
                "a principal-component view needs at least two valid (non-nodata) pixels",
            )
        })?,
        ViewKind::Bands(b) => band_projection(&h, b),
    };
    let ranges: Vec<(f64, f64)> = (0..3)
        .map(|c| {
            let mut v: Vec<f64> = samples.iter().map(|s| proj.apply(s)[c]).collect();
            robust_range(&mut v)
        })
        .collect();
    drop(samples);
    Ok(RgbaView {
        width: w,
        height: ht,
        rgba: paint(src, &proj, &ranges)?,
        georef: h.georef.clone(),
        channels: proj.channels,
    })
}

/// Three bands as they are: projections onto unit vectors.
fn band_projection(h: &Header, b: [usize; 3]) -> Projection {
    let n = h.bands.len();
    let unit = |k: usize| {
        let mut v = vec![0.0; n];
        v[b[k] - 1] = 1.0;
        v
    };
    Projection {
        centre: vec![0.0; n],
        axes: [unit(0), unit(1), unit(2)],
        channels: b.map(|i| {
            let d = &h.bands[i - 1].description;
            if d.is_empty() {
                format!("band {i}")
            } else {
                format!("band {i} ({d})")
            }
        }),
    }
}

/// Pass 2 (sources read rows at any position, so the same one serves again): every pixel
/// projected and stretched. Valid pixels map to 1..=255 so that 0 never means "no data".
fn paint(src: &mut dyn RasterSource, proj: &Projection, ranges: &[(f64, f64)]) -> Result<Vec<u8>> {
    let h = src.header();
    let mut rgba = vec![0u8; h.width as usize * h.height as usize * 4];
    let mut i = 0usize;
    for_each_pixel(src, |_, px| {
        if let Some(px) = px {
            let v = proj.apply(px);
            for c in 0..3 {
                let (lo, hi) = ranges[c];
                let t = ((v[c] - lo) / (hi - lo)).clamp(0.0, 1.0);
                rgba[i * 4 + c] = 1 + (t * 254.0).round() as u8;
            }
            rgba[i * 4 + 3] = 255;
        }
        i += 1;
    })?;
    Ok(rgba)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_range_ignores_the_tails() {
        let mut v: Vec<f64> = (0..=100).map(|i| i as f64).collect();
        v[0] = -1e9;
        v[100] = 1e9;
        assert_eq!(robust_range(&mut v), (2.0, 98.0));
        assert_eq!(robust_range(&mut [5.0, 5.0]), (5.0, 6.0));
    }

    #[test]
    fn pca_finds_the_direction_of_largest_variance() {
        // Points along (1, 1, 0) with a little noise on the third axis.
        let s: Vec<Vec<f64>> = (0..100)
            .map(|i| {
                let t = i as f64;
                vec![t, t, (i % 3) as f64 * 0.1]
            })
            .collect();
        let p = pca(&s, 3).expect("enough samples");
        let a = &p.axes[0];
        let r = std::f64::consts::FRAC_1_SQRT_2;
        assert!(
            (a[0] - r).abs() < 1e-6 && (a[1] - r).abs() < 1e-6 && a[2].abs() < 1e-3,
            "{a:?}"
        );
        assert!(
            p.channels[0].starts_with("PC1 (100.0%"),
            "{}",
            p.channels[0]
        );
    }
}
