//! The `lookalike` command line.
//!
//! One module per subcommand under `commands/`; each turns its typed arguments into a resolved
//! configuration (paths and options checked) and runs it. Data goes to stdout, messages and
//! progress to stderr. Exit codes: 0 success, 1 a requested gate failed, 2 an error.

mod allocator;
mod audience_input;
mod clustering;
mod commands;
mod output;
mod paths;
mod plots;
mod progress;
mod report;
mod rule_columns;
mod shares;
mod small_table;
mod stdin;
mod value_model;
mod value_report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Find the customers who look like your best ones, and what each is worth.
#[derive(Debug, Parser)]
#[command(name = "lookalike", version, about, max_term_width = 100)]
struct Cli {
    /// Print nothing but errors: no progress, messages or reports (files are still written).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a seeded synthetic customer base (transactions, events, customers, truth).
    Generate(commands::generate::Args),
    /// Build one feature row per customer from transaction (and event, customer) logs.
    Features(commands::features::Args),
    /// Score and segment customers: RFM scores and segments, lifecycle, flags, rule segments.
    Segment(commands::segment::Args),
    /// Cluster customers with k-means: model, assignments and cluster profiles (or sweep k).
    Cluster(commands::cluster::Args),
    /// Expected value: `value fit`, `value predict`, `value evaluate` (BG/NBD, Pareto/NBD,
    /// Gamma-Gamma, CLV).
    Value(commands::value::Args),
    /// Build a lookalike audience: candidates scored by similarity to a seed list, in nested
    /// tiers with a control group.
    Expand(commands::expand::Args),
    /// Cross-validate the audience scorers on the seeds: recall, precision, lift and AUC of
    /// hidden seeds per tier, next to a random tier.
    EvaluateAudience(commands::evaluate_audience::Args),
    /// Pairwise overlap of audience or segment files (sizes, shared customers, Jaccard).
    Overlap(commands::overlap::Args),
    /// A campaign's lift against its control group, per audience tier: conversion, orders and
    /// revenue per customer, with intervals, p-values and incremental totals (CUPED optional).
    Measure(commands::measure::Args),
    /// How customers moved between segments from one run of `segment`/`score` to the next:
    /// the transition matrix, who stayed, left and entered, and each move on request.
    Migrate(commands::migrate::Args),
    /// Which segments are large enough to test: each segment's minimum detectable lift (80%
    /// power, α = 0.05) and the control group a target lift needs.
    Power(commands::power::Args),
    /// Train every stage of a pipeline file (features, segments, clusters, value, audiences)
    /// into one model directory.
    Train(commands::train::Args),
    /// Score the whole base with a trained model: one row per customer, streamed, written
    /// atomically, optionally one hash partition of the base.
    Score(commands::score::Args),
    /// Everything a trained model derives for one customer, with the reasons, and whether the
    /// customer's data is stored in it (a subject-access answer).
    Explain(commands::explain::Args),
    /// Take customers out of a trained model (the right to erasure): the audiences holding
    /// their ids are refitted without them, the erasure recorded in the manifest.
    Forget(commands::forget::Args),
    /// One self-contained HTML page about a trained model: segments, clusters, value,
    /// audiences, with the plots inline.
    Report(commands::report::Args),
    /// Replace the ids of a list (seeds, an erasure request, a CRM export) by their
    /// pseudonyms under a key, to join with runs made with --pseudonymize.
    Pseudonymize(commands::pseudonymize::Args),
    /// Benchmarks: `bench clustering` compares clustering settings side by side.
    Bench(commands::bench::Args),
    /// Run the pipeline on the bundled sample and print what it found.
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every Parquet output records the version and the run's inputs.
    lookalike_core::record_run(env!("CARGO_PKG_VERSION"));
    if let Some(threads) = cli.threads {
        if threads == 0 {
            eprintln!("error: --threads must be at least 1");
            return ExitCode::from(2);
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .expect("the global thread pool is configured once");
    }
    let ui = output::Ui::new(cli.quiet);
    // Every output of the run is staged and renamed into place together at the end, so a
    // failed run replaces nothing; an interrupted one removes its temporaries.
    let outputs = lookalike_core::remove_temporaries_on_signals()
        .and_then(|()| lookalike_core::OutputBatch::begin());
    let outputs = match outputs {
        Ok(outputs) => outputs,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Generate(args) => commands::generate::run(args, &ui),
        Command::Features(args) => commands::features::run(args, &ui),
        Command::Segment(args) => commands::segment::run(args, &ui),
        Command::Cluster(args) => commands::cluster::run(args, &ui),
        Command::Value(args) => commands::value::run(args, &ui),
        Command::Expand(args) => commands::expand::run(args, &ui),
        Command::EvaluateAudience(args) => commands::evaluate_audience::run(args, &ui),
        Command::Overlap(args) => commands::overlap::run(args, &ui),
        Command::Measure(args) => commands::measure::run(args, &ui),
        Command::Migrate(args) => commands::migrate::run(args, &ui),
        Command::Power(args) => commands::power::run(args, &ui),
        Command::Train(args) => commands::train::run(args, &ui),
        Command::Score(args) => commands::score::run(args, &ui),
        Command::Explain(args) => commands::explain::run(args, &ui),
        Command::Forget(args) => commands::forget::run(args, &ui),
        Command::Pseudonymize(args) => commands::pseudonymize::run(args, &ui),
        Command::Report(args) => commands::report::run(args, &ui),
        Command::Bench(args) => commands::bench::run(args, &ui),
        Command::Demo(args) => commands::demo::run(args, &ui),
    };
    // A closed stdout (`lookalike … | head`) ends the report, not the run: the files stand.
    let result = match result {
        Err(error) if !output::is_broken_pipe(&error) => Err(error),
        finished => outputs.commit().map_err(anyhow::Error::from).and(finished),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// A command line split into words as a shell would: spaces separate, double quotes group.
    fn words(line: &str) -> Vec<String> {
        let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                _ => word.push(c),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        words
    }

    /// The examples of a help text: each `lookalike …` line with its `\` continuations.
    fn examples(help: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut continues = false;
        for line in help.lines().skip_while(|l| !l.starts_with("Examples:")) {
            let text = line.trim();
            if continues {
                let last = found.last_mut().expect("a continued example");
                last.push(' ');
                last.push_str(text.trim_end_matches('\\').trim());
            } else if text.starts_with("lookalike ") {
                found.push(text.trim_end_matches('\\').trim().to_string());
            }
            continues = text.ends_with('\\');
        }
        found
    }

    #[test]
    fn every_command_ends_its_help_with_examples_that_parse() {
        let mut cli = Cli::command();
        cli.build();
        let mut leaves = Vec::new();
        for command in cli.get_subcommands().filter(|c| c.get_name() != "help") {
            if command.has_subcommands() {
                for sub in command.get_subcommands().filter(|c| c.get_name() != "help") {
                    leaves.push((
                        format!("{} {}", command.get_name(), sub.get_name()),
                        sub.clone(),
                    ));
                }
            } else {
                leaves.push((command.get_name().to_string(), command.clone()));
            }
        }
        assert!(leaves.len() >= 20, "{}", leaves.len());
        for (name, mut command) in leaves {
            let help = command.render_long_help().to_string();
            let found = examples(&help);
            assert!(
                (2..=4).contains(&found.len()) || (name == "demo" && !found.is_empty()),
                "{name}: {} examples in\n{help}",
                found.len()
            );
            for example in found {
                assert!(
                    example.starts_with(&format!("lookalike {name} "))
                        || example == format!("lookalike {name}"),
                    "{name}: {example}"
                );
                if let Err(error) = Cli::try_parse_from(words(&example)) {
                    panic!("{name}: the example does not parse: {example}\n{error}");
                }
            }
        }
    }

    #[test]
    fn renamed_flags_keep_their_old_spellings_hidden() {
        for (old, new) in [
            ("--seed", "--random-seed"),
            ("--holdout", "--control-share"),
        ] {
            let line = |flag: &'static str| {
                vec![
                    "lookalike",
                    "expand",
                    "--features",
                    "f.csv",
                    "--seeds",
                    "s.csv",
                    "--out",
                    "a.csv",
                    flag,
                    "1",
                ]
            };
            assert!(Cli::try_parse_from(line(old)).is_ok(), "{old}");
            assert!(Cli::try_parse_from(line(new)).is_ok(), "{new}");
            let mut cli = Cli::command();
            let help = cli
                .find_subcommand_mut("expand")
                .unwrap()
                .render_long_help()
                .to_string();
            assert!(
                help.contains(new) && !help.contains(&format!("{old} ")),
                "{old}"
            );
        }
        let generate = ["lookalike", "generate", "--out", "x", "--format", "parquet"];
        assert!(Cli::try_parse_from(generate).is_ok());
    }
}
