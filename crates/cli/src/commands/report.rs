//! `lookalike report`: one self-contained HTML page about a trained model — what it was trained
//! on, its segments, clusters, value model and audiences, with the plots inline and what it
//! holds about customers. No script, no network: it opens anywhere, offline.

use std::path::PathBuf;

use anyhow::{Context, bail};
use lookalike_pipeline::PipelineModel;

use crate::output::Ui;
use crate::paths::Paths;

/// Options of `lookalike report`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike report --model models/sample --out report.html
  lookalike report --model model --out model_report.html")]
pub struct Args {
    /// Model directory from `lookalike train`.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The page (.html).
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    Paths::new()
        .input_folder("--model", Some(&args.model))
        .output("--out", Some(&args.out))
        .check()?;
    if args.out.extension().and_then(|e| e.to_str()) != Some("html") {
        bail!(
            "--out {}: the report is HTML; give a .html file",
            args.out.display()
        );
    }
    let model = PipelineModel::load(&args.model)?;
    let page = crate::report::page(&model, &args.model.display().to_string())?;
    lookalike_core::write_atomically(&args.out, |w| std::io::Write::write_all(w, page.as_bytes()))
        .with_context(|| format!("writing {}", args.out.display()))?;
    ui.say(format!("wrote {}", args.out.display()));
    Ok(())
}
