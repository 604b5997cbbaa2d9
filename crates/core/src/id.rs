use std::fmt;

use compact_str::CompactString;

/// A customer's id exactly as it appears in the input (ids are never parsed or renumbered, so
/// outputs join back to the source systems).
///
/// Ids up to 24 bytes (nearly all: numbers, prefixed numbers, short codes) are held inline, so
/// that a base of 10M customers keeps its ids in one 240 MB vector instead of ten million
/// small allocations beside it; longer ids (UUIDs) are on the heap.
///
/// ```
/// use lookalike_core::CustomerId;
/// let id = CustomerId::from("C0001");
/// assert_eq!(id.as_str(), "C0001");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(CompactString);

impl CustomerId {
    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CustomerId {
    fn from(text: &str) -> Self {
        CustomerId(CompactString::from(text))
    }
}

impl From<String> for CustomerId {
    fn from(text: String) -> Self {
        CustomerId(CompactString::from(text))
    }
}

impl fmt::Debug for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
