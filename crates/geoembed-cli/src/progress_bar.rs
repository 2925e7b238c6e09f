//! The library's per-tile progress drawn as one line on stderr (fits 80 columns); silent
//! with `-q` or when stderr is not a terminal (logs and pipes get no control characters).

use geoembed::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::sync::Mutex;

/// At most 9 + 26 + 15 + 6 + 8 + 8 columns: stage, bar, tiles, elapsed, eta.
const TEMPLATE: &str = "{msg:>9} [{bar:24}] {pos}/{len} tiles {elapsed_precise} eta {eta}";

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
