//! Loki's template function table: Go's `strings` functions under their
//! old capitalised names, the Sprig functions Loki exposes (argument order
//! as in Sprig: the subject string comes last, so pipelines work), and
//! Loki's own (`__line__`, `__timestamp__`, `count`, `bytes`, `duration`,
//! `unixToTime`, `alignLeft`, …). Go's builtins come from the engine.

use hearth_template::regexp::{count_matches, replace_all_compiled, replace_all_literal};
use hearth_template::strings::{title, to_lower, to_upper};
use hearth_template::url::{query_escape, query_unescape};
use hearth_template::{CustomParam, FuncSet, GoTime, Param, Signature, Value};

use super::RegexCache;
use super::{numbers, strs, times};

/// Go's `time.Time` as a parameter: only time values, never nil.
pub(super) const TIME: Param = Param::Custom(CustomParam {
    go_type: "time.Time",
    accepts: |v| matches!(v, Value::Time(_)),
    nil_ok: false,
});

/// The signature of a Loki template function, `None` for other names.
fn signature(name: &str) -> Option<Signature> {
    use Param::{Any, Float, Int, Str};
    let sig = Signature::new;
    Some(match name {
        "__line__" | "__timestamp__" | "now" => sig(&[], None),
        "ToLower" | "ToUpper" | "TrimSpace" | "lower" | "upper" | "title" | "trim"
        | "urlencode" | "urldecode" | "b64enc" | "b64dec" | "bytes" | "duration"
        | "duration_seconds" | "fromJson" | "unixToTime" => sig(&[Str], None),
        "Replace" => sig(&[Str, Str, Str, Int], None),
        "Trim" | "TrimLeft" | "TrimRight" | "TrimPrefix" | "TrimSuffix" | "trimAll"
        | "trimPrefix" | "trimSuffix" | "contains" | "hasPrefix" | "hasSuffix" | "count"
        | "toDate" => sig(&[Str, Str], None),
        "regexReplaceAll" | "regexReplaceAllLiteral" | "replace" | "toDateInZone" => {
            sig(&[Str, Str, Str], None)
        }
        "trunc" | "indent" | "nindent" | "repeat" | "alignLeft" | "alignRight" => {
            sig(&[Int, Str], None)
        }
        "substr" => sig(&[Int, Int, Str], None),
        "default" => sig(&[Any], Some(Any)),
        "date" => sig(&[Str, Any], None),
        "unixEpoch" | "unixEpochMillis" | "unixEpochNanos" => sig(&[TIME], None),
        "int" | "float64" | "ceil" | "floor" => sig(&[Any], None),
        "add" | "addf" => sig(&[], Some(Any)),
        "sub" | "div" | "mod" => sig(&[Any, Any], None),
        "mul" | "max" | "min" | "subf" | "mulf" | "divf" | "maxf" | "minf" => {
            sig(&[Any], Some(Any))
        }
        "round" => sig(&[Any, Int], Some(Float)),
        _ => return None,
    })
}

/// Loki's functions for one entry: the line and timestamp that
/// `__line__` and `__timestamp__` return.
pub(super) struct LokiFuncs<'a> {
    pub(super) line: &'a str,
    pub(super) ts_ns: i64,
    pub(super) regexes: &'a RegexCache,
}

static NO_REGEXES: std::sync::LazyLock<RegexCache> = std::sync::LazyLock::new(RegexCache::default);

impl LokiFuncs<'static> {
    /// A table for parsing, which looks at signatures only.
    pub(super) fn for_parsing() -> Self {
        LokiFuncs {
            line: "",
            ts_ns: 0,
            regexes: &NO_REGEXES,
        }
    }
}

static NIL: Value = Value::Nil;

impl FuncSet for LokiFuncs<'_> {
    fn signature(&self, name: &str) -> Option<Signature> {
        signature(name)
    }

    fn call(&self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        let arg = |i: usize| args.get(i).unwrap_or(&NIL);
        let text = |i: usize| arg(i).as_str().unwrap_or("");
        let int = |i: usize| match arg(i) {
            Value::Int(n) => *n,
            _ => 0,
        };
        let string = |s: String| Ok(Value::String(s));
        let boolean = |b: bool| Ok(Value::Bool(b));
        let rest = args.get(1..).unwrap_or(&[]);
        match name {
            "__line__" => string(self.line.to_string()),
            "__timestamp__" => Ok(Value::Time(GoTime::from_unix_nanos(self.ts_ns))),
            "ToLower" | "lower" => string(to_lower(text(0))),
            "ToUpper" | "upper" => string(to_upper(text(0))),
            "title" => string(title(text(0))),
            "Replace" => string(strs::replace_n(text(0), text(1), text(2), int(3))),
            "replace" => string(strs::replace_n(text(2), text(0), text(1), -1)),
            "Trim" => string(strs::trim_cutset(text(0), text(1), true, true)),
            "TrimLeft" => string(strs::trim_cutset(text(0), text(1), true, false)),
            "TrimRight" => string(strs::trim_cutset(text(0), text(1), false, true)),
            "trimAll" => string(strs::trim_cutset(text(1), text(0), true, true)),
            "TrimPrefix" => string(strs::trim_prefix(text(0), text(1))),
            "TrimSuffix" => string(strs::trim_suffix(text(0), text(1))),
            "trimPrefix" => string(strs::trim_prefix(text(1), text(0))),
            "trimSuffix" => string(strs::trim_suffix(text(1), text(0))),
            "TrimSpace" | "trim" => string(text(0).trim().to_string()),
            "contains" => boolean(text(1).contains(text(0))),
            "hasPrefix" => boolean(text(1).starts_with(text(0))),
            "hasSuffix" => boolean(text(1).ends_with(text(0))),
            "trunc" => string(strs::trunc(int(0), text(1))),
            "substr" => strs::substr(int(0), int(1), text(2)).map(Value::String),
            "indent" => strs::indent(int(0), text(1), false).map(Value::String),
            "nindent" => strs::indent(int(0), text(1), true).map(Value::String),
            "repeat" => strs::repeat(int(0), text(1)).map(Value::String),
            "alignLeft" => string(strs::align(int(0), text(1), true)),
            "alignRight" => string(strs::align(int(0), text(1), false)),
            "regexReplaceAll" => {
                let re = self.regexes.get(text(0))?;
                string(replace_all_compiled(&re, text(2), text(1)))
            }
            "regexReplaceAllLiteral" => {
                let re = self.regexes.get(text(0))?;
                string(replace_all_literal(&re, text(2), text(1)))
            }
            "count" => {
                let re = self.regexes.get(text(0))?;
                Ok(Value::Int(
                    i64::try_from(count_matches(&re, text(1))).unwrap_or(i64::MAX),
                ))
            }
            "urlencode" => string(query_escape(text(0))),
            "urldecode" => query_unescape(text(0)).map(Value::String),
            "b64enc" => string(strs::b64_encode(text(0).as_bytes())),
            "b64dec" => string(strs::b64_decode(text(0))),
            "default" => Ok(match rest.first() {
                Some(given) if given.is_true() => given.clone(),
                _ => arg(0).clone(),
            }),
            "fromJson" => Ok(strs::from_json(text(0))),
            "bytes" => numbers::parse_bytes(text(0)).map(Value::Float),
            "duration" | "duration_seconds" => {
                numbers::parse_duration_seconds(text(0)).map(Value::Float)
            }
            "now" => Ok(Value::Time(GoTime::now())),
            "date" => string(times::date(text(0), arg(1))),
            "toDate" => Ok(Value::Time(times::to_date(text(0), text(1), "Local"))),
            "toDateInZone" => Ok(Value::Time(times::to_date(text(0), text(2), text(1)))),
            "unixToTime" => times::unix_to_time(text(0)).map(Value::Time),
            "unixEpoch" | "unixEpochMillis" | "unixEpochNanos" => {
                let Value::Time(t) = arg(0) else {
                    return Err("expected a time.Time".to_string());
                };
                string(times::epoch(name, t))
            }
            _ => numbers::call(name, &args),
        }
    }
}
