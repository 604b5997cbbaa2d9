//! One module per subcommand.

pub mod bench;
pub mod cluster;
pub mod demo;
pub mod evaluate_audience;
pub mod expand;
pub mod explain;
pub mod features;
pub mod forget;
pub mod generate;
pub mod measure;
pub mod migrate;
pub mod overlap;
pub mod power;
pub mod pseudonymize;
pub mod report;
pub mod score;
pub mod segment;
pub mod train;
pub mod value;
