//! Inputs the `native_tile` fuzz target found (fuzz/README.md): each must fail with the
//! error that names what is wrong with it, not panic. Files are decoder inputs of
//! `common/fuzz_input.rs` (4 shape bytes, then a native payload).

#[path = "common/fuzz_input.rs"]
mod fuzz_input;

use geoembed_codec::{decode_tile, CodecId, CodecParams, Effort, ErrorKind};
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
        let (shape, payload) = fuzz_input::split_decoder_input(&data, &fuzz_input::NATIVE_TYPES)
            .expect("4 shape bytes");
        let p = CodecParams {
            effort: Effort::Default,
            decorrelation: None,
            recipe: None,
            max_error: &[],
            nodata: &[],
            rel_rmse: None,
        };
        let mut out = Vec::new();
        let err = decode_tile(CodecId::Native, &shape, payload, &p, &mut out).expect_err(name);
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
