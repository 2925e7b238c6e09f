//! Inputs the `native_tile` fuzz target found (fuzz/README.md): each must fail with the
//! error that names what is wrong with it, not panic. Files: 4 shape bytes (width−1,
//! height−1, bands−1 modulo 48/48/40, sample type modulo 4: u8 i8 u16 i16), then a payload.

use geoembed_codec::codec::{self, CodecId, CodecParams, Effort, TileShape};
use geoembed_codec::{ErrorKind, SampleType};
use std::path::PathBuf;

/// File → a fragment of the expected error message.
const CASES: &[(&str, &str)] = &[
    ("band_count_mismatch", "plan is for"),
    // Found with overflow checks on: i64::MIN passed the range test (|i64::MIN| overflows).
    (
        "coefficient_i64_min",
        "predictor = -9223372036854775808 out of range",
    ),
    ("context_without_table", "which has no table"),
    ("frequencies_sum", "frequencies sum to"),
    ("palette_index_out_of_range", "palette index out of range"),
    (
        "palette_outside_type",
        "palette does not fit the sample type",
    ),
    ("predictor_shift", "predictor shift out of range"),
    ("rans_initial_state", "rANS initial state out of range"),
    (
        "rans_state_not_final",
        "rANS stream did not end where its symbols did",
    ),
    ("raw_bits_end_early", "raw bit stream ends early"),
    ("segments", "row segments (must be 1, 2 or 4)"),
    ("tap_repeated", "taps the same band twice"),
    // Found with overflow checks on: a huge threshold increment wrapped the running sum.
    ("threshold_overflow", "context threshold = "),
    ("token_outside_alphabet", "token outside the alphabet"),
    ("truncated_rans_stream", "ends inside rANS stream"),
    ("unknown_version", "native codec version"),
    ("varint_too_long", "varint too long"),
];

#[test]
fn fuzz_findings_fail_with_their_named_errors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        on_disk,
        CASES.len(),
        "every file in {} needs a case here",
        dir.display()
    );
    for (name, expected) in CASES {
        let data = std::fs::read(dir.join(name)).unwrap();
        let (head, payload) = data.split_first_chunk::<4>().expect("4 shape bytes");
        let shape = TileShape {
            width: 1 + head[0] as usize % 48,
            height: 1 + head[1] as usize % 48,
            bands: 1 + head[2] as usize % 40,
            sample_type: [
                SampleType::U8,
                SampleType::I8,
                SampleType::U16,
                SampleType::I16,
            ][head[3] as usize % 4],
        };
        let p = CodecParams {
            effort: Effort::Default,
            decorrelation: None,
        };
        let mut out = Vec::new();
        let err = codec::decode(CodecId::Native, &shape, payload, &p, &mut out).expect_err(name);
        assert!(
            err.to_string().contains(expected),
            "{name}: got \"{err}\", expected it to mention \"{expected}\""
        );
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Corrupt | ErrorKind::Truncated | ErrorKind::Unsupported
            ),
            "{name}: {:?}",
            err.kind()
        );
        assert!(
            out.is_empty(),
            "{name}: a failed decode left samples behind"
        );
    }
}
