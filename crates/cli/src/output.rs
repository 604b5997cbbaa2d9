//! Where words go: reports to stdout, messages to stderr, progress bars only on a terminal;
//! with `--quiet`, none of them (errors still go to stderr, and files are written as asked).

use std::io::{IsTerminal, Write};

use crate::progress::BarProgress;

/// The user interface of one run.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    quiet: bool,
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        Ui { quiet }
    }

    /// A message for the user on stderr.
    /// Paths inside staging folders are shown where they will be once the run ends.
    pub fn say(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", crate::paths::as_final(message.as_ref()));
        }
    }

    /// A progress reporter: bars on a terminal, nothing otherwise.
    pub fn progress(&self) -> BarProgress {
        BarProgress::new(!self.quiet && std::io::stderr().is_terminal())
    }

    /// Writes a report to stdout, or to stderr when an output took stdout (`--out -`) so that
    /// the two do not mix; nothing with `--quiet` (a report wanted in a file is asked for with
    /// the command's `--report`/`--out`).
    pub fn data(&self, text: &str) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        if lookalike_core::stdout_taken() {
            self.say(text.trim_end());
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        out.write_all(crate::paths::as_final(text).as_bytes())?;
        out.flush()
    }
}

/// Whether the error is a closed stdout (`lookalike … | head`), which is not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Whether an output path asks for Parquet (`.parquet`, `.pq`) rather than CSV (`.csv`, or a
/// stream); any other extension is an error, so nothing is written in a format the user did
/// not choose.
pub fn is_parquet_output(path: &std::path::Path) -> anyhow::Result<bool> {
    Ok(lookalike_pipeline::OutputFormat::of(path)? == lookalike_pipeline::OutputFormat::Parquet)
}
