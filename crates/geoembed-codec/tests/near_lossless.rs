//! Near-lossless coding (`max_error`, docs/format.md §5.3.9): on real rasters of fixtures/
//! and on random tiles, every decoded sample is within its band's bound, nodata samples
//! stay nodata and no other sample becomes nodata, a zero bound changes no byte, the file
//! records the bound and the error achieved, and codecs that cannot keep a bound refuse it.

#[path = "common/fixture_rasters.rs"]
mod fixture_rasters;
#[path = "common/test_rng.rs"]
mod test_rng;
#[path = "common/whole_raster.rs"]
mod whole_raster;

use fixture_rasters::{npy_int8, tiff_raster};
use geoembed_codec::{
    encode_block, encode_tile, CodecChoice, CodecId, CodecParams, Effort, ErrorKind, Header,
    NearLossless, Reader, SampleType, Writer,
};
use std::io::Cursor;
use test_rng::TestRng;
use whole_raster::{tile, write};

/// Every sample of the raster as i32, pixel-interleaved.
fn values(ty: SampleType, bytes: &[u8]) -> Vec<i32> {
    ty.values_f64(bytes).into_iter().map(|v| v as i32).collect()
}

/// Decodes `file` (checking every tile's CRC) and asserts the bound and the nodata rules
/// on every sample against `raster`; returns the largest error per band.
fn check_bound(file: &[u8], raster: &[u8], bounds: &[u32], nodata: &[Option<i32>]) -> Vec<u32> {
    let mut reader = Reader::open(Cursor::new(file)).unwrap();
    let h = reader.header().clone();
    let mut worst = vec![0u32; bounds.len()];
    for ty in 0..h.tiles_down() {
        for tx in 0..h.tiles_across() {
            let decoded = reader.read_block(0, tx, ty).unwrap();
            let original = values(h.sample_type, &tile(&h, raster, tx, ty));
            let decoded = values(h.sample_type, &decoded);
            for (i, (&x, &x_hat)) in original.iter().zip(&decoded).enumerate() {
                let band = i % bounds.len();
                let error = x.abs_diff(x_hat);
                assert!(
                    error <= bounds[band],
                    "tile ({tx}, {ty}) sample {i}: {x} -> {x_hat}"
                );
                if let Some(n) = nodata[band] {
                    assert_eq!(x == n, x_hat == n, "tile ({tx}, {ty}) sample {i}: nodata");
                }
                worst[band] = worst[band].max(error);
            }
        }
    }
    worst
}

/// Sets every band's bound to `e` and tiles of `tile` pixels.
fn near_lossless(mut h: Header, bounds: &[u32], tile: u32) -> Header {
    h.tile_width = tile;
    h.tile_height = tile;
    h.near_lossless = Some(NearLossless {
        max_error: bounds.iter().map(|&e| f64::from(e)).collect(),
        achieved: vec![None; bounds.len()],
    });
    h
}

/// Encodes at `E` in {1, 2, 7}, checks every sample and the achieved errors the file records.
fn bound_holds(h: Header, raster: &[u8], tile: u32, effort: Effort) -> Vec<usize> {
    let bands = h.bands.len();
    let nodata: Vec<Option<i32>> = h.bands.iter().map(|b| b.nodata.map(|n| n as i32)).collect();
    let lossless = write(
        &near_lossless(h.clone(), &vec![0; bands], tile),
        raster,
        CodecChoice::Auto,
        effort,
    );
    let mut sizes = vec![lossless.len()];
    for e in [1, 2, 7] {
        let hd = near_lossless(h.clone(), &vec![e; bands], tile);
        let file = write(&hd, raster, CodecChoice::Fixed(CodecId::Native), effort);
        let worst = check_bound(&file, raster, &vec![e; bands], &nodata);
        let recorded = Reader::open(Cursor::new(&file))
            .unwrap()
            .header()
            .near_lossless
            .clone();
        let recorded = recorded.expect("the file says it is near-lossless");
        assert_eq!(recorded.max_error, vec![f64::from(e); bands]);
        assert_eq!(
            recorded.achieved,
            worst
                .iter()
                .map(|&w| Some(f64::from(w)))
                .collect::<Vec<_>>()
        );
        sizes.push(file.len());
    }
    eprintln!("sizes (lossless, E = 1, 2, 7): {sizes:?}");
    sizes
}

#[test]
fn bound_holds_on_the_int16_dem() {
    let (h, raster) = tiff_raster("int16_1b_srtm3_n44w072_crop.tif");
    let sizes = bound_holds(h, &raster, 128, Effort::Default);
    assert!(sizes[1] < sizes[0] && sizes[3] < sizes[2], "{sizes:?}");
}

#[test]
fn bound_holds_on_uint8_landsat_rgb_at_every_effort() {
    let (h, raster) = tiff_raster("uint8_3b_landsat7_rgb_crop.tif");
    for effort in [Effort::Fast, Effort::Default, Effort::Max] {
        bound_holds(h.clone(), &raster, 96, effort);
    }
}

/// A uint16 climate grid (the `tiff` crate reads no many-band uint16 TIFF: the 16-band
/// AVIRIS scene is checked through GDAL in the `geoembed` crate's tests).
#[test]
fn bound_holds_on_uint16_rasters() {
    let (h, raster) = tiff_raster("uint16_1b_gridmet_tmmx_crop_scaled.tif");
    bound_holds(h, &raster, 64, Effort::Default);
}

#[test]
fn bound_holds_on_int8_embeddings_real_and_synthetic() {
    let (h, raster) = npy_int8("presto_s2_crop_int8.npy", 48, 48);
    bound_holds(h, &raster, 32, Effort::Default);
    let (h, raster) = npy_int8("tessera_proxy.npy", 50, 60);
    bound_holds(h, &raster, 64, Effort::Fast);
}

/// Random tiles of every 8- and 16-bit type, smooth and noisy, few and many bands.
#[test]
fn bound_holds_on_random_rasters() {
    let mut rng = TestRng::new(11);
    let types = [
        SampleType::U8,
        SampleType::I8,
        SampleType::U16,
        SampleType::I16,
    ];
    for (i, &ty) in types.iter().cycle().take(12).enumerate() {
        let (w, hgt, bands) = (17 + i as u32 * 7, 9 + i as u32 * 5, [1, 3, 9, 20][i % 4]);
        let h = Header::new(w, hgt, bands, ty);
        let (min, max) = match ty {
            SampleType::U8 => (0i64, 255i64),
            SampleType::I8 => (-128, 127),
            SampleType::U16 => (0, 65535),
            _ => (-32768, 32767),
        };
        let noise = if i % 2 == 0 { 3 } else { max - min };
        let mut raster = Vec::new();
        for y in 0..hgt as i64 {
            for x in 0..w as i64 {
                for b in 0..bands as i64 {
                    let smooth = min + (x * 5 + y * 3 + b * 11) % (max - min + 1);
                    let v = (smooth + rng.below(noise as u64 + 1) as i64).clamp(min, max);
                    raster.extend_from_slice(&(v as u16).to_le_bytes()[..ty.size()]);
                }
            }
        }
        bound_holds(h, &raster, 16 + 8 * (i as u32 % 3), Effort::Default);
    }
}

#[test]
fn a_zero_bound_changes_no_byte() {
    let (h, raster) = tiff_raster("uint8_3b_landsat7_rgb_crop.tif");
    let mut lossless = h.clone();
    (lossless.tile_width, lossless.tile_height) = (64, 64);
    let zero = near_lossless(h, &[0, 0, 0], 64);
    for choice in [CodecChoice::Auto, CodecChoice::Fixed(CodecId::Native)] {
        let a = write(&lossless, &raster, choice, Effort::Default);
        let b = write(&zero, &raster, choice, Effort::Default);
        assert!(a == b, "a zero bound changed the file ({choice})");
        assert!(Reader::open(Cursor::new(&b))
            .unwrap()
            .header()
            .near_lossless
            .is_none());
    }
}

#[test]
fn bounds_per_band_keep_exact_bands_exact() {
    let (h, raster) = tiff_raster("uint8_3b_landsat7_rgb_crop.tif");
    let bounds = [0, 3, 1];
    let hd = near_lossless(h, &bounds, 80);
    let file = write(&hd, &raster, CodecChoice::Auto, Effort::Default);
    let worst = check_bound(&file, &raster, &bounds, &[None; 3]);
    assert_eq!(worst[0], 0);
    assert!(worst[1] == 3 && worst[2] == 1, "{worst:?}");
}

/// The Landsat scene's border is 0 in every band and its imagery has values just above 0:
/// with nodata 0, border samples must decode as 0 and no imagery sample may.
#[test]
fn nodata_stays_exact_and_nothing_else_becomes_nodata() {
    let (mut h, mut raster) = tiff_raster("uint8_3b_landsat7_rgb_crop.tif");
    // Dark imagery next to the border: values 1..=7 that a bound of 7 could round to 0.
    for (i, v) in raster.iter_mut().enumerate().filter(|(_, v)| **v > 0) {
        if i % 5 == 0 {
            *v = 1 + (i % 7) as u8;
        }
    }
    for b in &mut h.bands {
        b.nodata = Some(0.0);
    }
    for e in [1, 2, 7] {
        let hd = near_lossless(h.clone(), &[e; 3], 64);
        let file = write(&hd, &raster, CodecChoice::Auto, Effort::Default);
        check_bound(&file, &raster, &[e; 3], &[Some(0); 3]);
    }
    // A DEM with a nodata hole of -32768 among real heights.
    let (mut h, mut raster) = tiff_raster("int16_1b_srtm3_n44w072_crop.tif");
    h.bands[0].nodata = Some(-32768.0);
    let width = h.width as usize;
    for (i, sample) in raster.chunks_exact_mut(2).enumerate() {
        let (x, y) = (i % width, i / width);
        if (x / 16 + y / 16) % 5 == 0 {
            sample.copy_from_slice(&(-32768i16).to_le_bytes());
        }
    }
    for e in [1, 2, 7] {
        let hd = near_lossless(h.clone(), &[e], 128);
        let file = write(&hd, &raster, CodecChoice::Auto, Effort::Default);
        check_bound(&file, &raster, &[e], &[Some(-32768)]);
    }
}

#[test]
fn codecs_that_cannot_keep_a_bound_refuse_it() {
    let (h, raster) = tiff_raster("uint8_3b_landsat7_rgb_crop.tif");
    let hd = near_lossless(h, &[2; 3], 64);
    let samples = tile(&hd, &raster, 0, 0);
    for codec in [CodecId::Png128, CodecId::Raw, CodecId::Lz, CodecId::Float] {
        let err = encode_block(
            &hd,
            0,
            0,
            0,
            &samples,
            CodecChoice::Fixed(codec),
            Effort::Fast,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let message = err.to_string();
        if codec == CodecId::Float {
            assert_eq!(
                message,
                "tile (0, 0) of plane 0: codec float cannot keep a near-lossless bound (max error) on uint8 samples; \
                 the native codec does (codec native or auto)"
            );
            continue;
        }
        assert!(
            message.contains("cannot encode within a near-lossless bound"),
            "{message}"
        );
        assert!(message.contains(codec.name()), "{message}");
    }
    // The tile API refuses too.
    let shape = geoembed_codec::block_shape(&hd, 0, 0, 0).unwrap();
    let params = CodecParams {
        max_error: &[1.0, 1.0, 1.0],
        ..CodecParams::default()
    };
    let err = encode_tile(CodecId::Png128, &shape, &samples, &params).unwrap_err();
    assert!(err.to_string().contains("only the native codec"), "{err}");
    // 32-bit integer rasters carry bounds since format 1.5 (int32_near_lossless.rs), but
    // not beside a transform: klt cannot refine them.
    for ty in [SampleType::I32, SampleType::U32] {
        let mut h = Header::new(8, 8, 2, ty);
        h.near_lossless = Some(NearLossless::uniform(2, 1.0));
        assert!(Writer::new(Cursor::new(Vec::new()), h).is_ok());
    }
}
