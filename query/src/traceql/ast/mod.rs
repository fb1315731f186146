//! The TraceQL syntax tree. It keeps what the user wrote where that
//! changes how results are labelled (`span:name` vs `name`, the order of
//! `by()` fields), so printing a tree (see `display.rs`) gives back an
//! equivalent query and labels match what Tempo shows. Parentheses are not
//! stored: the printer adds them where precedence needs them.

/// A whole query: a spanset or metrics body plus trailing `with(...)` hints.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// What the query computes.
    pub body: QueryBody,
    /// Hints from a trailing `with(key=value, ...)`, in written order.
    pub hints: Vec<Hint>,
}

impl Query {
    /// True for `with(most_recent=true)`: the caller should return the
    /// newest traces rather than the first found.
    pub fn most_recent(&self) -> bool {
        self.hint("most_recent") == Some(&Literal::Bool(true))
    }

    /// The `sample` hint: `Some(None)` for `sample=true` (let the engine
    /// choose), `Some(Some(f))` for a fraction, `None` when absent or false.
    pub fn sample(&self) -> Option<Option<f64>> {
        match self.hint("sample")? {
            Literal::Bool(true) => Some(None),
            Literal::Float(f) => Some(Some(*f)),
            Literal::Int(i) => Some(Some(*i as f64)),
            _ => None,
        }
    }

    /// The value of the last hint called `key`.
    pub fn hint(&self, key: &str) -> Option<&Literal> {
        self.hints
            .iter()
            .rev()
            .find(|h| h.key == key)
            .map(|h| &h.value)
    }

    /// True when the query produces time series rather than spansets.
    pub fn is_metrics(&self) -> bool {
        matches!(self.body, QueryBody::Metrics(_))
    }
}

/// The two kinds of query.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryBody {
    /// Returns spansets (the search API).
    Spans(SpansetExpr),
    /// Returns time series (the metrics API).
    Metrics(MetricsExpr),
}

/// One `key=value` hint.
#[derive(Debug, Clone, PartialEq)]
pub struct Hint {
    /// Hint name, e.g. `most_recent`.
    pub key: String,
    /// Hint value.
    pub value: Literal,
}

/// An expression producing spansets.
#[derive(Debug, Clone, PartialEq)]
pub enum SpansetExpr {
    /// `{}` (`None`) or `{ cond }`.
    Filter(Option<Expr>),
    /// Two spanset expressions joined by a spanset operator.
    Binary {
        /// The operator.
        op: SpansetOp,
        /// Left operand.
        lhs: Box<SpansetExpr>,
        /// Right operand.
        rhs: Box<SpansetExpr>,
    },
    /// `source | stage | stage ...`.
    Pipeline {
        /// The spansets the stages run on.
        source: Box<SpansetExpr>,
        /// The stages, in order; never empty.
        stages: Vec<Stage>,
    },
}

/// Operators between spansets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpansetOp {
    /// `&&`: both sides match in the trace; spans of both are kept.
    And,
    /// `||`: either side matches.
    Or,
    /// A structural relation, see [`Relation`].
    Structural {
        /// Which relation between a left span and a right span.
        rel: Relation,
        /// The `!` form: right spans with no such left span.
        negated: bool,
        /// The `&` form: the matching spans of both sides.
        union: bool,
    },
}

/// How a right-hand span relates to a left-hand span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `>`: the right span is a direct child of a left span.
    Child,
    /// `<`: the right span is the parent of a left span.
    Parent,
    /// `>>`: the right span is a descendant of a left span.
    Descendant,
    /// `<<`: the right span is an ancestor of a left span.
    Ancestor,
    /// `~`: the right span is a sibling of a left span.
    Sibling,
}

/// One pipeline stage.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `| { cond }`: keep the spans of each spanset that match.
    Filter(Option<Expr>),
    /// `| count() > 2` and friends: keep the spansets for which the
    /// aggregate condition holds.
    Scalar(Expr),
    /// `| by(f, ...)`: regroup each spanset by the values of the fields.
    By(Vec<Expr>),
    /// `| coalesce()`: merge all spansets of a trace into one.
    Coalesce,
    /// `| select(f, ...)`: attach these fields to the returned spans.
    Select(Vec<Expr>),
}

/// A field or scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value.
    Lit(Literal),
    /// An attribute reference.
    Attr(Attribute),
    /// An intrinsic field.
    Intrinsic(Intrinsic),
    /// An aggregate over a spanset (only inside scalar filter stages).
    Agg {
        /// Which aggregate.
        func: AggFunc,
        /// Its argument; `None` only for `count()`.
        arg: Option<Box<Expr>>,
    },
    /// `!e` or `-e`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `lhs op rhs`.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `!`
    Not,
    /// `-`
    Neg,
}

/// Binary operators in field and scalar expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=~` (fully anchored)
    Re,
    /// `!~` (fully anchored)
    NotRe,
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
}

impl BinOp {
    /// Binding strength; higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq
            | BinOp::Ne
            | BinOp::Lt
            | BinOp::Le
            | BinOp::Gt
            | BinOp::Ge
            | BinOp::Re
            | BinOp::NotRe => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 5,
            BinOp::Pow => 6,
        }
    }

    /// `^` groups to the right; everything else to the left.
    pub fn right_assoc(self) -> bool {
        self == BinOp::Pow
    }

    /// True for `= != < <= > >= =~ !~`.
    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }

    /// True for `+ - * / % ^`.
    pub fn is_arithmetic(self) -> bool {
        self.precedence() >= 4
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Re => "=~",
            BinOp::NotRe => "!~",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
        }
    }
}

/// Aggregates usable in scalar filter stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count()`
    Count,
    /// `avg(f)`
    Avg,
    /// `min(f)`
    Min,
    /// `max(f)`
    Max,
    /// `sum(f)`
    Sum,
}

impl AggFunc {
    /// The function name as written.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Sum => "sum",
        }
    }
}

/// Literal values.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `"text"` or `` `raw` ``.
    Str(String),
    /// `42`
    Int(i64),
    /// `1.5`
    Float(f64),
    /// `true` / `false`
    Bool(bool),
    /// `nil`
    Nil,
    /// `1.5s`, in nanoseconds.
    Duration(i64),
    /// `ok`, `error`, `unset`
    Status(StatusCode),
    /// `server`, `client`, ...
    Kind(SpanKind),
}

/// Span status, as in OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusCode {
    /// Not set.
    Unset,
    /// OK.
    Ok,
    /// Error.
    Error,
}

impl StatusCode {
    /// The TraceQL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

/// Span kind, as in OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpanKind {
    /// Unspecified.
    Unspecified,
    /// Internal.
    Internal,
    /// Server.
    Server,
    /// Client.
    Client,
    /// Producer.
    Producer,
    /// Consumer.
    Consumer,
}

impl SpanKind {
    /// The TraceQL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

mod fields;
mod metrics;

pub use fields::*;
pub use metrics::*;
