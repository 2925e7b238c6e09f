//! png128 configured exactly like the peer harness's `png128:paeth-bpp=C:offset` (Paeth on
//! every row, the whole (H, W, C) image as one tile, int8 as offset binary) on an 8-bit
//! `.npy`, to check that our implementation of the seed's method is faithful: the codec
//! itself picks a filter per row and works in tiles, so its sizes differ by design.
//!
//! Usage: png128_harness FILE.npy   (prints one JSON line; used by scripts/bench.sh)

use geoembed_codec::codec::png128::encode_words;

fn main() -> Result<(), String> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: png128_harness FILE.npy")?;
    let b = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
        return Err(format!("{path}: not a .npy file"));
    }
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = String::from_utf8_lossy(&b[10..10 + hl]).to_string();
    let signed = header.contains("'|i1'");
    if !signed && !header.contains("'|u1'") {
        return Err(format!("{path}: only int8/uint8 arrays ({header})"));
    }
    let shape: Vec<usize> = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| format!("{path}: no shape in {header}"))?
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let [_, w, c] = shape[..] else {
        return Err(format!("{path}: expected (H, W, C), got {shape:?}"));
    };
    let words: Vec<u8> = b[10 + hl..]
        .iter()
        .map(|&x| if signed { x.wrapping_add(128) } else { x })
        .collect();
    let t = std::time::Instant::now();
    let out = encode_words(&words, w * c, c, 6, true).map_err(|e| e.to_string())?;
    println!(
        "{{\"bytes\": {}, \"bits_per_sample\": {:.4}, \"enc_s\": {:.2}, \"config\": \"Paeth every row, whole image, deflate level 6 (zlib-rs)\"}}",
        out.len(),
        8.0 * out.len() as f64 / words.len() as f64,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
