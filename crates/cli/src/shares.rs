//! Shares and lifts as options take them ("10%" or 0.1), checked while the command line is
//! parsed so that clap names the option in its error.

/// A share strictly between 0 and 1: a control share, a baseline conversion.
pub fn rate(text: &str) -> Result<f64, String> {
    lookalike_pipeline::parse_share(text)
        .filter(|v| *v > 0.0 && *v < 1.0)
        .ok_or_else(|| "give a share above 0 and below 100%, like 10% or 0.1".to_string())
}

/// A positive relative lift (may exceed 100%): 20% = conversion × 1.2.
pub fn lift(text: &str) -> Result<f64, String> {
    lookalike_pipeline::parse_share(text)
        .filter(|v| *v > 0.0)
        .ok_or_else(|| "give a positive lift like 20% or 0.2".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_lifts_are_read_as_written_and_checked() {
        assert_eq!(rate("10%"), Ok(0.1));
        assert_eq!(rate("0.25"), Ok(0.25));
        assert_eq!(lift("150%"), Ok(1.5));
        for refused in ["0", "100%", "1", "-5%", "ten", "nan"] {
            assert!(rate(refused).is_err(), "{refused}");
        }
        for refused in ["0", "-1", "x"] {
            assert!(lift(refused).is_err(), "{refused}");
        }
    }
}
