use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::CoreError;
use crate::outputs::{
    Finish, defer_if_batched, folder_of, forget_temporary, register_temporary, temporary_prefix,
};

/// Writes `path` through a temporary file in the same folder that is renamed into place only
/// after `fill` succeeded and the data reached the disk.
///
/// A crash or an error part-way therefore leaves either the previous file or none, never a
/// half-written file that looks complete. The temporary file is removed on error (and on
/// SIGINT/SIGTERM, see [`crate::remove_temporaries_on_signals`]). Inside an
/// [`crate::OutputBatch`] the rename waits for the batch's commit.
///
/// `-` is standard output, and an existing special file (`/dev/stdout`, a FIFO, a character
/// device) is written to in place: renaming over it would replace the device with a file.
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("out.txt");
/// lookalike_core::write_atomically(&path, |w| w.write_all(b"done\n")).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "done\n");
/// ```
pub fn write_atomically<F>(path: &Path, fill: F) -> Result<(), CoreError>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
{
    let wrap = |source| CoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(mut special) = open_special(path).map_err(wrap)? {
        let mut writer = BufWriter::with_capacity(1 << 20, &mut special);
        fill(&mut writer).map_err(wrap)?;
        return writer.flush().map_err(wrap);
    }
    if path.is_dir() {
        return Err(CoreError::InvalidOutput(format!(
            "{} is a folder, not a file",
            path.display()
        )));
    }
    let folder = folder_of(path);
    let mut temporary = temporary_file_builder(&temporary_prefix(path))
        .tempfile_in(folder)
        .map_err(wrap)?;
    register_temporary(temporary.path());
    let written = (|| {
        {
            let mut writer = BufWriter::with_capacity(1 << 20, temporary.as_file_mut());
            fill(&mut writer)?;
            writer.flush()?;
        }
        temporary.as_file().sync_all()
    })();
    if let Err(error) = written {
        forget_temporary(temporary.path());
        return Err(wrap(error));
    }
    let staged = temporary.path().to_path_buf();
    match defer_if_batched(&staged, path) {
        Finish::Deferred => {
            // The batch owns the file now; it stays registered until the commit.
            temporary.keep().map_err(|e| wrap(e.error))?;
        }
        Finish::Now => {
            let persisted = temporary.persist(path);
            forget_temporary(&staged);
            persisted.map_err(|e| wrap(e.error))?;
        }
    }
    Ok(())
}

static STDOUT_TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether an output was written to standard output (`-`, `/dev/stdout`): a front end then
/// prints its reports elsewhere, so that they do not mix with the data.
pub fn stdout_taken() -> bool {
    STDOUT_TAKEN.load(std::sync::atomic::Ordering::Relaxed)
}

/// Standard output for `-`, or an existing file that is not a regular file (a device or a
/// FIFO), opened for writing; `None` for an ordinary path.
fn open_special(path: &Path) -> std::io::Result<Option<File>> {
    if path.as_os_str() == "-" || path == Path::new("/dev/stdout") {
        STDOUT_TAKEN.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    if path.as_os_str() == "-" {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            let stdout = std::io::stdout();
            let owned = stdout.as_fd().try_clone_to_owned()?;
            return Ok(Some(File::from(owned)));
        }
        #[cfg(not(unix))]
        return Err(std::io::Error::other(
            "`-` for standard output needs a Unix system",
        ));
    }
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => {
            Ok(Some(std::fs::OpenOptions::new().write(true).open(path)?))
        }
        _ => Ok(None),
    }
}

/// Whether `path` is written in place rather than through a temporary file: `-` or an
/// existing special file.
pub fn is_special_output(path: &Path) -> bool {
    path.as_os_str() == "-"
        || std::fs::metadata(path).is_ok_and(|meta| !meta.is_file() && !meta.is_dir())
}

/// A builder for a hidden temporary file (name starting with `prefix`, ending `.partial`) that
/// will be renamed into an output. Outputs get the ordinary `rw-r--r--` permissions, not the
/// owner-only ones of a private temporary file.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let file = lookalike_core::temporary_file_builder(".out.csv.").tempfile_in(dir.path()).unwrap();
/// assert!(file.path().to_string_lossy().ends_with(".partial"));
/// ```
pub fn temporary_file_builder(prefix: &str) -> tempfile::Builder<'_, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_previous_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "previous").unwrap();
        let result = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk on fire"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file must be cleaned up");
    }

    #[test]
    fn a_special_file_is_written_in_place_not_renamed_over() {
        let null = Path::new("/dev/null");
        if !null.exists() {
            return;
        }
        write_atomically(null, |w| w.write_all(b"discarded")).unwrap();
        let meta = std::fs::metadata(null).unwrap();
        assert!(!meta.is_file(), "/dev/null must still be a device");
        assert!(is_special_output(null));
        assert!(is_special_output(Path::new("-")));
    }

    #[test]
    fn a_folder_is_not_a_file_output() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_atomically(dir.path(), |w| w.write_all(b"x")).unwrap_err();
        assert!(error.to_string().contains("is a folder"), "{error}");
    }
}
