use std::collections::HashSet;

use ndarray::{Array2, ArrayView1};

use crate::{CoreError, CustomerId};

/// One row per customer: the id, then one `f64` per named feature.
///
/// Missing values (a mean gap for a customer with one purchase) are `NaN`; files store them as
/// empty cells (CSV) or nulls (Parquet). Ids are unique and travel with their rows.
///
/// ```
/// use lookalike_core::{CustomerId, FeatureTable};
/// use ndarray::array;
/// let table = FeatureTable::new(
///     vec![CustomerId::from("a"), CustomerId::from("b")],
///     vec!["orders".into(), "spend".into()],
///     array![[1.0, 10.0], [3.0, 42.5]],
/// )
/// .unwrap();
/// assert_eq!(table.column("spend").unwrap()[1], 42.5);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTable {
    ids: Vec<CustomerId>,
    columns: Vec<String>,
    values: Array2<f64>,
}

impl FeatureTable {
    /// Builds a table, checking shapes and that ids and column names are unique.
    pub fn new(
        ids: Vec<CustomerId>,
        columns: Vec<String>,
        values: Array2<f64>,
    ) -> Result<Self, CoreError> {
        if ids.len() != values.nrows() {
            return Err(CoreError::RowCountMismatch {
                ids: ids.len(),
                rows: values.nrows(),
            });
        }
        if columns.len() != values.ncols() {
            return Err(CoreError::ColumnCountMismatch {
                names: columns.len(),
                columns: values.ncols(),
            });
        }
        let mut seen = HashSet::with_capacity(columns.len());
        for name in &columns {
            if !seen.insert(name.as_str()) {
                return Err(CoreError::DuplicateColumn(name.clone()));
            }
        }
        let mut seen_ids = HashSet::with_capacity(ids.len());
        for id in &ids {
            if !seen_ids.insert(id) {
                return Err(CoreError::DuplicateId(id.to_string()));
            }
        }
        Ok(FeatureTable {
            ids,
            columns,
            values,
        })
    }

    /// The customer ids, one per row.
    pub fn ids(&self) -> &[CustomerId] {
        &self.ids
    }

    /// The feature names, one per column.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, customers × features.
    pub fn values(&self) -> &Array2<f64> {
        &self.values
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the table has no customers.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Result<usize, CoreError> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| CoreError::UnknownColumn {
                name: name.to_string(),
                known: self.columns.join(", "),
            })
    }

    /// The values of the column called `name`.
    pub fn column(&self, name: &str) -> Result<ArrayView1<'_, f64>, CoreError> {
        Ok(self.values.column(self.column_index(name)?))
    }

    /// The row of the customer `id`, if present (a linear scan: build your own index for many
    /// look-ups).
    pub fn row_of(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|i| i.as_str() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn ids(names: &[&str]) -> Vec<CustomerId> {
        names.iter().map(|n| CustomerId::from(*n)).collect()
    }

    #[test]
    fn rejects_row_count_mismatch() {
        let err = FeatureTable::new(ids(&["a"]), vec!["x".into()], array![[1.0], [2.0]]);
        assert!(matches!(
            err,
            Err(CoreError::RowCountMismatch { ids: 1, rows: 2 })
        ));
    }

    #[test]
    fn rejects_column_count_mismatch() {
        let err = FeatureTable::new(ids(&["a"]), vec![], array![[1.0]]);
        assert!(matches!(err, Err(CoreError::ColumnCountMismatch { .. })));
    }

    #[test]
    fn rejects_duplicate_column() {
        let err = FeatureTable::new(
            ids(&["a"]),
            vec!["x".into(), "x".into()],
            array![[1.0, 2.0]],
        );
        assert!(matches!(err, Err(CoreError::DuplicateColumn(c)) if c == "x"));
    }

    #[test]
    fn rejects_duplicate_id() {
        let err = FeatureTable::new(ids(&["a", "a"]), vec!["x".into()], array![[1.0], [2.0]]);
        assert!(matches!(err, Err(CoreError::DuplicateId(i)) if i == "a"));
    }

    #[test]
    fn unknown_column_lists_known_ones() {
        let t = FeatureTable::new(ids(&["a"]), vec!["orders".into()], array![[1.0]]).unwrap();
        let err = t.column("spend").unwrap_err().to_string();
        assert!(err.contains("orders"), "{err}");
    }
}
