//! The paths of one command, checked before anything is read (see `lookalike_core::check_paths`):
//! no output may be an input, every output's folder must exist and take files, and folder
//! outputs are built beside their destination and swapped in whole.

use std::path::{Path, PathBuf};

use lookalike_core::{NamedPath, StagedFolder};

/// The inputs and outputs a command declares.
#[derive(Default)]
pub struct Paths<'a> {
    inputs: Vec<NamedPath<'a>>,
    outputs: Vec<NamedPath<'a>>,
}

impl<'a> Paths<'a> {
    pub fn new() -> Self {
        Paths::default()
    }

    /// An input file, if given.
    pub fn input(mut self, option: &'a str, path: Option<&'a Path>) -> Self {
        self.inputs
            .extend(path.map(|path| NamedPath::file(option, path)));
        self
    }

    /// An input table, if given: a file, a folder of part files or a glob.
    pub fn table(mut self, option: &'a str, path: Option<&'a Path>) -> Self {
        self.inputs
            .extend(path.map(|path| NamedPath::table(option, path)));
        self
    }

    /// Input tables of one option (files, folders of part files, globs).
    pub fn tables(mut self, option: &'a str, paths: &'a [PathBuf]) -> Self {
        self.inputs
            .extend(paths.iter().map(|path| NamedPath::table(option, path)));
        self
    }

    /// Input files of one option.
    pub fn inputs(mut self, option: &'a str, paths: &'a [PathBuf]) -> Self {
        self.inputs
            .extend(paths.iter().map(|path| NamedPath::file(option, path)));
        self
    }

    /// An input folder (a model directory), if given.
    pub fn input_folder(mut self, option: &'a str, path: Option<&'a Path>) -> Self {
        self.inputs
            .extend(path.map(|path| NamedPath::folder(option, path)));
        self
    }

    /// An output file, if given.
    pub fn output(mut self, option: &'a str, path: Option<&'a Path>) -> Self {
        self.outputs
            .extend(path.map(|path| NamedPath::file(option, path)));
        self
    }

    /// An output folder, if given.
    pub fn output_folder(mut self, option: &'a str, path: Option<&'a Path>) -> Self {
        self.outputs
            .extend(path.map(|path| NamedPath::folder(option, path)));
        self
    }

    /// Checks them all; the first problem is the error.
    pub fn check(self) -> anyhow::Result<()> {
        Ok(lookalike_core::check_paths(&self.inputs, &self.outputs)?)
    }
}

/// Starts the folder output `destination` of `option`: built beside it and swapped in at the
/// end of the run. A folder holding anything but the files this command writes (`names`, or
/// names that `is_own` accepts) is refused.
pub fn stage_folder(
    option: &str,
    destination: &Path,
    is_own: impl Fn(&str) -> bool,
) -> anyhow::Result<StagedFolder> {
    let staged = lookalike_core::stage_folder(destination, is_own)
        .map_err(|e| anyhow::anyhow!("{option}: {e}"))?;
    SHOWN.lock().unwrap_or_else(|p| p.into_inner()).push((
        staged.path().display().to_string(),
        destination.display().to_string(),
    ));
    Ok(staged)
}

/// Staging folders of this run and where they go: messages and reports name the final places.
static SHOWN: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// A message or report written while its files were in staging folders, with their paths shown
/// where they will be once the run ends.
pub fn as_final(text: &str) -> String {
    let shown = SHOWN.lock().unwrap_or_else(|p| p.into_inner());
    shown
        .iter()
        .fold(text.to_string(), |text, (staged, destination)| {
            text.replace(staged, destination)
        })
}
