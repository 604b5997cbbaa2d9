//! Worker threads for a call that asks for a number of them.
//!
//! The library parallelises with rayon's global pool, one thread per core. Inside a Spark task
//! every core already runs a task of its own, so a task that scores on all cores runs cores ×
//! cores threads; a call given `threads` runs on a pool of that many instead. Pools are kept by
//! size for the process's life: a Spark task scores batch after batch, and starting threads for
//! each would cost more than the oversubscription it avoids.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::PyResult;

use crate::errors::InputError;

/// Runs `work` on `threads` worker threads, or on the global pool (all cores) when `None`.
pub fn with_threads<R: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> R + Send,
) -> PyResult<R> {
    match threads {
        None => Ok(work()),
        Some(count) => Ok(pool(count)?.install(work)),
    }
}

/// The pool of `count` threads, made on first use.
fn pool(count: usize) -> PyResult<Arc<rayon::ThreadPool>> {
    if count == 0 {
        return Err(InputError::new_err(
            "threads must be at least 1 (leave it out to use every core)",
        ));
    }
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(pool) = pools.get(&count) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(count)
        .thread_name(|i| format!("lookalike-{i}"))
        .build()
        .map_err(|e| {
            crate::errors::LookalikeError::new_err(format!("cannot start {count} threads: {e}"))
        })?;
    let pool = Arc::new(pool);
    pools.insert(count, pool.clone());
    Ok(pool)
}
