//! Progress of long calls reported to a Python callable `progress(stage, done, total)` (total
//! is None when unknown), at most ten times a second plus the start and end of each stage.
//!
//! The library reports from its worker threads while the GIL is released; each report takes
//! the GIL for the call alone, never while holding the state's lock. An exception raised by the
//! callback is kept and raised when the call returns.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lookalike_core::Progress;
use pyo3::prelude::*;

/// Reports at most this often within a stage.
const EVERY: Duration = Duration::from_millis(100);

struct State {
    stage: String,
    total: Option<u64>,
    done: u64,
    last: Instant,
    error: Option<PyErr>,
}

/// A [`Progress`] that calls a Python callable.
pub struct PyProgress {
    callback: Py<PyAny>,
    state: Mutex<State>,
}

impl PyProgress {
    /// Reports to `callback`.
    pub fn new(callback: Py<PyAny>) -> Self {
        PyProgress {
            callback,
            state: Mutex::new(State {
                stage: String::new(),
                total: None,
                done: 0,
                last: Instant::now(),
                error: None,
            }),
        }
    }

    fn call(&self, stage: &str, done: u64, total: Option<u64>) {
        let result = Python::attach(|py| self.callback.call1(py, (stage, done, total)).map(drop));
        if let Err(error) = result
            && let Ok(mut state) = self.state.lock()
        {
            state.error.get_or_insert(error);
        }
    }

    /// The first exception the callback raised, if any.
    pub fn take_error(&self) -> Option<PyErr> {
        self.state.lock().ok().and_then(|mut s| s.error.take())
    }
}

impl Progress for PyProgress {
    fn start(&self, stage: &str, total: Option<u64>) {
        if let Ok(mut state) = self.state.lock() {
            state.stage = stage.to_string();
            state.total = total;
            state.done = 0;
            state.last = Instant::now();
        }
        self.call(stage, 0, total);
    }

    fn advance(&self, amount: u64) {
        let report = match self.state.lock() {
            Ok(mut state) => {
                state.done += amount;
                if state.last.elapsed() >= EVERY {
                    state.last = Instant::now();
                    Some((state.stage.clone(), state.done, state.total))
                } else {
                    None
                }
            }
            Err(_) => None,
        };
        if let Some((stage, done, total)) = report {
            self.call(&stage, done, total);
        }
    }

    fn finish(&self) {
        let report = self
            .state
            .lock()
            .ok()
            .map(|state| (state.stage.clone(), state.done, state.total));
        if let Some((stage, done, total)) = report {
            self.call(&stage, total.unwrap_or(done).max(done), total);
        }
    }
}
