//! Outputs of one run, committed together: nothing half-written, nothing torn, nothing left
//! behind.
//!
//! Every file goes through [`crate::write_atomically`]: it is written to a hidden temporary
//! file beside its destination (`.<name>.<pid>.<random>.partial`) and synced. Outside an
//! [`OutputBatch`] it is renamed into place at once. Inside one — the CLI opens a batch for every
//! command — the renames wait for [`OutputBatch::commit`], so a failed run replaces nothing and
//! the files of one run (a table and its schema, a segment file and its report) appear together.
//!
//! Folder outputs (a generated data set, a cluster folder, a model) are built in a staging
//! folder beside the destination ([`stage_folder`]) and swapped in whole: with Linux's
//! `renameat2(RENAME_EXCHANGE)` the swap is a single atomic step.
//!
//! A commit first writes a journal (`.lookalike-commit.<run>.json`, in every folder it touches)
//! listing every rename, then renames, then removes the journal. A run killed between renames
//! leaves the journal: the next run that reads or writes in that folder ([`recover_folder`])
//! finishes the commit, so readers see the new set whole; killed before the journal, the
//! previous set is untouched. Stale temporaries of dead processes are removed at the same time.
//!
//! Every temporary is also registered in a process-wide list; [`remove_temporaries_on_signals`]
//! installs a handler that removes them on SIGINT, SIGTERM or SIGHUP before exiting with
//! 128 + the signal number. The handler waits for a commit in progress to finish.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// The name of the marker file inside every folder output, naming the run that wrote it.
pub const RUN_MARKER: &str = ".lookalike-run";

const JOURNAL_PREFIX: &str = ".lookalike-commit.";

#[derive(Default)]
struct State {
    /// Temporary files and folders that exist now and must go if the process is interrupted.
    temporaries: BTreeSet<PathBuf>,
    /// The open batch, if any.
    batch: Option<Batch>,
}

#[derive(Default)]
struct Batch {
    run: String,
    files: Vec<Rename>,
    folders: Vec<Rename>,
}

/// One rename of a commit: a staged file or folder and its destination.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Rename {
    staged: PathBuf,
    destination: PathBuf,
}

/// What a commit journal records.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    run: String,
    folders: Vec<Rename>,
    files: Vec<Rename>,
}

static STATE: Mutex<State> = Mutex::new(State {
    temporaries: BTreeSet::new(),
    batch: None,
});

fn state() -> MutexGuard<'static, State> {
    // A panic while holding the lock leaves consistent data (sets and vectors), so a poisoned
    // lock is used as is.
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A name for this run: the process id (so that stale temporaries can be told from live ones)
/// and the time.
fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos:x}", std::process::id())
}

/// The prefix of this process's temporaries for a destination named `name`.
pub(crate) fn temporary_prefix(destination: &Path) -> String {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.{}.", std::process::id())
}

/// The folder a path lives in (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Registers a temporary file or folder, removed if the process is interrupted (see
/// [`remove_temporaries_on_signals`]).
pub fn register_temporary(path: &Path) {
    state().temporaries.insert(path.to_path_buf());
}

/// Forgets a temporary registered with [`register_temporary`] (it was removed or kept).
pub fn forget_temporary(path: &Path) {
    state().temporaries.remove(path);
}

/// What [`crate::write_atomically`] does with a finished temporary file.
pub(crate) enum Finish {
    /// Rename it into place now.
    Now,
    /// Keep it: the open batch renames it at commit.
    Deferred,
}

/// Hands a finished temporary to the open batch, unless there is none or the destination lies
/// inside a staging folder (which is swapped in whole).
pub(crate) fn defer_if_batched(staged: &Path, destination: &Path) -> Finish {
    let mut state = state();
    let State { batch, .. } = &mut *state;
    match batch {
        Some(batch)
            if !batch
                .folders
                .iter()
                .any(|f| destination.starts_with(&f.staged)) =>
        {
            batch.files.push(Rename {
                staged: staged.to_path_buf(),
                destination: destination.to_path_buf(),
            });
            Finish::Deferred
        }
        _ => Finish::Now,
    }
}

/// The outputs of one run, renamed into place together by [`OutputBatch::commit`]; dropped
/// without a commit, it removes everything staged and the previous outputs stay as they were.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.json"));
/// std::fs::write(&a, "old").unwrap();
/// {
///     let _batch = lookalike_core::OutputBatch::begin().unwrap();
///     lookalike_core::write_atomically(&a, |w| std::io::Write::write_all(w, b"new")).unwrap();
///     // The run fails before committing: the batch is dropped.
/// }
/// assert_eq!(std::fs::read_to_string(&a).unwrap(), "old");
/// let batch = lookalike_core::OutputBatch::begin().unwrap();
/// lookalike_core::write_atomically(&a, |w| std::io::Write::write_all(w, b"new")).unwrap();
/// lookalike_core::write_atomically(&b, |w| std::io::Write::write_all(w, b"{}")).unwrap();
/// assert_eq!(std::fs::read_to_string(&a).unwrap(), "old");
/// batch.commit().unwrap();
/// assert_eq!(std::fs::read_to_string(&a).unwrap(), "new");
/// assert!(b.exists());
/// ```
#[derive(Debug)]
pub struct OutputBatch {
    committed: bool,
}

impl OutputBatch {
    /// Opens the batch of this process's outputs. One batch at a time.
    pub fn begin() -> Result<OutputBatch, CoreError> {
        let mut state = state();
        if state.batch.is_some() {
            return Err(CoreError::InvalidOutput(
                "an output batch is already open in this process".into(),
            ));
        }
        state.batch = Some(Batch {
            run: new_run_id(),
            ..Batch::default()
        });
        Ok(OutputBatch { committed: false })
    }

    /// Renames every staged output into place: journal first, folders swapped, files renamed,
    /// journal removed. Holds the process-wide lock throughout, so an interrupting signal waits.
    pub fn commit(mut self) -> Result<(), CoreError> {
        self.committed = true;
        let mut state = state();
        let Some(batch) = state.batch.take() else {
            return Ok(());
        };
        // Absolute paths, so that a later run started elsewhere can finish the commit.
        let absolute = |renames: &[Rename]| -> Vec<Rename> {
            renames
                .iter()
                .map(|r| Rename {
                    staged: std::path::absolute(&r.staged).unwrap_or_else(|_| r.staged.clone()),
                    destination: std::path::absolute(&r.destination)
                        .unwrap_or_else(|_| r.destination.clone()),
                })
                .collect()
        };
        let journal = Journal {
            run: batch.run.clone(),
            folders: absolute(&batch.folders),
            files: absolute(&batch.files),
        };
        let journals = write_journals(&journal)?;
        apply(&journal, pause_between_renames())?;
        for path in journals {
            let _ = std::fs::remove_file(path);
        }
        for rename in batch.folders.iter().chain(&batch.files) {
            state.temporaries.remove(&rename.staged);
        }
        Ok(())
    }
}

impl Drop for OutputBatch {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let mut state = state();
        if let Some(batch) = state.batch.take() {
            for rename in batch.files.iter().chain(&batch.folders) {
                remove_path(&rename.staged);
                state.temporaries.remove(&rename.staged);
            }
        }
    }
}

/// The size of the file just written to `destination`: its staged copy while a batch holds it,
/// else the file itself. Lets a sidecar record the size of the table it describes.
pub fn written_size(destination: &Path) -> Option<u64> {
    let staged = state().batch.as_ref().and_then(|batch| {
        batch
            .files
            .iter()
            .rev()
            .find(|f| f.destination == destination)
            .map(|f| f.staged.clone())
    });
    std::fs::metadata(staged.as_deref().unwrap_or(destination))
        .ok()
        .map(|m| m.len())
}

/// Fault injection for the tests that kill a run between two renames of its commit: the
/// milliseconds to wait between renames, from `LOOKALIKE_FAULT_PAUSE_BETWEEN_RENAMES_MS`.
fn pause_between_renames() -> Option<std::time::Duration> {
    std::env::var("LOOKALIKE_FAULT_PAUSE_BETWEEN_RENAMES_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(std::time::Duration::from_millis)
}

/// The run id of the open batch, if any (written into sidecars and folder markers, so that a
/// reader can tell which run a file belongs to).
pub fn current_run() -> Option<String> {
    state().batch.as_ref().map(|b| b.run.clone())
}

fn journal_paths(journal: &Journal) -> Vec<PathBuf> {
    let folders: BTreeSet<PathBuf> = journal
        .folders
        .iter()
        .chain(&journal.files)
        .map(|r| folder_of(&r.destination).to_path_buf())
        .collect();
    folders
        .into_iter()
        .map(|f| f.join(format!("{JOURNAL_PREFIX}{}.json", journal.run)))
        .collect()
}

fn write_journals(journal: &Journal) -> Result<Vec<PathBuf>, CoreError> {
    let text = serde_json::to_vec(journal).map_err(|e| CoreError::InvalidOutput(e.to_string()))?;
    let paths = journal_paths(journal);
    for path in &paths {
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(path)?;
            file.write_all(&text)?;
            file.sync_all()
        };
        write().map_err(|source| CoreError::Write {
            path: path.clone(),
            source,
        })?;
    }
    sync_folders(paths.iter().map(|p| folder_of(p)));
    Ok(paths)
}

/// Performs (or finishes) the renames of a journal. Every step can be repeated: a file whose
/// staged copy is gone was renamed already; a folder whose destination carries this run's
/// marker was swapped already.
fn apply(journal: &Journal, pause: Option<std::time::Duration>) -> Result<(), CoreError> {
    for folder in &journal.folders {
        let done = read_marker(&folder.destination).as_deref() == Some(journal.run.as_str());
        if done {
            remove_path(&folder.staged);
            continue;
        }
        if !folder.staged.exists() {
            continue;
        }
        swap_folder(&folder.staged, &folder.destination)?;
    }
    for (i, file) in journal.files.iter().enumerate() {
        if let Some(pause) = pause.filter(|_| i > 0) {
            std::thread::sleep(pause);
        }
        if file.staged.exists() {
            std::fs::rename(&file.staged, &file.destination).map_err(|source| {
                CoreError::Write {
                    path: file.destination.clone(),
                    source,
                }
            })?;
        }
    }
    sync_folders(
        journal
            .folders
            .iter()
            .chain(&journal.files)
            .map(|r| folder_of(&r.destination)),
    );
    Ok(())
}

/// Puts the folder `staged` at `destination`, removing what was there: one atomic exchange
/// where the system has it, else rename aside, rename in, remove.
fn swap_folder(staged: &Path, destination: &Path) -> Result<(), CoreError> {
    let wrap = |source: std::io::Error| CoreError::Write {
        path: destination.to_path_buf(),
        source,
    };
    if !destination.exists() {
        return std::fs::rename(staged, destination).map_err(wrap);
    }
    if exchange(staged, destination).is_ok() {
        // `staged` now holds the previous folder.
        remove_path(staged);
        return Ok(());
    }
    let aside = staged.with_extension("old.partial");
    std::fs::rename(destination, &aside).map_err(wrap)?;
    std::fs::rename(staged, destination).map_err(wrap)?;
    remove_path(&aside);
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

fn sync_folders<'a>(folders: impl Iterator<Item = &'a Path>) {
    let folders: BTreeSet<&Path> = folders.collect();
    for folder in folders {
        // Makes the renames durable; a file system that cannot sync a folder loses nothing
        // but that guarantee.
        if let Ok(handle) = std::fs::File::open(folder) {
            let _ = handle.sync_all();
        }
    }
}

fn remove_path(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

fn read_marker(folder: &Path) -> Option<String> {
    std::fs::read_to_string(folder.join(RUN_MARKER))
        .ok()
        .map(|text| text.trim().to_string())
}

/// Whether the process that made a temporary or journal named with `pid` is still running.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        Path::new("/proc").join(pid.to_string()).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// The process id in a temporary's name `.<name>.<pid>.<random>.partial` (or a journal's
/// `.lookalike-commit.<pid>-<time>.json`).
fn pid_of(file_name: &str) -> Option<u32> {
    if let Some(run) = file_name
        .strip_prefix(JOURNAL_PREFIX)
        .and_then(|rest| rest.strip_suffix(".json"))
    {
        return run.split('-').next()?.parse().ok();
    }
    let stem = file_name.strip_suffix(".partial")?;
    let stem = stem.strip_suffix(".old").unwrap_or(stem);
    let mut parts = stem.rsplitn(3, '.');
    let _random = parts.next()?;
    parts.next()?.parse().ok()
}

/// Finishes the commits that a killed run left in `folder` and removes the temporaries of
/// processes that no longer run. Every front end calls it for the folders it reads from and
/// writes to, before touching them.
pub fn recover_folder(folder: &Path) -> Result<(), CoreError> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(());
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    for name in names.iter().filter(|n| n.starts_with(JOURNAL_PREFIX)) {
        if pid_of(name).is_some_and(process_alive) {
            continue;
        }
        let path = folder.join(name);
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        match serde_json::from_slice::<Journal>(&text) {
            Ok(journal) => {
                apply(&journal, None)?;
                for copy in journal_paths(&journal) {
                    let _ = std::fs::remove_file(copy);
                }
            }
            // A journal is complete before any rename starts: a torn one means nothing was
            // renamed, and the previous outputs stand.
            Err(_) => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    for name in names.iter().filter(|n| n.ends_with(".partial")) {
        if pid_of(name).is_some_and(|pid| !process_alive(pid)) {
            remove_path(&folder.join(name));
        }
    }
    Ok(())
}

/// A folder output being built beside its destination.
#[derive(Debug)]
pub struct StagedFolder {
    staged: PathBuf,
    destination: PathBuf,
    /// Whether the open batch swaps it in at its commit (not when it lies inside another
    /// staged folder, which is swapped in whole).
    batched: bool,
    handed_to_batch: bool,
}

impl StagedFolder {
    /// Where to write the folder's files.
    pub fn path(&self) -> &Path {
        &self.staged
    }

    /// Puts the folder in place: at the batch's commit if a batch is open, now otherwise.
    pub fn publish(mut self) -> Result<(), CoreError> {
        self.handed_to_batch = true;
        let mut state = state();
        if self.batched {
            // Registered at staging time; nothing more to do until the commit.
            return Ok(());
        }
        swap_folder(&self.staged, &self.destination)?;
        state.temporaries.remove(&self.staged);
        Ok(())
    }
}

impl Drop for StagedFolder {
    fn drop(&mut self) {
        if self.handed_to_batch {
            return;
        }
        let mut state = state();
        if let Some(batch) = &mut state.batch
            && self.batched
        {
            batch.folders.retain(|f| f.staged != self.staged);
        }
        remove_path(&self.staged);
        state.temporaries.remove(&self.staged);
    }
}

/// Starts building the folder output `destination` in a staging folder beside it.
///
/// `destination` may be missing, empty, or a previous output — a folder carrying the run marker,
/// or one whose entries all satisfy `is_previous_output` (outputs of older versions). Anything
/// else is refused, so that the user's own files are never swapped away.
pub fn stage_folder(
    destination: &Path,
    is_previous_output: impl Fn(&str) -> bool,
) -> Result<StagedFolder, CoreError> {
    let parent = folder_of(destination);
    if !parent.is_dir() {
        return Err(CoreError::InvalidOutput(format!(
            "{}: the folder {} does not exist",
            destination.display(),
            parent.display()
        )));
    }
    recover_folder(parent)?;
    check_replaceable_folder(destination, is_previous_output)?;
    let prefix = temporary_prefix(destination);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    // An output folder gets the ordinary rwxr-xr-x, not a private temporary folder's rwx------.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o755));
    }
    let staged = builder
        .tempdir_in(parent)
        .map_err(|source| CoreError::Write {
            path: destination.to_path_buf(),
            source,
        })?
        .keep();
    register_temporary(&staged);
    let run = current_run().unwrap_or_else(new_run_id);
    std::fs::write(staged.join(RUN_MARKER), format!("{run}\n")).map_err(|source| {
        CoreError::Write {
            path: destination.to_path_buf(),
            source,
        }
    })?;
    let mut batched = false;
    if let Some(batch) = &mut state().batch
        && !batch
            .folders
            .iter()
            .any(|f| destination.starts_with(&f.staged))
    {
        batch.folders.push(Rename {
            staged: staged.clone(),
            destination: destination.to_path_buf(),
        });
        batched = true;
    }
    Ok(StagedFolder {
        staged,
        destination: destination.to_path_buf(),
        batched,
        handed_to_batch: false,
    })
}

/// Refuses a folder destination that holds anything but a previous output (see
/// [`stage_folder`]).
pub fn check_replaceable_folder(
    destination: &Path,
    is_previous_output: impl Fn(&str) -> bool,
) -> Result<(), CoreError> {
    let meta = match std::fs::metadata(destination) {
        Ok(meta) => meta,
        Err(_) => return Ok(()),
    };
    if !meta.is_dir() {
        return Err(CoreError::InvalidOutput(format!(
            "{} exists and is not a folder",
            destination.display()
        )));
    }
    let entries: Vec<String> = std::fs::read_dir(destination)
        .map_err(|source| CoreError::Write {
            path: destination.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if entries.iter().any(|n| n == RUN_MARKER) {
        return Ok(());
    }
    if let Some(foreign) = entries.iter().find(|n| !is_previous_output(n)) {
        return Err(CoreError::InvalidOutput(format!(
            "{} holds files that lookalike did not write (e.g. {foreign}); \
             choose an empty or new folder (it would be replaced whole)",
            destination.display()
        )));
    }
    Ok(())
}

/// Removes every registered temporary and exits with 128 + `signal`, as a shell reports a run
/// ended by that signal. Waits for a commit in progress to finish first.
fn clean_up_and_exit(signal: i32) -> ! {
    let mut state = state();
    for path in std::mem::take(&mut state.temporaries) {
        remove_path(&path);
    }
    eprintln!("interrupted: temporary files removed, previous outputs left as they were");
    std::process::exit(128 + signal)
}

/// Installs the handler that removes this process's temporaries on SIGINT, SIGTERM and SIGHUP
/// and exits with 130, 143 or 129. For command-line front ends; a library never calls it.
pub fn remove_temporaries_on_signals() -> Result<(), CoreError> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .map_err(|e| CoreError::InvalidOutput(format!("installing signal handlers: {e}")))?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    clean_up_and_exit(signal);
                }
            })
            .map_err(|e| CoreError::InvalidOutput(format!("starting the signal thread: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The batch is process-wide: tests that open one take turns.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(path: &Path, text: &str) -> Result<(), CoreError> {
        crate::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes()))
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn temporary_names_carry_the_process_id() {
        assert_eq!(pid_of(".a.csv.1234.Xy12ab.partial"), Some(1234));
        assert_eq!(pid_of(".a.csv.1234.Xy12ab.old.partial"), Some(1234));
        assert_eq!(pid_of(".lookalike-commit.77-1f3a.json"), Some(77));
        assert_eq!(pid_of(".a.csv.Xy12ab.partial"), None);
        assert_eq!(pid_of("a.csv"), None);
    }

    #[test]
    fn an_uncommitted_batch_leaves_the_previous_files_and_no_temporary() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        std::fs::write(&a, "old a").unwrap();
        {
            let _batch = OutputBatch::begin().unwrap();
            write(&a, "new a").unwrap();
            write(&b, "new b").unwrap();
        }
        assert_eq!(listing(dir.path()), ["a.csv"]);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old a");
        assert!(state().temporaries.is_empty());
    }

    #[test]
    fn a_committed_batch_swaps_a_folder_whole_and_renames_files() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("clusters");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("model.json"), "k=3").unwrap();
        std::fs::write(out.join("old_only.csv"), "stale").unwrap();
        let report = dir.path().join("report.txt");
        let batch = OutputBatch::begin().unwrap();
        let staged = stage_folder(&out, |n| n.ends_with(".json") || n.ends_with(".csv")).unwrap();
        write(&staged.path().join("model.json"), "k=8").unwrap();
        staged.publish().unwrap();
        write(&report, "k=8").unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("model.json")).unwrap(),
            "k=3"
        );
        batch.commit().unwrap();
        assert_eq!(listing(&out), [RUN_MARKER, "model.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&out), 0o755, "an output folder others can enter");
            assert_eq!(mode(&out.join("model.json")), 0o644);
        }
        assert_eq!(
            std::fs::read_to_string(out.join("model.json")).unwrap(),
            "k=8"
        );
        assert_eq!(listing(dir.path()), ["clusters", "report.txt"]);
        assert!(state().temporaries.is_empty());
    }

    #[test]
    fn a_folder_of_the_users_own_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("thesis.tex"), "mine").unwrap();
        let error = check_replaceable_folder(dir.path(), |n| n == "model.json").unwrap_err();
        assert!(error.to_string().contains("thesis.tex"), "{error}");
    }

    #[test]
    fn a_commit_killed_between_renames_is_finished_by_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            dir.path().join("a.csv"),
            dir.path().join("a.csv.schema.json"),
        );
        std::fs::write(&a, "old a").unwrap();
        std::fs::write(&b, "old b").unwrap();
        // What a run killed after renaming the first of its two files leaves: the journal, the
        // first file renamed, the second still staged. Its pid is one no process has.
        let dead = 4_000_000;
        let staged_b = dir
            .path()
            .join(format!(".a.csv.schema.json.{dead}.q1w2e3.partial"));
        std::fs::write(&a, "new a").unwrap();
        std::fs::write(&staged_b, "new b").unwrap();
        let journal = Journal {
            run: format!("{dead}-1"),
            folders: vec![],
            files: vec![
                Rename {
                    staged: dir.path().join(format!(".a.csv.{dead}.z9x8c7.partial")),
                    destination: a.clone(),
                },
                Rename {
                    staged: staged_b.clone(),
                    destination: b.clone(),
                },
            ],
        };
        let journal_path = dir.path().join(format!("{JOURNAL_PREFIX}{dead}-1.json"));
        std::fs::write(&journal_path, serde_json::to_vec(&journal).unwrap()).unwrap();
        let stale = dir.path().join(format!(".c.csv.{dead}.abcdef.partial"));
        std::fs::write(&stale, "half").unwrap();

        recover_folder(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(listing(dir.path()), ["a.csv", "a.csv.schema.json"]);
    }

    #[test]
    fn a_live_processs_temporaries_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir
            .path()
            .join(format!(".c.csv.{}.abcdef.partial", std::process::id()));
        std::fs::write(&live, "being written").unwrap();
        recover_folder(dir.path()).unwrap();
        assert!(live.exists());
    }
}
