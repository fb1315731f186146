//! Values flowing through evaluation. Every expression is evaluated for all
//! steps of the query at once, so a vector holds, per series, one optional
//! point per step.

use super::labels::LabelSet;

/// One series of an instant vector, over all steps.
#[derive(Debug, Clone)]
pub struct Series {
    /// Labels, metric name included until the end of evaluation.
    pub labels: LabelSet,
    /// The metric name is to be removed when evaluation ends (Prometheus 3's
    /// delayed name removal: functions and arithmetic mark, not remove).
    pub drop_name: bool,
    /// The value at each step, if any.
    pub points: Vec<Option<f64>>,
}

impl Series {
    /// A series with no points yet.
    pub fn empty(labels: LabelSet, drop_name: bool, steps: usize) -> Self {
        Self {
            labels,
            drop_name,
            points: vec![None; steps],
        }
    }

    /// True when no step has a point.
    pub fn is_empty(&self) -> bool {
        self.points.iter().all(Option::is_none)
    }
}

/// Raw samples of one series, as a range vector or a subquery yields them.
#[derive(Debug, Clone)]
pub struct RangeSeries {
    /// Labels.
    pub labels: LabelSet,
    /// Whether the metric name is to be dropped.
    pub drop_name: bool,
    /// Timestamps (ms), ascending.
    pub ts: Vec<i64>,
    /// Values.
    pub values: Vec<f64>,
}

/// The result of evaluating an expression.
#[derive(Debug, Clone)]
pub enum Value {
    /// A number per step.
    Scalar(Vec<f64>),
    /// A string.
    String(String),
    /// An instant vector.
    Vector(Vec<Series>),
    /// A range vector (only at the top of an instant query).
    Matrix(Vec<RangeSeries>),
}

impl Value {
    /// Name of the value type, as Prometheus' messages use it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Scalar(_) => "scalar",
            Self::String(_) => "string",
            Self::Vector(_) => "vector",
            Self::Matrix(_) => "matrix",
        }
    }
}

/// A float as Prometheus writes it in results and labels: Go's
/// `strconv.FormatFloat(v, 'f', -1, 64)` (shortest round-trip, never an
/// exponent), with `+Inf`, `-Inf` and `NaN`.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}
