//! Codec and container round trips on generated tiles of every sample type.

#[path = "common/test_rng.rs"]
mod test_rng;

use geoembed_codec::{
    decode_tile, encode_best, encode_block, encode_tile, fit_decorrelation, locate_block, BandInfo,
    CodecChoice, CodecId, CodecParams, Dequantization, Effort, ErrorKind, Gcp, Header,
    MetadataDomain, Reader, SampleType, Srs, TileShape, Writer,
};
use std::io::Cursor;
use test_rng::TestRng;

/// Smooth gradients plus xorshift noise, correlated across bands: structured like imagery,
/// deterministic, and covering the full range of the type.
fn tile_bytes(ty: SampleType, w: usize, h: usize, bands: usize, seed: u64) -> Vec<u8> {
    let mut rng = TestRng::new(seed);
    let mut out = Vec::with_capacity(w * h * bands * ty.size());
    for y in 0..h {
        for x in 0..w {
            for b in 0..bands {
                let s = rng.next_u64();
                let noise = (s % 7) as f64 - 3.0;
                let v = ((x as f64 * 0.7 + y as f64 * 1.3).sin() * 40.0 + b as f64 * 0.5 + noise)
                    as i64;
                let bits: u64 = match ty {
                    SampleType::U8 => (v + 128).clamp(0, 255) as u64,
                    SampleType::I8 => (v.clamp(-128, 127) as i8) as u8 as u64,
                    SampleType::U16 => ((v + 100) * 300).clamp(0, 65535) as u64,
                    SampleType::I16 => ((v * 300).clamp(-32768, 32767) as i16) as u16 as u64,
                    SampleType::U32 => ((v + 100) * 1_000_003) as u32 as u64,
                    SampleType::I32 => (v * 1_000_003) as i32 as u32 as u64,
                    SampleType::F32 => ((v as f32) * 0.37 + (s % 3) as f32 * 1e-3).to_bits() as u64,
                    SampleType::F64 => ((v as f64) * 0.37 - 1e-9 * (s % 5) as f64).to_bits(),
                };
                out.extend_from_slice(&bits.to_le_bytes()[..ty.size()]);
            }
        }
    }
    out
}

fn roundtrip(codec: CodecId, shape: &TileShape, data: &[u8], params: &CodecParams) -> usize {
    let payload = encode_tile(codec, shape, data, params)
        .unwrap_or_else(|e| panic!("{codec} {shape:?}: {e}"));
    let mut out = Vec::new();
    decode_tile(codec, shape, &payload, params, &mut out)
        .unwrap_or_else(|e| panic!("{codec} {shape:?}: {e}"));
    assert!(out == data, "{codec} round trip differs for {shape:?}");
    payload.len()
}

#[test]
fn png128_and_raw_round_trip_every_sample_type() {
    for ty in SampleType::ALL {
        for (w, h, bands) in [
            (37, 23, 1),
            (16, 16, 3),
            (9, 5, 128),
            (3, 2, 300),
            (1, 1, 4),
        ] {
            let shape = TileShape {
                width: w,
                height: h,
                bands,
                sample_type: ty,
            };
            let data = tile_bytes(ty, w, h, bands, 7);
            let p = CodecParams::default();
            roundtrip(CodecId::Raw, &shape, &data, &p);
            let n = roundtrip(CodecId::Png128, &shape, &data, &p);
            if w * h * bands > 2000 {
                assert!(
                    n < data.len(),
                    "png128 should compress structured {ty} data"
                );
            }
        }
    }
}

#[test]
fn decorrelation_codecs_round_trip_small_integer_types() {
    for ty in [
        SampleType::U8,
        SampleType::I8,
        SampleType::U16,
        SampleType::I16,
    ] {
        for bands in [2, 16, 130] {
            let (w, h) = (20, 11);
            let data = tile_bytes(ty, w, h, bands, 3);
            let d = fit_decorrelation(ty, bands, &data).unwrap();
            let params = CodecParams {
                effort: Effort::Default,
                decorrelation: Some(&d),
                recipe: None,
                max_error: &[],
                nodata: &[],
                rel_rmse: None,
            };
            let shape = TileShape {
                width: w,
                height: h,
                bands,
                sample_type: ty,
            };
            roundtrip(CodecId::DecorrelatePng128, &shape, &data, &params);
            #[cfg(feature = "jxl")]
            {
                roundtrip(CodecId::DecorrelateJxl, &shape, &data, &params);
                roundtrip(CodecId::Jxl, &shape, &data, &params);
            }
        }
    }
}

#[test]
fn codecs_refuse_sample_types_they_cannot_hold() {
    let shape = TileShape {
        width: 4,
        height: 4,
        bands: 2,
        sample_type: SampleType::F32,
    };
    let data = tile_bytes(SampleType::F32, 4, 4, 2, 1);
    // JPEG XL only where it is compiled in: without it, the refusal names the missing
    // feature instead (checked below).
    let small_int_codecs: &[CodecId] = if cfg!(feature = "jxl") {
        &[CodecId::Native, CodecId::Jxl]
    } else {
        &[CodecId::Native]
    };
    for &id in small_int_codecs {
        let err = encode_tile(id, &shape, &data, &CodecParams::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{id}");
        assert!(err.to_string().contains("float32"), "{id}: {err}");
    }
}

#[cfg(not(feature = "jxl"))]
#[test]
fn jxl_without_the_feature_is_refused_by_name() {
    let shape = TileShape {
        width: 4,
        height: 4,
        bands: 2,
        sample_type: SampleType::U8,
    };
    let data = tile_bytes(SampleType::U8, 4, 4, 2, 1);
    for id in [CodecId::Jxl, CodecId::DecorrelateJxl] {
        let err = encode_tile(id, &shape, &data, &CodecParams::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{id}");
        assert!(err.to_string().contains("`jxl`"), "{id}: {err}");
    }
}

#[test]
fn auto_picks_constant_for_flat_tiles_and_never_expands() {
    let shape = TileShape {
        width: 8,
        height: 8,
        bands: 3,
        sample_type: SampleType::U16,
    };
    let flat: Vec<u8> = [1u8, 2, 3, 4, 5, 6].repeat(64);
    let e = encode_best(CodecChoice::Auto, &shape, &flat, &CodecParams::default()).unwrap();
    assert_eq!(e.codec, CodecId::Constant);
    assert_eq!(e.payload, [1, 2, 3, 4, 5, 6]);
    // White noise cannot be compressed: auto falls back to raw.
    let mut rng = TestRng::new(1);
    let noise: Vec<u8> = (0..8 * 8 * 3 * 2).map(|_| rng.next_u64() as u8).collect();
    let e = encode_best(CodecChoice::Auto, &shape, &noise, &CodecParams::default()).unwrap();
    assert!(e.payload.len() <= noise.len());
}

fn sample_header(ty: SampleType, w: u32, h: u32, bands: usize) -> Header {
    let mut hd = Header::new(w, h, bands, ty);
    hd.tile_width = 16;
    hd.tile_height = 8;
    for (i, b) in hd.bands.iter_mut().enumerate() {
        *b = BandInfo {
            description: format!("band {i} ü"),
            nodata: (i % 2 == 0).then_some(-9999.0),
            scale: Some(0.5),
            offset: (i == 1).then_some(273.15),
            color_interp: 1,
            unit: "K".into(),
            metadata: vec![MetadataDomain {
                name: "".into(),
                items: vec![format!("WAVELENGTH={i}")],
            }],
            color_table: (i == 0).then(|| (1, vec![[0, 0, 0, 255], [255, 10, -1, 0]])),
        };
    }
    hd.georef.geotransform = Some([500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0]);
    hd.georef.srs = Some(Srs {
        wkt: "PROJCRS[\"WGS 84 / UTM zone 31N\"]".into(),
        epsg: Some(32631),
        axis_mapping: vec![1, 2],
    });
    hd.georef.gcps = vec![Gcp {
        id: "1".into(),
        info: "".into(),
        pixel: 0.5,
        line: 1.5,
        x: 2.0,
        y: 3.0,
        z: 0.0,
    }];
    hd.metadata = vec![
        MetadataDomain {
            name: "".into(),
            items: vec!["AREA_OR_POINT=Area".into()],
        },
        MetadataDomain {
            name: "xml:test".into(),
            items: vec!["<a>b=c</a>".into()],
        },
    ];
    hd.info = vec![("software".into(), "test".into())];
    hd
}

fn write_file(hd: &Header, data: &[u8], choice: CodecChoice) -> Vec<u8> {
    let mut w = Writer::new(Cursor::new(Vec::new()), hd.clone()).unwrap();
    let bands = hd.bands.len();
    let px = bands * hd.sample_type.size();
    // Write tiles in reverse order: the index must not depend on write order.
    let mut tiles: Vec<(u32, u32)> = (0..hd.tiles_down())
        .flat_map(|ty| (0..hd.tiles_across()).map(move |tx| (tx, ty)))
        .collect();
    tiles.reverse();
    for (tx, ty) in tiles {
        let (x0, y0, tw, th) = hd.tile_rect(tx, ty);
        let mut t = Vec::new();
        for y in y0..y0 + th {
            let row = (y as usize * hd.width as usize + x0 as usize) * px;
            t.extend_from_slice(&data[row..row + tw as usize * px]);
        }
        let b = encode_block(hd, 0, tx, ty, &t, choice, Effort::Default).unwrap();
        w.write_block(0, tx, ty, &b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn read_all(file: &[u8]) -> (Header, Vec<u8>) {
    let mut r = Reader::open(Cursor::new(file)).unwrap();
    let hd = r.header().clone();
    let px = hd.bands.len() * hd.sample_type.size();
    let mut out = vec![0u8; hd.width as usize * hd.height as usize * px];
    for ty in 0..hd.tiles_down() {
        for tx in 0..hd.tiles_across() {
            let t = r.read_block(0, tx, ty).unwrap();
            let (x0, y0, tw, th) = hd.tile_rect(tx, ty);
            for (i, y) in (y0..y0 + th).enumerate() {
                let row = (y as usize * hd.width as usize + x0 as usize) * px;
                let n = tw as usize * px;
                out[row..row + n].copy_from_slice(&t[i * n..(i + 1) * n]);
            }
        }
    }
    (hd, out)
}

#[test]
fn file_round_trip_keeps_header_and_samples() {
    for ty in SampleType::ALL {
        let (w, h, bands) = (37, 21, 3);
        let hd = sample_header(ty, w, h, bands);
        let data = tile_bytes(ty, w as usize, h as usize, bands, 11);
        let file = write_file(&hd, &data, CodecChoice::Auto);
        let (hd2, data2) = read_all(&file);
        assert_eq!(hd2, hd);
        assert!(data2 == data, "{ty}: samples differ");
    }
}

#[test]
fn decorrelation_and_dequantization_survive_the_header() {
    let (w, h, bands) = (20, 20, 8);
    let data = tile_bytes(SampleType::I8, w, h, bands, 5);
    let mut hd = sample_header(SampleType::I8, w as u32, h as u32, bands);
    hd.decorrelation = Some(fit_decorrelation(SampleType::I8, bands, &data).unwrap());
    hd.dequantization = Some(Dequantization::PowerLaw {
        divisor: 127.5,
        exponent: 2.0,
    });
    let file = write_file(&hd, &data, CodecChoice::Fixed(CodecId::DecorrelatePng128));
    let (hd2, data2) = read_all(&file);
    assert_eq!(hd2, hd);
    assert!(data2 == data);
}

#[test]
fn corruption_is_detected_and_names_the_tile() {
    let (w, h, bands) = (37, 21, 3);
    let hd = sample_header(SampleType::U16, w, h, bands);
    let data = tile_bytes(SampleType::U16, w as usize, h as usize, bands, 2);
    let file = write_file(&hd, &data, CodecChoice::Fixed(CodecId::Png128));

    // Flip one byte inside the payload of tile (1, 2).
    let r = Reader::open(Cursor::new(&file[..])).unwrap();
    let e = *r.entry(0, 1, 2).unwrap();
    let mut bad = file.clone();
    bad[(e.offset + e.length / 2) as usize] ^= 0x40;
    let mut r = Reader::open(Cursor::new(&bad[..])).unwrap();
    let err = r.read_block(0, 1, 2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checksum);
    assert!(err.to_string().contains("tile (1, 2)"), "{err}");
    assert!(r.read_block(0, 0, 0).is_ok(), "other tiles stay readable");

    // Truncation.
    let err = Reader::open(Cursor::new(&file[..file.len() - 10]))
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Truncated, "{err}");
    let err = Reader::open(Cursor::new(&file[..40])).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Truncated, "{err}");

    // Header (metadata) corruption.
    let mut bad = file.clone();
    let at = 64 + 32 * hd.block_count() as usize + 10;
    bad[at] ^= 1;
    let err = Reader::open(Cursor::new(&bad[..])).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Checksum);
    assert!(err.to_string().contains("header"), "{err}");

    // Not an .emb file at all.
    let err = Reader::open(Cursor::new(b"II*\0 this is a tiff".to_vec()))
        .err()
        .unwrap();
    assert!(err.to_string().contains("not a .emb file"), "{err}");
}

#[test]
fn any_tile_is_found_with_two_range_reads() {
    let hd = sample_header(SampleType::U8, 37, 21, 3);
    let data = tile_bytes(SampleType::U8, 37, 21, 3, 9);
    let file = write_file(&hd, &data, CodecChoice::Auto);
    let r = Reader::open(Cursor::new(&file[..])).unwrap();
    for ty in 0..hd.tiles_down() {
        for tx in 0..hd.tiles_across() {
            let mut reads = 0;
            let e = locate_block(
                |off, len| {
                    reads += 1;
                    Ok(file[off as usize..off as usize + len].to_vec())
                },
                0,
                tx,
                ty,
            )
            .unwrap();
            assert_eq!(reads, 2);
            assert_eq!(&e, r.entry(0, tx, ty).unwrap());
        }
    }
}

#[test]
fn native_round_trips_every_effort_and_shape() {
    for ty in [
        SampleType::U8,
        SampleType::I8,
        SampleType::U16,
        SampleType::I16,
    ] {
        for (w, h, bands) in [
            (1, 1, 1),
            (37, 23, 1),
            (2, 9, 3),
            (16, 16, 4),
            (33, 17, 40),
            (5, 3, 130),
        ] {
            let shape = TileShape {
                width: w,
                height: h,
                bands,
                sample_type: ty,
            };
            let data = tile_bytes(ty, w, h, bands, 5 + bands as u64);
            for effort in [Effort::Fast, Effort::Default, Effort::Max] {
                let p = CodecParams {
                    effort,
                    decorrelation: None,
                    recipe: None,
                    max_error: &[],
                    nodata: &[],
                    rel_rmse: None,
                };
                roundtrip(CodecId::Native, &shape, &data, &p);
            }
        }
    }
}
