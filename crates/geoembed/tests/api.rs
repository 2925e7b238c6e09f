//! The library as a binding (Python, another host) calls it, with or without GDAL: plain
//! values in, a `.emb` and its sidecar out atomically, progress per tile, typed errors.

use geoembed::write::sidecar::ToLonLat;
use geoembed::{
    encode_to_emb_with, EmbFile, EncodeOptions, ErrorKind, MemSource, Progress, RasterSource,
    TileSize,
};
use geoembed_codec::{Georef, Header, SampleType, Srs};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};

/// A 3-band uint16 raster of 100 x 70 pixels, georeferenced in a made-up CRS.
fn raster() -> MemSource {
    let mut h = Header::new(100, 70, 3, SampleType::U16);
    h.georef = Georef {
        geotransform: Some([1000.0, 10.0, 0.0, 5000.0, 0.0, -10.0]),
        srs: Some(Srs {
            wkt: "LOCAL_CS[\"test\"]".into(),
            epsg: None,
            axis_mapping: vec![1, 2],
        }),
        ..Default::default()
    };
    let samples: Vec<u8> = (0..100u32 * 70 * 3)
        .flat_map(|i| ((i * 7 % 1000) as u16).to_le_bytes())
        .collect();
    MemSource::new(h, vec![samples]).expect("sizes match")
}

/// Shifts metres to "degrees" by dividing by 1000: enough to see it was used.
struct Kilo;

impl ToLonLat for Kilo {
    fn to_lon_lat(&self, _srs: &Srs, xs: &mut [f64], ys: &mut [f64]) -> bool {
        xs.iter_mut()
            .chain(ys.iter_mut())
            .for_each(|v| *v /= 1000.0);
        true
    }
}

/// Counts tiles; cancels after `stop_after` if set.
struct Count {
    tiles: AtomicU64,
    total: AtomicU64,
    stop_after: u64,
}

impl Progress for Count {
    fn begin(&self, total: u64, _stage: &str) {
        self.total.store(total, Ordering::Relaxed);
    }
    fn advance(&self, tiles: u64) -> ControlFlow<()> {
        let done = self.tiles.fetch_add(tiles, Ordering::Relaxed) + tiles;
        if done >= self.stop_after {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
    fn finish(&self) {}
}

fn count(stop_after: u64) -> Count {
    Count {
        tiles: AtomicU64::new(0),
        total: AtomicU64::new(0),
        stop_after,
    }
}

fn sidecar(emb: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{}.json", emb.display())).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn memory_to_emb_with_sidecar_and_progress_per_tile() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.emb");
    let opts = EncodeOptions {
        tile: Some(TileSize::new(32).unwrap()),
        ..Default::default()
    };
    let progress = count(u64::MAX);
    let mut src = raster();
    let report = encode_to_emb_with(&mut src, &out, &opts, &progress, Some(&Kilo)).unwrap();
    assert_eq!(progress.total.load(Ordering::Relaxed), 12, "4 x 3 tiles");
    assert_eq!(progress.tiles.load(Ordering::Relaxed), 12);
    assert_eq!(report.raw_bytes, 100 * 70 * 3 * 2);
    let mut back = EmbFile::open(&out).unwrap();
    let mut rows = vec![0u8; 100 * 70 * 3 * 2];
    back.read_rows(0, 0, 70, &mut rows).unwrap();
    assert!(rows == src.planes[0], "samples round-trip");
    let j = sidecar(&out);
    assert_eq!(j["bbox"], serde_json::json!([1.0, 4.3, 2.0, 5.0]));
    // Without a reprojection, no bounding box: STAC's null geometry.
    let bare = dir.path().join("bare.emb");
    encode_to_emb_with(&mut src, &bare, &opts, &progress, None).unwrap();
    let j = sidecar(&bare);
    assert!(j.get("bbox").is_none() && j["geometry"].is_null(), "{j}");
}

#[test]
fn cancelling_or_a_bad_option_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.emb");
    let small_tiles = EncodeOptions {
        tile: Some(TileSize::new(16).unwrap()),
        ..Default::default()
    };
    let e = encode_to_emb_with(&mut raster(), &out, &small_tiles, &count(3), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert_eq!(e.to_string(), format!("{}: cancelled", out.display()));
    let decorrelate_one_band = EncodeOptions {
        codec: geoembed::parse_codec("decorrelate+png128").unwrap(),
        ..Default::default()
    };
    let mut one_band =
        MemSource::new(Header::new(8, 8, 1, SampleType::U8), vec![vec![0; 64]]).unwrap();
    let e = encode_to_emb_with(
        &mut one_band,
        &out,
        &decorrelate_one_band,
        &count(u64::MAX),
        None,
    )
    .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidOption(geoembed::OptionKey::Codec)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    let e = MemSource::new(Header::new(8, 8, 1, SampleType::U8), vec![vec![0; 63]]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedInput);
}
