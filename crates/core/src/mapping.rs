use std::collections::BTreeMap;

use crate::CoreError;

/// The kinds of input file, each with its own canonical columns (see `data/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputKind {
    /// Purchase and refund lines.
    Transactions,
    /// Site, app and email events.
    Events,
    /// One row of attributes per customer.
    Customers,
}

impl InputKind {
    /// All kinds, in the order files are read.
    pub const ALL: [InputKind; 3] = [
        InputKind::Transactions,
        InputKind::Events,
        InputKind::Customers,
    ];

    /// The prefix that scopes a mapping to this kind (`events.customer_id=uid`).
    pub fn prefix(self) -> &'static str {
        match self {
            InputKind::Transactions => "transactions",
            InputKind::Events => "events",
            InputKind::Customers => "customers",
        }
    }

    /// The canonical fields of this kind: required ones first, then optional ones.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            InputKind::Transactions => &[
                "customer_id",
                "timestamp",
                "amount",
                "order_id",
                "quantity",
                "category",
                "channel",
                "unit_price",
            ],
            InputKind::Events => &["customer_id", "timestamp", "event_type", "category"],
            InputKind::Customers => &["customer_id", "marketing_consent"],
        }
    }
}

/// Which source column holds each canonical field, per input kind.
///
/// Columns are mapped, never guessed: a field not mapped is read from the column of its canonical
/// name. A mapping `FIELD=NAME` applies to every input kind that has `FIELD`; `KIND.FIELD=NAME`
/// (kind = `transactions`, `events` or `customers`) to that kind only.
///
/// ```
/// use lookalike_core::{ColumnMapping, InputKind};
/// let mapping = ColumnMapping::parse(&["customer_id=CustID", "events.timestamp=ts"]).unwrap();
/// assert_eq!(mapping.source(InputKind::Transactions, "customer_id"), "CustID");
/// assert_eq!(mapping.source(InputKind::Events, "customer_id"), "CustID");
/// assert_eq!(mapping.source(InputKind::Events, "timestamp"), "ts");
/// assert_eq!(mapping.source(InputKind::Transactions, "timestamp"), "timestamp");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMapping {
    sources: BTreeMap<(InputKind, String), String>,
}

impl ColumnMapping {
    /// Parses `FIELD=NAME` / `KIND.FIELD=NAME` specifications.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Self, CoreError> {
        let mut mapping = ColumnMapping::default();
        // Whether each entry came from a kind-specific spec (`events.timestamp=ts`), which
        // overrides a general one (`timestamp=time`) in either order.
        let mut specific_entries = std::collections::BTreeSet::new();
        for spec in specs {
            let spec = spec.as_ref();
            let (left, source) = spec
                .split_once('=')
                .filter(|(l, r)| !l.trim().is_empty() && !r.is_empty())
                .ok_or_else(|| CoreError::BadMapping(spec.to_string()))?;
            let left = left.trim();
            let specific = left.contains('.');
            let (kinds, field): (Vec<InputKind>, &str) = match left.split_once('.') {
                Some((prefix, field)) => {
                    let kind = InputKind::ALL
                        .into_iter()
                        .find(|k| k.prefix() == prefix)
                        .ok_or_else(|| CoreError::BadMapping(spec.to_string()))?;
                    (vec![kind], field)
                }
                None => (InputKind::ALL.to_vec(), left),
            };
            let applicable: Vec<InputKind> = kinds
                .into_iter()
                .filter(|k| k.fields().contains(&field))
                .collect();
            if applicable.is_empty() {
                let mut known: Vec<&str> = InputKind::ALL
                    .iter()
                    .flat_map(|k| k.fields().iter().copied())
                    .collect();
                known.sort_unstable();
                known.dedup();
                return Err(CoreError::UnknownField {
                    spec: spec.to_string(),
                    field: field.to_string(),
                    known: known.join(", "),
                });
            }
            for kind in applicable {
                let key = (kind, field.to_string());
                let was_specific = specific_entries.contains(&key);
                match mapping.sources.get(&key) {
                    Some(previous) if previous != source && was_specific == specific => {
                        return Err(CoreError::RepeatedMapping {
                            field: if specific {
                                format!("{}.{field}", kind.prefix())
                            } else {
                                field.to_string()
                            },
                            first: previous.clone(),
                            second: source.to_string(),
                        });
                    }
                    // A general spec never replaces a specific one.
                    Some(_) if was_specific && !specific => continue,
                    _ => {}
                }
                if specific {
                    specific_entries.insert(key.clone());
                }
                mapping.sources.insert(key, source.to_string());
            }
        }
        Ok(mapping)
    }

    /// The source column that holds `field` in inputs of `kind`.
    pub fn source<'a>(&'a self, kind: InputKind, field: &'a str) -> &'a str {
        self.sources
            .get(&(kind, field.to_string()))
            .map(String::as_str)
            .unwrap_or(field)
    }

    /// Whether `field` was mapped explicitly for `kind` (an explicitly mapped optional column
    /// must exist; an unmapped optional one may be absent).
    pub fn is_explicit(&self, kind: InputKind, field: &str) -> bool {
        self.sources.contains_key(&(kind, field.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_mapped_twice_is_refused_but_a_specific_mapping_overrides_a_general_one() {
        let error = ColumnMapping::parse(&["amount=a", "amount=b"]).unwrap_err();
        assert!(error.to_string().contains("maps amount twice"), "{error}");
        for specs in [
            ["customer_id=cid", "events.customer_id=visitor"],
            ["events.customer_id=visitor", "customer_id=cid"],
        ] {
            let mapping = ColumnMapping::parse(&specs).unwrap();
            assert_eq!(mapping.source(InputKind::Events, "customer_id"), "visitor");
            assert_eq!(
                mapping.source(InputKind::Transactions, "customer_id"),
                "cid"
            );
        }
        ColumnMapping::parse(&["amount=a", "amount=a"]).unwrap();
    }

    #[test]
    fn rejects_spec_without_equals() {
        assert!(matches!(
            ColumnMapping::parse(&["customer_id"]),
            Err(CoreError::BadMapping(_))
        ));
    }

    #[test]
    fn rejects_unknown_field_and_lists_known_ones() {
        let err = ColumnMapping::parse(&["custid=x"]).unwrap_err();
        assert!(err.to_string().contains("customer_id"), "{err}");
        assert!(matches!(err, CoreError::UnknownField { .. }));
    }

    #[test]
    fn rejects_unknown_kind_prefix() {
        assert!(matches!(
            ColumnMapping::parse(&["orders.amount=x"]),
            Err(CoreError::BadMapping(_))
        ));
    }

    #[test]
    fn field_of_another_kind_only_is_rejected_when_scoped() {
        assert!(ColumnMapping::parse(&["events.amount=x"]).is_err());
        let m = ColumnMapping::parse(&["amount=Value"]).unwrap();
        assert_eq!(m.source(InputKind::Transactions, "amount"), "Value");
        assert!(m.is_explicit(InputKind::Transactions, "amount"));
        assert!(!m.is_explicit(InputKind::Events, "amount"));
    }
}
