//! One module per subcommand.

pub mod demo;
pub mod features;
pub mod generate;
pub mod segment;
