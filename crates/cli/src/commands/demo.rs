//! `lookalike demo`: the pipeline on the bundled sample, with a readable summary.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use lookalike_core::FeatureTable;

use crate::audience_input::SeedArgs;
use crate::clustering::{Algo, InitArg, Precision, ScalingArg};
use crate::commands::cluster::{self, Missing};
use crate::commands::expand;
use crate::commands::features::{self, InputArgs, OnError, Unit};
use crate::commands::segment;
use crate::output::Ui;

/// Options of `lookalike demo` (none are needed).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder (default: a new folder in the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The sample folder (default: data/sample of this project).
    #[arg(long, value_name = "DIR")]
    sample: Option<PathBuf>,
}

/// The sample's observation period ends here (see data/README.md).
const SAMPLE_AS_OF: &str = "2026-01-01";

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
    let out = match args.out {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir
        }
        None => tempfile::Builder::new()
            .prefix("lookalike-demo-")
            .tempdir()
            .context("creating a temporary output folder")?
            .keep(),
    };
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
    let feature_args = features::Args {
        input: InputArgs {
            transactions: sample.join("transactions.csv"),
            events: Some(sample.join("events.csv")),
            customers: Some(sample.join("customers.csv")),
            format: None,
            delimiter: None,
            columns: Vec::new(),
            on_error: OnError::Fail,
        },
        as_of: Some(SAMPLE_AS_OF.into()),
        holdout_end: None,
        time_unit: Unit::Weeks,
        top_levels: 8,
        out: out.join("features.csv"),
        out_format: None,
    };
    let extraction = features::extract_to_file(&feature_args, ui)?;
    let rules = sample.join("../segments.example.toml");
    let segment_args = segment::Args {
        features: feature_args.out.clone(),
        rules: rules.is_file().then_some(rules),
        bins: 5,
        out: out.join("segments.csv"),
        report: Some(out.join("segment_report.csv")),
        plot: Some(out.join("segments.svg")),
        // The sample is small: flag segments under 4% of it rather than under 1,000.
        min_size: 200,
        require_consent: None,
        value_column: "total_spend".into(),
        lapsing_factor: 2.0,
        lost_factor: 4.0,
        loyal_purchase_days: 5.0,
        single_purchase_gap: 90.0,
    };
    let (_, _, segment_report) = segment::segment_to_files(&segment_args, ui)?;
    let personas = read_personas(&sample.join("truth.csv"))?;
    let mut text = String::new();
    text += &format!(
        "lookalike demo on {}\n\nFEATURES  {} customers x {} columns, as of {}\n  written to {}\n\n",
        sample.display(),
        extraction.table.len(),
        extraction.table.columns().len(),
        extraction.as_of,
        feature_args.out.display()
    );
    text += &summary_table(&extraction.table);
    text += "\n";
    text += &persona_table(&extraction.table, &personas);
    text += &format!(
        "\nSEGMENTS  written to {} (report {}, plot {})\n",
        segment_args.out.display(),
        out.join("segment_report.csv").display(),
        out.join("segments.svg").display()
    );
    text += &segment::report_table(&segment_report);
    let cluster_args = cluster::Args {
        features: feature_args.out.clone(),
        k: "2..8".into(),
        columns: Vec::new(),
        scaling: ScalingArg::Standard,
        // Order counts and spend are skewed: a few big customers would dominate distances.
        log1p: vec!["orders".into(), "total_spend".into()],
        weights: Vec::new(),
        init: InitArg::Auto,
        algo: Algo::Hamerly,
        n_init: 3,
        max_iter: 300,
        tol: 1e-4,
        seed: 0,
        batch_size: 4096,
        precision: Precision::F64,
        silhouette_sample: 10_000,
        missing: Missing::Skip,
        assignments: "assignments.csv".into(),
        out: out.join("clusters"),
    };
    text += "\n";
    text += &cluster::cluster_to_dir(&cluster_args, ui)?;
    let value_dir = out.join("value");
    text += &format!(
        "\nVALUE  model and predictions in {}\n",
        value_dir.display()
    );
    text += &crate::commands::value::demo_value(&feature_args.out, &value_dir, ui)?;
    text += &demo_audience(
        &feature_args.out,
        &value_dir.join("predictions.csv"),
        &out,
        ui,
    )?;
    ui.data(&text)?;
    Ok(())
}

/// The demo's audience: seeds are the top 5% of customers by 12-month CLV (weighted by it);
/// the 5% of the other consenting customers who look most like them.
fn demo_audience(
    features: &Path,
    predictions: &Path,
    out: &Path,
    ui: &Ui,
) -> anyhow::Result<String> {
    let dir = out.join("audience");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut reader = csv::Reader::from_path(predictions)
        .with_context(|| format!("reading {}", predictions.display()))?;
    let at = reader
        .headers()?
        .iter()
        .position(|h| h == "clv")
        .context("predictions without a clv column")?;
    let mut valued: Vec<(String, f64)> = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("reading {}", predictions.display()))?;
        if let Ok(clv) = record[at].parse::<f64>() {
            valued.push((record[0].to_string(), clv));
        }
    }
    valued.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    valued.truncate(valued.len().div_ceil(20));
    let seeds = dir.join("seeds.csv");
    let mut body = String::from("customer_id,clv\n");
    for (id, clv) in &valued {
        body += &format!("{id},{clv}\n");
    }
    lookalike_core::write_atomically(&seeds, |w| w.write_all(body.as_bytes()))
        .with_context(|| format!("writing {}", seeds.display()))?;
    let args = expand::Args {
        input: SeedArgs {
            features: features.to_path_buf(),
            seeds: Some(seeds.clone()),
            seed_rule: None,
            scope: None,
            segments: None,
            seed_value: Some("clv".into()),
            columns: Vec::new(),
            log1p: None,
            scaling: ScalingArg::Standard,
            exclude: Vec::new(),
            require_consent: Some("marketing_consent".into()),
        },
        size: vec!["1%".into(), "5%".into()],
        scorer: None,
        k: 10,
        index: expand::IndexArg::Auto,
        representatives: 0,
        holdout: "10%".into(),
        salt: 0,
        min_seeds: 100,
        seed: 0,
        value_model: Some(out.join("value")),
        rank_by: expand::RankBy::Similarity,
        plot: Some(dir.join("audience.svg")),
        out: dir.join("audience.csv"),
    };
    let mut text = format!(
        "\nAUDIENCE  the {} customers with the highest CLV as seeds (weighted by CLV); audience in {}\n",
        valued.len(),
        args.out.display()
    );
    text += &expand::expand_to_file(&args, ui)?;
    Ok(text)
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
