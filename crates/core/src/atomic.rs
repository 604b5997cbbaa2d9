use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::CoreError;

/// Writes `path` through a temporary file in the same folder that is renamed into place only
/// after `fill` succeeded and the data reached the disk.
///
/// A crash or an error part-way therefore leaves either the previous file or none, never a
/// half-written file that looks complete. The temporary file is removed on error.
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
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{file_name}.");
    let mut temporary = temporary_file_builder(&prefix)
        .tempfile_in(folder)
        .map_err(wrap)?;
    {
        let mut writer = BufWriter::with_capacity(1 << 20, temporary.as_file_mut());
        fill(&mut writer).map_err(wrap)?;
        writer.flush().map_err(wrap)?;
    }
    temporary.as_file().sync_all().map_err(wrap)?;
    temporary.persist(path).map_err(|e| wrap(e.error))?;
    Ok(())
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
}
