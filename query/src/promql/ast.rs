//! Hearth's own PromQL syntax tree. The parser crate's tree is converted into
//! this one (`parse.rs`), so the parser can be replaced without touching the
//! evaluator, and so every selector carries an id its data is fetched under.

use hearth_storage::Matcher;

/// A parsed PromQL expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A number literal.
    Number(f64),
    /// A string literal.
    String(String),
    /// An instant vector selector.
    Selector(Box<Selector>),
    /// A range vector selector: `selector[range]`.
    Range(Box<RangeSelector>),
    /// `expr[range:step]`.
    Subquery(Box<Subquery>),
    /// A function call.
    Call(Box<Call>),
    /// An aggregation such as `sum by (job) (x)`.
    Aggregate(Box<Aggregate>),
    /// A binary operation.
    Binary(Box<Binary>),
    /// Unary minus.
    Negate(Box<Expr>),
    /// Parentheses (kept for printing; transparent to evaluation).
    Paren(Box<Expr>),
}

/// What an expression evaluates to, used for argument checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A number per step.
    Scalar,
    /// A string.
    String,
    /// An instant vector.
    Vector,
    /// A range vector.
    Matrix,
}

/// The `@` modifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    /// `@ <unix seconds>`, stored in milliseconds.
    Time(i64),
    /// `@ start()`.
    Start,
    /// `@ end()`.
    End,
}

/// An instant vector selector.
#[derive(Debug, Clone)]
pub struct Selector {
    /// Index into the query's preloaded data.
    pub id: usize,
    /// Alternatives of matcher sets (`a or b` inside braces); usually one.
    pub matcher_sets: Vec<Vec<Matcher>>,
    /// The selector as written, for messages.
    pub text: String,
    /// `offset` in milliseconds (negative for `offset -5m`).
    pub offset_ms: i64,
    /// The `@` modifier.
    pub at: Option<At>,
}

/// A range vector selector.
#[derive(Debug, Clone)]
pub struct RangeSelector {
    /// The underlying selector.
    pub selector: Selector,
    /// Range in milliseconds.
    pub range_ms: i64,
}

/// A subquery.
#[derive(Debug, Clone)]
pub struct Subquery {
    /// The inner expression.
    pub expr: Expr,
    /// Range in milliseconds.
    pub range_ms: i64,
    /// Resolution in milliseconds, or `None` for the default.
    pub step_ms: Option<i64>,
    /// `offset` in milliseconds.
    pub offset_ms: i64,
    /// The `@` modifier.
    pub at: Option<At>,
}

/// A function call.
#[derive(Debug, Clone)]
pub struct Call {
    /// Function name.
    pub name: String,
    /// Arguments.
    pub args: Vec<Expr>,
}

/// Aggregation operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `count`
    Count,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `group`
    Group,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `topk`
    Topk,
    /// `bottomk`
    Bottomk,
    /// `quantile`
    Quantile,
    /// `count_values`
    CountValues,
    /// `limitk`
    Limitk,
    /// `limit_ratio`
    LimitRatio,
}

/// `by (...)` or `without (...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// Keep only these labels.
    By(Vec<String>),
    /// Drop these labels (and the metric name).
    Without(Vec<String>),
}

/// An aggregation.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// Operator.
    pub op: AggregateOp,
    /// The aggregated expression.
    pub expr: Expr,
    /// Parameter (`k`, `q` or the label name).
    pub param: Option<Expr>,
    /// Grouping; `None` aggregates everything into one group.
    pub grouping: Option<Grouping>,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `atan2`
    Atan2,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinaryOp {
    /// `==`, `!=`, `>`, `<`, `>=`, `<=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            Self::Eq | Self::Ne | Self::Gt | Self::Lt | Self::Ge | Self::Le
        )
    }

    /// `and`, `or`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, Self::And | Self::Or | Self::Unless)
    }
}

/// Which side of a many-to-one match has many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cardinality {
    /// Plain one-to-one.
    OneToOne,
    /// `group_left(labels)`.
    ManyToOne(Vec<String>),
    /// `group_right(labels)`.
    OneToMany(Vec<String>),
    /// Set operators.
    ManyToMany,
}

/// `on (...)` / `ignoring (...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matching {
    /// Match on exactly these labels.
    On(Vec<String>),
    /// Match on all labels but these (and the metric name).
    Ignoring(Vec<String>),
}

/// A binary operation.
#[derive(Debug, Clone)]
pub struct Binary {
    /// Operator.
    pub op: BinaryOp,
    /// Left operand.
    pub lhs: Expr,
    /// Right operand.
    pub rhs: Expr,
    /// `bool` after a comparison.
    pub return_bool: bool,
    /// Label matching for vector/vector operations.
    pub matching: Option<Matching>,
    /// Cardinality for vector/vector operations.
    pub card: Cardinality,
    /// `fill_left(v)`: value for a missing left-hand side.
    pub fill_lhs: Option<f64>,
    /// `fill_right(v)`: value for a missing right-hand side.
    pub fill_rhs: Option<f64>,
}

impl Expr {
    /// The kind of value the expression yields.
    pub fn kind(&self) -> ValueKind {
        match self {
            Self::Number(_) => ValueKind::Scalar,
            Self::String(_) => ValueKind::String,
            Self::Selector(_) | Self::Aggregate(_) => ValueKind::Vector,
            Self::Range(_) | Self::Subquery(_) => ValueKind::Matrix,
            Self::Call(c) => crate::promql::functions::return_kind(&c.name),
            Self::Binary(b) => {
                if b.lhs.kind() == ValueKind::Scalar && b.rhs.kind() == ValueKind::Scalar {
                    ValueKind::Scalar
                } else {
                    ValueKind::Vector
                }
            }
            Self::Negate(e) | Self::Paren(e) => e.kind(),
        }
    }

    /// Strips parentheses.
    pub fn unparen(&self) -> &Expr {
        match self {
            Self::Paren(e) => e.unparen(),
            other => other,
        }
    }
}
