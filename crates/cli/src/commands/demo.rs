//! `lookalike demo`: the pipeline on the bundled sample, with a readable summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use lookalike_core::FeatureTable;

use crate::commands::{score, train};
use crate::output::Ui;
use crate::paths::{self, Paths};
use lookalike_pipeline::PipelineSpec;

/// Options of `lookalike demo` (none are needed).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike demo
  lookalike demo --out demo_run")]
pub struct Args {
    /// Output folder (default: a new folder in the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The sample folder (default: data/sample of this project).
    #[arg(long, value_name = "DIR")]
    sample: Option<PathBuf>,
}

/// The columns summarised, in order.
const SUMMARY_COLUMNS: [&str; 12] = [
    "orders",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "total_spend",
    "days_since_last_purchase",
    "mean_gap_days",
    "spend_trend_90d",
    "views_30d",
    "abandoned_carts_30d",
    "email_open_rate",
];

fn sample_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    let candidates = [
        PathBuf::from("data/sample"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample"),
    ];
    candidates
        .into_iter()
        .find(|d| d.join("transactions.csv").is_file())
        .context("the bundled sample (data/sample/transactions.csv) was not found; run from the project folder or pass --sample DIR")
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let sample = sample_dir(args.sample)?;
    // A new folder in the system's temporary directory unless --out says where.
    let out = match args.out {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!(
            "lookalike-demo-{}",
            lookalike_core::current_run().unwrap_or_else(|| std::process::id().to_string())
        )),
    };
    Paths::new()
        .input_folder("--sample", Some(&sample))
        .output_folder("--out", Some(&out))
        .check()?;
    // Built beside `out` and swapped in whole when the run ends; the paths shown are final.
    let staged = paths::stage_folder("--out", &out, is_demo_output)?;
    let shown = out;
    let out = staged.path().to_path_buf();
    for file in [
        "transactions.csv",
        "events.csv",
        "customers.csv",
        "truth.csv",
    ] {
        if !sample.join(file).is_file() {
            bail!("the sample folder {} has no {file}", sample.display());
        }
    }
    // The demo is the committed pipeline file, pointed at the sample folder.
    let config = sample.join("../pipeline.example.toml");
    let mut pipeline = PipelineSpec::read(&config).with_context(|| {
        format!(
            "the demo runs {}, which was not found beside the sample",
            config.display()
        )
    })?;
    pipeline.input.transactions = sample.join("transactions.csv");
    pipeline.input.events = Some(sample.join("events.csv"));
    pipeline.input.customers = Some(sample.join("customers.csv"));
    let model = out.join("model");
    let stage_outputs = train::StageOutputs {
        dir: &out,
        shown: &shown,
    };
    let training = train::train_pipeline(&pipeline, &model, Some(stage_outputs), None, ui)?;
    let scores = out.join("scores.csv");
    let score_args = score::Args {
        model: model.clone(),
        source: score::BaseSource::features(training.features_file.clone()),
        on_error: lookalike_features::OnBadRow::Fail,
        partition: None,
        passes: 1,
        chunk_rows: 262_144,
        out: scores.clone(),
    };
    let scored = score::score(&score_args, ui)?;
    staged.publish()?;
    let out = shown;
    let model = out.join("model");
    let personas = read_personas(&sample.join("truth.csv"))?;
    let table = &training.extraction.table;
    let mut text = format!(
        "lookalike demo on {} (pipeline {})\n\nFEATURES  {} customers x {} columns, as of {}\n  written to {}\n\n",
        sample.display(),
        config.display(),
        table.len(),
        table.columns().len(),
        training.extraction.as_of,
        training.features_shown.display()
    );
    text += &summary_table(table);
    text += "\n";
    text += &persona_table(table, &personas);
    if let Some(report) = &training.segment_report {
        text += &format!(
            "\nSEGMENTS  written to {} (report {}, plot {})\n",
            out.join("segments.csv").display(),
            out.join("segment_report.csv").display(),
            out.join("segments.svg").display()
        );
        text += report;
    }
    if let Some(clusters) = &training.clusters {
        text += "\n";
        text += clusters;
    }
    if let Some(value) = &training.value {
        text += &format!(
            "\nVALUE  model in {}, predictions in {}\n",
            model.join("value").display(),
            out.join("value.csv").display()
        );
        text += value;
    }
    for (name, summary) in &training.audiences {
        text += &format!(
            "\nAUDIENCE {name}  in {} (plot {})\n",
            out.join(format!("audience_{name}.csv")).display(),
            out.join(format!("audience_{name}.svg")).display()
        );
        text += summary;
    }
    text += &format!(
        "\nMODEL  trained in {:.1}s into {} (manifest.json lists every stage)\nSCORES  {scored}\n",
        training.seconds,
        model.display()
    );
    ui.data(&text)?;
    Ok(())
}

/// Whether a file name is one the demo writes (a folder of an older demo has no run marker).
fn is_demo_output(name: &str) -> bool {
    name == "model"
        || name == "clusters"
        || name == "scores.csv"
        || name.starts_with("features.parquet")
        || name.starts_with("segment")
        || name.starts_with("audience_")
        || name.starts_with("value")
}

fn read_personas(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let mut personas = BTreeMap::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("reading {}", path.display()))?;
        personas.insert(record[0].to_string(), record[1].to_string());
    }
    Ok(personas)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn summary_table(table: &FeatureTable) -> String {
    let mut text = format!(
        "  {:<26} {:>10} {:>10} {:>10} {:>9}\n",
        "feature", "mean", "median", "p90", "missing"
    );
    for name in SUMMARY_COLUMNS {
        let Ok(column) = table.column(name) else {
            continue;
        };
        let mut present: Vec<f64> = column.iter().copied().filter(|v| !v.is_nan()).collect();
        present.sort_by(f64::total_cmp);
        let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
        text += &format!(
            "  {:<26} {:>10.2} {:>10.2} {:>10.2} {:>8.1}%\n",
            name,
            mean,
            quantile(&present, 0.5),
            quantile(&present, 0.9),
            100.0 * (column.len() - present.len()) as f64 / column.len().max(1) as f64
        );
    }
    text
}

fn persona_table(table: &FeatureTable, personas: &BTreeMap<String, String>) -> String {
    let columns = [
        "orders",
        "total_spend",
        "days_since_last_purchase",
        "views_30d",
        "email_open_rate",
    ];
    let indexes: Vec<Option<usize>> = columns.iter().map(|c| table.column_index(c).ok()).collect();
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (row, id) in table.ids().iter().enumerate() {
        let persona = personas
            .get(id.as_str())
            .map_or("(unknown)", String::as_str);
        groups.entry(persona).or_default().push(row);
    }
    let mut text = String::from(
        "BY TRUE PERSONA (from truth.csv: mean of each feature over customers where present)\n",
    );
    text += &format!("  {:<20} {:>9}", "persona", "customers");
    for c in columns {
        text += &format!(
            " {:>13}",
            c.replace("days_since_last_purchase", "days_since_buy")
        );
    }
    text += "\n";
    for (persona, rows) in groups {
        text += &format!("  {:<20} {:>9}", persona, rows.len());
        for index in &indexes {
            let mean = index.map_or(f64::NAN, |j| {
                let present: Vec<f64> = rows
                    .iter()
                    .map(|r| table.values()[[*r, j]])
                    .filter(|v| !v.is_nan())
                    .collect();
                present.iter().sum::<f64>() / present.len().max(1) as f64
            });
            text += &format!(" {:>13.2}", mean);
        }
        text += "\n";
    }
    text
}
