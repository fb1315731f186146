//! Hearth's LogQL syntax tree. Everything the evaluator needs is resolved
//! here (escapes, durations in nanoseconds, byte sizes, numeric vs string
//! comparisons), and regexes have been checked, so evaluation never meets
//! a syntax question. Templates and JSON paths stay text: they are checked
//! when the stage is built.

use hearth_storage::MatchOp;

/// A parsed LogQL query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A log query (`{app="a"} |= "x"`): returns streams.
    Log(LogQuery),
    /// A metric query (`rate({app="a"}[5m])`): returns samples.
    Metric(MetricExpr),
}

/// A stream selector and the pipeline its lines go through.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    /// The selector's matchers, at least one of which rejects `""`.
    pub matchers: Vec<LabelMatcher>,
    /// Pipeline stages in order.
    pub pipeline: Vec<Stage>,
}

/// One `name op "value"` matcher of a stream selector, `drop` or `keep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatcher {
    /// Label name.
    pub name: String,
    /// Comparison; regexes are anchored at both ends.
    pub op: MatchOp,
    /// Value or regex as written, escapes resolved.
    pub value: String,
}

/// A pipeline stage.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `|= "a" or "b"`, `!~ "re"`, `|> "<_> x"`, ...
    LineFilter(LineFilter),
    /// `| json` with optional `label="path"` extractions.
    Json(Vec<Extraction>),
    /// `| logfmt [--strict] [--keep-empty]` with optional extractions.
    Logfmt {
        /// `--strict`: a malformed pair is an error instead of skipped.
        strict: bool,
        /// `--keep-empty`: pairs with empty values are kept.
        keep_empty: bool,
        /// Only these labels, if any are given.
        extractions: Vec<Extraction>,
    },
    /// `| regexp "re"`: named groups become labels.
    Regexp(String),
    /// `| pattern "<a> <_>"`: named captures become labels.
    Pattern(String),
    /// `| unpack`: string fields become labels, `_entry` the line.
    Unpack,
    /// `| label op value ...`: keeps lines whose labels pass.
    LabelFilter(LabelFilter),
    /// `| line_format "template"`.
    LineFormat(String),
    /// `| label_format a="template", b=c`.
    LabelFormat(Vec<LabelFormat>),
    /// `| drop a, b="v"`: removes labels (where the value matches).
    Drop(Vec<LabelSelector>),
    /// `| keep a, b="v"`: removes every other label.
    Keep(Vec<LabelSelector>),
    /// `| decolorize`: strips ANSI escape sequences from the line.
    Decolorize,
}

/// A line filter; its operands are alternatives that share the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFilter {
    /// The operator every operand uses.
    pub op: LineFilterOp,
    /// `"a" or "b"`: at least one.
    pub operands: Vec<LineFilterValue>,
}

/// Line filter operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFilterOp {
    /// `|=`: the line contains the text.
    Contains,
    /// `!=`: the line does not contain the text.
    NotContains,
    /// `|~`: an unanchored regex matches somewhere in the line.
    Regex,
    /// `!~`: the regex matches nowhere in the line.
    NotRegex,
    /// `|>`: the line matches a pattern (`<_>` wildcards) as a whole.
    Pattern,
    /// `!>`: the line does not match the pattern.
    NotPattern,
}

/// One line filter operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineFilterValue {
    /// Text, regex or pattern, as the operator reads it.
    Text(String),
    /// `ip("cidr")`: the line contains an address in the range.
    Ip(String),
}

/// A label a parser extracts: `name` or `name="expression"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extraction {
    /// The label to set.
    pub label: String,
    /// Where to read it (a JSON path or logfmt key); `None` means the
    /// label's own name.
    pub expression: Option<String>,
}

/// A boolean expression over labels.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelFilter {
    /// Both hold (`and`, `,` or whitespace).
    And(Box<LabelFilter>, Box<LabelFilter>),
    /// Either holds.
    Or(Box<LabelFilter>, Box<LabelFilter>),
    /// A string comparison: `label = "v"`, `label =~ "re"` (anchored).
    String(LabelMatcher),
    /// A numeric comparison: `status >= 500`.
    Number {
        /// Label name.
        label: String,
        /// Comparison.
        op: CmpOp,
        /// Right-hand side.
        value: f64,
    },
    /// A duration comparison: `took > 250ms`.
    Duration {
        /// Label name.
        label: String,
        /// Comparison.
        op: CmpOp,
        /// Right-hand side in nanoseconds.
        nanos: i64,
    },
    /// A byte-size comparison: `size >= 1KiB`.
    Bytes {
        /// Label name.
        label: String,
        /// Comparison.
        op: CmpOp,
        /// Right-hand side in bytes.
        bytes: u64,
    },
    /// `label = ip("cidr")` or `label != ip("cidr")`.
    Ip {
        /// Label name.
        label: String,
        /// `!=`: the address is outside the range.
        negated: bool,
        /// Address, CIDR or `a-b` range as written.
        pattern: String,
    },
}

/// Numeric comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==` (or `=`)
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

/// One `label_format` assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelFormat {
    /// `dst=src`: renames, removing `src`.
    Rename {
        /// New name.
        dst: String,
        /// Label it is taken from.
        src: String,
    },
    /// `dst="template"`: sets `dst` from a template.
    Template {
        /// Label to set.
        dst: String,
        /// Template text.
        template: String,
    },
}

/// A `drop`/`keep` operand: a label name, optionally with a matcher that
/// limits it to some values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSelector {
    /// Label name.
    pub name: String,
    /// `name op "value"`, if given.
    pub matcher: Option<(MatchOp, String)>,
}

/// A query that returns samples.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricExpr {
    /// `rate({...}[5m])` and the other range aggregations.
    RangeAggregation(Box<RangeAggregation>),
    /// `sum by (a) (...)` and the other vector aggregations.
    VectorAggregation(Box<VectorAggregation>),
    /// `a / b` and the other binary operators.
    Binary(Box<BinaryExpr>),
    /// `-expr` (a negated number is folded into `Literal`).
    Negate(Box<MetricExpr>),
    /// A number.
    Literal(f64),
    /// `vector(n)`: one sample with no labels.
    Vector(f64),
    /// `label_replace(v, "dst", "replacement", "src", "regex")`.
    LabelReplace(Box<LabelReplace>),
}

/// A range aggregation over the lines or unwrapped values of a log query.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeAggregation {
    /// Which aggregation.
    pub op: RangeOp,
    /// `quantile_over_time`'s φ.
    pub param: Option<f64>,
    /// The log query, its range and unwrap.
    pub range: LogRange,
    /// `by (...)`/`without (...)` after the call, where allowed.
    pub grouping: Option<Grouping>,
}

/// A log query over a range window.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRange {
    /// Selector and pipeline.
    pub query: LogQuery,
    /// Window length in nanoseconds: `(t - range, t]`.
    pub range_ns: i64,
    /// `offset` in nanoseconds.
    pub offset_ns: i64,
    /// `| unwrap label` and the label filters after it.
    pub unwrap: Option<Unwrap>,
}

/// `| unwrap [conversion(]label[)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Unwrap {
    /// The label whose value becomes the sample.
    pub label: String,
    /// How the value is read.
    pub conversion: Conversion,
    /// Label filters after the unwrap (`| __error__=""`).
    pub post_filters: Vec<LabelFilter>,
}

/// How an unwrapped value is converted to a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// A plain float.
    Float,
    /// `duration(label)`: a Go duration, in seconds.
    Duration,
    /// `duration_seconds(label)`: the same as `duration`.
    DurationSeconds,
    /// `bytes(label)`: a byte size (`2KB`, `1KiB`).
    Bytes,
}

/// Range aggregation functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    /// `rate`
    Rate,
    /// `rate_counter`
    RateCounter,
    /// `count_over_time`
    CountOverTime,
    /// `bytes_rate`
    BytesRate,
    /// `bytes_over_time`
    BytesOverTime,
    /// `absent_over_time`
    AbsentOverTime,
    /// `sum_over_time`
    SumOverTime,
    /// `avg_over_time`
    AvgOverTime,
    /// `min_over_time`
    MinOverTime,
    /// `max_over_time`
    MaxOverTime,
    /// `stddev_over_time`
    StddevOverTime,
    /// `stdvar_over_time`
    StdvarOverTime,
    /// `quantile_over_time`
    QuantileOverTime,
    /// `first_over_time`
    FirstOverTime,
    /// `last_over_time`
    LastOverTime,
}

/// Every range aggregation, for name lookups.
pub const RANGE_OPS: [RangeOp; 15] = [
    RangeOp::Rate,
    RangeOp::RateCounter,
    RangeOp::CountOverTime,
    RangeOp::BytesRate,
    RangeOp::BytesOverTime,
    RangeOp::AbsentOverTime,
    RangeOp::SumOverTime,
    RangeOp::AvgOverTime,
    RangeOp::MinOverTime,
    RangeOp::MaxOverTime,
    RangeOp::StddevOverTime,
    RangeOp::StdvarOverTime,
    RangeOp::QuantileOverTime,
    RangeOp::FirstOverTime,
    RangeOp::LastOverTime,
];

impl RangeOp {
    /// The function's name.
    pub fn name(self) -> &'static str {
        match self {
            RangeOp::Rate => "rate",
            RangeOp::RateCounter => "rate_counter",
            RangeOp::CountOverTime => "count_over_time",
            RangeOp::BytesRate => "bytes_rate",
            RangeOp::BytesOverTime => "bytes_over_time",
            RangeOp::AbsentOverTime => "absent_over_time",
            RangeOp::SumOverTime => "sum_over_time",
            RangeOp::AvgOverTime => "avg_over_time",
            RangeOp::MinOverTime => "min_over_time",
            RangeOp::MaxOverTime => "max_over_time",
            RangeOp::StddevOverTime => "stddev_over_time",
            RangeOp::StdvarOverTime => "stdvar_over_time",
            RangeOp::QuantileOverTime => "quantile_over_time",
            RangeOp::FirstOverTime => "first_over_time",
            RangeOp::LastOverTime => "last_over_time",
        }
    }

    /// The aggregation called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        RANGE_OPS.into_iter().find(|op| op.name() == name)
    }
}

/// `by (...)` or `without (...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// `without`: group by every label except these.
    pub without: bool,
    /// The labels; may be empty (`by ()`).
    pub labels: Vec<String>,
}

/// A vector aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorAggregation {
    /// Which aggregation.
    pub op: VectorOp,
    /// `k` of `topk`, `bottomk` and `approx_topk`.
    pub param: Option<i64>,
    /// Grouping, wherever it was written.
    pub grouping: Option<Grouping>,
    /// The aggregated expression.
    pub expr: MetricExpr,
}

/// Vector aggregation operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `count`
    Count,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `topk`
    Topk,
    /// `bottomk`
    Bottomk,
    /// `approx_topk` (Loki's probabilistic `topk`).
    ApproxTopk,
    /// `sort`
    Sort,
    /// `sort_desc`
    SortDesc,
}

/// Every vector aggregation, for name lookups.
pub const VECTOR_OPS: [VectorOp; 12] = [
    VectorOp::Sum,
    VectorOp::Avg,
    VectorOp::Min,
    VectorOp::Max,
    VectorOp::Count,
    VectorOp::Stddev,
    VectorOp::Stdvar,
    VectorOp::Topk,
    VectorOp::Bottomk,
    VectorOp::ApproxTopk,
    VectorOp::Sort,
    VectorOp::SortDesc,
];

impl VectorOp {
    /// The operator's name.
    pub fn name(self) -> &'static str {
        match self {
            VectorOp::Sum => "sum",
            VectorOp::Avg => "avg",
            VectorOp::Min => "min",
            VectorOp::Max => "max",
            VectorOp::Count => "count",
            VectorOp::Stddev => "stddev",
            VectorOp::Stdvar => "stdvar",
            VectorOp::Topk => "topk",
            VectorOp::Bottomk => "bottomk",
            VectorOp::ApproxTopk => "approx_topk",
            VectorOp::Sort => "sort",
            VectorOp::SortDesc => "sort_desc",
        }
    }

    /// The operator called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        VECTOR_OPS.into_iter().find(|op| op.name() == name)
    }

    /// Whether the operator takes a `k` parameter.
    pub fn takes_param(self) -> bool {
        matches!(
            self,
            VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk
        )
    }
}

/// A binary operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExpr {
    /// The operator.
    pub op: BinOp,
    /// `bool` on a comparison: return 0/1 instead of filtering.
    pub return_bool: bool,
    /// `on`/`ignoring` and `group_left`/`group_right`.
    pub matching: Option<VectorMatching>,
    /// Left operand.
    pub lhs: MetricExpr,
    /// Right operand.
    pub rhs: MetricExpr,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
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
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
        }
    }

    /// Binding strength as in PromQL: `or` lowest, `^` highest.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 5,
            BinOp::Pow => 6,
        }
    }

    /// `^` groups to the right; everything else to the left.
    pub fn right_assoc(self) -> bool {
        self == BinOp::Pow
    }

    /// A comparison (takes `bool`).
    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }

    /// `and`, `or`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
}

/// How the two sides of a vector/vector operation are matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorMatching {
    /// `on (labels)`; otherwise `ignoring (labels)`.
    pub on: bool,
    /// The `on`/`ignoring` labels.
    pub labels: Vec<String>,
    /// `group_left`/`group_right` with their extra labels.
    pub group: Option<GroupSide>,
}

/// Many-to-one matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupSide {
    /// `group_left (labels)`: the left side has many.
    Left(Vec<String>),
    /// `group_right (labels)`: the right side has many.
    Right(Vec<String>),
}

/// `label_replace(expr, "dst", "replacement", "src", "regex")`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelReplace {
    /// The input vector.
    pub expr: MetricExpr,
    /// Label to write.
    pub dst: String,
    /// Replacement with `$1`-style references.
    pub replacement: String,
    /// Label to read.
    pub src: String,
    /// Regex matched (anchored) against `src`.
    pub regex: String,
}
