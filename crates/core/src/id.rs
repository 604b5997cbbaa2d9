use std::fmt;
use std::sync::Arc;

/// A customer's id exactly as it appears in the input (ids are never parsed or renumbered, so
/// outputs join back to the source systems).
///
/// Cheap to clone: the text is shared.
///
/// ```
/// use lookalike_core::CustomerId;
/// let id = CustomerId::from("C0001");
/// assert_eq!(id.as_str(), "C0001");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(Arc<str>);

impl CustomerId {
    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CustomerId {
    fn from(text: &str) -> Self {
        CustomerId(Arc::from(text))
    }
}

impl From<String> for CustomerId {
    fn from(text: String) -> Self {
        CustomerId(Arc::from(text))
    }
}

impl fmt::Debug for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
