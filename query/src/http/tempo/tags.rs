//! Tag names and tag values for Grafana's search builder and its
//! autocomplete: `/api/search/tags`, `/api/v2/search/tags`,
//! `/api/search/tag/{tag}/values` and `/api/v2/search/tag/{tag}/values`.
//!
//! Names and values come from the newest spans in the range that match
//! the optional `q` filter (a sample bounded by a span budget, as Tempo
//! answers from recent blocks). Two answers are exact and cheap: service
//! and span names come from the parts' names tables, and `status` and
//! `kind` are the fixed keyword lists. Value types follow Tempo's so that
//! Grafana quotes strings and leaves keywords, numbers and durations bare.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json_, json};

use super::assemble::Assembler;
use super::candidates::Candidates;
use super::params::{TempoError, attribute_name, engine, seconds_range};
use crate::QueryState;
use crate::traceql::model::{Trace, Value};
use crate::traceql::{CompiledQuery, compile, format_duration};

/// Spans sampled for tag names.
const TAG_SCAN_SPANS: usize = 20_000;
/// Spans sampled for tag values.
const VALUE_SCAN_SPANS: usize = 100_000;
/// Values or names returned when the client names no limit.
const DEFAULT_LIMIT: usize = 5_000;

/// The intrinsics Tempo lists under the `intrinsic` scope (ids and
/// nested-set numbers are left out, as Tempo leaves them out).
const INTRINSICS: &[&str] = &[
    "duration",
    "kind",
    "name",
    "status",
    "statusMessage",
    "traceDuration",
    "rootServiceName",
    "rootName",
    "span:status",
    "span:statusMessage",
    "span:duration",
    "span:name",
    "span:kind",
    "trace:rootName",
    "trace:rootService",
    "trace:duration",
    "event:name",
    "event:timeSinceStart",
    "instrumentation:name",
    "instrumentation:version",
];

const SCOPES: &[&str] = &["resource", "span", "event", "link", "instrumentation"];

type Params = Query<HashMap<String, String>>;

fn param<'a>(params: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    params
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn limit(params: &HashMap<String, String>) -> Result<usize, TempoError> {
    match param(params, "limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(0) => Ok(DEFAULT_LIMIT),
            Ok(n) => Ok(n),
            Err(_) => Err(TempoError::bad(format!("invalid limit {v:?}"))),
        },
    }
}

/// The filter of `q`, or every span when `q` is absent or does not parse:
/// Grafana sends the query being typed, often incomplete, and Tempo then
/// answers without it.
fn filter_text(params: &HashMap<String, String>) -> String {
    match param(params, "q") {
        Some(q) if compile(q).is_ok_and(|c| !c.is_metrics()) => q.to_string(),
        _ => "{}".to_string(),
    }
}

/// True for `{}` however it is spaced.
fn matches_everything(filter: &str) -> bool {
    use crate::traceql::QueryBody;
    use crate::traceql::ast::SpansetExpr;
    compile(filter).is_ok_and(|q| q.query().body == QueryBody::Spans(SpansetExpr::Filter(None)))
}

/// Calls `visit` with every span the filter keeps among the newest
/// `max_spans` spans of the range.
async fn visit_matches(
    state: &QueryState,
    query: &CompiledQuery,
    range: (i64, i64),
    max_spans: usize,
    mut visit: impl FnMut(&Trace, usize, &[(String, Value)]),
) -> Result<(), TempoError> {
    let engine = engine(state)?;
    let mut candidates = Candidates::scan(&engine, query, range, max_spans).await?;
    let mut assembler = Assembler::new();
    for id in candidates.ids() {
        let Some(trace) = candidates
            .trace(&engine, &mut assembler, query, id, false)
            .await?
        else {
            continue;
        };
        for set in query.eval_trace(&trace) {
            for m in &set.spans {
                visit(&trace, m.index, &m.attributes);
            }
        }
    }
    Ok(())
}

/// Attribute keys by scope over the spans `params` selects.
async fn keys_by_scope(
    state: &QueryState,
    params: &HashMap<String, String>,
) -> Result<BTreeMap<&'static str, BTreeSet<String>>, TempoError> {
    let range = seconds_range(param(params, "start"), param(params, "end"))?;
    let query = compile(&filter_text(params)).map_err(|e| TempoError::bad(e.to_string()))?;
    let mut keys: BTreeMap<&'static str, BTreeSet<String>> =
        SCOPES.iter().map(|s| (*s, BTreeSet::new())).collect();
    visit_matches(state, &query, range, TAG_SCAN_SPANS, |trace, i, _| {
        let Some(span) = trace.spans().get(i) else {
            return;
        };
        let mut add = |scope: &'static str, attrs: &[crate::traceql::model::Attr]| {
            if let Some(set) = keys.get_mut(scope) {
                set.extend(attrs.iter().map(|a| a.key.clone()));
            }
        };
        add("resource", &span.resource.attributes);
        add("span", &span.attributes);
        add("instrumentation", &span.scope.attributes);
        for e in &span.events {
            add("event", &e.attributes);
        }
        for l in &span.links {
            add("link", &l.attributes);
        }
    })
    .await?;
    Ok(keys)
}

/// `GET /api/v2/search/tags`: `{"scopes":[{"name","tags"}]}`.
pub async fn tags_v2(State(state): State<QueryState>, Query(params): Params) -> Response {
    let run = async {
        let limit = limit(&params)?;
        let wanted = match param(&params, "scope") {
            None | Some("none") => "all",
            Some(s) => s,
        };
        if wanted != "all" && wanted != "intrinsic" && !SCOPES.contains(&wanted) {
            return Err(TempoError::bad(format!(
                "invalid scope {wanted:?}: want all, resource, span, event, link, instrumentation or intrinsic"
            )));
        }
        let keys = if wanted == "intrinsic" {
            BTreeMap::new()
        } else {
            keys_by_scope(&state, &params).await?
        };
        let mut scopes = Vec::new();
        for (name, tags) in keys {
            if (wanted == "all" || wanted == name) && !tags.is_empty() {
                scopes.push(json!({ "name": name, "tags": tags.into_iter().take(limit).collect::<Vec<_>>() }));
            }
        }
        if wanted == "all" || wanted == "intrinsic" {
            scopes.push(json!({ "name": "intrinsic", "tags": INTRINSICS }));
        }
        Ok(json!({ "scopes": scopes }))
    };
    respond(run.await)
}

/// `GET /api/search/tags`: `{"tagNames":[...]}`, attribute keys of every
/// scope without the scope, as Grafana's older search form lists them.
pub async fn tags_v1(State(state): State<QueryState>, Query(params): Params) -> Response {
    let run = async {
        let limit = limit(&params)?;
        if param(&params, "scope") == Some("intrinsic") {
            return Ok(json!({ "tagNames": INTRINSICS }));
        }
        let keys = keys_by_scope(&state, &params).await?;
        let mut names = BTreeSet::new();
        for k in keys.values() {
            names.extend(k.iter().cloned());
        }
        Ok(json!({ "tagNames": names.into_iter().take(limit).collect::<Vec<_>>() }))
    };
    respond(run.await)
}

/// A tag value with Tempo's type name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Typed {
    kind: &'static str,
    value: String,
}

fn typed(v: &Value, out: &mut BTreeSet<Typed>) {
    let (kind, value) = match v {
        Value::Str(s) => ("string", s.clone()),
        Value::Int(i) => ("int", i.to_string()),
        Value::Float(f) => ("float", f.to_string()),
        Value::Bool(b) => ("bool", b.to_string()),
        Value::Duration(d) => ("duration", format_duration(*d)),
        Value::Status(s) => ("keyword", s.keyword().to_string()),
        Value::Kind(k) => ("keyword", k.keyword().to_string()),
        Value::Nil => return,
        Value::Array(items) => {
            for item in items {
                typed(item, out);
            }
            return;
        }
    };
    out.insert(Typed { kind, value });
}

/// The values of one tag (a TraceQL field, `resource.service.name`,
/// `.http.method`, `status`) over the spans `params` selects, typed.
async fn tag_values(
    state: &QueryState,
    tag: &str,
    params: &HashMap<String, String>,
) -> Result<BTreeSet<Typed>, TempoError> {
    let keyword = |words: &[&str]| {
        words
            .iter()
            .map(|w| Typed {
                kind: "keyword",
                value: (*w).to_string(),
            })
            .collect()
    };
    match tag {
        "status" | "span:status" => return Ok(keyword(&["error", "ok", "unset"])),
        "kind" | "span:kind" => {
            return Ok(keyword(&[
                "client",
                "consumer",
                "internal",
                "producer",
                "server",
                "unspecified",
            ]));
        }
        // Tempo offers no values for these: any literal will do.
        "duration" | "span:duration" | "traceDuration" | "trace:duration" | "span:id"
        | "trace:id" | "span:parentID" | "link:traceID" | "link:spanID" => {
            return Ok(BTreeSet::new());
        }
        _ => {}
    }
    let range = seconds_range(param(params, "start"), param(params, "end"))?;
    let filter = filter_text(params);
    if matches_everything(&filter) {
        let names_range = (range != (0, i64::MAX)).then_some(range);
        let names = match tag {
            "resource.service.name" | ".service.name" => Some(engine(state)?.services(names_range)),
            "name" | "span:name" => Some(engine(state)?.span_names(None, names_range)),
            _ => None,
        };
        if let Some(names) = names {
            return Ok(names
                .into_iter()
                .map(|value| Typed {
                    kind: "string",
                    value,
                })
                .collect());
        }
    }
    let text = format!("{filter} | select({tag})");
    let query = compile(&text).map_err(|e| TempoError::bad(format!("invalid tag {tag:?}: {e}")))?;
    let mut out = BTreeSet::new();
    visit_matches(state, &query, range, VALUE_SCAN_SPANS, |_, _, attrs| {
        for (name, v) in attrs {
            if name == tag {
                typed(v, &mut out);
            }
        }
    })
    .await?;
    Ok(out)
}

/// `GET /api/v2/search/tag/{tag}/values`:
/// `{"tagValues":[{"type":"string","value":"checkout"}]}`.
pub async fn values_v2(
    State(state): State<QueryState>,
    Path(tag): Path<String>,
    Query(params): Params,
) -> Response {
    let run = async {
        let limit = limit(&params)?;
        let tag = percent_decoded(&tag);
        let values = tag_values(&state, &tag, &params).await?;
        let values: Vec<Json_> = values
            .into_iter()
            .take(limit)
            .map(|t| json!({ "type": t.kind, "value": t.value }))
            .collect();
        Ok(json!({ "tagValues": values }))
    };
    respond(run.await)
}

/// `GET /api/search/tag/{tag}/values`: `{"tagValues":["a","b"]}`, for an
/// unscoped attribute name (`service.name`) or an intrinsic.
pub async fn values_v1(
    State(state): State<QueryState>,
    Path(tag): Path<String>,
    Query(params): Params,
) -> Response {
    let run = async {
        let limit = limit(&params)?;
        // The older API's own fixed lists.
        match tag.as_str() {
            "status.code" => return Ok(json!({ "tagValues": ["unset", "ok", "error"] })),
            "error" => return Ok(json!({ "tagValues": ["true"] })),
            _ => {}
        }
        let field = if INTRINSICS.contains(&tag.as_str()) {
            tag.clone()
        } else {
            format!(".{}", attribute_name(&tag))
        };
        let values = tag_values(&state, &field, &params).await?;
        let mut plain: Vec<String> = values.into_iter().map(|t| t.value).collect();
        plain.sort();
        plain.dedup();
        plain.truncate(limit);
        Ok(json!({ "tagValues": plain }))
    };
    respond(run.await)
}

/// Grafana encodes the tag twice and the path extractor undoes one, so
/// Tempo decodes once more; a tag with no `%` is left as it is.
fn percent_decoded(tag: &str) -> String {
    if !tag.contains('%') {
        return tag.to_string();
    }
    let bytes = tag.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| tag.to_string())
}

fn respond(result: Result<Json_, TempoError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_tempo_types() {
        let mut out = BTreeSet::new();
        for v in [
            Value::Str("a".into()),
            Value::Int(200),
            Value::Duration(2_000_000),
            Value::Status(crate::traceql::model::StatusCode::Error),
            Value::Array(vec![Value::Bool(true), Value::Nil]),
        ] {
            typed(&v, &mut out);
        }
        let got: Vec<(&str, &str)> = out.iter().map(|t| (t.kind, t.value.as_str())).collect();
        assert_eq!(
            got,
            [
                ("bool", "true"),
                ("duration", "2ms"),
                ("int", "200"),
                ("keyword", "error"),
                ("string", "a"),
            ]
        );
    }

    #[test]
    fn doubly_encoded_tags_are_decoded_once_more() {
        assert_eq!(
            percent_decoded("resource.service.name"),
            "resource.service.name"
        );
        assert_eq!(percent_decoded("span.%22a%20b%22"), "span.\"a b\"");
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(percent_decoded("%ff"), "%ff");
    }

    #[test]
    fn a_half_typed_filter_is_ignored() {
        let mut p = HashMap::new();
        p.insert(
            "q".to_string(),
            "{ resource.service.name = \"a\" && }".to_string(),
        );
        assert_eq!(filter_text(&p), "{}");
        p.insert(
            "q".to_string(),
            "{ resource.service.name = \"a\" }".to_string(),
        );
        assert_eq!(filter_text(&p), "{ resource.service.name = \"a\" }");
    }
}
