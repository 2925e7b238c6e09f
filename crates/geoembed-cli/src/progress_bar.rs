//! The library's per-tile progress drawn as one line on stderr (fits 80 columns); silent
//! with `-q` or when stderr is not a terminal (logs and pipes get no control characters).

use geoembed::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::sync::Mutex;

/// Fits 80 columns with up to a million tiles: stage 9, bar 22, " 999999/999999 tiles" 20,
/// elapsed and eta as HH:MM:SS (29). `{eta}` alone is words ("15 minutes") of any width.
const TEMPLATE: &str = "{msg:>9} [{bar:20}] {pos}/{len} tiles {elapsed_precise} eta {eta_precise}";

pub struct TileProgressBar {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl TileProgressBar {
    pub fn new(quiet: bool) -> Self {
        TileProgressBar {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Ok(bar) = self.bar.lock() {
            if let Some(b) = bar.as_ref() {
                f(b);
            }
        }
    }
}

impl Progress for TileProgressBar {
    fn begin(&self, total_tiles: u64, stage: &str) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total_tiles), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(TEMPLATE)
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(stage.to_string());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, tiles: u64) -> ControlFlow<()> {
        self.with_bar(|b| b.inc(tiles));
        ControlFlow::Continue(())
    }

    fn finish(&self) {
        self.with_bar(ProgressBar::finish_and_clear);
        if let Ok(mut slot) = self.bar.lock() {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;
    use std::sync::{Arc, Mutex};

    /// A terminal that records what indicatif draws.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            200
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, line: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(line.to_string());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(s.to_string());
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_progress_line_fits_80_columns() {
        let screen = Screen::default();
        let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
        let bar = ProgressBar::with_draw_target(Some(999_999), target);
        bar.set_style(
            ProgressStyle::with_template(TEMPLATE)
                .unwrap()
                .progress_chars("=> "),
        );
        bar.set_message("verifying");
        bar.set_position(123_456);
        bar.tick();
        let lines = screen.0.lock().unwrap().clone();
        let drawn: Vec<&String> = lines.iter().filter(|l| l.contains("tiles")).collect();
        assert!(!drawn.is_empty(), "nothing drawn: {lines:?}");
        for line in drawn {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
    }
}
