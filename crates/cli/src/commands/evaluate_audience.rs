//! `lookalike evaluate-audience`: cross-validates the scorers on the seeds themselves — hides a
//! fold of the seeds, expands from the rest, and reports how many hidden seeds each scorer puts
//! in each tier, next to a random tier; with the truth of a generated base, also the seeds'
//! persona recovered and the audience's true future spend.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use lookalike_audience::{EvaluationRow, ExpandParams, ScorerKind, TierSize, Truth};

use crate::audience_input::{SeedArgs, prepare};
use crate::output::Ui;
use lookalike_pipeline::Prepared;

/// Options of `lookalike evaluate-audience`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike evaluate-audience --features features.parquet --seeds best.csv
  lookalike evaluate-audience --features features.parquet --seed-rule \"clv_rank <= 0.05\" \\
      --value-model value
  lookalike evaluate-audience --features features.parquet --seed-rule \"orders >= 12\" \\
      --scorers classifier,knn --folds 5 --out evaluation.csv")]
pub struct Args {
    #[command(flatten)]
    pub input: SeedArgs,
    /// Folds of the seeds: each is hidden once and looked for.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Scorers to compare [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub scorers: Vec<ScorerKind>,
    /// Tier sizes to report.
    #[arg(long, value_delimiter = ',', default_value = "1%,5%,10%")]
    pub size: Vec<String>,
    /// Nearest seeds per candidate (kNN scorer).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Seed representatives (centroids scorer; 0 = √(seeds/10), at most 32).
    #[arg(long, default_value_t = 0)]
    pub representatives: usize,
    /// Random seed of the seed clustering and the classifier's sample.
    #[arg(long = "random-seed", alias = "seed", default_value_t = 0)]
    pub seed: u64,
    /// Fewest seeds accepted.
    #[arg(long, default_value_t = 100)]
    pub min_seeds: usize,
    /// Ground truth of a generated base (`truth.csv` of `lookalike generate`: customer_id,
    /// persona, future_spend): adds the share of the seeds' persona recovered and the tier's
    /// true future spend over the average.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// The personas of the truth that count as the seeds' kind [default: the seeds' most
    /// common persona]; several for a base with more than one kind of best customer
    /// (`--truth-class best_frequent,best_big_ticket`).
    #[arg(long, value_delimiter = ',', value_name = "LIST", requires = "truth")]
    pub truth_class: Vec<String>,
    /// Write the table as CSV.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Value model directory (`lookalike value fit`): seed rules can name `clv` and `clv_rank`
    /// (12-month CLV, 1% a month), as in `expand` and the pipeline file.
    #[arg(long, value_name = "DIR")]
    pub value_model: Option<PathBuf>,
}

pub fn run(mut args: Args, ui: &Ui) -> anyhow::Result<()> {
    let (features, _stdin) = crate::stdin::resolve(&args.input.features, "csv")?;
    args.input.features = features;
    args.input
        .declare(crate::paths::Paths::new())
        .input("--truth", args.truth.as_deref())
        .input_folder("--value-model", args.value_model.as_deref())
        .output("--out", args.out.as_deref())
        .check()?;
    let sizes = args
        .size
        .iter()
        .map(|s| TierSize::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let params = ExpandParams::new(sizes)
        .neighbours(args.k)
        .representatives(args.representatives)
        .min_seeds(args.min_seeds)
        .seed(args.seed)
        .validate()?;
    let scorers: Vec<ScorerKind> = if args.scorers.is_empty() {
        ScorerKind::ALL.to_vec()
    } else {
        args.scorers.clone()
    };
    let value_horizon = lookalike_value::HorizonSpec::default();
    let prepared = prepare(
        &args.input,
        args.value_model.as_deref().map(|dir| (dir, &value_horizon)),
        false,
        ui,
    )?;
    if prepared.seeds.len() < args.min_seeds {
        bail!(
            "{} seed customers, fewer than the minimum of {} (--min-seeds)",
            prepared.seeds.len(),
            args.min_seeds
        );
    }
    let truth = match &args.truth {
        Some(path) => Some(read_truth(path, &args.truth_class, &prepared, ui)?),
        None => None,
    };
    let rows = prepared
        .evaluate(
            &params,
            &scorers,
            args.folds,
            truth.as_ref().map(|(t, _)| t),
        )
        .context("evaluating")?;
    let persona = truth.as_ref().map(|(_, p)| p.as_str());
    ui.say(format!(
        "{} seeds in {} folds, {} other candidates scored in each",
        prepared.seeds.len(),
        args.folds,
        prepared.candidates.len()
    ));
    if let Some(path) = &args.out {
        write_csv(&rows, path)?;
        ui.say(format!("wrote {}", path.display()));
    }
    ui.data(&render(&rows, prepared.seed_values.is_some(), persona))?;
    Ok(())
}

/// The seeds' most common persona in the truth file, each customer's membership of it, and
/// their true future spend.
fn read_truth(
    path: &Path,
    classes: &[String],
    prepared: &Prepared,
    ui: &Ui,
) -> anyhow::Result<(Truth, String)> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header = reader.headers()?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no column {name:?}", path.display()))
    };
    let (id_at, persona_at, spend_at) = (
        column("customer_id")?,
        column("persona")?,
        column("future_spend")?,
    );
    let mut truth: HashMap<String, (String, f64)> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
        let spend: f64 = record[spend_at].parse().with_context(|| {
            format!(
                "{}: row {}, column \"future_spend\": {:?} is not a number",
                path.display(),
                i + 2,
                &record[spend_at]
            )
        })?;
        truth.insert(
            record[id_at].to_string(),
            (record[persona_at].to_string(), spend),
        );
    }
    let class = if classes.is_empty() {
        Truth::of_seeds(&prepared.ids(), &prepared.seeds, &truth)
            .with_context(|| format!("none of the seeds is in {}", path.display()))?
    } else {
        if let Some(unknown) = classes
            .iter()
            .find(|c| !truth.values().any(|(persona, _)| persona == *c))
        {
            bail!(
                "--truth-class {unknown:?}: no customer of {} has that persona",
                path.display()
            );
        }
        let classes: Vec<&str> = classes.iter().map(String::as_str).collect();
        Truth::of_classes(&prepared.ids(), &prepared.seeds, &truth, &classes)
    };
    if class.missing > 0 {
        ui.say(format!(
            "{} customers are not in {}: counted as other personas with no future spend",
            class.missing,
            path.display()
        ));
    }
    ui.say(format!(
        "the seeds' persona in {}: {} ({} of {} seeds)",
        path.display(),
        class.class,
        class.seeds_in_class,
        prepared.seeds.len()
    ));
    Ok((class.truth, class.class))
}

fn render(rows: &[EvaluationRow], values: bool, persona: Option<&str>) -> String {
    let mut text = format!(
        "{:<11} {:>6} {:>8} {:>9} {:>6} {:>6}",
        "scorer", "tier", "recall", "precision", "lift", "AUC"
    );
    if values {
        text += &format!(" {:>12}", "value recall");
    }
    if let Some(p) = persona {
        text += &format!(" {:>12} {:>13}", format!("{p:.12}"), "future spend");
    }
    text += "\n";
    for row in rows {
        let _ = write!(
            text,
            "{:<11} {:>6} {:>8.3} {:>9.3} {:>6.2} {:>6.3}",
            row.scorer, row.tier, row.recall, row.precision, row.lift, row.auc
        );
        if values {
            let _ = write!(text, " {:>12.3}", row.value_recall);
        }
        if let (Some(recall), Some(ratio)) = (row.truth_recall, row.truth_value_ratio) {
            let _ = write!(text, " {recall:>12.3} {:>12.2}×", ratio);
        }
        text += "\n";
    }
    text +=
        "recall/precision/lift: of the hidden seeds, per tier; AUC: hidden seeds against the rest";
    if persona.is_some() {
        text += "; persona: share of that persona in the tier; future spend: the tier's mean over all scored";
    }
    text += "\n";
    text
}

fn write_csv(rows: &[EvaluationRow], path: &Path) -> anyhow::Result<()> {
    let mut body = String::from(
        "scorer,tier,recall,precision,lift,auc,value_recall,truth_recall,truth_value_ratio\n",
    );
    for r in rows {
        let optional = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        let _ = writeln!(
            body,
            "{},{},{},{},{},{},{},{},{}",
            r.scorer,
            r.tier,
            r.recall,
            r.precision,
            r.lift,
            r.auc,
            r.value_recall,
            optional(r.truth_recall),
            optional(r.truth_value_ratio)
        );
    }
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, body.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}
