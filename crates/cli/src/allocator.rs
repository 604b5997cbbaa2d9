//! The allocator, and how soon it gives freed memory back.
//!
//! mimalloc keeps freed memory for reuse: with glibc's allocator every large temporary (a column
//! of millions of values) is returned to the system and faulted in again, page by zeroed page.
//! But mimalloc 3 also keeps freed pages mapped for a second (ten for whole arenas) before it
//! purges them, so a run's peak memory counts the big temporaries of one step (the feature
//! extraction's entry logs) on top of the next step's allocations. A purge delay of 50 ms
//! brought the peak of `features` on a 1M-customer log from about 685 MB to 580 MB at the same
//! speed (BENCHMARKS.md, issue #20).
//!
//! mimalloc reads its settings from the environment when it starts, and changing the
//! environment of a running process is `unsafe` in Rust 2024 (which the workspace forbids). So
//! when `MIMALLOC_PURGE_DELAY` is not set, the process replaces itself (`exec`: the same
//! program, arguments, process id and open files) with that variable set. A user who sets it
//! keeps their value; if `exec` fails the run goes on with the allocator's defaults.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's setting of how long freed pages stay mapped, in milliseconds.
const PURGE_DELAY_VARIABLE: &str = "MIMALLOC_PURGE_DELAY";

/// The delay the command line runs with unless told otherwise.
const PURGE_DELAY_MS: &str = "50";

/// Restarts the process with the purge delay set, unless it is set already. Call first thing:
/// nothing done before it survives.
pub fn purge_promptly() {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(PURGE_DELAY_VARIABLE).is_some() {
            return;
        }
        let Ok(program) = std::env::current_exe() else {
            return;
        };
        let mut arguments = std::env::args_os();
        let Some(name) = arguments.next() else {
            return;
        };
        // Returns only when the exec failed.
        let _failed = std::process::Command::new(program)
            .arg0(name)
            .args(arguments)
            .env(PURGE_DELAY_VARIABLE, PURGE_DELAY_MS)
            .exec();
    }
}
