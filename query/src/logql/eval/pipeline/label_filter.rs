//! Label filters (`| status >= 500 and level="error"`) and the matchers
//! `drop`/`keep` share with them.

use hearth_storage::MatchOp;
use regex::Regex;

use super::super::super::ast::{CmpOp, LabelFilter};
use super::PipelineError;
use super::convert;
use super::ip::IpRange;
use super::state::{Labels, is_error_label};

/// The error a failed label-filter conversion sets.
const LABEL_FILTER_ERR: &str = "LabelFilterErr";

/// `= != =~ !~` against a string; regexes anchored.
#[derive(Debug, Clone)]
pub(crate) enum StringMatcher {
    Eq(String),
    Ne(String),
    Re(Regex),
    NotRe(Regex),
}

impl StringMatcher {
    pub(crate) fn new(op: MatchOp, value: &str) -> Result<Self, PipelineError> {
        let anchored = || {
            Regex::new(&format!("^(?s:{value})$")).map_err(|e| PipelineError::Regex {
                regex: value.to_owned(),
                problem: super::regex_problem(&e),
            })
        };
        Ok(match op {
            MatchOp::Equal => Self::Eq(value.to_owned()),
            MatchOp::NotEqual => Self::Ne(value.to_owned()),
            MatchOp::Regex => Self::Re(anchored()?),
            MatchOp::NotRegex => Self::NotRe(anchored()?),
        })
    }

    pub(crate) fn matches(&self, v: &str) -> bool {
        match self {
            Self::Eq(s) => v == s,
            Self::Ne(s) => v != s,
            Self::Re(re) => re.is_match(v),
            Self::NotRe(re) => !re.is_match(v),
        }
    }
}

/// A compiled label filter expression.
#[derive(Debug, Clone)]
pub(crate) enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    String(String, StringMatcher),
    Number(String, CmpOp, f64),
    Duration(String, CmpOp, i64),
    Bytes(String, CmpOp, u64),
    Ip(String, bool, IpRange),
}

fn compare<T: PartialOrd>(op: CmpOp, l: T, r: T) -> bool {
    match op {
        CmpOp::Eq => l == r,
        CmpOp::Ne => l != r,
        CmpOp::Gt => l > r,
        CmpOp::Ge => l >= r,
        CmpOp::Lt => l < r,
        CmpOp::Le => l <= r,
    }
}

impl Filter {
    pub(crate) fn new(f: &LabelFilter) -> Result<Self, PipelineError> {
        Ok(match f {
            LabelFilter::And(a, b) => Self::And(Box::new(Self::new(a)?), Box::new(Self::new(b)?)),
            LabelFilter::Or(a, b) => Self::Or(Box::new(Self::new(a)?), Box::new(Self::new(b)?)),
            LabelFilter::String(m) => {
                Self::String(m.name.clone(), StringMatcher::new(m.op, &m.value)?)
            }
            LabelFilter::Number { label, op, value } => Self::Number(label.clone(), *op, *value),
            LabelFilter::Duration { label, op, nanos } => {
                Self::Duration(label.clone(), *op, *nanos)
            }
            LabelFilter::Bytes { label, op, bytes } => Self::Bytes(label.clone(), *op, *bytes),
            LabelFilter::Ip {
                label,
                negated,
                pattern,
            } => Self::Ip(
                label.clone(),
                *negated,
                IpRange::parse(pattern).map_err(PipelineError::Ip)?,
            ),
        })
    }

    fn label(&self) -> &str {
        match self {
            Self::And(..) | Self::Or(..) => "",
            Self::String(l, _)
            | Self::Number(l, ..)
            | Self::Duration(l, ..)
            | Self::Bytes(l, ..)
            | Self::Ip(l, ..) => l,
        }
    }

    /// Whether the line passes. Once a stage has failed on the line, only
    /// filters on the error labels can drop it, so the error stays
    /// visible; a value that does not convert keeps the line and marks it
    /// with `LabelFilterErr`.
    pub(crate) fn eval(&self, labels: &mut Labels) -> bool {
        match self {
            Self::And(a, b) => a.eval(labels) && b.eval(labels),
            Self::Or(a, b) => a.eval(labels) || b.eval(labels),
            leaf => {
                let name = leaf.label();
                if !is_error_label(name) && labels.has_error() {
                    return true;
                }
                leaf.eval_leaf(labels)
            }
        }
    }

    fn eval_leaf(&self, labels: &mut Labels) -> bool {
        if let Self::String(name, m) = self {
            return m.matches(labels.get(name).unwrap_or(""));
        }
        let Some(value) = labels.get(self.label()) else {
            // A comparison needs a value to compare; no label, no match.
            return matches!(self, Self::Ip(_, true, _));
        };
        let outcome = match self {
            Self::Number(_, op, rhs) => convert::parse_float(value).map(|v| compare(*op, v, *rhs)),
            Self::Duration(_, op, rhs) => {
                convert::parse_duration(value).map(|v| compare(*op, v, *rhs))
            }
            Self::Bytes(_, op, rhs) => convert::parse_bytes(value).map(|v| compare(*op, v, *rhs)),
            Self::Ip(_, negated, range) => Ok(range.contains_text(value) != *negated),
            Self::And(..) | Self::Or(..) | Self::String(..) => Ok(true),
        };
        match outcome {
            Ok(pass) => pass,
            Err(details) => {
                labels.set_error(LABEL_FILTER_ERR, details);
                true
            }
        }
    }
}
