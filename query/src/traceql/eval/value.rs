//! Comparison and arithmetic on run-time values. TraceQL never fails at
//! run time: a comparison between values of different types, or with a
//! missing attribute, is simply false, and arithmetic that cannot be done
//! yields nil, which then compares false. That is what lets one query run
//! over spans whose attributes vary in type.

use std::cmp::Ordering;

use regex::Regex;

use super::super::ast::BinOp;
use super::super::model::Value;

/// Numeric view of a value: ints stay exact, durations count nanoseconds.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) | Value::Duration(i) => Some(Num::Int(*i)),
        Value::Float(f) => Some(Num::Float(*f)),
        _ => None,
    }
}

fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Int(x), Num::Float(y)) => (x as f64).partial_cmp(&y),
        (Num::Float(x), Num::Int(y)) => x.partial_cmp(&(y as f64)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
    }
}

/// Order of two scalar values when they are comparable at all.
fn order(l: &Value, r: &Value) -> Option<Ordering> {
    match (l, r) {
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Status(a), Value::Status(b)) => Some(a.cmp(b)),
        (Value::Kind(a), Value::Kind(b)) => Some(a.cmp(b)),
        _ => num_cmp(num(l)?, num(r)?),
    }
}

/// `l op r` for a comparison operator; `re` is the compiled regex for
/// `=~`/`!~`. Arrays match if any element matches (`=`, `=~`, `<`, ...)
/// or if no element matches the positive form (`!=`, `!~`).
pub(crate) fn compare(op: BinOp, l: &Value, r: &Value, re: Option<&Regex>) -> bool {
    let negative = matches!(op, BinOp::Ne | BinOp::NotRe);
    if let Value::Array(items) = l {
        let pos = positive(op);
        let any = items.iter().any(|e| compare(pos, e, r, re));
        return if negative {
            !items.is_empty() && !any
        } else {
            any
        };
    }
    if let Value::Array(items) = r {
        let pos = positive(op);
        let any = items.iter().any(|e| compare(pos, l, e, re));
        return if negative {
            !items.is_empty() && !any
        } else {
            any
        };
    }
    if matches!(l, Value::Nil) || matches!(r, Value::Nil) {
        return false;
    }
    match op {
        BinOp::Re | BinOp::NotRe => match (l, re) {
            (Value::Str(s), Some(re)) => re.is_match(s) != (op == BinOp::NotRe),
            _ => false,
        },
        _ => {
            let Some(ord) = order(l, r) else {
                return false;
            };
            let ordered = matches!(
                (l, r),
                (Value::Str(_), _) | (Value::Int(_) | Value::Float(_) | Value::Duration(_), _)
            );
            match op {
                BinOp::Eq => ord == Ordering::Equal,
                BinOp::Ne => ord != Ordering::Equal,
                BinOp::Lt => ordered && ord == Ordering::Less,
                BinOp::Le => ordered && ord != Ordering::Greater,
                BinOp::Gt => ordered && ord == Ordering::Greater,
                BinOp::Ge => ordered && ord != Ordering::Less,
                _ => false,
            }
        }
    }
}

fn positive(op: BinOp) -> BinOp {
    match op {
        BinOp::Ne => BinOp::Eq,
        BinOp::NotRe => BinOp::Re,
        other => other,
    }
}

/// `l op r` for an arithmetic operator; nil when it cannot be computed.
pub(crate) fn arith(op: BinOp, l: &Value, r: &Value) -> Value {
    let (Some(a), Some(b)) = (num(l), num(r)) else {
        return Value::Nil;
    };
    let ld = matches!(l, Value::Duration(_));
    let rd = matches!(r, Value::Duration(_));
    // Durations stay durations, except duration / duration, a ratio.
    let as_duration = (ld || rd) && !(ld && rd && op == BinOp::Div) && op != BinOp::Pow;
    let wrap_int = |i: i64| {
        if as_duration {
            Value::Duration(i)
        } else {
            Value::Int(i)
        }
    };
    let wrap_float = |f: f64| {
        if as_duration {
            if f.is_finite() {
                Value::Duration(f.round() as i64)
            } else {
                Value::Nil
            }
        } else {
            Value::Float(f)
        }
    };
    if let (Num::Int(x), Num::Int(y)) = (a, b) {
        let exact = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::Mod => x.checked_rem(y),
            BinOp::Div if as_duration => x.checked_div(y),
            _ => None,
        };
        if let Some(v) = exact {
            return wrap_int(v);
        }
        if matches!(op, BinOp::Mod | BinOp::Div) && y == 0 {
            return Value::Nil;
        }
    }
    let f = |n: Num| match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    };
    let (x, y) = (f(a), f(b));
    let v = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        BinOp::Mod => x % y,
        BinOp::Pow => x.powf(y),
        _ => return Value::Nil,
    };
    if v.is_nan() {
        return Value::Nil;
    }
    wrap_float(v)
}

/// Numeric value as f64 (durations in nanoseconds).
pub(crate) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) | Value::Duration(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Truthiness of a filter result: only `true` keeps a span.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Array(items) => items.iter().any(truthy),
        _ => false,
    }
}
