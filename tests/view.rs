//! `geoembed preview` and `geoembed tiles` on real rasters: picture sizes, the stretch,
//! transparent nodata, PCA determinism, tile positions in the XYZ grid, and the errors.

mod common;
use common::{fails, fixture, ok, s};
use gdal::Dataset;
use std::path::Path;

/// RGBA samples of a PNG (pixel-interleaved) and its size.
fn rgba(path: &Path) -> (usize, usize, Vec<u8>) {
    let ds = Dataset::open(path).expect("open PNG");
    let (w, h) = ds.raster_size();
    assert_eq!(ds.raster_count(), 4, "{}: RGBA expected", path.display());
    let mut px = vec![0u8; w * h * 4];
    for b in 0..4 {
        let band = ds.rasterband(b + 1).unwrap();
        let v = band.read_as::<u8>((0, 0), (w, h), (w, h), None).unwrap();
        for (i, x) in v.data().iter().enumerate() {
            px[i * 4 + b] = *x;
        }
    }
    (w, h, px)
}

fn band_samples(path: &Path, band: usize) -> Vec<u8> {
    let ds = Dataset::open(path).unwrap();
    let (w, h) = ds.raster_size();
    let b = ds.rasterband(band).unwrap();
    b.read_as::<u8>((0, 0), (w, h), (w, h), None)
        .unwrap()
        .into_shape_and_vec()
        .1
}

#[test]
fn band_preview_stretches_each_band_and_makes_nodata_transparent() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("uint8_3b_landsat7_rgb_crop.tif");
    let out = dir.path().join("rgb.png");
    ok(&["preview", s(&src), s(&out), "--bands", "1,2,3", "-q"]);
    let (w, h, px) = rgba(&out);
    assert_eq!((w, h), (256, 200));
    let bands: Vec<Vec<u8>> = (1..=3).map(|b| band_samples(&src, b)).collect();
    let mut transparent = 0;
    for i in 0..w * h {
        let nodata = bands.iter().all(|b| b[i] == 0); // nodata = 0 in every band
        assert_eq!(px[i * 4 + 3] == 0, nodata, "alpha at pixel {i}");
        transparent += nodata as usize;
    }
    assert!(transparent > 0, "the crop has a nodata border");
    // The stretch is monotonic per band, and uses the full range 1..=255.
    for c in 0..3 {
        let mut pairs: Vec<(u8, u8)> = (0..w * h)
            .filter(|&i| px[i * 4 + 3] != 0)
            .map(|i| (bands[c][i], px[i * 4 + c]))
            .collect();
        pairs.sort();
        assert!(
            pairs.windows(2).all(|p| p[0].1 <= p[1].1),
            "band {c} not monotonic"
        );
        assert_eq!(pairs.first().unwrap().1, 1, "band {c} low end");
        assert_eq!(pairs.last().unwrap().1, 255, "band {c} high end");
    }
}

#[test]
fn pca_preview_of_an_embedding_is_deterministic_and_reports_its_components() {
    let dir = tempfile::tempdir().unwrap();
    let emb = dir.path().join("t.emb");
    ok(&[
        "convert",
        s(&fixture("tessera_proxy.npy")),
        s(&emb),
        "--scales",
        s(&fixture("tessera_proxy_scales.npy")),
        "--georef",
        s(&fixture("tessera_proxy_landmask.tif")),
        "-q",
    ]);
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    let o = ok(&["preview", s(&emb), s(&a), "--pca"]);
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(
        msg.contains("red = PC1 (") && msg.contains("% of variance)"),
        "{msg}"
    );
    ok(&["preview", s(&emb), s(&b), "-q"]); // more than 3 bands: PCA by default
    let (w, h, pa) = rgba(&a);
    assert_eq!((w, h), (50, 60));
    assert_eq!(pa, rgba(&b).2, "same input, same picture");
    let colours: std::collections::HashSet<&[u8]> = pa.chunks_exact(4).collect();
    assert!(colours.len() > 500, "only {} colours", colours.len());
    // Shrinking keeps the aspect ratio.
    let small = dir.path().join("small.png");
    ok(&["preview", s(&emb), s(&small), "--size", "20", "-q"]);
    assert_eq!(rgba(&small).0.max(rgba(&small).1), 20);
}

#[test]
fn tiles_land_where_the_raster_is_in_the_xyz_grid() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("uint8_3b_landsat7_rgb_crop.tif");
    let out = dir.path().join("xyz");
    let o = ok(&["tiles", s(&src), s(&out), "--zoom", "8-10", "-q"]);
    let uri = String::from_utf8_lossy(&o.stdout);
    assert!(
        uri.starts_with("type=xyz&url=file://") && uri.contains("{z}/{x}/{y}.png&zmin=8&zmax=10"),
        "{uri}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("qgis_xyz_uri.txt")).unwrap(),
        uri
    );
    // The crop's centre in lon/lat (GDAL's own transform), then the XYZ tile holding it.
    let ds = Dataset::open(&src).unwrap();
    let gt = ds.geo_transform().unwrap();
    let (cx, cy) = (gt[0] + 128.0 * gt[1], gt[3] + 100.0 * gt[5]);
    let mut srs = ds.spatial_ref().unwrap();
    srs.set_axis_mapping_strategy(gdal::spatial_ref::AxisMappingStrategy::TraditionalGisOrder);
    let mut wgs = gdal::spatial_ref::SpatialRef::from_epsg(4326).unwrap();
    wgs.set_axis_mapping_strategy(gdal::spatial_ref::AxisMappingStrategy::TraditionalGisOrder);
    let t = gdal::spatial_ref::CoordTransform::new(&srs, &wgs).unwrap();
    let (mut x, mut y) = ([cx], [cy]);
    t.transform_coords(&mut x, &mut y, &mut []).unwrap();
    let (lon, lat) = (x[0], y[0].to_radians());
    for z in 8..=10u32 {
        let n = (1u64 << z) as f64;
        let fx = (lon + 180.0) / 360.0 * n;
        let fy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
        let tile = out.join(format!("{z}/{}/{}.png", fx as u64, fy as u64));
        assert!(
            tile.exists(),
            "zoom {z}: no tile at the raster's centre: {}",
            tile.display()
        );
        let (w, h, px) = rgba(&tile);
        assert_eq!((w, h), (256, 256));
        let (px_x, px_y) = (
            ((fx.fract()) * 256.0) as usize,
            ((fy.fract()) * 256.0) as usize,
        );
        assert_eq!(
            px[(px_y * 256 + px_x) * 4 + 3],
            255,
            "zoom {z}: centre pixel is transparent"
        );
    }
    // Far corners of the world hold no tiles: only the footprint is written.
    assert!(!out.join("8/0").exists());
}

#[test]
fn view_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = fixture("uint8_3b_landsat7_rgb_crop.tif");
    let png = dir.path().join("x.png");
    fails(
        &["preview", s(&rgb), s(&png), "--bands", "1,2,9"],
        &["band 9 does not exist", "3 bands"],
    );
    fails(
        &["preview", s(&rgb), s(&png), "--bands", "1,a"],
        &["--bands 1,a"],
    );
    assert!(!png.exists(), "no output after an error");
    let nocrs = fixture("float32_1b_pre_runout_dem_nocrs.tif");
    fails(
        &["tiles", s(&nocrs), s(&dir.path().join("t"))],
        &["nocrs.tif", "geotransform and CRS"],
    );
    fails(
        &["tiles", s(&rgb), s(&dir.path().join("t")), "--zoom", "9-3"],
        &["--zoom 9-3"],
    );
    std::fs::create_dir(dir.path().join("exists")).unwrap();
    fails(
        &["tiles", s(&rgb), s(&dir.path().join("exists"))],
        &["already exists"],
    );
}
