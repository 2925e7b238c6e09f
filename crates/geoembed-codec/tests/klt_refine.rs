//! `klt` refined to a near-lossless bound (payload version 3's refinement, docs/format.md §5.7.3, §5.7.5;
//! `--rel-rmse R --max-error E`) on real rasters of fixtures/: the Presto embedding crop's
//! int8 codes and its float32 values (codes × scales), the Landsat RGB crop (uint8, a
//! nodata border) and the ERA5 temperature stack (float64). Every decoded sample is within
//! `E` of the source (exactly: floats by TwoSum), nodata stays nodata and nothing else
//! becomes it, no sample is further from the source than the transform it refines put it
//! (so the relative RMSE is at most that transform's, whose target is at most R), the file records the bound and what was reached, and
//! corrupt refined payloads fail with named errors instead of panicking. The 198-band
//! AVIRIS cube, which the `tiff` crate cannot read, is checked end to end through GDAL in
//! tests/transform.rs.

#[path = "common/exact_bound.rs"]
mod exact_bound;
#[path = "common/whole_raster.rs"]
mod whole_raster;

#[path = "common/fixture_rasters.rs"]
mod fixture_rasters;

use exact_bound::within;
use fixture_rasters::{fixtures, npy_data};
use geoembed_codec::{
    block_shape, decode_tile, encode_best, encode_tile, CodecChoice, CodecId, CodecParams, Effort,
    ErrorKind, Header, NearLossless, Reader, SampleType, TileShape, TransformLoss,
};
use std::io::Cursor;
use whole_raster::{tile, write};

/// The Presto crop's int8 codes (48 × 48 × 128, REAL embeddings).
fn presto_codes() -> (Header, Vec<u8>) {
    let codes = npy_data("presto_s2_crop_int8.npy");
    (Header::new(48, 48, 128, SampleType::I8), codes)
}

/// The Presto crop as GeoTessera's numpy dequantises it: float32(q) × scale, per pixel.
fn presto_values() -> (Header, Vec<u8>) {
    let codes = npy_data("presto_s2_crop_int8.npy");
    let scales: Vec<f32> = npy_data("presto_s2_crop_scales.npy")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let values = codes
        .iter()
        .enumerate()
        .flat_map(|(i, &q)| (q as i8 as f32 * scales[i / 128]).to_le_bytes());
    (Header::new(48, 48, 128, SampleType::F32), values.collect())
}

/// ERA5 2 m temperature over the UK, 12 hourly bands of 49 × 33 (float64, kelvin).
fn era5() -> (Header, Vec<u8>) {
    let data = npy_data("float64_12b_era5_t2m_uk_20190301_first12h.npy");
    (Header::new(49, 33, 12, SampleType::F64), data)
}

/// The Landsat 7 RGB crop (uint8), its black border the nodata value 0 on every band.
fn landsat() -> (Header, Vec<u8>) {
    let f = std::fs::File::open(fixtures().join("uint8_3b_landsat7_rgb_crop.tif")).unwrap();
    let mut d = tiff::decoder::Decoder::new(f).unwrap();
    let (w, h) = d.dimensions().unwrap();
    let tiff::decoder::DecodingResult::U8(bytes) = d.read_image().unwrap() else {
        panic!("the Landsat crop is uint8");
    };
    let mut header = Header::new(w, h, 3, SampleType::U8);
    header.bands.iter_mut().for_each(|b| b.nodata = Some(0.0));
    (header, bytes)
}

fn tiled(mut h: Header, edge: u32) -> Header {
    (h.tile_width, h.tile_height) = (edge, edge);
    h
}

/// `h` with a transform target and, when `bounds` is not empty, a bound per band.
fn lossy(h: &Header, target: f64, bounds: &[f64]) -> Header {
    let mut h = h.clone();
    h.transform_loss = Some(TransformLoss {
        target_rel_rmse: target,
        achieved: None,
    });
    h.near_lossless = (!bounds.is_empty()).then(|| NearLossless {
        max_error: bounds.to_vec(),
        achieved: vec![None; bounds.len()],
    });
    h
}

/// What reading a refined file back measured against its source.
#[derive(Debug)]
struct Measured {
    /// Per band, the largest `|x − x̂|`.
    largest: Vec<f64>,
    /// `Σ (x − x̂)²` of the refined samples, and of the transform they refine.
    squared_error: f64,
    squared_error_transform: f64,
    squared_norm: f64,
}

/// Where a version-3 payload's parts are (§5.7.5): its refined flag, and the range-coded
/// stream; the refinement follows the stream.
struct Layout {
    refined_flag: usize,
    stream: std::ops::Range<usize>,
}

/// The unsigned varint at `*at`, moving `at` past it.
fn read_uv(payload: &[u8], at: &mut usize) -> usize {
    let mut v = 0u64;
    for shift in (0..).step_by(7) {
        let b = payload[*at];
        *at += 1;
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    v as usize
}

fn layout(payload: &[u8], bands: usize) -> Layout {
    assert_eq!(payload[0], 3, "payload version 3");
    let uv = |at: &mut usize| read_uv(payload, at);
    let mut at = 1;
    assert_eq!(uv(&mut at), bands);
    uv(&mut at);
    // levels, mean step, loading bits, step, bias
    at += 1 + 8 + 1 + 8 + 1;
    let refined_flag = at;
    at += 1;
    let length = uv(&mut at);
    Layout {
        refined_flag,
        stream: at..at + length,
    }
}

/// The transform a refined payload refines: the same payload, unrefined (§5.7.5: the
/// flag 0 and nothing after the stream).
fn transform_of(payload: &[u8], bands: usize) -> Vec<u8> {
    let l = layout(payload, bands);
    let mut transform = payload[..l.stream.end].to_vec();
    transform[l.refined_flag] = 0;
    transform
}

/// Decodes every tile of a refined file and checks every sample against `raster`: within
/// its band's bound (bit for bit where it is 0), nodata kept and not made, never further
/// from the source than the transform the tile refines has it.
fn measure(h: &Header, raster: &[u8], refined: &[u8], bounds: &[f64]) -> Measured {
    let mut r = Reader::open(Cursor::new(refined)).unwrap();
    assert_eq!(
        r.format_version(),
        (1, 7),
        "klt payload version 3 with the band table in BNDZ is format 1.7"
    );
    let (ty, bands) = (h.sample_type, h.bands.len());
    let mut m = Measured {
        largest: vec![0.0; bands],
        squared_error: 0.0,
        squared_error_transform: 0.0,
        squared_norm: 0.0,
    };
    let tiles = (0..h.tiles_down()).flat_map(|y| (0..h.tiles_across()).map(move |x| (x, y)));
    for (tx, tyi) in tiles {
        let payload = r.read_payload(0, tx, tyi).unwrap();
        assert_eq!(payload[0], 3, "payload version");
        let shape = block_shape(h, 0, tx, tyi).unwrap();
        let mut transform = Vec::new();
        let v1 = transform_of(&payload, bands);
        decode_tile(
            CodecId::Klt,
            &shape,
            &v1,
            &CodecParams::default(),
            &mut transform,
        )
        .unwrap();
        let source = tile(h, raster, tx, tyi);
        let refined = r.read_block(0, tx, tyi).unwrap();
        let x = ty.values_f64(&source);
        let (x2, x1) = (ty.values_f64(&refined), ty.values_f64(&transform));
        let size = ty.size();
        for i in 0..x.len() {
            let band = i % bands;
            let here = || format!("tile ({tx}, {tyi}) sample {i}: {} -> {}", x[i], x2[i]);
            match bounds[band] {
                0.0 => assert_eq!(
                    source[i * size..][..size],
                    refined[i * size..][..size],
                    "{}",
                    here()
                ),
                e => assert!(within(x[i], x2[i], e), "{}, bound {e}", here()),
            }
            if let Some(n) = h.bands[band].nodata {
                assert_eq!(x[i] == n, x2[i] == n, "{}: nodata", here());
            }
            let (e2, e1) = ((x[i] - x2[i]).abs(), (x[i] - x1[i]).abs());
            assert!(e2 <= e1, "{}: the transform had {}", here(), x1[i]);
            m.largest[band] = m.largest[band].max(e2);
            m.squared_error += e2 * e2;
            m.squared_error_transform += e1 * e1;
            m.squared_norm += x[i] * x[i];
        }
    }
    m
}

/// Writes `raster` refined to `e` (every band) at `target`, checks every sample and what
/// the file records; returns the sizes of the refined file, the transform alone and
/// near-lossless alone.
fn bound_holds(name: &str, h: &Header, raster: &[u8], target: f64, e: f64) -> [usize; 3] {
    let bands = h.bands.len();
    let bounds = vec![e; bands];
    let auto = CodecChoice::Auto;
    let refined = write(&lossy(h, target, &bounds), raster, auto, Effort::Default);
    let unrefined = write(&lossy(h, target, &[]), raster, auto, Effort::Default);
    let v1 = Reader::open(Cursor::new(&unrefined))
        .unwrap()
        .format_version();
    assert_eq!(
        v1,
        (1, 7),
        "klt payload version 3, unrefined, with the band table in BNDZ is format 1.7"
    );
    let mut near = h.clone();
    near.near_lossless = Some(NearLossless::uniform(bands, e));
    let near_lossless = write(&near, raster, auto, Effort::Default);
    let m = measure(h, raster, &refined, &bounds);
    let rel = (m.squared_error / m.squared_norm).sqrt();
    let rel_transform = (m.squared_error_transform / m.squared_norm).sqrt();
    eprintln!(
        "{name} at {target} within {e}: rel-RMSE {rel:.5} (its transform {rel_transform:.5}); \
         bytes refined {}, transform alone {}, near-lossless alone {}",
        refined.len(),
        unrefined.len(),
        near_lossless.len()
    );
    // Rate control meets a target within 1% (format §5.7.2), the transform's target is at
    // most R, and the refinement only lowers the error.
    assert!(
        rel <= rel_transform && rel <= target * 1.01,
        "{name}: {rel}"
    );
    let r = Reader::open(Cursor::new(&refined)).unwrap();
    let recorded = r.header().near_lossless.clone().unwrap();
    assert_eq!(recorded.max_error, bounds, "{name}: the recorded bound");
    let achieved: Vec<f64> = recorded.achieved.iter().map(|a| a.unwrap()).collect();
    assert_eq!(achieved, m.largest, "{name}: the recorded largest errors");
    let figures = r.header().transform_loss.clone().unwrap().achieved.unwrap();
    assert!(
        (figures.rel_rmse / rel - 1.0).abs() < 1e-9,
        "{name}: {figures:?}"
    );
    let largest = m.largest.iter().copied().fold(0.0, f64::max);
    assert_eq!(figures.max_abs_error, largest, "{name}");
    [refined.len(), unrefined.len(), near_lossless.len()]
}

#[test]
fn every_sample_of_the_presto_codes_is_within_the_bound() {
    let (h, codes) = presto_codes();
    let h = tiled(h, 32);
    for target in [0.05, 0.1] {
        let sizes: Vec<[usize; 3]> = [1.0, 2.0, 7.0]
            .iter()
            .map(|&e| bound_holds("presto int8", &h, &codes, target, e))
            .collect();
        // A looser bound needs fewer corrections.
        assert!(
            sizes[0][0] > sizes[1][0] && sizes[1][0] > sizes[2][0],
            "{sizes:?}"
        );
    }
}

#[test]
fn every_sample_of_landsat_is_within_the_bound_and_its_border_stays_nodata() {
    let (h, rgb) = landsat();
    let h = tiled(h, 96);
    for target in [0.05, 0.1] {
        for e in [1.0, 2.0, 7.0] {
            bound_holds("landsat uint8", &h, &rgb, target, e);
        }
    }
}

#[test]
fn every_sample_of_float_rasters_is_within_a_hundredth() {
    let (h, values) = presto_values();
    let h = tiled(h, 32);
    let (era5_header, era5_values) = era5();
    for target in [0.05, 0.1] {
        bound_holds("presto float32", &h, &values, target, 0.01);
        bound_holds("era5 float64", &era5_header, &era5_values, target, 0.01);
    }
}

#[test]
fn a_zero_bound_keeps_its_band_exact() {
    let (h, rgb) = landsat();
    let h = tiled(h, 96);
    let bounds = [0.0, 2.0, 2.0];
    let refined = write(
        &lossy(&h, 0.05, &bounds),
        &rgb,
        CodecChoice::Auto,
        Effort::Fast,
    );
    assert_eq!(measure(&h, &rgb, &refined, &bounds).largest[0], 0.0);
    let (h, values) = era5();
    let mut bounds = vec![0.01; 12];
    bounds[0] = 0.0;
    let refined = write(
        &lossy(&h, 0.05, &bounds),
        &values,
        CodecChoice::Auto,
        Effort::Max,
    );
    assert_eq!(measure(&h, &values, &refined, &bounds).largest[0], 0.0);
}

fn params<'a>(target: f64, bounds: &'a [f64], nodata: &'a [Option<f64>]) -> CodecParams<'a> {
    CodecParams {
        rel_rmse: Some(target),
        max_error: bounds,
        nodata,
        ..CodecParams::default()
    }
}

fn whole_tile(h: &Header) -> TileShape {
    TileShape {
        width: h.width as usize,
        height: h.height as usize,
        bands: h.bands.len(),
        sample_type: h.sample_type,
    }
}

#[test]
fn the_decoder_rebuilds_what_the_encoder_checked_and_measured() {
    for (h, raster, e) in
        [(presto_codes(), 2.0), (presto_values(), 0.01)].map(|((h, r), e)| (h, r, e))
    {
        let shape = whole_tile(&h);
        let bounds = vec![e; shape.bands];
        let p = params(0.05, &bounds, &[]);
        let encoded = encode_best(CodecChoice::Auto, &shape, &raster, &p).unwrap();
        assert_eq!((encoded.codec, encoded.payload[0]), (CodecId::Klt, 3));
        let tile = encoded.klt.unwrap();
        let mut decoded = Vec::new();
        decode_tile(
            CodecId::Klt,
            &shape,
            &encoded.payload,
            &CodecParams::default(),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, tile.samples);
        let (x, y) = (
            shape.sample_type.values_f64(&raster),
            shape.sample_type.values_f64(&decoded),
        );
        let mut largest = vec![0.0f64; shape.bands];
        for (i, (a, b)) in x.iter().zip(&y).enumerate() {
            largest[i % shape.bands] = largest[i % shape.bands].max((a - b).abs());
        }
        assert_eq!(tile.max_error, largest);
        let error: f64 = x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum();
        let norm: f64 = x.iter().map(|a| a * a).sum();
        assert!(((error / norm).sqrt() / tile.stats.rel_rmse() - 1.0).abs() < 1e-12);
        // Without a bound the payload is version 3 too, flagged unrefined and ending with
        // its stream.
        let alone = encode_tile(CodecId::Klt, &shape, &raster, &params(0.05, &[], &[])).unwrap();
        assert_eq!(alone[0], 3);
        let l = layout(&alone, shape.bands);
        assert_eq!((alone[l.refined_flag], l.stream.end), (0, alone.len()));
    }
}

#[test]
fn bounds_the_refinement_cannot_keep_are_refused() {
    let (h, codes) = presto_codes();
    let shape = whole_tile(&h);
    let message = |samples: &[u8], shape: &TileShape, bounds: &[f64]| {
        let e = encode_tile(CodecId::Klt, shape, samples, &params(0.05, bounds, &[])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        e.to_string()
    };
    let fraction = message(&codes, &shape, &vec![1.5; 128]);
    assert!(
        fraction.contains("integer samples need a whole number"),
        "{fraction}"
    );
    let count = message(&codes, &shape, &[2.0, 2.0]);
    assert!(
        count.contains("2 near-lossless bounds for a tile of 128 bands"),
        "{count}"
    );
    let wide: Vec<u8> = codes
        .iter()
        .flat_map(|&q| (q as i8 as i32).to_le_bytes())
        .collect();
    let int32 = TileShape {
        sample_type: SampleType::I32,
        ..shape
    };
    let e = message(&wide, &int32, &vec![2.0; 128]);
    assert!(e.contains("klt cannot refine int32 samples"), "{e}");
    // Nor may a file promise a bound on int32 bands.
    let mut hd = lossy(
        &Header::new(48, 48, 128, SampleType::I32),
        0.05,
        &vec![2.0; 128],
    );
    hd.tile_width = 48;
    let e = geoembed_codec::Writer::new(Cursor::new(Vec::new()), hd)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "a transform refined to a near-lossless bound needs 8- or 16-bit integer or float \
         samples (klt cannot refine int32 samples); this raster is int32"
    );
}

/// Where the refinement starts in a refined payload (§5.7.5): after the stream.
fn refinement_offset(payload: &[u8], bands: usize) -> usize {
    layout(payload, bands).stream.end
}

/// How many samples a refined payload stores exactly, and its correction type byte.
fn exact_count_and_correction_type(payload: &[u8], bands: usize) -> (usize, u8) {
    let mut at = refinement_offset(payload, bands) + 8 * bands;
    let correction_type = payload[at];
    at += 1;
    if correction_type != 0 {
        let length = read_uv(payload, &mut at);
        at += length;
    }
    (read_uv(payload, &mut at), correction_type)
}

/// A small real tile refined tightly enough to have int8 corrections and exact samples
/// (border pixels the lattice would move off nodata): the first 40 × 40 tile of the
/// Landsat crop that has both, within 1 at 10%.
fn small_refined_tile() -> (TileShape, Vec<u8>) {
    let (h, rgb) = landsat();
    let crop = tiled(h.clone(), 40);
    let nodata = [Some(0.0); 3];
    let p = params(0.1, &[1.0; 3], &nodata);
    let tiles = (0..crop.tiles_down()).flat_map(|y| (0..crop.tiles_across()).map(move |x| (x, y)));
    for (tx, ty) in tiles {
        let shape = block_shape(&crop, 0, tx, ty).unwrap();
        let samples = tile(&crop, &rgb, tx, ty);
        let payload = encode_tile(CodecId::Klt, &shape, &samples, &p).unwrap();
        let (exact, correction_type) = exact_count_and_correction_type(&payload, 3);
        if exact > 0 && correction_type == 2 {
            return (shape, payload);
        }
    }
    panic!("no tile of the Landsat crop has both corrections and exact samples");
}

fn decode_error(shape: &TileShape, payload: &[u8]) -> geoembed_codec::Error {
    let mut out = Vec::new();
    let e = decode_tile(
        CodecId::Klt,
        shape,
        payload,
        &CodecParams::default(),
        &mut out,
    )
    .unwrap_err();
    assert!(out.is_empty(), "a failed decode leaves nothing behind");
    e
}

#[test]
fn corrupt_refined_payloads_fail_with_named_errors() {
    let (shape, payload) = small_refined_tile();
    assert_eq!(payload[0], 3);
    let at = refinement_offset(&payload, shape.bands);
    // Every cut of the payload fails (the refinement ends the payload, so nothing is optional).
    for cut in 0..payload.len() {
        let e = decode_error(&shape, &payload[..cut]);
        assert!(e.to_string().contains("klt"), "cut at {cut}: {e}");
    }
    let edited = |at: usize, bytes: &[u8]| {
        let mut p = payload.clone();
        p[at..at + bytes.len()].copy_from_slice(bytes);
        p
    };
    let cases: [(Vec<u8>, ErrorKind, &str); 5] = [
        (
            edited(0, &[4]),
            ErrorKind::Unsupported,
            "klt payload version 4",
        ),
        (
            edited(at, &0.0f64.to_le_bytes()),
            ErrorKind::Corrupt,
            "refinement step 0 of a uint8 tile is not a whole number",
        ),
        (
            edited(at, &2.5f64.to_le_bytes()),
            ErrorKind::Corrupt,
            "refinement step 2.5",
        ),
        (
            edited(at, &f64::NAN.to_le_bytes()),
            ErrorKind::Corrupt,
            "refinement steps holds a non-finite value",
        ),
        (
            edited(at + 24, &[5]),
            ErrorKind::Corrupt,
            "correction type 5 is not 0, 2 (int8), 4 (int16) or 6 (int32)",
        ),
    ];
    for (bad, kind, needle) in cases {
        let e = decode_error(&shape, &bad);
        assert_eq!(e.kind(), kind, "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
    // Version 2 of a 32-bit integer tile: no writer makes one, a reader refuses it.
    let int32 = TileShape {
        sample_type: SampleType::I32,
        ..shape
    };
    let e = decode_error(&int32, &payload);
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(
        e.to_string()
            .contains("refines 8/16-bit integer and float tiles, not int32"),
        "{e}"
    );
    let mut trailing = payload.clone();
    trailing.push(0);
    let e = decode_error(&shape, &trailing);
    assert!(
        e.to_string().contains("klt: bytes after the exact samples"),
        "{e}"
    );
    // Every single-byte change in the refinement either decodes one whole tile or fails
    // with an error; none panics.
    for i in at..payload.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut p = payload.clone();
            p[i] ^= flip;
            let mut out = Vec::new();
            match decode_tile(CodecId::Klt, &shape, &p, &CodecParams::default(), &mut out) {
                Ok(()) => assert_eq!(out.len(), shape.bytes()),
                Err(e) => assert!(out.is_empty() && !e.to_string().is_empty()),
            }
        }
    }
}

#[test]
fn a_float_correction_on_a_band_without_a_lattice_is_corrupt() {
    // ERA5 (float64) refined to 0.01, then band 0's step set to 0 (no lattice): its
    // corrections no longer mean anything.
    let (h, values) = era5();
    let shape = whole_tile(&h);
    let p = params(0.05, &[0.01; 12], &[]);
    let payload = encode_tile(CodecId::Klt, &shape, &values, &p).unwrap();
    let at = refinement_offset(&payload, 12);
    let mut bad = payload.clone();
    bad[at..at + 8].copy_from_slice(&0.0f64.to_le_bytes());
    let e = decode_error(&shape, &bad);
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.to_string().contains("whose refinement step is 0"), "{e}");
    bad[at..at + 8].copy_from_slice(&(-0.5f64).to_le_bytes());
    let e = decode_error(&shape, &bad);
    assert!(
        e.to_string()
            .contains("refinement step -0.5 of a float64 tile is negative"),
        "{e}"
    );
}

#[test]
fn a_refinement_bound_without_a_transform_is_corrupt() {
    // The refined file with its `loss` chunk renamed to an unknown ancillary tag: the
    // `lbnd` chunk is left describing a transform the file no longer has.
    let (h, rgb) = landsat();
    let h = tiled(h, 96);
    let mut file = write(
        &lossy(&h, 0.05, &[2.0; 3]),
        &rgb,
        CodecChoice::Auto,
        Effort::Fast,
    );
    let header_at = u64::from_le_bytes(file[48..56].try_into().unwrap()) as usize;
    let header_len = u32::from_le_bytes(file[56..60].try_into().unwrap()) as usize;
    let body = header_at..header_at + header_len - 4;
    let tag = file[body.clone()]
        .windows(4)
        .position(|w| w == b"loss")
        .unwrap();
    file[header_at + tag] = b'x';
    let crc = crc32fast::hash(&file[body.clone()]);
    file[body.end..body.end + 4].copy_from_slice(&crc.to_le_bytes());
    let e = Reader::open(Cursor::new(&file)).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(
        e.to_string()
            .contains("lbnd: a refinement bound without a transform"),
        "{e}"
    );
}
