//! `lookalike explain`: everything a trained model derives for one customer, with the reasons,
//! and whether the customer's own data is stored in the model — a subject-access answer. The
//! library builds the explanation (`PipelineModel::explain`); this command finds the customer's
//! row the way `score` reads a base and prints it.

use std::path::PathBuf;

use anyhow::{Context, bail};
use lookalike_features::OnBadRow;
use lookalike_pipeline::{Explanation, PipelineModel};

use crate::commands::score;
use crate::output::Ui;
use crate::paths::Paths;

/// Options of `lookalike explain`.
#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("base").required(true).args(["features", "transactions"])),
    after_help = "Examples:
  lookalike explain --model models/sample --features features.parquet --customer C00000042
  lookalike explain --model models/sample --transactions data/sample/transactions.csv \\
      --events data/sample/events.csv --customers data/sample/customers.csv \\
      --as-of 2026-01-01 --customer C00000042 --json"
)]
pub struct Args {
    /// Model directory from `lookalike train`.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The customer to explain.
    #[arg(long, value_name = "ID")]
    pub customer: String,
    /// The base the customer is in.
    #[command(flatten)]
    pub source: score::BaseSource,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    Paths::new()
        .input_folder("--model", Some(&args.model))
        .table("--features", args.source.features.as_deref())
        .table("--transactions", args.source.transactions.as_deref())
        .table("--events", args.source.events.as_deref())
        .table("--customers", args.source.customers.as_deref())
        .input("--pseudonymize", args.source.pseudonymize.as_deref())
        .check()?;
    let model = PipelineModel::load(&args.model)?;
    // The base is read as `score` reads it.
    let source = score::Args {
        model: args.model.clone(),
        source: args.source.clone(),
        on_error: OnBadRow::Fail,
        partition: None,
        passes: 1,
        chunk_rows: 262_144,
        out: PathBuf::from("-"),
    };
    let (chunks, source_name) = score::source_chunks(&source, &model, ui)?;
    // With a key, the customer is named by their own id and found by its pseudonym.
    let customer = match &args.source.pseudonymize {
        Some(path) => lookalike_core::Pseudonymizer::from_key_file(path)?.pseudonym(&args.customer),
        None => args.customer.clone(),
    };
    let mut found = None;
    for chunk in chunks {
        let chunk = chunk?;
        if let Some(row) = chunk.row_of(&customer) {
            found = Some(
                model
                    .explain(&chunk, row)
                    .with_context(|| format!("explaining customer {:?}", args.customer))?,
            );
            break;
        }
    }
    let Some(explanation) = found else {
        bail!(
            "customer {:?} is not in {source_name}: the model derives nothing for them (and stores nothing: {})",
            args.customer,
            stored_anywhere(&model, &customer)
        );
    };
    if args.json {
        let text = serde_json::to_string_pretty(&explanation).context("writing JSON")?;
        ui.data(&(text + "\n"))?;
    } else {
        ui.data(&text(&explanation))?;
    }
    Ok(())
}

/// Whether the model stores the id at all (a customer absent from the base may still be a
/// seed of a model trained earlier).
fn stored_anywhere(model: &PipelineModel, id: &str) -> String {
    let places: Vec<String> = model
        .audiences()
        .iter()
        .filter(|a| a.stores(id))
        .map(|a| format!("audience {}", a.name()))
        .collect();
    if places.is_empty() {
        "no file of the model holds the id".into()
    } else {
        format!(
            "but the id is stored in {}; `lookalike forget` erases it",
            places.join(", ")
        )
    }
}

fn optional(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.4}"))
}

/// The explanation as a person reads it.
fn text(e: &Explanation) -> String {
    let mut out = format!("CUSTOMER {}\n", e.customer_id);
    out += "\nSTORED IN THE MODEL\n";
    if e.stored_in_model.is_empty() {
        out += "  nothing: no file of the model holds this customer's id or data\n";
    }
    for place in &e.stored_in_model {
        out += &format!("  {place}\n");
    }
    out += "\nFEATURES THE MODEL READS\n";
    for (name, value) in &e.features {
        out += &format!("  {name:<28} {}\n", optional(*value));
    }
    if let Some(s) = &e.segments {
        out += "\nSEGMENTS\n";
        for (letter, reason) in [("R", &s.recency), ("F", &s.frequency), ("M", &s.monetary)] {
            out += &format!(
                "  {letter} = {}   {} = {}\n      {}\n",
                reason.score.map_or("-".into(), |v| v.to_string()),
                reason.column,
                optional(reason.value),
                reason.rule
            );
        }
        out += &format!(
            "  RFM segment: {}\n      {}\n",
            s.rfm_segment.as_deref().unwrap_or("-"),
            s.rfm_segment_rule
        );
        out += &format!("  lifecycle: {}\n      {}\n", s.lifecycle, s.lifecycle_rule);
        out += &format!(
            "  value tier: {}\n      {}\n",
            s.value_tier, s.value_tier_rule
        );
        if let Some(consent) = &s.consent {
            out += &format!("  consent: {consent}\n");
        }
        for rule in &s.rule_segments {
            out += &format!(
                "  rule segment {:<24} {}   ({})\n",
                rule.name,
                if rule.matched { "yes" } else { "no " },
                rule.rule
            );
        }
    }
    if let Some(c) = &e.cluster {
        out += "\nCLUSTER\n";
        match c.cluster {
            Some(k) => {
                out += &format!(
                    "  cluster {k} at distance {}: {} customers ({:.1}%) when trained\n",
                    optional(c.distance),
                    c.size.unwrap_or(0),
                    100.0 * c.share.unwrap_or(0.0)
                );
                let apart: Vec<String> = c
                    .distinguishing
                    .iter()
                    .map(|(column, z)| format!("{column} {z:+.2}"))
                    .collect();
                out += &format!("  what sets it apart (z): {}\n", apart.join(", "));
            }
            None => out += "  none: a clustered feature is missing\n",
        }
    }
    if let Some(v) = &e.value {
        out += &format!("\nVALUE ({}; {})\n", v.model, v.horizon);
        let history: Vec<String> = v
            .history
            .iter()
            .map(|(k, x)| format!("{k} {}", optional(*x)))
            .collect();
        out += &format!("  history: {}\n", history.join(", "));
        out += &format!(
            "  P(alive) {}   expected purchases {}   expected spend {}   CLV {}\n",
            optional(v.p_alive),
            optional(v.expected_purchases),
            optional(v.expected_spend),
            optional(v.clv)
        );
    }
    for a in &e.audiences {
        out += &format!("\nAUDIENCE {} ({})\n", a.name, a.scorer);
        let Some(p) = &a.placement else {
            out += "  not scored: a compared feature is missing\n";
            continue;
        };
        out += &format!(
            "  score {:.4} (ranking strength {:.4}); {}\n",
            p.score,
            p.strength,
            match (&p.tier, p.seed) {
                (_, true) => "one of the seeds: never in a tier".to_string(),
                (Some(tier), false) => format!(
                    "tier {tier}{}",
                    if p.control {
                        ", in the control group (not to be contacted)"
                    } else {
                        ""
                    }
                ),
                (None, false) => "in no tier".to_string(),
            }
        );
        for cut in &p.cuts {
            out += &format!(
                "    tier {:<8} cut at strength {:.4}: {}\n",
                cut.label,
                cut.last_strength,
                if cut.within { "within" } else { "below" }
            );
        }
        if let Some((seed, distance)) = &p.nearest_seed {
            out += &format!("  nearest seed: {seed} at distance {distance:.3}\n");
        }
        if !p.reasons.is_empty() {
            let reasons: Vec<String> = p
                .reasons
                .iter()
                .map(|(c, d)| format!("{c} {d:+.2}"))
                .collect();
            out += &format!("  like the seeds in: {}\n", reasons.join(", "));
        }
    }
    out
}
