/// Why a clustering cannot be fitted. One validation rule, one variant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// k must be at least 1.
    #[error("k must be at least 1")]
    ZeroClusters,
    /// k is written as one number or an inclusive range.
    #[error("k = {0:?}: expected a number like 8 or a non-empty range like 2..16")]
    BadK(String),
    /// A comparison needs at least one timed fit per setting.
    #[error("repeats must be at least 1")]
    ZeroRepeats,
    /// A setting of a comparison failed.
    #[error("{setting}: {source}")]
    InSetting {
        /// The setting.
        setting: String,
        /// Why it failed.
        source: Box<ClusterError>,
    },
    /// No customer has a value in every clustered column.
    #[error("no customer has a value in every clustered column ({0})")]
    NoCompleteCustomer(String),
    /// At least one iteration is needed.
    #[error("max_iter must be at least 1")]
    ZeroIterations,
    /// At least one restart is needed.
    #[error("n_init must be at least 1")]
    ZeroRestarts,
    /// The tolerance must be a non-negative number.
    #[error("tol must be a non-negative number (got {0})")]
    BadTolerance(f64),
    /// linfa-clustering's backend failed.
    #[error("linfa-clustering: {0}")]
    Linfa(String),
    /// A mini-batch needs at least one point.
    #[error("batch_size must be at least 1")]
    ZeroBatchSize,
    /// `init = sample` draws customers by id, which a bare matrix does not have.
    #[error(
        "init = sample draws its customers by id; it fits through a clustering of a feature table (lookalike cluster, train), not on a bare matrix"
    )]
    SampleNeedsCustomers,
    /// A setting that fitting in parts cannot honour.
    #[error("k-means on a base in parts: {0}")]
    NotInParts(String),
    /// Parts of one base that do not agree (columns, or what they were asked).
    #[error("the parts of the base differ: {0}")]
    PartsDiffer(String),
    /// There is nothing to cluster.
    #[error("the data has no rows (or no columns)")]
    EmptyInput,
    /// A value is NaN or infinite.
    #[error("row {row}, column {column}: {value} is not a finite number")]
    NonFinite {
        /// 0-based row.
        row: usize,
        /// 0-based column.
        column: usize,
        /// The value.
        value: f64,
    },
    /// Fewer distinct points than clusters.
    #[error("k = {k} but the data has only {distinct} distinct points")]
    TooFewDistinctPoints {
        /// Clusters asked for.
        k: usize,
        /// Distinct points found.
        distinct: usize,
    },
    /// The sample weights do not fit the data.
    #[error("sample weights: {0}")]
    BadWeights(String),
    /// Initial centroids of the wrong shape were given.
    #[error("initial centroids are {got:?} (rows × columns), expected {expected:?}")]
    BadInitialCentroids {
        /// Their shape.
        got: (usize, usize),
        /// k × the data's columns.
        expected: (usize, usize),
    },
    /// No feature column was selected.
    #[error("no columns were selected for clustering")]
    NoColumns,
    /// A per-column option (log1p, weight) names a column that is not clustered.
    #[error(
        "{name:?} is given a transform or weight but is not one of the clustered columns ({clustered}); add it to the columns or drop the option"
    )]
    NotClustered {
        /// The column named.
        name: String,
        /// The clustered columns.
        clustered: String,
    },
    /// A selected column is not in the feature table.
    #[error("no column {name:?} in the features; known columns: {known}")]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// The table's columns.
        known: String,
    },
    /// A selected column has a missing value: clustering needs every value.
    #[error(
        "customer {customer:?} has no value for {column:?}; choose columns without missing values (see the schema) or fill them first"
    )]
    MissingFeature {
        /// The customer.
        customer: String,
        /// The column.
        column: String,
    },
    /// Standard scaling divides by the standard deviation, which is 0 for a constant column.
    #[error("column {0:?} is constant: standard scaling would divide by 0; leave it out")]
    ConstantColumn(String),
    /// Robust scaling divides by the interquartile range, which is 0 here.
    #[error(
        "column {0:?} has an interquartile range of 0 (over half its values are equal): robust scaling would divide by 0; use standard scaling or leave it out"
    )]
    ZeroInterquartileRange(String),
    /// log1p needs values above −1.
    #[error("column {column:?}, customer {customer:?}: log1p needs values > -1, got {value}")]
    NegativeForLog {
        /// The column.
        column: String,
        /// The customer.
        customer: String,
        /// The value.
        value: f64,
    },
    /// A column weight must be a positive number.
    #[error("column weight for {column:?} must be a positive number, got {weight}")]
    BadColumnWeight {
        /// The column.
        column: String,
        /// The weight given.
        weight: f64,
    },
    /// Two labelings of different lengths were compared.
    #[error("the labelings have {0} and {1} labels")]
    LabelLengthMismatch(usize, usize),
    /// A neighbour search needs k ≥ 1.
    #[error("k (neighbours) must be at least 1")]
    ZeroNeighbours,
    /// Fewer points than neighbours asked for.
    #[error("k = {k} neighbours asked for but there are only {points} points")]
    TooFewPoints {
        /// Neighbours asked for.
        k: usize,
        /// Points given.
        points: usize,
    },
    /// Queries and points have different numbers of columns.
    #[error("the queries have {got} columns, the points {expected}")]
    DimensionMismatch {
        /// Columns of the points.
        expected: usize,
        /// Columns of the queries.
        got: usize,
    },
    /// Neighbour indices are 32-bit.
    #[error("{0} points: a neighbour search takes at most 4,294,967,295")]
    TooManyPoints(usize),
    /// A named choice (scaling, init, algorithm …) that is not one of the known ones.
    #[error("{what} {given:?}: expected {expected}")]
    UnknownChoice {
        /// What was being chosen.
        what: &'static str,
        /// The text given.
        given: String,
        /// The known names.
        expected: &'static str,
    },
    /// A stored scaler list with a length other than its number of columns.
    #[error("scaling.{field} has {got} values for {expected} columns")]
    ScalerLength {
        /// The list.
        field: &'static str,
        /// Values stored.
        got: usize,
        /// Columns.
        expected: usize,
    },
    /// A stored scaler centre that is not a finite number.
    #[error("scaling.center of column {column:?} is {value}: it must be a finite number")]
    BadCenter {
        /// The column.
        column: String,
        /// The value stored.
        value: f64,
    },
    /// A stored scaler spread that is not a positive finite number (0 would put every customer
    /// at an infinite distance).
    #[error("scaling.spread of column {column:?} is {value}: it must be a positive finite number")]
    BadSpread {
        /// The column.
        column: String,
        /// The value stored.
        value: f64,
    },
    /// Stored centroids that are empty, of the wrong width or not finite.
    #[error("centroids: {0}")]
    BadCentroids(String),
}
