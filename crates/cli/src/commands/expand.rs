//! `lookalike expand`: a lookalike audience from a seed list — candidates scored by similarity to
//! the seeds, ranked into nested tiers, with a control group and the reasons for each choice.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use lookalike_audience::{Audience, ExpandParams, IndexChoice, ScorerKind, TierSize};
use lookalike_core::Progress;

use crate::audience_input::{SeedArgs, prepare};
use crate::output::Ui;
use lookalike_pipeline::Prepared;

/// What the ranking follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RankBy {
    /// Similarity to the seeds.
    Similarity,
    /// Similarity × expected value (needs --value-model).
    Value,
}

/// Options of `lookalike expand`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike expand --features features.parquet --seeds best.csv --out audience.csv
  lookalike expand --features features.parquet --seed-rule \"orders >= 12\" --size 1%,5% \\
      --control-share 10% --out audience.parquet --plot audience.svg
  lookalike expand --features features.parquet --seeds best.csv --seed-value clv \\
      --scorer knn --exclude customers_in_campaign.csv --out audience.csv")]
pub struct Args {
    #[command(flatten)]
    pub input: SeedArgs,
    /// Tier sizes, nested: percentages of the candidate pool or customer counts.
    #[arg(long, value_delimiter = ',', default_value = "1%,2%,5%,10%")]
    pub size: Vec<String>,
    /// How candidates are scored: auto picks, per audience, the single scorer (boosted,
    /// classifier, knn, centroids) that finds most of its own hidden seeds in a 3-fold
    /// cross-validation on them, and reports the choice.
    #[arg(long, value_enum, default_value_t = ScorerKind::Auto)]
    pub scorer: ScorerKind,
    /// Nearest seeds per candidate (kNN scorer).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// How the kNN scorer searches the seeds: exact, an approximate inverted-file index
    /// (4√seeds k-means cells, a sixteenth probed), or auto (the index from 100,000 seeds).
    #[arg(long, value_enum, default_value_t = IndexChoice::Auto)]
    pub index: IndexChoice,
    /// Seed representatives (centroids scorer; 0 = √(seeds/10), at most 32).
    #[arg(long, default_value_t = 0)]
    pub representatives: usize,
    /// Control group inside each tier: a share ("10%" or 0.1), drawn by hashing the id.
    #[arg(
        long = "control-share",
        alias = "holdout",
        value_name = "SHARE",
        default_value = "0%"
    )]
    pub holdout: String,
    /// Salt of the control hash (another salt draws another control group).
    #[arg(long, default_value_t = 0)]
    pub salt: u64,
    /// Fewest seeds accepted (under 1,000 a warning is printed).
    #[arg(long, default_value_t = 100)]
    pub min_seeds: usize,
    /// Random seed of the seed clustering and the classifier's sample of the base.
    #[arg(long = "random-seed", alias = "seed", default_value_t = 0)]
    pub seed: u64,
    /// Fit the scorer against a sample of N candidates (those with the lowest hash of their
    /// id, keyed by --random-seed) instead of all of them; every candidate is still scored and
    /// ranked. The same fit as `candidate_sample = N` in a pipeline's [[audience]], which
    /// `lookalike train` and `lookalike.spark.train` make.
    #[arg(long, value_name = "N", value_parser = positive_count)]
    pub candidate_sample: Option<usize>,
    /// Value model directory (`lookalike value fit`): each member gets its 12-month CLV
    /// (1% a month) as expected_value, and tiers report their value.
    #[arg(long, value_name = "DIR")]
    pub value_model: Option<PathBuf>,
    /// Rank by similarity, or by similarity × expected value.
    #[arg(long, value_enum, default_value_t = RankBy::Similarity)]
    pub rank_by: RankBy,
    /// Also draw the score distribution and each tier's value as an SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Output (.csv or .parquet): customer_id, score, percentile, rank, tier, control,
    /// nearest_seed, reasons — the members of the largest tier, best first.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// A count of at least 1.
fn positive_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("the scorer needs candidates to fit against; give a number such as 50000, or leave the option out to fit against every candidate".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}; give a whole number such as 50000")),
    }
}

/// "10%" → 0.1, "0.1" → 0.1.
pub fn parse_share(text: &str) -> anyhow::Result<f64> {
    lookalike_pipeline::parse_share(text)
        .with_context(|| format!("--control-share {text:?}: give a share like 10% or 0.1"))
}

pub fn run(mut args: Args, ui: &Ui) -> anyhow::Result<()> {
    let (features, _stdin) = crate::stdin::resolve(&args.input.features, "csv")?;
    args.input.features = features;
    let text = expand_to_file(&args, ui)?;
    ui.data(&text)?;
    Ok(())
}

/// Builds the audience, writes it to `args.out` and returns the summary to print.
pub fn expand_to_file(args: &Args, ui: &Ui) -> anyhow::Result<String> {
    let began = Instant::now();
    args.input
        .declare(crate::paths::Paths::new())
        .input_folder("--value-model", args.value_model.as_deref())
        .output("--out", Some(&args.out))
        .output("--plot", args.plot.as_deref())
        .check()?;
    let holdout = parse_share(&args.holdout)?;
    let sizes = args
        .size
        .iter()
        .map(|s| TierSize::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let params = ExpandParams::new(sizes)
        .scorer(args.scorer)
        .neighbours(args.k)
        .representatives(args.representatives)
        .holdout(holdout)
        .salt(args.salt)
        .min_seeds(args.min_seeds)
        .seed(args.seed)
        .rank_by_value(matches!(args.rank_by, RankBy::Value))
        .index(args.index)
        .validate()?;
    if matches!(args.rank_by, RankBy::Value) && args.value_model.is_none() {
        anyhow::bail!("--rank-by value needs --value-model DIR (from `lookalike value fit`)");
    }
    let value_horizon = lookalike_value::HorizonSpec::default();
    let mut prepared = prepare(
        &args.input,
        args.value_model.as_deref().map(|dir| (dir, &value_horizon)),
        args.candidate_sample.is_some(),
        ui,
    )?;
    let progress = ui.progress();
    progress.start(
        &format!(
            "scoring {} candidates against {} seeds",
            prepared.candidates.len(),
            prepared.seeds.len()
        ),
        None,
    );
    let audience = match args.candidate_sample {
        Some(size) => prepared.expand_on_sample(&params, size, args.seed),
        None => prepared.expand(&params),
    }
    .context("building the audience");
    progress.finish();
    let audience = audience?;
    let seconds = began.elapsed().as_secs_f64();
    write_outputs(
        &prepared,
        &audience,
        &args.out,
        args.plot.as_deref(),
        Some(seconds),
        ui,
    )
}

/// Writes an audience's members (and its plot) and returns its summary.
pub fn write_outputs(
    prepared: &Prepared,
    audience: &Audience,
    out: &std::path::Path,
    plot: Option<&std::path::Path>,
    seconds: Option<f64>,
    ui: &Ui,
) -> anyhow::Result<String> {
    lookalike_pipeline::write_audience(&prepared.customer_ids, audience, &prepared.columns, out)
        .with_context(|| format!("writing {}", out.display()))?;
    ui.say(format!(
        "scored {} candidates against {} seeds ({}){}; wrote {} customers to {}",
        audience.candidates,
        audience.seeds,
        audience.scorer,
        seconds.map_or(String::new(), |s| format!(" in {s:.2}s")),
        audience.members.len(),
        out.display()
    ));
    if let Some(path) = plot {
        let valued = prepared.expected_values.is_some();
        let tiers: Vec<(String, f64)> = audience
            .tier_summaries()
            .into_iter()
            .map(|t| (t.label, t.mean_value.unwrap_or(t.mean_score)))
            .collect();
        let label = if valued {
            "mean expected value"
        } else {
            "mean score"
        };
        // The same quantity over every candidate: their mean expected value, or their mean
        // score from the histogram's bin centres (the audience keeps members' scores only).
        let base_mean = match &prepared.expected_values {
            Some(values) if !prepared.candidates.is_empty() => {
                prepared.candidates.iter().map(|r| values[*r]).sum::<f64>()
                    / prepared.candidates.len() as f64
            }
            _ => {
                let total: usize = audience.histogram.iter().sum();
                audience
                    .histogram
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (i as f64 + 0.5) / 20.0 * *n as f64)
                    .sum::<f64>()
                    / total.max(1) as f64
            }
        };
        crate::plots::audience(audience, &tiers, base_mean, label, path)
            .with_context(|| format!("drawing {}", path.display()))?;
        ui.say(format!("wrote {}", path.display()));
    }
    Ok(summary(prepared, audience))
}

/// Tier sizes, control counts and mean scores; mean raw features of the audience, the seeds and
/// the base; the top members with their reasons.
pub fn summary(prepared: &Prepared, audience: &Audience) -> String {
    let valued = prepared.expected_values.is_some();
    let mut text = format!(
        "{:<8} {:>10} {:>9} {:>11}",
        "tier", "customers", "control", "mean score"
    );
    if valued {
        text += &format!(" {:>15} {:>15}", "mean value", "total value");
    }
    text += "\n";
    for t in audience.tier_summaries() {
        let _ = write!(
            text,
            "{:<8} {:>10} {:>9} {:>11.3}",
            t.label, t.size, t.control, t.mean_score
        );
        if let (Some(mean), Some(total)) = (t.mean_value, t.total_value) {
            let _ = write!(text, " {mean:>15.2} {total:>15.2}");
        }
        text += "\n";
    }
    if let Some(values) = &prepared.expected_values {
        let base: f64 = prepared.candidates.iter().map(|c| values[*c]).sum::<f64>()
            / prepared.candidates.len().max(1) as f64;
        let _ = writeln!(text, "mean expected value of all candidates: {base:.2}");
    }
    if let Some(selection) = &audience.selection {
        let _ = writeln!(text, "{}", selection.describe());
    }
    let largest = audience.tiers.last().map_or(String::new(), |t| t.0.clone());
    let _ = writeln!(
        text,
        "\n{:<26} {:>12} {:>12} {:>12}",
        "mean of",
        format!("audience {largest}"),
        "seeds",
        "base"
    );
    let chosen: Vec<usize> = audience.members.iter().map(|m| m.row).collect();
    let all: Vec<usize> = (0..prepared.customer_ids.len()).collect();
    for (j, column) in prepared.columns.iter().enumerate() {
        let _ = writeln!(
            text,
            "{column:<26} {:>12.2} {:>12.2} {:>12.2}",
            prepared.raw_mean(j, &chosen),
            prepared.raw_mean(j, &prepared.seeds),
            prepared.raw_mean(j, &all)
        );
    }
    let ids = &prepared.customer_ids;
    let _ = writeln!(text, "\ntop of the audience:");
    let _ = writeln!(
        text,
        "{:>5} {:>12} {:>7} {:>12}  reasons",
        "rank", "customer_id", "score", "nearest seed"
    );
    for m in audience.members.iter().take(5) {
        let reasons: Vec<String> = m
            .reasons
            .iter()
            .map(|(j, d)| format!("{} {d:+.2}", prepared.columns[*j]))
            .collect();
        let _ = writeln!(
            text,
            "{:>5} {:>12} {:>7.3} {:>12}  {}",
            m.rank,
            ids[m.row].as_str(),
            m.score,
            ids[m.nearest_seed].as_str(),
            reasons.join("; ")
        );
    }
    text
}
