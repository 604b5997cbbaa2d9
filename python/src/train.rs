//! `lookalike.train` and `lookalike.features`: the pipeline file's training and the feature
//! extraction, through the library.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lookalike_core::{ColumnMapping, InputKind, NoProgress, Progress, TimeUnit};
use lookalike_features::{
    FeatureInputs, FileFormat, InputFile, LogReading, MissingCustomer, OnBadRow, parse_date,
};
use lookalike_pipeline::{
    FeatureSpec, PipelineError, PipelineSpec, TrainingInputs, fit, log_file, parse_delimiter,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{InputError, choice, to_py};
use crate::model::Model;
use crate::progress::PyProgress;
use crate::tables::{batches_of, is_table, to_pyarrow};

/// The pipeline spec of a path (a pipeline file) or a dict (its sections; relative paths are
/// relative to the working directory).
pub(crate) fn spec_of(config: &Bound<'_, PyAny>) -> PyResult<PipelineSpec> {
    if config.is_instance_of::<PyDict>() {
        let text: String = config
            .py()
            .import("json")?
            .call_method1("dumps", (config,))?
            .extract()?;
        let spec: PipelineSpec = serde_json::from_str(&text)
            .map_err(|e| InputError::new_err(format!("in the pipeline: {e}")))?;
        spec.check()
            .map_err(|e| InputError::new_err(format!("in the pipeline: {e}")))?;
        return Ok(spec);
    }
    let path: PathBuf = config.extract()?;
    PipelineSpec::read(&path).map_err(to_py)
}

/// Trains the pipeline of `config` — a pipeline file (TOML, as `lookalike train --config`
/// takes) or a dict of its sections — on the logs it names, and returns the `Model`.
///
/// >>> model = lookalike.train("data/pipeline.example.toml")
/// >>> model.save("models/mine")
#[pyfunction]
#[pyo3(signature = (config, transactions=None, events=None, customers=None, progress=None, pseudonymize=None))]
pub fn train(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    transactions: Option<&Bound<'_, PyAny>>,
    events: Option<&Bound<'_, PyAny>>,
    customers: Option<&Bound<'_, PyAny>>,
    progress: Option<Py<PyAny>>,
    pseudonymize: Option<PathBuf>,
) -> PyResult<Model> {
    let spec = spec_of(config)?;
    let key = key_of(pseudonymize.as_deref())?;
    let input = &spec.input;
    let delimiter = parse_delimiter(input.delimiter.as_deref()).map_err(to_py)?;
    // Each log is the pipeline file's, unless a table or a path is given here instead.
    let pick = |kind: InputKind,
                given: Option<&Bound<'_, PyAny>>,
                file: Option<&PathBuf>|
     -> PyResult<Option<InputFile>> {
        match (given, file) {
            (Some(object), _) => log_input(kind, object, input.format, delimiter).map(Some),
            (None, Some(path)) => log_file(kind, path, input.format, delimiter)
                .map(Some)
                .map_err(to_py),
            (None, None) => Ok(None),
        }
    };
    let columns: Vec<String> = input
        .columns
        .iter()
        .map(|(field, name)| format!("{field}={name}"))
        .collect();
    let logs = FeatureInputs {
        transactions: match transactions {
            Some(object) => log_input(InputKind::Transactions, object, input.format, delimiter)?,
            None => log_file(
                InputKind::Transactions,
                &input.transactions,
                input.format,
                delimiter,
            )
            .map_err(to_py)?,
        },
        events: pick(InputKind::Events, events, input.events.as_ref())?,
        customers: pick(InputKind::Customers, customers, input.customers.as_ref())?,
        mapping: ColumnMapping::parse(&columns).map_err(|e| to_py(PipelineError::from(e)))?,
    };
    let reporter = progress.map(PyProgress::new);
    let inner = py.detach(|| -> Result<_, PipelineError> {
        let progress = reporter_of(&reporter);
        let params = spec
            .features
            .params(spec.input.on_error, &spec.input.reading())?;
        let mut extraction = lookalike_features::extract(&logs, &params, progress)?;
        let mut inputs = TrainingInputs::read_with(&spec, &logs, &extraction, "the features")?;
        if let Some(key) = &key {
            extraction = extraction.pseudonymized(key)?;
            inputs = inputs.pseudonymized(key);
        }
        Ok(fit(&spec, &extraction.table, &inputs, progress)?.0)
    });
    raise_callback_error(&reporter)?;
    Ok(Model {
        inner: inner.map_err(to_py)?,
    })
}

/// The pseudonymizer of a key file, when one is given.
fn key_of(path: Option<&std::path::Path>) -> PyResult<Option<lookalike_core::Pseudonymizer>> {
    path.map(|p| {
        lookalike_core::Pseudonymizer::from_key_file(p)
            .map_err(|e| InputError::new_err(e.to_string()))
    })
    .transpose()
}

/// `values` (customer ids) replaced by their pseudonyms under the key in `key`: HMAC-SHA256 in
/// lowercase hex, as `--pseudonymize` writes them, so that a key holder can join their own
/// lists with pseudonymized outputs.
///
/// >>> lookalike.pseudonymize(["C00000042"], "key")
#[pyfunction]
pub fn pseudonymize(values: Vec<String>, key: PathBuf) -> PyResult<Vec<String>> {
    let key = key_of(Some(&key))?.expect("a key path was given");
    Ok(values.iter().map(|id| key.pseudonym(id)).collect())
}

/// A log given to Python: a table, read in place, or a path, checked and read as a file.
pub(crate) fn log_input(
    kind: InputKind,
    object: &Bound<'_, PyAny>,
    format: Option<FileFormat>,
    delimiter: Option<u8>,
) -> PyResult<InputFile> {
    if is_table(object)? {
        let name = format!("the {} table", kind.prefix());
        return Ok(InputFile::from_batches(kind, name, batches_of(object)?));
    }
    let path: PathBuf = object.extract()?;
    log_file(kind, &path, format, delimiter).map_err(to_py)
}

/// The column mapping of a `columns=` dict (`{"amount": "total"}`, `{"events.timestamp": "ts"}`),
/// as `--column FIELD=NAME` flags read it.
pub(crate) fn column_mapping(columns: Option<BTreeMap<String, String>>) -> PyResult<ColumnMapping> {
    let specs: Vec<String> = columns
        .unwrap_or_default()
        .iter()
        .map(|(field, name)| format!("{field}={name}"))
        .collect();
    ColumnMapping::parse(&specs).map_err(|e| to_py(PipelineError::from(e)))
}

/// The progress to report to: the callback's, or none.
fn reporter_of(reporter: &Option<PyProgress>) -> &dyn Progress {
    match reporter {
        Some(reporter) => reporter,
        None => &NoProgress,
    }
}

/// The callback's exception, if it raised one.
fn raise_callback_error(reporter: &Option<PyProgress>) -> PyResult<()> {
    match reporter.as_ref().and_then(PyProgress::take_error) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// One row per customer from transaction (and optionally event and customer) logs, as of a
/// date: the BTYD summary (frequency, recency, T, monetary_value), RFM inputs, trends, category
/// and channel mixes, engagement, and customer attributes. Returns a `pyarrow.Table`.
///
/// `columns` maps canonical fields to the files' column names (`{"amount": "total"}`, or
/// `{"events.event_type": "action"}`; `{"unit_price": "UnitPrice", "quantity": "Quantity"}` for
/// shop exports without a line amount); `missing_customer="skip"` leaves out lines without a
/// customer id (guest checkouts); `date_format` reads text timestamps such as `12/1/2010 8:26`
/// (`"%m/%d/%Y %H:%M"`); `attributes` makes customer attributes of line columns (`["Country"]`);
/// `as_of` is exclusive (default: the day after the last
/// transaction); with `holdout_end`, the holdout targets between the two dates are added;
/// `pseudonymize` (a key file of at least 32 bytes) replaces every customer id by its keyed
/// hash (HMAC-SHA256, hex), as `--pseudonymize` does; `threads` caps the worker threads
/// (default: all cores); `vocabulary` (JSON, from `lookalike.spark`) fixes the columns chosen
/// from the whole base when these logs are one part of it.
///
/// >>> features = lookalike.features("data/sample/transactions.csv", as_of="2026-01-01")
/// >>> features.num_rows
#[pyfunction]
#[pyo3(signature = (
    transactions, events=None, customers=None, *, as_of=None, holdout_end=None,
    time_unit="weeks", top_levels=8, columns=None, on_error="fail", format=None, delimiter=None,
    missing_customer="fail", date_format=None, attributes=None, progress=None, pseudonymize=None,
    vocabulary=None, threads=None
))]
#[allow(clippy::too_many_arguments)]
pub fn features<'py>(
    py: Python<'py>,
    transactions: &Bound<'py, PyAny>,
    events: Option<&Bound<'py, PyAny>>,
    customers: Option<&Bound<'py, PyAny>>,
    as_of: Option<String>,
    holdout_end: Option<String>,
    time_unit: &str,
    top_levels: usize,
    columns: Option<BTreeMap<String, String>>,
    on_error: &str,
    format: Option<&str>,
    delimiter: Option<String>,
    missing_customer: &str,
    date_format: Option<String>,
    attributes: Option<Vec<String>>,
    progress: Option<Py<PyAny>>,
    pseudonymize: Option<PathBuf>,
    vocabulary: Option<String>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let key = key_of(pseudonymize.as_deref())?;
    let vocabulary = vocabulary
        .map(|text| {
            serde_json::from_str::<lookalike_features::Vocabulary>(&text)
                .map_err(|e| InputError::new_err(format!("vocabulary: {e}")))
        })
        .transpose()?;
    let on_error = choice::<OnBadRow>("on_error", on_error)?;
    let reading = LogReading {
        missing_customer: choice::<MissingCustomer>("missing_customer", missing_customer)?,
        date_format,
        attributes: attributes.unwrap_or_default(),
    };
    let format = format
        .map(|f| choice::<FileFormat>("format", f))
        .transpose()?;
    let delimiter = parse_delimiter(delimiter.as_deref()).map_err(to_py)?;
    let input = |kind, object: &Bound<'py, PyAny>| log_input(kind, object, format, delimiter);
    let inputs = FeatureInputs {
        transactions: input(InputKind::Transactions, transactions)?,
        events: events.map(|e| input(InputKind::Events, e)).transpose()?,
        customers: customers
            .map(|c| input(InputKind::Customers, c))
            .transpose()?,
        mapping: column_mapping(columns)?,
    };
    let settings = FeatureSpec {
        as_of,
        time_unit: choice::<TimeUnit>("time_unit", time_unit)?,
        top_levels,
    };
    let holdout_end = holdout_end
        .map(|date| parse_date(&date).map_err(|e| InputError::new_err(format!("holdout_end: {e}"))))
        .transpose()?;
    let reporter = progress.map(PyProgress::new);
    let table = py.detach(|| -> Result<_, PipelineError> {
        let mut params = settings.params(on_error, &reading)?;
        if let Some(end) = holdout_end {
            params = params.holdout_end(end);
        }
        if let Some(vocabulary) = vocabulary {
            params = params.vocabulary(vocabulary);
        }
        if let Some(threads) = threads {
            params = params.threads(threads);
        }
        let extraction = lookalike_features::extract(&inputs, &params, reporter_of(&reporter))?;
        Ok(match &key {
            Some(key) => extraction.pseudonymized(key)?,
            None => extraction,
        })
    });
    raise_callback_error(&reporter)?;
    let extraction = table.map_err(to_py)?;
    // Typed as the CLI's Parquet: counts and indicators int64, the rest float64.
    let batch = lookalike_features::typed_batch(&extraction.table, &extraction.schema);
    let schema = batch.schema();
    to_pyarrow(py, vec![batch], schema)
}

/// Writes a seeded synthetic customer base into `out` (transactions, events, customers and
/// the truth: each customer's persona and future spend), as `lookalike generate` does. Returns
/// the counts, the files and the observation end (the natural `as_of`). `scenario` is
/// "standard" or "two-kinds" (two kinds of best customer with decoys between them). `order` is
/// "customer" (chunks of customers, each in time order) or "time" (the whole log in time
/// order, as a real appended log): the same rows either way.
///
/// >>> summary = lookalike.generate("base", customers=10_000, seed=7)
/// >>> features = lookalike.features(*summary["files"][:3], as_of=summary["as_of"])
#[pyfunction]
#[pyo3(signature = (out, *, customers=5000, seed=7, start="2023-01-01", end="2026-01-01", future_days=182, format="csv", scenario="standard", order="customer", progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn generate<'py>(
    py: Python<'py>,
    out: PathBuf,
    customers: u64,
    seed: u64,
    start: &str,
    end: &str,
    future_days: u32,
    format: &str,
    scenario: &str,
    order: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let date = |field: &str, text: &str| {
        parse_date(text).map_err(|e| InputError::new_err(format!("{field}: {e}")))
    };
    let params = lookalike_synth::GenerateParams::new(customers)
        .seed(seed)
        .start(date("start", start)?)
        .end(date("end", end)?)
        .future_days(future_days)
        .scenario(choice::<lookalike_synth::Scenario>("scenario", scenario)?)
        .order(choice::<lookalike_synth::LogOrder>("order", order)?)
        .format(choice::<lookalike_synth::OutputFormat>("format", format)?);
    let reporter = progress.map(PyProgress::new);
    let summary = py.detach(|| lookalike_synth::generate(&params, &out, reporter_of(&reporter)));
    raise_callback_error(&reporter)?;
    let summary = summary.map_err(|e| InputError::new_err(e.to_string()))?;
    let dict = PyDict::new(py);
    dict.set_item("customers", summary.customers)?;
    dict.set_item("transactions", summary.transactions)?;
    dict.set_item("events", summary.events)?;
    dict.set_item("files", summary.files.clone())?;
    dict.set_item("as_of", summary.observation_end.to_string())?;
    Ok(dict)
}
