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
