//! Shared vocabulary of the lookalike workspace.
//!
//! Every other crate speaks in these types: a [`CustomerId`] travels with each row of a
//! [`FeatureTable`]; input files are read through a [`ColumnMapping`] so that no column name is
//! ever guessed; long jobs report through the [`Progress`] hook (the CLI draws it, libraries never
//! print); and every output is written through [`write_atomically`], so that a crash never leaves
//! a half-written file that looks complete.

mod atomic;
mod dataset;
mod error;
mod exact_sum;
mod id;
mod mapping;
mod outcome;
mod outputs;
mod partition;
mod paths;
mod progress;
mod provenance;
mod pseudonym;
mod schema;
mod table;
mod time_unit;
mod value_counts;

pub use atomic::{is_special_output, stdout_taken, temporary_file_builder, write_atomically};
pub use dataset::{is_dataset, is_pattern, table_files};
pub use error::CoreError;
pub use exact_sum::ExactSum;
pub use id::CustomerId;
pub use mapping::{ColumnMapping, InputKind};
pub use outcome::Outcome;
pub use outputs::{
    OutputBatch, RUN_MARKER, StagedFolder, check_replaceable_folder, current_run, forget_temporary,
    recover_folder, register_temporary, remove_temporaries_on_signals, stage_folder, written_size,
};
pub use partition::{IdPartition, PARTITION_HASH_SEED, PASS_HASH_SEED};
pub use paths::{NamedPath, check_paths};
pub use progress::{NoProgress, Progress, Unit, si};
pub use provenance::{INPUTS_KEY, VERSION_KEY, record_inputs, record_run, run_metadata};
pub use pseudonym::{MIN_KEY_BYTES, PSEUDONYM_METHOD, Pseudonymizer, pseudonym_fingerprint};
pub use schema::{FeatureKind, FeatureSchema, FeatureSpec};
pub use table::FeatureTable;
pub use time_unit::TimeUnit;
pub use value_counts::ValueCounts;
