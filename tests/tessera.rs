//! GeoTessera tiles: int8 .npy + float32 scales + landmask georeferencing (synthetic proxy
//! tile from ../shared/data/embeddings; see fixtures/README.md).

mod common;
use common::*;
use geoembed::read::Npy;
use std::path::{Path, PathBuf};

fn npy_bytes(path: &Path) -> (Vec<usize>, Vec<u8>) {
    let mut n = Npy::open(path).unwrap();
    let len: usize = n.shape.iter().product::<usize>() * n.sample_type.size();
    let mut buf = vec![0u8; len];
    n.read_at(0, &mut buf).unwrap();
    (n.shape.clone(), buf)
}

/// The proxy GeoTessera tile: codes, scales, landmask.
fn proxy_tile() -> (PathBuf, PathBuf, PathBuf) {
    (
        fixture("tessera_proxy.npy"),
        fixture("tessera_proxy_scales.npy"),
        fixture("tessera_proxy_landmask.tif"),
    )
}

/// Converts the proxy tile to `emb` the GeoTessera way (codes + scales + landmask).
fn tessera_to_emb(emb: &Path) {
    let (npy, scales, mask) = proxy_tile();
    let args = ["-q", "convert", s(&npy), s(emb), "--scales", s(&scales)];
    ok(&[&args[..], &["--georef", s(&mask)]].concat());
}

#[test]
fn tessera_tile_round_trips_and_dequantizes_like_geotessera() {
    let dir = tempfile::tempdir().unwrap();
    let (npy, scales, mask) = proxy_tile();
    let emb = dir.path().join("t.emb");
    tessera_to_emb(&emb);
    ok(&["verify", s(&emb)]);

    // int8 samples come back exactly.
    let back = dir.path().join("t.tif");
    ok(&["-q", "convert", s(&emb), s(&back)]);
    let (shape, q) = npy_bytes(&npy);
    assert_eq!(shape, vec![60, 50, 128]);
    assert!(pixels(s(&back)) == q);

    // Georeferencing is the landmask's.
    let (a, b) = (gdalinfo(s(&mask)), gdalinfo(s(&back)));
    assert_eq!(a["geoTransform"], b["geoTransform"]);
    assert_eq!(a["coordinateSystem"], b["coordinateSystem"]);

    // --dequantize gives float32 q * scale, computed in float32 as GeoTessera does.
    let deq = dir.path().join("t_f32.tif");
    ok(&["-q", "convert", s(&emb), s(&deq), "--dequantize"]);
    let (_, sc) = npy_bytes(&scales);
    let sc: Vec<f32> = sc
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let got: Vec<f32> = pixels(s(&deq))
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(got.len(), q.len());
    for (i, g) in got.iter().enumerate() {
        let want = (q[i] as i8 as f32) * sc[i / 128];
        assert_eq!(g.to_bits(), want.to_bits(), "sample {i}");
    }

    // The header records the recipe; the sidecar says it in words.
    let j: serde_json::Value =
        serde_json::from_slice(&ok(&["info", "--json", s(&emb)]).stdout).unwrap();
    assert_eq!(j["geoembed"]["dequantization"]["kind"], "per_pixel_scale");
    assert_eq!(j["geoembed"]["aux_planes"][0]["name"], "scales");
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("t.emb.json")).unwrap())
            .unwrap();
    assert_eq!(
        side["properties"]["geoembed:dequantization"]["formula"],
        "value = sample * scale"
    );
    assert_eq!(side["properties"]["proj:epsg"], 32631);
    assert!(side["bbox"].as_array().is_some_and(|b| b.len() == 4));
}

#[test]
fn emb_to_npy_gives_back_the_geotessera_files_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (npy, scales, mask) = proxy_tile();
    let emb = dir.path().join("t.emb");
    tessera_to_emb(&emb);
    let back = dir.path().join("back.npy");
    let o = ok(&["convert", s(&emb), s(&back)]);
    let summary = String::from_utf8_lossy(&o.stderr);
    assert!(
        summary.contains("back.npy: ")
            && summary.contains("also wrote ")
            && summary.ends_with("back_landmask.tif\n"),
        "{summary}"
    );
    assert!(
        std::fs::read(&back).unwrap() == std::fs::read(&npy).unwrap(),
        "npy differs"
    );
    let back_scales = dir.path().join("back_scales.npy");
    assert!(
        std::fs::read(&back_scales).unwrap() == std::fs::read(&scales).unwrap(),
        "scales differ"
    );
    // The landmask carries the georeferencing; every pixel has a usable scale.
    let (a, b) = (
        gdalinfo(s(&mask)),
        gdalinfo(s(&dir.path().join("back_landmask.tif"))),
    );
    for key in ["size", "geoTransform", "coordinateSystem"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert_eq!(b["bands"][0]["checksum"], a["bands"][0]["checksum"]);
    assert_eq!(b["bands"][0]["type"], "Byte");
    // Companions are never clobbered silently.
    let again = dir.path().join("again.npy");
    std::fs::write(dir.path().join("again_scales.npy"), b"keep").unwrap();
    fails(
        &["convert", s(&emb), s(&again)],
        &["again_scales.npy", "already exists", "--overwrite"],
    );
    assert!(!again.exists());
}

#[test]
fn real_presto_scales_are_coded_from_the_codes_and_come_back_byte_for_byte() {
    // The real Presto crop (fixtures/README.md): its scales follow its codes, so the aux
    // plane is coded from them (format 1.3), and every reader path gives them back.
    let dir = tempfile::tempdir().unwrap();
    let (npy, scales) = (
        fixture("presto_s2_crop_int8.npy"),
        fixture("presto_s2_crop_scales.npy"),
    );
    let emb = dir.path().join("p.emb");
    ok(&["-q", "convert", s(&npy), s(&emb), "--scales", s(&scales)]);
    ok(&["verify", s(&emb)]);
    let j = info_json(&emb);
    assert_eq!(j["geoembed"]["format_version"], "1.3");
    let tiles = j["geoembed"]["tiles"].as_array().unwrap();
    let aux: Vec<&serde_json::Value> = tiles.iter().filter(|t| t["plane"] == 1).collect();
    assert!(!aux.is_empty());
    for t in &aux {
        assert_eq!(t["codec"], "scales-from-codes", "{t}");
        let choices = t["choices"].as_str().unwrap();
        assert!(choices.starts_with("predicted from the codes"), "{choices}");
    }
    // `info` reports the scale plane's share from its blocks.
    let scale_bytes: u64 = aux.iter().map(|t| t["bytes"].as_u64().unwrap()).sum();
    let planes = &j["geoembed"]["planes"];
    assert_eq!(planes[1]["name"], "scales");
    assert_eq!(planes[1]["bytes"].as_u64().unwrap(), scale_bytes);
    let bits = planes[1]["bits_per_sample"].as_f64().unwrap();
    assert!((bits - 8.0 * scale_bytes as f64 / (48.0 * 48.0)).abs() < 1e-9);

    let back = dir.path().join("back.npy");
    ok(&["-q", "convert", s(&emb), s(&back)]);
    assert!(std::fs::read(&back).unwrap() == std::fs::read(&npy).unwrap());
    let back_scales = dir.path().join("back_scales.npy");
    assert!(std::fs::read(&back_scales).unwrap() == std::fs::read(&scales).unwrap());

    // Dequantised through the scales decoded from the codes: q x scale, in float32.
    let deq = dir.path().join("p_f32.tif");
    ok(&["-q", "convert", s(&emb), s(&deq), "--dequantize"]);
    let (_, q) = npy_bytes(&npy);
    let (_, sc) = npy_bytes(&scales);
    let got = pixels(s(&deq));
    for (i, value) in got.chunks_exact(4).enumerate() {
        let scale = f32::from_le_bytes(sc[i / 128 * 4..i / 128 * 4 + 4].try_into().unwrap());
        let want = (q[i] as i8 as f32) * scale;
        assert_eq!(value, want.to_le_bytes(), "sample {i}");
    }
}
