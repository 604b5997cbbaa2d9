//! `-` as an input: standard input saved to a temporary file first, because the readers go over
//! a table more than once (the header, then blocks in parallel). The file is removed when the
//! command ends, and on Ctrl-C.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Standard input saved to a file; removed when dropped.
pub struct SavedStdin {
    folder: tempfile::TempDir,
}

impl Drop for SavedStdin {
    fn drop(&mut self) {
        lookalike_core::forget_temporary(self.folder.path());
    }
}

/// `path` itself, or for `-` the file standard input was saved to (named `stdin.<extension>`,
/// so that its format is told as for any file) with the guard that removes it.
pub fn resolve(path: &Path, extension: &str) -> anyhow::Result<(PathBuf, Option<SavedStdin>)> {
    if path.as_os_str() != "-" {
        return Ok((path.to_path_buf(), None));
    }
    let folder = tempfile::Builder::new()
        .prefix("lookalike-stdin-")
        .tempdir()
        .context("making a temporary folder for standard input")?;
    lookalike_core::register_temporary(folder.path());
    let saved = SavedStdin { folder };
    let file = saved.folder.path().join(format!("stdin.{extension}"));
    let mut out = std::fs::File::create(&file)
        .with_context(|| format!("saving standard input to {}", file.display()))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut out)
        .with_context(|| format!("saving standard input to {}", file.display()))?;
    Ok((file, Some(saved)))
}
