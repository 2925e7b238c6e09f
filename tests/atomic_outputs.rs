//! Outputs appear whole or not at all, under interruption and races (GitHub issue 15):
//! SIGINT or SIGTERM mid-convert leaves the target path as it was and no staging; what a
//! SIGKILL leaves is removed by the next run; of two converts racing to one path, one
//! succeeds and the other fails naming the existing file; an output path that is a
//! directory is refused before any work, with no sidecar left; errors never name a
//! staging path.

mod common;
use common::*;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A batch of about one tile row of [`slow_input`]: the conversion runs in five batches, so
/// an interrupt that follows the staging's creation lands in the middle of it.
const ONE_TILE_ROW: &str = "1M";

/// A DEM large enough that encoding it at `--effort max` takes a while (25 tiles).
fn slow_input(dir: &Path) -> PathBuf {
    let tif = dir.join("dem.tif");
    let st = Command::new("gdal_translate")
        .args(["-q", "-outsize", "1500", "1500", "-r", "bilinear"])
        .arg(fixture("int16_1b_srtm3_n44w072_crop.tif"))
        .arg(&tif)
        .status()
        .unwrap();
    assert!(st.success());
    tif
}

fn spawn(args: &[&str]) -> Child {
    Command::new(bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `dir` holds a staging directory with the staged file in it (created after
/// the staging is registered for removal on signals). Not "with bytes in it": the staged
/// file is written through a 1 MiB buffer, so a small output has no bytes on disk until
/// the end, and waiting for them raced the conversion's own finish.
fn wait_for_staging(dir: &Path, child: &mut Child) -> PathBuf {
    let t0 = Instant::now();
    loop {
        for name in listing(dir) {
            let staged = dir.join(&name);
            if name.contains(".geoembed-") && !listing(&staged).is_empty() {
                return staged;
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the conversion ended before it could be interrupted"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no staging appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn interrupt(child: &mut Child, signal: i32) -> std::process::ExitStatus {
    // SAFETY: kill with a valid signal number on our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    child.wait().unwrap()
}

#[test]
fn sigint_and_sigterm_mid_convert_leave_the_target_untouched_and_no_staging() {
    let dir = tempfile::tempdir().unwrap();
    let tif = slow_input(dir.path());
    let out = dir.path().join("out.emb");
    std::fs::write(&out, b"the previous output").unwrap();
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut child = spawn(&[
            "-q",
            "convert",
            s(&tif),
            s(&out),
            "--overwrite",
            "--effort",
            "max",
            "--batch-memory",
            ONE_TILE_ROW,
        ]);
        let staged = wait_for_staging(dir.path(), &mut child);
        let status = interrupt(&mut child, signal);
        assert_eq!(status.signal(), Some(signal), "died of the signal");
        assert!(!staged.exists(), "{} left behind", staged.display());
        assert_eq!(listing(dir.path()), vec!["dem.tif", "out.emb"]);
        assert_eq!(std::fs::read(&out).unwrap(), b"the previous output");
    }
}

#[test]
fn sigterm_mid_decode_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.tif");
    let st = Command::new("gdal_translate")
        .args(["-q", "-outsize", "3000", "3000"])
        .arg(fixture("int16_1b_srtm3_n44w072_crop.tif"))
        .arg(&big)
        .status()
        .unwrap();
    assert!(st.success());
    let emb = dir.path().join("big.emb");
    ok(&["-q", "convert", s(&big), s(&emb), "--codec", "raw"]);
    std::fs::remove_file(&big).unwrap();
    let out = dir.path().join("back.tif");
    let args = [
        "-q",
        "--threads",
        "1",
        "convert",
        s(&emb),
        s(&out),
        "-co",
        "COMPRESS=LZMA",
    ];
    let mut child = spawn(&args);
    wait_for_staging(dir.path(), &mut child);
    let status = interrupt(&mut child, libc::SIGTERM);
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert_eq!(listing(dir.path()), vec!["big.emb", "big.emb.json"]);
}

#[test]
fn staging_left_by_a_killed_run_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let tif = slow_input(dir.path());
    let out = dir.path().join("out.emb");
    let mut child = spawn(&[
        "-q",
        "convert",
        s(&tif),
        s(&out),
        "--effort",
        "max",
        "--batch-memory",
        ONE_TILE_ROW,
    ]);
    let staged = wait_for_staging(dir.path(), &mut child);
    assert_eq!(
        interrupt(&mut child, libc::SIGKILL).signal(),
        Some(libc::SIGKILL)
    );
    assert!(staged.exists(), "SIGKILL cannot clean up");
    ok(&["-q", "convert", s(&tif), s(&out)]);
    assert!(!staged.exists(), "the stale staging was not removed");
    assert_eq!(
        listing(dir.path()),
        vec!["dem.tif", "out.emb", "out.emb.json"]
    );
}

#[test]
fn of_two_racing_converts_one_succeeds_and_the_other_names_the_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let tif = slow_input(dir.path());
    let out = dir.path().join("race.emb");
    let mut first = spawn(&["-q", "convert", s(&tif), s(&out)]);
    let mut second = spawn(&["-q", "convert", s(&tif), s(&out)]);
    let mut outcomes = Vec::new();
    for child in [&mut first, &mut second] {
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        outcomes.push((status.code(), err));
    }
    outcomes.sort();
    assert_eq!(outcomes[0].0, Some(0), "{outcomes:?}");
    assert_eq!(outcomes[1].0, Some(1), "{outcomes:?}");
    let expected = format!(
        "geoembed: error: {}: already exists (use --overwrite to replace it)\n",
        out.display()
    );
    assert_eq!(outcomes[1].1, expected);
    assert_eq!(
        listing(dir.path()),
        vec!["dem.tif", "race.emb", "race.emb.json"]
    );
    ok(&["verify", s(&out)]);
}

#[test]
fn an_output_path_that_is_a_directory_is_refused_before_any_work_and_leaves_no_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken.emb");
    std::fs::create_dir(&taken).unwrap();
    let src = fixture("uint16_4b_rgba.tif");
    fails(
        &["convert", s(&src), s(&taken)],
        &["taken.emb: already exists (use --overwrite to replace it)"],
    );
    fails(
        &["convert", s(&src), s(&taken), "--overwrite"],
        &["taken.emb: is a directory; give a file name for the output"],
    );
    assert_eq!(listing(dir.path()), vec!["taken.emb"]);
    assert!(listing(&taken).is_empty());
}

#[test]
fn option_errors_come_before_any_work_and_never_name_a_staging_path() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("int16_1b_srtm3_n44w072_crop.tif");
    let out = dir.path().join("o.emb");
    fails(
        &["convert", s(&src), s(&out), "--tile", "40000"],
        &["--tile 40000: give a tile edge from 16 to 8192 pixels"],
    );
    let emb = dir.path().join("e.emb");
    ok(&["-q", "convert", s(&src), s(&emb)]);
    let tif = dir.path().join("o.tif");
    let err = fails(
        &["convert", s(&emb), s(&tif), "-co", "BLOCKXSIZE=7"],
        &["o.tif"],
    );
    assert!(!err.contains(".geoembed-"), "names a staging path: {err}");
    assert!(err.contains(&tif.display().to_string()), "{err}");
    assert_eq!(listing(dir.path()), vec!["e.emb", "e.emb.json"]);
}
