//! The integration tests of `lookalike-features`, one test binary for all of them: each file
//! here is a module (its own doc says what it covers). One binary instead of one per file
//! links the dependency tree once, which saves CI minutes and gigabytes of disk; nextest
//! still runs every test in its own process.

mod cdnow;
mod datasets;
mod mutations;
mod oracle;
mod owners;
mod parquet_input;
mod partitions;
mod streamed;
mod time_order;
