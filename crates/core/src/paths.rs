//! Checks of a run's input and output paths, made before anything is read or computed: an
//! output that is an input (under any spelling: `./x`, a link, a hard link) is refused, an
//! output whose folder is missing or not writable is refused, and interrupted commits in the
//! folders involved are finished first (see [`crate::recover_folder`]).

use std::path::{Path, PathBuf};

use crate::CoreError;
use crate::outputs::{folder_of, recover_folder};

/// One path of a run, with the option that named it (for messages).
#[derive(Debug, Clone, Copy)]
pub struct NamedPath<'a> {
    /// The option or argument, e.g. `--out`.
    pub option: &'a str,
    /// The path as given.
    pub path: &'a Path,
    /// Whether it is a folder (a model directory read, a folder output written).
    pub folder: bool,
    /// Whether it is a table, which may be a folder of part files or a glob.
    pub table: bool,
}

impl<'a> NamedPath<'a> {
    /// A file named by `option`.
    pub fn file(option: &'a str, path: &'a Path) -> Self {
        NamedPath {
            option,
            path,
            folder: false,
            table: false,
        }
    }

    /// A table named by `option`: a file, a folder of part files or a glob.
    pub fn table(option: &'a str, path: &'a Path) -> Self {
        NamedPath {
            option,
            path,
            folder: false,
            table: true,
        }
    }

    /// A folder named by `option`.
    pub fn folder(option: &'a str, path: &'a Path) -> Self {
        NamedPath {
            option,
            path,
            folder: true,
            table: false,
        }
    }

    fn describe(&self) -> String {
        format!("{} {}", self.option, self.path.display())
    }
}

/// Where a path points, for comparing two spellings of it.
#[derive(Debug, Clone, PartialEq)]
struct Identity {
    /// The absolute path with links resolved as far as the path exists.
    resolved: PathBuf,
    /// Device and inode, when the path exists (catches hard links).
    inode: Option<(u64, u64)>,
}

fn identity(path: &Path) -> Identity {
    let resolved = match std::fs::canonicalize(path) {
        Ok(resolved) => resolved,
        Err(_) => {
            let folder = std::fs::canonicalize(folder_of(path))
                .unwrap_or_else(|_| std::path::absolute(folder_of(path)).unwrap_or_default());
            match path.file_name() {
                Some(name) => folder.join(name),
                None => folder,
            }
        }
    };
    Identity {
        inode: inode_of(path),
        resolved,
    }
}

#[cfg(unix)]
fn inode_of(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn inode_of(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// Whether `a` and `b` are the same file, or one lies inside the other when it is a folder.
fn overlaps(a: &NamedPath, a_id: &Identity, b: &NamedPath, b_id: &Identity) -> bool {
    let same = a_id.resolved == b_id.resolved || (a_id.inode.is_some() && a_id.inode == b_id.inode);
    same || (a.folder && b_id.resolved.starts_with(&a_id.resolved))
        || (b.folder && a_id.resolved.starts_with(&b_id.resolved))
}

fn kind_of_special(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    let _ = meta;
    "not a regular file"
}

/// Checks an input: it exists and is what the option reads (a file, or a folder where folders
/// are read). `-` (standard input) passes.
fn check_input(input: &NamedPath) -> Result<(), CoreError> {
    if input.path.as_os_str() == "-" {
        return Ok(());
    }
    if input.table && crate::is_dataset(input.path) {
        // Every file of the table, checked as a file is.
        let files = crate::table_files(input.path)
            .map_err(|e| CoreError::InvalidInput(format!("{} {}", input.option, e)))?;
        for file in &files {
            check_input(&NamedPath::file(input.option, file))?;
        }
        return Ok(());
    }
    let meta = std::fs::metadata(input.path).map_err(|source| {
        CoreError::InvalidInput(match source.kind() {
            std::io::ErrorKind::NotFound => format!("{} does not exist", input.describe()),
            _ => format!("{}: {source}", input.describe()),
        })
    })?;
    if meta.is_dir() && !input.folder {
        return Err(CoreError::InvalidInput(format!(
            "{} is a folder; a file is expected",
            input.describe()
        )));
    }
    if !meta.is_dir() && !meta.is_file() {
        return Err(CoreError::InvalidInput(format!(
            "{} is {}: lookalike reads an input more than once, so it must be a file \
             (save the stream to a file first)",
            input.describe(),
            kind_of_special(&meta)
        )));
    }
    Ok(())
}

/// Checks that an output can be written: `-` and existing special files (written in place)
/// pass; otherwise its folder exists and takes new files, and a file output is not a folder.
fn check_output(output: &NamedPath) -> Result<(), CoreError> {
    if crate::is_special_output(output.path) {
        if output.folder {
            return Err(CoreError::InvalidOutput(format!(
                "{}: a folder output cannot be a stream or device",
                output.describe()
            )));
        }
        return Ok(());
    }
    if let Ok(meta) = std::fs::metadata(output.path) {
        if meta.is_dir() && !output.folder {
            return Err(CoreError::InvalidOutput(format!(
                "{} is a folder; give a file name",
                output.describe()
            )));
        }
        if !meta.is_dir() && output.folder {
            return Err(CoreError::InvalidOutput(format!(
                "{} is a file; give a folder",
                output.describe()
            )));
        }
    }
    let folder = folder_of(output.path);
    if !folder.is_dir() {
        return Err(CoreError::InvalidOutput(format!(
            "{}: the folder {} does not exist",
            output.describe(),
            folder.display()
        )));
    }
    // Creating (and removing) a file is the only reliable test that the folder takes new
    // files: permissions, read-only mounts and ACLs all answer here.
    crate::temporary_file_builder(".lookalike-probe.")
        .tempfile_in(folder)
        .map_err(|source| {
            CoreError::InvalidOutput(format!(
                "{}: cannot write in {}: {source}",
                output.describe(),
                folder.display()
            ))
        })?;
    Ok(())
}

/// Checks the paths of a run before it reads anything: every input is readable as what it
/// is, every output can be written, no output is an input or another output, and no output
/// folder contains an input. Interrupted commits in the folders involved are finished first.
///
/// ```
/// use lookalike_core::{NamedPath, check_paths};
/// let dir = tempfile::tempdir().unwrap();
/// let log = dir.path().join("tx.csv");
/// std::fs::write(&log, "customer_id,timestamp,amount\n").unwrap();
/// let same = dir.path().join(".").join("tx.csv");
/// let error = check_paths(&[NamedPath::file("--transactions", &log)], &[NamedPath::file("--out", &same)])
///     .unwrap_err();
/// assert!(error.to_string().contains("is the input --transactions"));
/// ```
pub fn check_paths(inputs: &[NamedPath], outputs: &[NamedPath]) -> Result<(), CoreError> {
    for path in inputs.iter().chain(outputs) {
        if path.path.as_os_str() != "-" {
            recover_folder(folder_of(path.path))?;
        }
    }
    for input in inputs {
        check_input(input)?;
    }
    crate::record_inputs(
        inputs
            .iter()
            .filter(|i| i.path.as_os_str() != "-")
            .map(|i| i.path),
    );
    let stdout_outputs = outputs.iter().filter(|o| o.path.as_os_str() == "-").count();
    if stdout_outputs > 1 {
        return Err(CoreError::InvalidOutput(
            "only one output can go to standard output (-)".into(),
        ));
    }
    for output in outputs {
        check_output(output)?;
    }
    let ids = |paths: &[NamedPath]| -> Vec<Option<Identity>> {
        paths
            .iter()
            .map(|p| (!crate::is_special_output(p.path)).then(|| identity(p.path)))
            .collect()
    };
    let (input_ids, output_ids) = (ids(inputs), ids(outputs));
    for (output, output_id) in outputs.iter().zip(&output_ids) {
        let Some(output_id) = output_id else { continue };
        for (input, input_id) in inputs.iter().zip(&input_ids) {
            let Some(input_id) = input_id else { continue };
            if overlaps(output, output_id, input, input_id) {
                let relation = if output.folder && !input.folder {
                    "contains the input"
                } else if input.folder && !output.folder {
                    "lies inside the input folder"
                } else {
                    "is the input"
                };
                return Err(CoreError::InvalidOutput(format!(
                    "{} {relation} {}: writing it would destroy the input; choose another output",
                    output.describe(),
                    input.describe()
                )));
            }
        }
    }
    for (i, (a, a_id)) in outputs.iter().zip(&output_ids).enumerate() {
        for (b, b_id) in outputs.iter().zip(&output_ids).skip(i + 1) {
            if let (Some(a_id), Some(b_id)) = (a_id, b_id)
                && overlaps(a, a_id, b, b_id)
            {
                return Err(CoreError::InvalidOutput(format!(
                    "{} and {} are the same place; give each output its own path",
                    a.describe(),
                    b.describe()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("tx.csv");
        std::fs::write(&log, "customer_id,timestamp,amount\n").unwrap();
        (dir, log)
    }

    #[test]
    fn an_output_equal_to_an_input_under_any_spelling_is_refused() {
        let (dir, log) = setup();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let link = dir.path().join("link.csv");
        let hard = dir.path().join("hard.csv");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&log, &link).unwrap();
        std::fs::hard_link(&log, &hard).unwrap();
        for spelling in [
            log.clone(),
            sub.join("..").join("tx.csv"),
            dir.path().join(".").join("tx.csv"),
            link,
            hard,
        ] {
            let error = check_paths(
                &[NamedPath::file("--transactions", &log)],
                &[NamedPath::file("--out", &spelling)],
            )
            .unwrap_err();
            assert!(
                error.to_string().contains("would destroy the input"),
                "{spelling:?}: {error}"
            );
        }
    }

    #[test]
    fn a_folder_output_holding_an_input_and_an_output_inside_an_input_folder_are_refused() {
        let (dir, log) = setup();
        let error = check_paths(
            &[NamedPath::file("--features", &log)],
            &[NamedPath::folder("--out", dir.path())],
        )
        .unwrap_err();
        assert!(error.to_string().contains("contains the input"), "{error}");
        let error = check_paths(
            &[NamedPath::folder("--transactions", dir.path())],
            &[NamedPath::file("--out", &dir.path().join("new.csv"))],
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("inside the input folder"),
            "{error}"
        );
    }

    #[test]
    fn two_outputs_in_one_place_are_refused() {
        let (dir, log) = setup();
        let out = dir.path().join("seg.csv");
        let error = check_paths(
            &[NamedPath::file("--features", &log)],
            &[
                NamedPath::file("--out", &out),
                NamedPath::file("--report", &out),
            ],
        )
        .unwrap_err();
        assert!(error.to_string().contains("same place"), "{error}");
    }

    #[test]
    fn a_missing_folder_a_folder_as_file_and_a_missing_input_are_named() {
        let (dir, log) = setup();
        let missing = dir.path().join("no.csv");
        let cases = [
            (
                vec![NamedPath::file("--transactions", &log)],
                vec![NamedPath::file(
                    "--report",
                    Path::new("/nonexistent-dir-xyz/r.json"),
                )],
                "the folder /nonexistent-dir-xyz does not exist",
            ),
            (
                vec![NamedPath::file("--transactions", &log)],
                vec![NamedPath::file("--out", dir.path())],
                "is a folder; give a file name",
            ),
            (
                vec![NamedPath::file("--transactions", &missing)],
                vec![],
                "no.csv does not exist",
            ),
            (
                vec![NamedPath::file("--transactions", dir.path())],
                vec![],
                "is a folder; a file is expected",
            ),
        ];
        for (inputs, outputs, expected) in cases {
            let error = check_paths(&inputs, &outputs).unwrap_err();
            assert!(error.to_string().contains(expected), "{error}");
        }
    }

    #[test]
    fn distinct_paths_and_streams_pass() {
        let (dir, log) = setup();
        check_paths(
            &[NamedPath::file("--transactions", &log)],
            &[
                NamedPath::file("--out", &dir.path().join("features.csv")),
                NamedPath::file("--report", Path::new("-")),
                NamedPath::folder("--outputs", &dir.path().join("stages")),
            ],
        )
        .unwrap();
    }
}
