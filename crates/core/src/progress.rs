/// How long-running library code reports progress without printing.
///
/// Libraries call these methods; the CLI implements them with a progress bar on a terminal and
/// with nothing otherwise. Implementations must be cheap: `advance` is called from worker
/// threads once per block of work, not per row.
///
/// ```
/// use lookalike_core::{NoProgress, Progress};
/// let progress = NoProgress;
/// progress.start("reading transactions", Some(100));
/// progress.advance(100);
/// progress.finish();
/// ```
pub trait Progress: Sync {
    /// A new stage begins; `total` is its size in the units of `advance` (bytes, rows) if known.
    fn start(&self, stage: &str, total: Option<u64>);
    /// A new stage that counts `unit`s, so that its rate can be shown in them (`197 MB/s`,
    /// `1.2M rows/s`). By default the same as [`Progress::start`].
    fn start_counting(&self, stage: &str, total: Option<u64>, unit: Unit) {
        let _ = unit;
        self.start(stage, total);
    }
    /// `amount` more units of the current stage are done.
    fn advance(&self, amount: u64);
    /// What the current stage is doing now (`k = 5, iteration 12, inertia 1.23e5`), shown
    /// beside its name. By default nothing.
    fn note(&self, detail: &str) {
        let _ = detail;
    }
    /// Whether anything is shown, so callers can skip work done only for the display.
    fn is_shown(&self) -> bool {
        false
    }
    /// The current stage is done.
    fn finish(&self);
}

/// What a stage's progress counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of a file.
    Bytes,
    /// Things with a name: rows, customers, clusterings.
    Items(&'static str),
}

/// A [`Progress`] that reports nothing (tests, batch jobs, `--quiet`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _stage: &str, _total: Option<u64>) {}
    fn advance(&self, _amount: u64) {}
    fn finish(&self) {}
}

/// `value` with an SI prefix and three significant digits, trailing zeros dropped: 950, 1.23k,
/// 34.5M, 206M, 0.25.
pub fn si(value: f64) -> String {
    if !value.is_finite() || value < 0.0 {
        return "-".into();
    }
    let digits = |v: f64| -> usize {
        if v >= 99.95 {
            0
        } else if v >= 9.995 {
            1
        } else {
            2
        }
    };
    // The prefix is chosen after rounding, so that 999,999 reads 1M, not 1000k.
    let (scaled, prefix) = [(1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")]
        .iter()
        .find(|(size, _)| {
            let scaled = value / size;
            let places = digits(scaled) as i32;
            (scaled * 10f64.powi(places)).round() / 10f64.powi(places) >= 1.0
        })
        .map_or((value, ""), |(size, prefix)| (value / size, *prefix));
    let text = format!("{scaled:.*}", digits(scaled));
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{prefix}")
}
