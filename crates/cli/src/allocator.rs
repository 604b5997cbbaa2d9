//! The allocator.
//!
//! mimalloc keeps freed memory for reuse: with glibc's allocator every large temporary (a column
//! of millions of values) is returned to the system and faulted in again, page by zeroed page.
//!
//! It runs with mimalloc 3's own settings, which keep freed pages for a second before they go
//! back to the system. The command line used to shorten that to 50 ms (restarting itself with
//! `MIMALLOC_PURGE_DELAY` set) to lower the peak of `features`; once the extraction held less,
//! the shorter delay only meant that memory freed by one batch was returned and faulted in again
//! by the next: 50k page faults against 12–17k on a 1M-customer log, 8–10% more CPU time, for a
//! peak lower by about 15 MB (BENCHMARKS.md, issue #20). `MIMALLOC_PURGE_DELAY` still applies
//! when a user sets it.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
