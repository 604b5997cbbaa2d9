//! The integration tests of `lookalike-pipeline`, one test binary for all of them: each file
//! here is a module (its own doc says what it covers). One binary instead of one per file
//! links the dependency tree once, which saves CI minutes and gigabytes of disk; nextest
//! still runs every test in its own process.

mod common;

mod counted;
mod explain;
mod fit;
mod forget;
mod load;
mod transform;
