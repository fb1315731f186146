//! The dynamic values templates operate on, with Go's notions of truth and of
//! type names (which appear in Go's error messages).

use std::collections::BTreeMap;
use std::fmt;

use crate::gotime::GoTime;

/// A value flowing through a template: the data handed to `execute`, the
/// results of functions and the literals written in the template.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Go's untyped nil. An action printing it writes `<no value>`.
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// A Go `int`; integer literals in templates produce this.
    Int(i64),
    /// A Go `float64`; alert values and sample values are floats.
    Float(f64),
    /// A string.
    String(String),
    /// A list (Go slice); `range` iterates it in order.
    List(Vec<Value>),
    /// A string-keyed map; `range` iterates it in key order, `.Key` looks keys up.
    Map(BTreeMap<String, Value>),
    /// A Go `time.Time`, which prints as Go's `Time.String` does.
    Time(GoTime),
}

impl Value {
    /// Go's truth: false, zero numbers, nil and empty strings, lists and maps
    /// are false, everything else (NaN included) is true.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            // Structs are always true in Go.
            Value::Time(_) => true,
        }
    }

    /// The name Go gives this value's dynamic type, as used in messages such
    /// as `can't evaluate field X in type float64`.
    pub fn go_type(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Time(_) => "time.Time",
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is Go's untyped nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

/// Formats as Go's `fmt.Sprint` (`%v`) would, e.g. `1.23456789e+08` or `map[a:1]`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::printf::format_value(self))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<GoTime> for Value {
    fn from(v: GoTime) -> Self {
        Value::Time(v)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(v: BTreeMap<String, Value>) -> Self {
        Value::Map(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_follows_go() {
        assert!(!Value::Nil.is_true());
        assert!(!Value::Int(0).is_true());
        assert!(!Value::Float(0.0).is_true());
        assert!(Value::Float(f64::NAN).is_true());
        assert!(!Value::from("").is_true());
        assert!(Value::from("x").is_true());
        assert!(!Value::List(vec![]).is_true());
        assert!(Value::List(vec![Value::Nil]).is_true());
        assert!(!Value::Map(BTreeMap::new()).is_true());
        assert!(Value::from(GoTime::zero()).is_true());
    }

    #[test]
    fn display_is_go_sprint() {
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), Value::Int(2));
        m.insert("a".to_string(), Value::from("x"));
        assert_eq!(Value::Map(m).to_string(), "map[a:x b:2]");
        let l = Value::List(vec![
            Value::Int(1),
            Value::from("a"),
            Value::Float(0.5),
            Value::Nil,
        ]);
        assert_eq!(l.to_string(), "[1 a 0.5 <nil>]");
        assert_eq!(Value::Bool(true).to_string(), "true");
        let t = Value::from(GoTime::from_unix(0, 0));
        assert_eq!(t.to_string(), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(t.go_type(), "time.Time");
    }
}
