//! indicatif progress bars behind the library's `Progress` hook.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use lookalike_core::Progress;

/// Draws one bar per stage on stderr, or nothing when disabled.
pub struct BarProgress {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl BarProgress {
    pub fn new(enabled: bool) -> Self {
        BarProgress {
            enabled,
            bar: Mutex::new(None),
        }
    }
}

impl Progress for BarProgress {
    fn start(&self, stage: &str, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg:40!} [{bar:30}] {percent:>3}% {per_sec:>12} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner(),
        };
        bar.set_message(stage.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(previous) = self.bar.lock().expect("bar poisoned").replace(bar) {
            previous.finish_and_clear();
        }
    }

    fn advance(&self, amount: u64) {
        if let Some(bar) = &*self.bar.lock().expect("bar poisoned") {
            bar.inc(amount);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("bar poisoned").take() {
            bar.finish_and_clear();
        }
    }
}
