//! What made an output: the tool's version and its input files (path, size, modification time —
//! cheap enough for any log, and enough to tell a changed input), recorded once per run by the
//! front end and written into every Parquet output's key-value metadata. Not the command line:
//! the output's bytes must not depend on where it is written or on the thread count.

use std::path::Path;
use std::sync::Mutex;

/// Metadata keys.
pub const VERSION_KEY: &str = "lookalike.version";
/// JSON list of the inputs: `{"path", "bytes", "modified"}` (seconds since the epoch).
pub const INPUTS_KEY: &str = "lookalike.inputs";

static RUN: Mutex<Option<Vec<(String, String)>>> = Mutex::new(None);

/// Records the run that is writing outputs: the tool's `version`.
pub fn record_run(version: &str) {
    let mut run = RUN.lock().unwrap_or_else(|p| p.into_inner());
    *run = Some(vec![(VERSION_KEY.into(), version.into())]);
}

/// Adds input files to the run's record (a file, or each file of a folder); a path already
/// recorded is recorded once.
pub fn record_inputs<'a>(paths: impl IntoIterator<Item = &'a Path>) {
    let mut run = RUN.lock().unwrap_or_else(|p| p.into_inner());
    let Some(entries) = run.as_mut() else {
        return;
    };
    let mut inputs: Vec<serde_json::Value> = entries
        .iter()
        .find(|(key, _)| key == INPUTS_KEY)
        .and_then(|(_, value)| serde_json::from_str(value).ok())
        .unwrap_or_default();
    for path in paths {
        let mut files = vec![path.to_path_buf()];
        if path.is_dir()
            && let Ok(entries) = std::fs::read_dir(path)
        {
            files = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            files.sort();
        }
        for file in files {
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            let path = file.display().to_string();
            inputs.retain(|i| i["path"] != path.as_str());
            inputs.push(serde_json::json!({
                "path": path,
                "bytes": meta.len(),
                "modified": modified,
            }));
        }
    }
    entries.retain(|(key, _)| key != INPUTS_KEY);
    entries.push((
        INPUTS_KEY.into(),
        serde_json::Value::from(inputs).to_string(),
    ));
}

/// The key-value metadata of the run's outputs (empty when no run was recorded: a library
/// caller writes plain files).
pub fn run_metadata() -> Vec<(String, String)> {
    RUN.lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
}
