//! What Grafana's Logs Drilldown and label browser discover: stream labels
//! worth filtering on (`detected_labels`), and the fields of the newest
//! matching lines with their types and values (`detected_fields`,
//! `detected_field/{name}/values`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use hearth_storage::logs::LogsEngine;
use hearth_storage::postings::SeriesEntry;

use super::{ExecError, LogLine, LogQueryParams, run_log_query};
use crate::logql::ast::LogQuery;
use crate::logql::eval::pipeline::discover::{FieldType, LineParser, humanize_bytes, line_fields};

/// Labels kept even when their values look like ids: they are how people
/// narrow a homelab or cluster down.
const ALWAYS_USEFUL_LABELS: [&str; 4] = ["cluster", "namespace", "instance", "pod"];

/// Labels the pipeline adds to report its own errors, never fields.
const ERROR_LABELS: [&str; 3] = ["__error__", "__error_details__", "__preserve_error__"];

/// A stream label and how many values it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectedLabel {
    /// Label name.
    pub label: String,
    /// Distinct values among the matching streams.
    pub cardinality: usize,
}

fn looks_like_id(value: &str) -> bool {
    value.parse::<f64>().is_ok() || is_uuid(value)
}

/// The 8-4-4-4-12 hex form (braces and `urn:uuid:` are rare in labels).
fn is_uuid(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The labels of `streams` worth offering as filters: every label except
/// those whose values are all numbers or UUIDs (ids make poor filters),
/// unless they are 0/1 flags or one of the labels people always narrow by.
/// Sorted by name.
pub fn detected_labels(streams: &[Arc<SeriesEntry>]) -> Vec<DetectedLabel> {
    let mut values: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in streams {
        for (name, value) in &s.labels {
            values.entry(&**name).or_default().insert(&**value);
        }
    }
    values
        .into_iter()
        .filter(|(name, values)| {
            if values.is_empty() {
                return false;
            }
            if ALWAYS_USEFUL_LABELS.contains(name) {
                return true;
            }
            let flags = values.len() <= 2 && values.iter().all(|v| *v == "0" || *v == "1");
            flags || !values.iter().all(|v| looks_like_id(v))
        })
        .map(|(name, values)| DetectedLabel {
            label: name.to_owned(),
            cardinality: values.len(),
        })
        .collect()
}

/// A field found in structured metadata or in the lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectedField {
    /// The label name a query would use.
    pub label: String,
    /// The type covering every value seen.
    pub field_type: FieldType,
    /// Distinct values seen.
    pub cardinality: usize,
    /// The parsers that produce it; `None` for structured metadata.
    pub parsers: Option<BTreeSet<LineParser>>,
    /// For JSON fields, the original keys from the top down.
    pub json_path: Option<Vec<String>>,
}

/// What a detection request reads.
#[derive(Clone, Copy, Debug)]
pub struct DetectParams {
    /// Inclusive start (ns).
    pub start_ns: i64,
    /// Exclusive end (ns).
    pub end_ns: i64,
    /// How many of the newest matching lines are examined.
    pub line_limit: usize,
}

/// One field occurrence in a line.
struct Occurrence<'a> {
    name: &'a str,
    value: &'a str,
    parser: Option<LineParser>,
    json_path: Option<&'a [String]>,
}

/// Calls `each` with every field of every line: structured metadata, the
/// labels the query's own parsers extracted, and the fields a JSON (else
/// logfmt) reading of the line finds. A parsed name that a stream label
/// already holds is reported as `<name>_extracted`, as the parsers name it.
fn for_each_field(lines: &[LogLine], mut each: impl FnMut(Occurrence<'_>)) {
    for line in lines {
        for (name, value) in &line.structured_metadata {
            each(Occurrence {
                name,
                value,
                parser: None,
                json_path: None,
            });
        }
        let reparsed = line_fields(&line.line);
        let parser = reparsed.as_ref().map(|(p, _)| *p);
        let in_stream = |name: &str| line.stream.iter().any(|(n, _)| n == name);
        let mut seen: HashSet<&str> = HashSet::new();
        for (name, value) in &line.parsed {
            if ERROR_LABELS.contains(&name.as_str()) || !seen.insert(name) {
                continue;
            }
            each(Occurrence {
                name,
                value,
                parser,
                json_path: None,
            });
        }
        for field in reparsed.iter().flat_map(|(_, f)| f) {
            let extracted;
            let name = if in_stream(&field.name) {
                extracted = format!("{}_extracted", field.name);
                extracted.as_str()
            } else {
                field.name.as_str()
            };
            if seen.contains(name) {
                continue;
            }
            each(Occurrence {
                name,
                value: &field.value,
                parser,
                json_path: field.json_path.as_deref(),
            });
        }
    }
}

async fn newest_lines(
    engine: &LogsEngine,
    query: &LogQuery,
    params: DetectParams,
) -> Result<Vec<LogLine>, ExecError> {
    let result = run_log_query(
        engine,
        query,
        LogQueryParams {
            start_ns: params.start_ns,
            end_ns: params.end_ns,
            limit: params.line_limit,
            backward: true,
            interval_ns: 0,
        },
    )
    .await?;
    Ok(result.lines)
}

#[derive(Default)]
struct FieldStats {
    field_type: Option<FieldType>,
    values: HashSet<String>,
    parsers: Option<BTreeSet<LineParser>>,
    json_path: Option<Vec<String>>,
}

/// The fields of the newest `line_limit` lines the query returns, at most
/// `field_limit` of them (first found first), sorted by name.
pub async fn detected_fields(
    engine: &LogsEngine,
    query: &LogQuery,
    params: DetectParams,
    field_limit: usize,
) -> Result<Vec<DetectedField>, ExecError> {
    let lines = newest_lines(engine, query, params).await?;
    let mut fields: BTreeMap<String, FieldStats> = BTreeMap::new();
    for_each_field(&lines, |o| {
        if !fields.contains_key(o.name) && fields.len() >= field_limit {
            return;
        }
        let stats = fields.entry(o.name.to_owned()).or_default();
        let ty = FieldType::of(o.value);
        stats.field_type = Some(stats.field_type.map_or(ty, |t| t.merge(ty)));
        if !stats.values.contains(o.value) {
            stats.values.insert(o.value.to_owned());
        }
        if let Some(p) = o.parser {
            stats.parsers.get_or_insert_with(BTreeSet::new).insert(p);
        }
        if stats.json_path.is_none() {
            stats.json_path = o.json_path.map(<[String]>::to_vec);
        }
    });
    Ok(fields
        .into_iter()
        .map(|(label, s)| DetectedField {
            label,
            field_type: s.field_type.unwrap_or(FieldType::String),
            cardinality: s.values.len(),
            parsers: s.parsers,
            json_path: s.json_path,
        })
        .collect())
}

/// The distinct values of field `name` in the newest `line_limit` lines,
/// at most `value_limit` of them, sorted. Sizes are rewritten in SI units
/// so they paste into a `bytes` filter.
pub async fn detected_field_values(
    engine: &LogsEngine,
    query: &LogQuery,
    params: DetectParams,
    name: &str,
    value_limit: usize,
) -> Result<Vec<String>, ExecError> {
    let lines = newest_lines(engine, query, params).await?;
    let mut values: BTreeSet<String> = BTreeSet::new();
    for_each_field(&lines, |o| {
        if o.name != name || values.len() >= value_limit {
            return;
        }
        let value = match (o.parser, FieldType::of(o.value)) {
            (Some(_), FieldType::Bytes) => {
                humanize_bytes(o.value).unwrap_or_else(|| o.value.to_owned())
            }
            _ => o.value.to_owned(),
        };
        values.insert(value);
    });
    Ok(values.into_iter().collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hearth_storage::Labels;
    use hearth_storage::postings::SeriesIndex;

    fn streams(sets: &[&[(&str, &str)]]) -> Vec<Arc<SeriesEntry>> {
        let index = SeriesIndex::new();
        for set in sets {
            let labels = Labels::from_pairs(set.iter().copied()).unwrap();
            index.get_or_insert(&labels).unwrap();
        }
        index.all()
    }

    #[test]
    fn id_like_labels_are_left_out_unless_flags_or_well_known() {
        let s = streams(&[
            &[
                ("app", "api"),
                ("pod", "7"),
                ("req", "1"),
                ("canary", "0"),
                ("port", "80"),
            ],
            &[
                ("app", "web"),
                ("pod", "8"),
                ("req", "2"),
                ("canary", "1"),
                ("port", "8080"),
            ],
            &[
                ("app", "db"),
                ("pod", "9"),
                ("req", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
                ("canary", "1"),
                ("port", "80"),
            ],
        ]);
        let got: Vec<(String, usize)> = detected_labels(&s)
            .into_iter()
            .map(|l| (l.label, l.cardinality))
            .collect();
        assert_eq!(
            got,
            vec![("app".into(), 3), ("canary".into(), 2), ("pod".into(), 3)]
        );
    }

    fn line(stream: &[(&str, &str)], text: &str, metadata: &[(&str, &str)]) -> LogLine {
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        LogLine {
            ts_ns: 0,
            line: text.as_bytes().to_vec(),
            stream: Arc::new(pairs(stream)),
            labels: Vec::new(),
            structured_metadata: pairs(metadata),
            parsed: Vec::new(),
        }
    }

    #[test]
    fn fields_come_from_metadata_and_a_reparse_of_the_line() {
        let lines = [
            line(
                &[("level", "x")],
                "level=info took=20ms",
                &[("trace_id", "a")],
            ),
            line(
                &[],
                r#"{"took":1.5,"user":{"id":"u1"}}"#,
                &[("trace_id", "b")],
            ),
        ];
        let mut got = Vec::new();
        for_each_field(&lines, |o| {
            got.push((
                o.name.to_owned(),
                o.value.to_owned(),
                o.parser.map(LineParser::as_str),
                o.json_path.map(<[String]>::to_vec),
            ));
        });
        assert_eq!(
            got,
            vec![
                ("trace_id".into(), "a".into(), None, None),
                (
                    "level_extracted".into(),
                    "info".into(),
                    Some("logfmt"),
                    None
                ),
                ("took".into(), "20ms".into(), Some("logfmt"), None),
                ("trace_id".into(), "b".into(), None, None),
                (
                    "took".into(),
                    "1.5".into(),
                    Some("json"),
                    Some(vec!["took".into()])
                ),
                (
                    "user_id".into(),
                    "u1".into(),
                    Some("json"),
                    Some(vec!["user".into(), "id".into()])
                ),
            ]
        );
    }
}
