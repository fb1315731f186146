//! Prometheus' template functions, each with the parameter types Go checks
//! before the call, plus the functions that work on query samples. Go's
//! builtins come from the engine.

use std::collections::BTreeMap;

use hearth_template::regexp;
use hearth_template::strings;
use hearth_template::{CustomParam, FuncSet, Param, Signature, Value};

use super::Host;
use super::humanize;
use super::netutil;

/// Prometheus' `*sample`: a map with `Labels` and `Value`, or nil.
const SAMPLE: Param = Param::Custom(CustomParam {
    go_type: "*template.sample",
    accepts: |v| matches!(v, Value::Map(_) | Value::Nil),
    nil_ok: true,
});

/// Prometheus' `queryResult`: a list of samples, or nil.
const VECTOR: Param = Param::Custom(CustomParam {
    go_type: "template.queryResult",
    accepts: |v| matches!(v, Value::List(_) | Value::Nil),
    nil_ok: true,
});

/// The signature of a Prometheus function, `None` for other names.
pub(super) fn signature(name: &str) -> Option<Signature> {
    use Param::{Any, Str};
    let sig = Signature::new;
    Some(match name {
        "args" => sig(&[], Some(Any)),
        "query" | "safeHtml" | "title" | "toUpper" | "toLower" | "graphLink" | "tableLink"
        | "parseDuration" | "stripPort" | "stripDomain" => sig(&[Str], None),
        "first" => sig(&[VECTOR], None),
        "label" => sig(&[Str, SAMPLE], None),
        "value" | "strvalue" => sig(&[SAMPLE], None),
        "reReplaceAll" => sig(&[Str, Str, Str], None),
        "match" => sig(&[Str, Str], None),
        "sortByLabel" => sig(&[Str, VECTOR], None),
        "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage"
        | "humanizeTimestamp" | "toTime" | "toDuration" => sig(&[Any], None),
        "pathPrefix" | "externalURL" => sig(&[], None),
        _ => return None,
    })
}

/// Whether `name` may be called: a Prometheus function or a Go builtin.
#[cfg(test)]
fn is_defined(name: &str) -> bool {
    signature(name).is_some() || hearth_template::builtin_signature(name).is_some()
}

/// Prometheus' functions, with the host that answers queries while executing
/// (parsing needs only the signatures, so it has none).
pub(super) struct PromFuncs<'a> {
    pub(super) host: Option<&'a dyn Host>,
}

impl FuncSet for PromFuncs<'_> {
    fn signature(&self, name: &str) -> Option<Signature> {
        signature(name)
    }

    fn call(&self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        match self.host {
            Some(host) => call(name, args, host),
            None => Err(format!("function {name} called without a host")),
        }
    }
}

static NIL: Value = Value::Nil;

/// Go's message when a function dereferences a nil `*sample`.
const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// Calls `name` with arguments already checked against its signature.
fn call(name: &str, args: Vec<Value>, host: &dyn Host) -> Result<Value, String> {
    let arg = |i: usize| args.get(i).unwrap_or(&NIL);
    let text = |i: usize| arg(i).as_str().unwrap_or("");
    let string = |s: String| Ok(Value::String(s));
    match name {
        "query" => host.query(text(0)).map(Value::List),
        "first" => first(arg(0)),
        "label" => label(text(0), arg(1)).map(Value::String),
        "value" => sample_value(arg(0)).map(Value::Float),
        "strvalue" => label("__value__", arg(0)).map(Value::String),
        "sortByLabel" => Ok(sort_by_label(text(0), arg(1))),
        "args" => Ok(Value::Map(
            args.iter()
                .enumerate()
                .map(|(i, a)| (format!("arg{i}"), a.clone()))
                .collect::<BTreeMap<_, _>>(),
        )),
        "reReplaceAll" => regexp::replace_all(text(0), text(1), text(2)).map(Value::String),
        "match" => regexp::is_match(text(0), text(1)).map(Value::Bool),
        "safeHtml" => string(text(0).to_string()),
        "title" => string(strings::title(text(0))),
        "toUpper" => string(strings::to_upper(text(0))),
        "toLower" => string(strings::to_lower(text(0))),
        "graphLink" => string(netutil::graph_link(text(0), 0)),
        "tableLink" => string(netutil::graph_link(text(0), 1)),
        "stripPort" => string(netutil::strip_port(text(0))),
        "stripDomain" => string(netutil::strip_domain(text(0))),
        "pathPrefix" => string(netutil::url_path(host.external_url())),
        "externalURL" => string(host.external_url().to_string()),
        "parseDuration" => crate::duration::parse(text(0)).map(|d| Value::Float(d.as_secs_f64())),
        "humanize" => humanize::humanize(arg(0)).map(Value::String),
        "humanize1024" => humanize::humanize1024(arg(0)).map(Value::String),
        "humanizeDuration" => humanize::humanize_duration(arg(0)).map(Value::String),
        "humanizePercentage" => humanize::humanize_percentage(arg(0)).map(Value::String),
        "humanizeTimestamp" => humanize::humanize_timestamp(arg(0)).map(Value::String),
        "toTime" => humanize::to_time(arg(0)).map(Value::String),
        "toDuration" => humanize::to_duration(arg(0)).map(Value::String),
        _ => Err(format!("function {name} is not implemented")),
    }
}

fn first(vector: &Value) -> Result<Value, String> {
    match vector {
        Value::List(items) if !items.is_empty() => Ok(items[0].clone()),
        _ => Err("first() called on vector with no elements".to_string()),
    }
}

fn label_of(sample: &Value, name: &str) -> Option<String> {
    let Value::Map(sample) = sample else {
        return None;
    };
    match sample.get("Labels")? {
        Value::Map(labels) => match labels.get(name)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        },
        _ => None,
    }
}

fn label(name: &str, sample: &Value) -> Result<String, String> {
    if sample.is_nil() {
        return Err(NIL_DEREF.to_string());
    }
    Ok(label_of(sample, name).unwrap_or_default())
}

fn sample_value(sample: &Value) -> Result<f64, String> {
    let Value::Map(map) = sample else {
        return Err(NIL_DEREF.to_string());
    };
    Ok(match map.get("Value") {
        Some(Value::Float(f)) => *f,
        Some(Value::Int(i)) => *i as f64,
        _ => 0.0,
    })
}

fn sort_by_label(name: &str, vector: &Value) -> Value {
    let mut items = match vector {
        Value::List(items) => items.clone(),
        _ => Vec::new(),
    };
    // Stable, like Prometheus' sort.Stable, so equal labels keep query order.
    items.sort_by_cached_key(|s| label_of(s, name).unwrap_or_default());
    Value::List(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(instance: &str, v: f64) -> Value {
        let mut labels = BTreeMap::new();
        labels.insert("instance".to_string(), Value::from(instance));
        let mut m = BTreeMap::new();
        m.insert("Labels".to_string(), Value::Map(labels));
        m.insert("Value".to_string(), Value::Float(v));
        Value::Map(m)
    }

    #[test]
    fn sample_functions() {
        let s = sample("a:1", 2.5);
        assert_eq!(label("instance", &s), Ok("a:1".to_string()));
        assert_eq!(label("missing", &s), Ok(String::new()));
        assert_eq!(sample_value(&s), Ok(2.5));
        assert_eq!(label("x", &Value::Nil), Err(NIL_DEREF.to_string()));
        assert_eq!(
            first(&Value::List(vec![])),
            Err("first() called on vector with no elements".to_string())
        );
        let sorted = sort_by_label(
            "instance",
            &Value::List(vec![sample("b", 1.0), sample("a", 2.0), sample("b", 0.0)]),
        );
        let Value::List(items) = sorted else { panic!() };
        let order: Vec<f64> = items.iter().map(|s| sample_value(s).unwrap()).collect();
        assert_eq!(order, vec![2.0, 1.0, 0.0]);
    }

    #[test]
    fn every_signature_is_callable() {
        for name in [
            "and",
            "or",
            "not",
            "len",
            "index",
            "slice",
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "html",
            "js",
            "urlquery",
            "print",
            "printf",
            "println",
            "query",
            "first",
            "label",
            "value",
            "strvalue",
            "args",
            "reReplaceAll",
            "safeHtml",
            "match",
            "title",
            "toUpper",
            "toLower",
            "graphLink",
            "tableLink",
            "sortByLabel",
            "humanize",
            "humanize1024",
            "humanizeDuration",
            "humanizePercentage",
            "humanizeTimestamp",
            "toTime",
            "toDuration",
            "pathPrefix",
            "externalURL",
            "parseDuration",
            "stripPort",
            "stripDomain",
        ] {
            assert!(is_defined(name), "{name}");
        }
        assert!(!is_defined("now"));
        assert!(!is_defined("call"));
    }
}
