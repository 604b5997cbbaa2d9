//! `lookalike forget`: customers taken out of a trained model (the right to erasure). The
//! library (`lookalike_pipeline::forget`) refits what held or depended on them; this command
//! reads the ids and the training features, and writes the model back whole.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use lookalike_features::read_feature_table;
use lookalike_pipeline::{Erasure, IdList, PipelineModel, forget};

use crate::output::Ui;
use crate::paths::Paths;

/// Options of `lookalike forget`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike forget --model model --ids erase.csv --features features.parquet
  lookalike forget --model model --ids erase.csv --features features.parquet --out model_v2
  lookalike forget --model model --ids erase.csv --features features.parquet --refit-all")]
pub struct Args {
    /// The model directory (`lookalike train`).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The customers to erase (CSV: a customer_id column, or the first column).
    #[arg(long, value_name = "FILE")]
    pub ids: PathBuf,
    /// The features the model was trained on (`train --outputs DIR` keeps them as
    /// DIR/features.parquet; `lookalike features` with the pipeline's settings rebuilds them).
    /// The erased customers are left out of them before refitting.
    #[arg(long, value_name = "FILE")]
    pub features: PathBuf,
    /// Write the model here (default: replace --model, whole, when the erasure is done).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Refit every stage without the customers, not only those holding customer-level data
    /// (the audiences): score edges, clusters and the value model too.
    #[arg(long)]
    pub refit_all: bool,
    /// The key of a model trained on pseudonymous ids: the listed ids (the customers' own)
    /// are hashed with it first.
    #[arg(long, value_name = "KEYFILE")]
    pub pseudonymize: Option<PathBuf>,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let began = Instant::now();
    // --out naming the model itself is the in-place default said out loud.
    let same = |out: &PathBuf| {
        std::fs::canonicalize(out).ok() == std::fs::canonicalize(&args.model).ok() && out.exists()
    };
    let in_place = args.out.as_ref().is_none_or(same);
    let out = args.out.clone().unwrap_or_else(|| args.model.clone());
    let paths = Paths::new()
        .input_folder("--model", Some(&args.model))
        .table("--ids", Some(&args.ids))
        .table("--features", Some(&args.features))
        .input("--pseudonymize", args.pseudonymize.as_deref());
    if in_place {
        paths.check()?;
    } else {
        paths.output_folder("--out", Some(&out)).check()?;
    }
    let model = PipelineModel::load(&args.model)?;
    let mut list = IdList::read(&args.ids, None)?;
    let key = args
        .pseudonymize
        .as_deref()
        .map(lookalike_core::Pseudonymizer::from_key_file)
        .transpose()?;
    // The listed ids are the customers' own: hashed when the model holds pseudonyms.
    if let Some(key) = model.id_key(None, key.as_ref())? {
        for id in &mut list.ids {
            *id = key.pseudonym(id);
        }
    }
    if list.ids.is_empty() {
        bail!(
            "--ids {}: no customer id in it (a customer_id column, or ids in the first column)",
            args.ids.display()
        );
    }
    let features = read_feature_table(&args.features, None)
        .with_context(|| format!("reading features from {}", args.features.display()))?;
    let erasure = forget(&model, &features, &list.ids, args.refit_all, &ui.progress())
        .with_context(|| {
            format!(
                "erasing the customers of {} from {} (features {})",
                args.ids.display(),
                args.model.display(),
                args.features.display()
            )
        })?;
    let (erased, record) = match erasure {
        Erasure::NothingToErase(why) => {
            ui.say(format!(
                "{}: {why}; the model is unchanged",
                args.model.display()
            ));
            return Ok(());
        }
        Erasure::Erased { model, record } => (model, record),
    };
    erased
        .save(&out)
        .with_context(|| format!("writing the model to {}", out.display()))?;
    let mut text = format!(
        "erased {} customers from {} in {:.1}s: {} in the features, {} stored in the model, {} found in neither\n",
        record.requested,
        args.model.display(),
        began.elapsed().as_secs_f64(),
        record.in_features,
        record.stored_in_model,
        record.not_found
    );
    if list.duplicates > 0 {
        text += &format!(
            "  {} ids listed more than once were counted once\n",
            list.duplicates
        );
    }
    text += &format!(
        "  refitted on {} customers: {}\n",
        record.customers_after,
        record.refitted.join(", ")
    );
    if !record.kept.is_empty() {
        text += &format!(
            "  kept as they were (aggregates): {} (--refit-all refits them too)\n",
            record.kept.join(", ")
        );
    }
    text += &format!(
        "  wrote {}{}; the erasure is recorded in its manifest (when, how many, which stages; no ids)\n",
        out.display(),
        if in_place { " (replaced)" } else { "" }
    );
    ui.data(&text)?;
    Ok(())
}
