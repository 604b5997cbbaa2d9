//! The integration tests of `lookalike-cli`, one test binary for all of them: each file
//! here is a module (its own doc says what it covers). One binary instead of one per file
//! links the dependency tree once, which saves CI minutes and gigabytes of disk; nextest
//! still runs every test in its own process.

mod common;

mod audience;
mod bad_cells;
mod cli;
mod cluster;
mod measure;
mod nothing_lost;
mod output_types;
mod pipeline;
mod privacy;
mod report;
mod segment;
mod shop_exports;
mod siblings;
mod value;
