//! A pipeline file (`lookalike_pipeline::PipelineSpec`, typed and checked by the library) turned
//! into the arguments of the subcommands `train` runs, so that a trained stage is exactly what
//! the subcommand would have made.

use std::path::Path;

use lookalike_pipeline::{AudienceSpec, PipelineSpec, SegmentSpec};

use crate::audience_input::SeedArgs;
use crate::commands::expand::{self, RankBy};
use crate::commands::features::{self, InputArgs};
use crate::commands::segment;

/// `lookalike features` as configured, writing `out`.
pub fn feature_args(spec: &PipelineSpec, out: &Path) -> features::Args {
    let input = &spec.input;
    features::Args {
        input: InputArgs {
            transactions: input.transactions.clone(),
            events: input.events.clone(),
            customers: input.customers.clone(),
            format: input.format,
            delimiter: input.delimiter.clone(),
            columns: input
                .columns
                .iter()
                .map(|(field, name)| format!("{field}={name}"))
                .collect(),
            on_error: input.on_error,
        },
        as_of: spec.features.as_of.clone(),
        holdout_end: None,
        time_unit: spec.features.time_unit,
        top_levels: spec.features.top_levels,
        out: out.to_path_buf(),
        out_format: None,
    }
}

/// `lookalike segment` as configured.
pub fn segment_args(
    section: &SegmentSpec,
    features: &Path,
    out: &Path,
    report: &Path,
) -> segment::Args {
    segment::Args {
        features: features.to_path_buf(),
        rules: section.rules.clone(),
        bins: section.bins,
        out: out.to_path_buf(),
        report: Some(report.to_path_buf()),
        plot: Some(report.with_file_name("segments.svg")),
        min_size: section.min_size,
        require_consent: section.require_consent.clone(),
        value_column: section.value_column.clone(),
        lapsing_factor: section.lapsing_factor,
        lost_factor: section.lost_factor,
        loyal_purchase_days: section.loyal_purchase_days,
        single_purchase_gap: section.single_purchase_gap,
    }
}

/// `lookalike expand` as configured.
pub fn expand_args(
    section: &AudienceSpec,
    features: &Path,
    segments: Option<&Path>,
    value_model: Option<&Path>,
    value_horizon: Option<&lookalike_value::HorizonSpec>,
    out: &Path,
) -> expand::Args {
    expand::Args {
        input: SeedArgs {
            features: features.to_path_buf(),
            seeds: section.seeds.clone(),
            seed_rule: section.seed_rule.clone(),
            scope: None,
            segments: segments.map(Path::to_path_buf),
            seed_value: None,
            columns: section.columns.clone(),
            log1p: section.log1p.clone(),
            scaling: section.scaling,
            exclude: Vec::new(),
            require_consent: section.require_consent.clone(),
        },
        size: section.sizes.iter().map(|s| s.label()).collect(),
        scorer: Some(section.scorer),
        k: section.k,
        index: section.index,
        representatives: section.representatives,
        holdout: section.holdout.to_string(),
        salt: section.salt,
        min_seeds: section.min_seeds,
        seed: section.seed,
        value_model: value_model.map(Path::to_path_buf),
        value_horizon: value_horizon.copied().unwrap_or_default(),
        rank_by: RankBy::Similarity,
        plot: Some(out.with_extension("svg")),
        out: out.to_path_buf(),
    }
}
