//! indicatif progress bars behind the library's `Progress` hook: rates in the stage's unit with
//! a readable precision (`197 MB/s`, `1.2M customers/s`) and an ETA when the total is known.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};
pub use lookalike_core::si;
use lookalike_core::{Progress, Unit};

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

/// A rate in `unit` per second: `197 MB/s`, `1.2M customers/s`.
pub fn rate(per_second: f64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => format!("{}B/s", spaced(si(per_second))),
        Unit::Items(name) => format!("{} {name}/s", si(per_second)),
    }
}

/// `197M` → `197 M` (bytes read best with a space before the unit).
fn spaced(text: String) -> String {
    match text.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => format!("{} {c}", &text[..at]),
        _ => format!("{text} "),
    }
}

impl BarProgress {
    /// Prints `text` on its own line above the bar; false when no bar is drawn (the caller
    /// then prints it as usual).
    pub fn println(&self, text: &str) -> bool {
        match &*self.bar.lock().expect("bar poisoned") {
            Some(bar) => {
                bar.println(text);
                true
            }
            None => false,
        }
    }

    fn begin(&self, stage: &str, total: Option<u64>, unit: Unit) {
        if !self.enabled {
            return;
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{prefix:36!} [{bar:16}] {percent:>3}% {rate:>18} eta {eta:<4} {msg}",
                )
                .expect("valid template")
                .with_key(
                    "rate",
                    move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&rate(state.per_sec(), unit));
                    },
                )
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg}").expect("valid template"),
            ),
        };
        // The stage's name is the prefix; notes on what it is doing now are the message.
        bar.set_prefix(stage.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(previous) = self.bar.lock().expect("bar poisoned").replace(bar) {
            previous.finish_and_clear();
        }
    }
}

impl Progress for BarProgress {
    fn start(&self, stage: &str, total: Option<u64>) {
        self.begin(stage, total, Unit::Items("steps"));
    }

    fn start_counting(&self, stage: &str, total: Option<u64>, unit: Unit) {
        self.begin(stage, total, unit);
    }

    fn advance(&self, amount: u64) {
        if let Some(bar) = &*self.bar.lock().expect("bar poisoned") {
            bar.inc(amount);
        }
    }

    fn note(&self, detail: &str) {
        if let Some(bar) = &*self.bar.lock().expect("bar poisoned") {
            bar.set_message(detail.to_string());
        }
    }

    fn is_shown(&self) -> bool {
        self.enabled
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("bar poisoned").take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_with_units_and_three_digits() {
        assert_eq!(rate(206_450_701.590_161_2, Unit::Bytes), "206 MB/s");
        assert_eq!(
            rate(1_234_567.0, Unit::Items("customers")),
            "1.23M customers/s"
        );
        assert_eq!(rate(34_500.0, Unit::Items("rows")), "34.5k rows/s");
        assert_eq!(rate(950.0, Unit::Items("rows")), "950 rows/s");
        assert_eq!(rate(3.0, Unit::Items("clusterings")), "3 clusterings/s");
        assert_eq!(rate(0.25, Unit::Items("clusterings")), "0.25 clusterings/s");
        assert_eq!(rate(999_999.0, Unit::Bytes), "1 MB/s");
        assert_eq!(rate(1_200_000.0, Unit::Items("rows")), "1.2M rows/s");
        assert_eq!(rate(1.07e9, Unit::Bytes), "1.07 GB/s");
        assert_eq!(rate(f64::NAN, Unit::Bytes), "- B/s");
    }
}
