//! OTLP attributes as Loki stores them: nested maps flattened into
//! `outer_inner` names, names made fit for labels and structured metadata.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};

use super::value::attribute_string;

/// Flattens attributes into (name, string) pairs; nested maps become
/// `outer_inner` names, as Loki stores OTLP attributes.
pub fn flatten<'a>(attrs: impl IntoIterator<Item = &'a KeyValue>, out: &mut Vec<(String, String)>) {
    for kv in attrs {
        flatten_one(&kv.key, kv.value.as_ref(), out, 0);
    }
}

/// Maps deeper than this are stored as JSON rather than flattened further.
const MAX_FLATTEN_DEPTH: usize = 8;

fn flatten_one(key: &str, value: Option<&AnyValue>, out: &mut Vec<(String, String)>, depth: usize) {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::KvlistValue(kv)) if depth < MAX_FLATTEN_DEPTH => {
            for p in &kv.values {
                let name = format!("{key}_{}", p.key);
                flatten_one(&name, p.value.as_ref(), out, depth + 1);
            }
        }
        _ => out.push((key.to_owned(), attribute_string(value))),
    }
}

/// A name fit for a Loki label or structured metadata name: characters
/// outside `[a-zA-Z0-9_]` become `_`, and a leading digit gets a `_` prefix.
pub fn label_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::KeyValueList;

    fn any(v: Value) -> AnyValue {
        AnyValue { value: Some(v) }
    }

    #[test]
    fn maps_flatten_with_underscores() {
        let attrs = vec![KeyValue {
            key: "http".into(),
            value: Some(any(Value::KvlistValue(KeyValueList {
                values: vec![KeyValue {
                    key: "method".into(),
                    value: Some(any(Value::StringValue("GET".into()))),
                    ..Default::default()
                }],
            }))),
            ..Default::default()
        }];
        let mut out = Vec::new();
        flatten(&attrs, &mut out);
        assert_eq!(out, vec![("http_method".to_owned(), "GET".to_owned())]);
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(label_name("k8s.pod.name"), "k8s_pod_name");
        assert_eq!(label_name("1st"), "_1st");
    }
}
