//! Go's builtin template functions that inspect values: comparisons with
//! Go's basic-kind rules, `len`, `index`, `slice`, and the argument joining
//! shared by `html`, `js` and `urlquery`.

use crate::printf::sprint;
use crate::value::Value;

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

/// Go's `basicKind` classes; values outside them (nil, lists, maps) share one class.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

/// Go's `eq`: true if `a` equals any of `others`. Mixed kinds are an error
/// unless one side is nil (then simply unequal), so `eq 1 1.0` fails as in Go.
pub(crate) fn eq(a: &Value, others: &[Value]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".to_string());
    }
    for b in others {
        let truth = if kind(a) != kind(b) {
            if !a.is_nil() && !b.is_nil() {
                return Err(BAD_COMPARISON.to_string());
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                _ if a.is_nil() || b.is_nil() => a.is_nil() && b.is_nil(),
                _ => return Err(format!("non-comparable type {b}: {}", b.go_type())),
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn comparable_kind(v: &Value) -> Result<Kind, String> {
    match kind(v) {
        Kind::Other => Err(BAD_COMPARISON_TYPE.to_string()),
        k => Ok(k),
    }
}

/// Go's `lt`: numbers of one kind and strings (byte order) are ordered.
pub(crate) fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (comparable_kind(a)?, comparable_kind(b)?);
    if ka != kb {
        return Err(BAD_COMPARISON.to_string());
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x < y),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::String(x), Value::String(y)) => Ok(x < y),
        _ => Err(BAD_COMPARISON_TYPE.to_string()),
    }
}

/// Go's `le`: `lt` or `eq`.
pub(crate) fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Go's `len`: bytes of a string, elements of a list or map.
pub(crate) fn len(v: &Value) -> Result<i64, String> {
    match v {
        Value::String(s) => Ok(s.len() as i64),
        Value::List(l) => Ok(l.len() as i64),
        Value::Map(m) => Ok(m.len() as i64),
        Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".to_string()),
        other => Err(format!("len of type {}", other.go_type())),
    }
}

/// Go's `indexArg`: an integer index no larger than `cap`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".to_string()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.go_type()
            ));
        }
    };
    match usize::try_from(x) {
        Ok(i) if i <= cap => Ok(i),
        _ => Err(format!("index out of range: {x}")),
    }
}

/// Go's `index`: successive lookups into lists, strings (bytes) and maps.
pub(crate) fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("index of untyped nil".to_string());
    }
    let mut current = item.clone();
    for index in indexes {
        current = match current {
            Value::List(mut items) => {
                let i = index_arg(index, items.len())?;
                if i >= items.len() {
                    return Err("reflect: slice index out of range".to_string());
                }
                items.swap_remove(i)
            }
            Value::String(s) => {
                let i = index_arg(index, s.len())?;
                match s.as_bytes().get(i) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return Err("reflect: string index out of range".to_string()),
                }
            }
            Value::Map(mut map) => match index {
                Value::String(key) => map.remove(key).unwrap_or(Value::String(String::new())),
                Value::Nil => return Err("value is nil; should be of type string".to_string()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.go_type()
                    ));
                }
            },
            Value::Nil => return Err("index of nil pointer".to_string()),
            other => return Err(format!("can't index item of type {}", other.go_type())),
        };
    }
    Ok(current)
}

/// Go's `slice`: `slice x 1 2` is `x[1:2]`; strings slice by bytes.
pub(crate) fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("slice of untyped nil".to_string());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".to_string());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.go_type())),
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => {
            Value::String(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
        }
        Value::List(l) => Value::List(l[idx[0]..idx[1]].to_vec()),
        _ => Value::Nil,
    })
}

/// Go's `evalArgs`: a lone string as is, otherwise `fmt.Sprint` of the
/// arguments with nil shown as `<no value>`.
pub(crate) fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.clone();
    }
    let shown: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil => Value::String("<no value>".to_string()),
            other => other.clone(),
        })
        .collect();
    sprint(&shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_follow_go_kinds() {
        assert_eq!(
            eq(&Value::Int(1), &[Value::Int(2), Value::Int(1)]),
            Ok(true)
        );
        assert_eq!(
            eq(&Value::Int(1), &[Value::Float(1.0)]),
            Err(BAD_COMPARISON.to_string())
        );
        assert_eq!(eq(&Value::from("a"), &[Value::Nil]), Ok(false));
        assert_eq!(eq(&Value::Nil, &[Value::Nil]), Ok(true));
        assert_eq!(
            eq(&Value::Int(1), &[]),
            Err("missing argument for comparison".to_string())
        );
        assert_eq!(lt(&Value::Float(0.5), &Value::Float(0.6)), Ok(true));
        assert_eq!(lt(&Value::from("a"), &Value::from("b")), Ok(true));
        assert_eq!(
            lt(&Value::Float(1.0), &Value::Int(1)),
            Err(BAD_COMPARISON.to_string())
        );
        assert_eq!(
            lt(&Value::Bool(true), &Value::Bool(false)),
            Err(BAD_COMPARISON_TYPE.to_string())
        );
        assert_eq!(
            lt(&Value::Nil, &Value::Int(1)),
            Err(BAD_COMPARISON_TYPE.to_string())
        );
        assert_eq!(le(&Value::Int(2), &Value::Int(2)), Ok(true));
        assert!(eq(&Value::List(vec![]), &[Value::List(vec![])]).is_err());
    }

    #[test]
    fn index_and_slice() {
        let list = Value::List(vec![Value::Int(10), Value::Int(20), Value::Int(30)]);
        assert_eq!(index(&list, &[Value::Int(1)]), Ok(Value::Int(20)));
        assert_eq!(
            index(&list, &[Value::Int(5)]),
            Err("index out of range: 5".to_string())
        );
        assert_eq!(
            index(&list, &[Value::Int(3)]),
            Err("reflect: slice index out of range".to_string())
        );
        assert_eq!(
            index(&list, &[Value::Int(-1)]),
            Err("index out of range: -1".to_string())
        );
        assert_eq!(
            index(&Value::from("abc"), &[Value::Int(1)]),
            Ok(Value::Int(98))
        );
        let mut m = std::collections::BTreeMap::new();
        m.insert("k".to_string(), Value::from("v"));
        let map = Value::Map(m);
        assert_eq!(index(&map, &[Value::from("k")]), Ok(Value::from("v")));
        assert_eq!(index(&map, &[Value::from("x")]), Ok(Value::from("")));
        assert_eq!(
            index(&map, &[Value::Int(1)]),
            Err("value has type int; should be string".to_string())
        );
        assert_eq!(
            index(&Value::Int(1), &[Value::Int(0)]),
            Err("can't index item of type int".to_string())
        );
        assert_eq!(
            slice(&list, &[Value::Int(1)]),
            Ok(Value::List(vec![Value::Int(20), Value::Int(30)]))
        );
        assert_eq!(
            slice(&Value::from("hello"), &[Value::Int(1), Value::Int(3)]),
            Ok(Value::from("el"))
        );
        assert_eq!(
            slice(&list, &[Value::Int(2), Value::Int(1)]),
            Err("invalid slice index: 2 > 1".to_string())
        );
        assert_eq!(
            slice(&Value::from("é"), &[Value::Int(1)]),
            Ok(Value::from("\u{fffd}"))
        );
        assert_eq!(len(&Value::from("é")), Ok(2));
        assert_eq!(len(&Value::Int(3)), Err("len of type int".to_string()));
    }

    #[test]
    fn eval_args_joins_like_go() {
        assert_eq!(eval_args(&[Value::from("<a>")]), "<a>");
        assert_eq!(eval_args(&[Value::Int(1), Value::Int(2)]), "1 2");
        assert_eq!(eval_args(&[Value::Nil]), "<no value>");
    }
}
