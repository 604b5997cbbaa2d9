//! `lookalike generate`: a synthetic customer base.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use lookalike_synth::{
    BtydLogSpec, GenerateParams, LogOrder, OutputFormat, Scenario, generate, write_btyd_log,
};
use lookalike_value::PurchaseKind;

use crate::output::Ui;
use chrono::NaiveDate;

/// Options of `lookalike generate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike generate --out data/base
  lookalike generate --customers 1000000 --order time --out-format parquet --out big
  lookalike generate --customers 100000 --scenario two-kinds --out hard
  lookalike generate --model bgnbd --parameters 0.25,4,0.8,2.5 --customers 20000 --out btyd")]
pub struct Args {
    /// Number of customers.
    #[arg(long, default_value_t = 5_000)]
    customers: u64,
    /// Random seed: the same seed gives the same files.
    #[arg(long = "random-seed", alias = "seed", default_value_t = 7)]
    seed: u64,
    /// Output folder (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Format of the files written.
    #[arg(long = "out-format", alias = "format", value_enum, default_value_t = OutputFormat::Csv)]
    format: OutputFormat,
    /// First day of the observation period.
    #[arg(long, value_name = "DATE", default_value = "2023-01-01")]
    start: String,
    /// First day after the observation period (the natural --as-of for features).
    #[arg(long, value_name = "DATE", default_value = "2026-01-01")]
    end: String,
    /// Days after the observation end whose purchases `truth` records.
    #[arg(long, value_name = "DAYS", default_value_t = 182)]
    future_days: u32,
    /// Which personas the base holds: standard (one kind of best customer, loyal high
    /// spenders) or two-kinds (frequent small baskets and rare big tickets, decoys between).
    #[arg(long, value_enum, default_value_t = Scenario::Standard)]
    scenario: Scenario,
    /// Row order of transactions and events: customer (chunks of 8,192 customers, each in time
    /// order) or time (the whole log in time order, one customer's rows spread over it, as a
    /// real appended log). The same rows either way.
    #[arg(long, value_enum, default_value_t = LogOrder::Customer, conflicts_with = "model")]
    order: LogOrder,
    /// Instead of the persona base, draw a transaction log from a value model with known
    /// parameters (written with them to truth.json), to check that `value fit` recovers them.
    #[arg(long, value_enum, requires = "parameters")]
    model: Option<PurchaseKind>,
    /// The model's parameters, in --unit: r,alpha,a,b (BG/NBD, MBG/NBD), r,alpha,s,beta
    /// (Pareto/NBD) or alpha,beta,gamma,delta (BG/BB, with --unit days: a day per opportunity).
    #[arg(long, value_delimiter = ',', value_name = "LIST", requires = "model")]
    parameters: Vec<f64>,
    /// Gamma-Gamma p,q,gamma of the purchase values (default: the CDNOW estimates).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "6.25,3.74,15.44"
    )]
    spend: Vec<f64>,
    /// Time unit of --parameters: weeks or days.
    #[arg(long, value_enum, default_value = "weeks")]
    unit: lookalike_core::TimeUnit,
}

/// `--model`: the log alone, from the model's own story.
fn run_model(
    args: &Args,
    model: PurchaseKind,
    start: NaiveDate,
    end: NaiveDate,
    ui: &Ui,
) -> anyhow::Result<()> {
    if args.format == OutputFormat::Parquet {
        anyhow::bail!("--model writes CSV only; drop --out-format parquet");
    }
    let began = Instant::now();
    let spec = BtydLogSpec {
        model,
        parameters: &args.parameters,
        spend: &args.spend,
        unit_days: args.unit.days(),
        customers: usize::try_from(args.customers)?,
        seed: args.seed,
        start,
        end,
    };
    let staged = stage(&args.out)?;
    let lines = write_btyd_log(&spec, staged.path())?;
    write_record(args, staged.path())?;
    staged.publish()?;
    ui.say(format!(
        "generated {} customers and {lines} transaction lines from {} (seed {}) in {:.1}s; use --as-of {end}",
        args.customers,
        model.name(),
        args.seed,
        began.elapsed().as_secs_f64()
    ));
    ui.say(format!(
        "  wrote {}",
        args.out.join("transactions.csv").display()
    ));
    ui.say(format!("  wrote {}", args.out.join("truth.json").display()));
    Ok(())
}

/// The output folder, checked and staged: built beside `out` and swapped in whole at the end,
/// so an interrupted run leaves the previous data set (or none), never a mix.
fn stage(out: &std::path::Path) -> anyhow::Result<lookalike_core::StagedFolder> {
    crate::paths::Paths::new()
        .output_folder("--out", Some(out))
        .check()?;
    crate::paths::stage_folder("--out", out, |name| {
        let stem = name.split('.').next().unwrap_or("");
        ["transactions", "events", "customers", "truth", "generate"].contains(&stem)
    })
}

/// `generate.json` beside the data: the command that makes the same files again (with every
/// setting, the output folder left out, so that the record does not depend on where it is),
/// the version, and each setting.
fn write_record(args: &Args, dir: &std::path::Path) -> anyhow::Result<()> {
    let format = format!("{:?}", args.format).to_lowercase();
    let mut command = format!(
        "lookalike generate --customers {} --random-seed {} --start {} --end {} --future-days {} --out-format {format}",
        args.customers, args.seed, args.start, args.end, args.future_days
    );
    if args.scenario != Scenario::Standard && args.model.is_none() {
        command += " --scenario two-kinds";
    }
    if args.order == LogOrder::Time && args.model.is_none() {
        command += " --order time";
    }
    if let Some(model) = args.model {
        let list = |values: &[f64]| {
            values
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        command += &format!(
            " --model {} --parameters {} --spend {} --unit {}",
            model.name(),
            list(&args.parameters),
            list(&args.spend),
            args.unit.name()
        );
    }
    let record = serde_json::json!({
        "tool": "lookalike",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "command": command,
        "customers": args.customers,
        "random_seed": args.seed,
        "start": args.start,
        "end": args.end,
        "future_days": args.future_days,
        "scenario": args.scenario,
        "order": args.order,
        "out_format": format,
        "model": args.model.map(|m| m.name()),
        "parameters": args.parameters,
        "spend": args.spend,
        "unit": args.unit.name(),
    });
    lookalike_core::write_atomically(&dir.join("generate.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &record).map_err(std::io::Error::other)?;
        std::io::Write::write_all(w, b"\n")
    })?;
    Ok(())
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let start =
        lookalike_features::parse_date(&args.start).map_err(|e| anyhow::anyhow!("--start: {e}"))?;
    let end =
        lookalike_features::parse_date(&args.end).map_err(|e| anyhow::anyhow!("--end: {e}"))?;
    if let Some(model) = args.model {
        return run_model(&args, model, start, end, ui);
    }
    let params = GenerateParams::new(args.customers)
        .seed(args.seed)
        .start(start)
        .end(end)
        .future_days(args.future_days)
        .scenario(args.scenario)
        .order(args.order)
        .format(args.format);
    let began = Instant::now();
    let progress = ui.progress();
    let staged = stage(&args.out)?;
    let summary = generate(&params, staged.path(), &progress)
        .with_context(|| format!("generating into {}", args.out.display()))?;
    write_record(&args, staged.path())?;
    staged.publish()?;
    ui.say(format!(
        "generated {} customers, {} transaction lines and {} events (seed {}) in {:.1}s",
        summary.customers,
        summary.transactions,
        summary.events,
        args.seed,
        began.elapsed().as_secs_f64()
    ));
    ui.say(format!(
        "observation period {} to {} (exclusive: use --as-of {}); truth covers purchases up to {} (exclusive)",
        start, summary.observation_end, summary.observation_end, summary.future_end
    ));
    for name in summary.files.iter().filter_map(|file| file.file_name()) {
        ui.say(format!("  wrote {}", args.out.join(name).display()));
    }
    Ok(())
}
