use std::borrow::Cow;
use std::collections::HashSet;

use ndarray::{Array2, ArrayView1};

use crate::{CoreError, CustomerId};

/// One row per customer: the id, then one `f64` per named feature.
///
/// Missing values (a mean gap for a customer with one purchase) are `NaN`; files store them as
/// empty cells (CSV) or nulls (Parquet). Ids are unique and travel with their rows. The values
/// may be in either memory order: a table read column by column keeps each column contiguous
/// (see [`FeatureTable::column_slice`]).
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
        if let Some(duplicate) = first_duplicate(&ids) {
            return Err(CoreError::DuplicateId(duplicate.to_string()));
        }
        Ok(FeatureTable {
            ids,
            columns,
            values,
        })
    }

    /// The ids, column names and values, taken apart without a copy (for code that transforms
    /// the values in place).
    ///
    /// ```
    /// use lookalike_core::{CustomerId, FeatureTable};
    /// let table = FeatureTable::new(vec![CustomerId::from("a")], vec!["x".into()], ndarray::array![[1.0]]).unwrap();
    /// let (ids, columns, values) = table.into_parts();
    /// assert_eq!((ids.len(), columns[0].as_str(), values[[0, 0]]), (1, "x", 1.0));
    /// ```
    pub fn into_parts(self) -> (Vec<CustomerId>, Vec<String>, Array2<f64>) {
        (self.ids, self.columns, self.values)
    }

    /// The rows `rows` (in that order) as their own table: the one way to take part of a table
    /// (partitions, complete rows, chunks). Taking every row in order returns a copy.
    ///
    /// ```
    /// use lookalike_core::{CustomerId, FeatureTable};
    /// let ids = ["a", "b", "c"].map(CustomerId::from).to_vec();
    /// let table = FeatureTable::new(ids, vec!["x".into()], ndarray::array![[1.0], [2.0], [3.0]]).unwrap();
    /// let part = table.select_rows(&[2, 0]);
    /// assert_eq!((part.ids()[0].as_str(), part.values()[[1, 0]]), ("c", 1.0));
    /// ```
    pub fn select_rows(&self, rows: &[usize]) -> FeatureTable {
        FeatureTable {
            ids: rows.iter().map(|i| self.ids[*i].clone()).collect(),
            columns: self.columns.clone(),
            values: self.values.select(ndarray::Axis(0), rows),
        }
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

    /// The values of the column called `name` as one slice: borrowed when the table stores the
    /// column contiguously (tables read from Parquet do), copied otherwise.
    ///
    /// ```
    /// use lookalike_core::{CustomerId, FeatureTable};
    /// let table = FeatureTable::new(vec![CustomerId::from("a")], vec!["x".into()], ndarray::array![[4.0]]).unwrap();
    /// assert_eq!(table.column_values("x").unwrap().as_ref(), &[4.0]);
    /// assert!(table.column_values("y").is_err());
    /// ```
    pub fn column_values(&self, name: &str) -> Result<Cow<'_, [f64]>, CoreError> {
        let index = self.column_index(name)?;
        Ok(match self.column_slice(index) {
            Some(slice) => Cow::Borrowed(slice),
            None => Cow::Owned(self.values.column(index).to_vec()),
        })
    }

    /// The values of the column called `name`.
    pub fn column(&self, name: &str) -> Result<ArrayView1<'_, f64>, CoreError> {
        Ok(self.values.column(self.column_index(name)?))
    }

    /// The values of column `index` as one contiguous slice, when the table is stored column by
    /// column (as tables read from Parquet are); `None` otherwise.
    pub fn column_slice(&self, index: usize) -> Option<&[f64]> {
        self.values.column(index).to_slice()
    }

    /// The row of the customer `id`, if present (a linear scan: build your own index for many
    /// look-ups).
    pub fn row_of(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|i| i.as_str() == id)
    }
}

/// A repeated id, if any. Hashes are sorted in parallel and only equal hashes are compared as
/// text: much faster than a hash set for millions of ids, and exact.
fn first_duplicate(ids: &[CustomerId]) -> Option<&CustomerId> {
    use rayon::prelude::*;
    use std::hash::BuildHasher;
    let hasher = foldhash::fast::FixedState::with_seed(0x1D);
    let mut hashed: Vec<(u64, u32)> = ids
        .par_iter()
        .enumerate()
        .map(|(i, id)| (hasher.hash_one(id.as_str()), i as u32))
        .collect();
    hashed.par_sort_unstable();
    let mut duplicates: Vec<u32> = hashed
        .par_windows(2)
        .filter_map(|w| {
            let (a, b) = (&ids[w[0].1 as usize], &ids[w[1].1 as usize]);
            (w[0].0 == w[1].0 && a == b).then_some(w[0].1.max(w[1].1))
        })
        .collect();
    duplicates.sort_unstable();
    duplicates.first().map(|i| &ids[*i as usize])
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
    fn duplicate_ids_are_found_among_many() {
        let mut names: Vec<String> = (0..50_000).map(|i| format!("c{i}")).collect();
        names.push("c31337".into());
        let ids: Vec<CustomerId> = names.iter().map(|n| CustomerId::from(n.as_str())).collect();
        let values = ndarray::Array2::zeros((ids.len(), 1));
        let err = FeatureTable::new(ids, vec!["x".into()], values);
        assert!(matches!(err, Err(CoreError::DuplicateId(i)) if i == "c31337"));
    }

    #[test]
    fn unknown_column_lists_known_ones() {
        let t = FeatureTable::new(ids(&["a"]), vec!["orders".into()], array![[1.0]]).unwrap();
        let err = t.column("spend").unwrap_err().to_string();
        assert!(err.contains("orders"), "{err}");
    }
}
