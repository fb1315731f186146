//! A `SampleSource` over an in-memory list of log lines, running the small
//! part of the pipeline the tests need (selector, line filters, logfmt,
//! json, label filters, unwrap with its conversions). The real pipeline is
//! tested elsewhere; this one only has to be right for the test data.

use std::cell::RefCell;
use std::collections::BTreeMap;

use hearth_storage::MatchOp;
use regex::Regex;

use super::super::{ExtractedSeries, MetricError, SampleSource};
use crate::logql::ast::{
    CmpOp, Conversion, LabelFilter, LabelMatcher, LineFilterOp, LineFilterValue, LogRange, RangeOp,
    Stage,
};
use crate::logql::eval::labels::{LabelPairs, get};

pub(crate) const S: i64 = 1_000_000_000;

#[derive(Clone)]
pub(crate) struct Entry {
    labels: LabelPairs,
    ts: i64,
    line: String,
}

/// A line of stream `labels` at `secs` seconds.
pub(crate) fn entry(labels: &[(&str, &str)], secs: i64, line: &str) -> Entry {
    let mut labels: LabelPairs = labels
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    labels.sort();
    Entry {
        labels,
        ts: secs * S,
        line: line.to_string(),
    }
}

#[derive(Default)]
pub(crate) struct Fake {
    entries: Vec<Entry>,
    /// Every `(start, end)` the evaluator asked for.
    pub(crate) calls: RefCell<Vec<(i64, i64)>>,
    /// Fail every call with this message.
    pub(crate) fail: Option<String>,
}

impl Fake {
    pub(crate) fn new(mut entries: Vec<Entry>) -> Self {
        entries.sort_by_key(|e| e.ts);
        Fake {
            entries,
            ..Fake::default()
        }
    }
}

impl SampleSource for Fake {
    fn samples(
        &self,
        range: &LogRange,
        op: RangeOp,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<ExtractedSeries>, MetricError> {
        self.calls.borrow_mut().push((start_ns, end_ns));
        if let Some(msg) = &self.fail {
            return Err(MetricError::Source(msg.clone()));
        }
        let mut series: BTreeMap<LabelPairs, Vec<(i64, f64)>> = BTreeMap::new();
        for e in &self.entries {
            if e.ts <= start_ns || e.ts > end_ns {
                continue;
            }
            if !range.query.matchers.iter().all(|m| matcher(m, &e.labels)) {
                continue;
            }
            if let Some((labels, value)) = run(range, op, e) {
                series.entry(labels).or_default().push((e.ts, value));
            }
        }
        Ok(series
            .into_iter()
            .map(|(labels, samples)| ExtractedSeries { labels, samples })
            .collect())
    }
}

fn matcher(m: &LabelMatcher, labels: &LabelPairs) -> bool {
    let v = get(labels, &m.name).unwrap_or("");
    let re = || Regex::new(&format!("^(?:{})$", m.value)).unwrap();
    match m.op {
        MatchOp::Equal => v == m.value,
        MatchOp::NotEqual => v != m.value,
        MatchOp::Regex => re().is_match(v),
        MatchOp::NotRegex => !re().is_match(v),
    }
}

fn set(labels: &mut LabelPairs, name: &str, value: &str) {
    match labels.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
        Ok(i) => labels[i].1 = value.to_string(),
        Err(i) => labels.insert(i, (name.to_string(), value.to_string())),
    }
}

fn add_parsed(labels: &mut LabelPairs, name: &str, value: &str) {
    let name = if get(labels, name).is_some() {
        format!("{name}_extracted")
    } else {
        name.to_string()
    };
    set(labels, &name, value);
}

fn run(range: &LogRange, op: RangeOp, e: &Entry) -> Option<(LabelPairs, f64)> {
    let mut labels = e.labels.clone();
    let line = e.line.as_str();
    for stage in &range.query.pipeline {
        match stage {
            Stage::LineFilter(f) => {
                let hit = |v: &LineFilterValue| match v {
                    LineFilterValue::Text(t) => match f.op {
                        LineFilterOp::Contains | LineFilterOp::NotContains => line.contains(t),
                        LineFilterOp::Regex | LineFilterOp::NotRegex => {
                            Regex::new(t).unwrap().is_match(line)
                        }
                        _ => unimplemented!("pattern filters"),
                    },
                    LineFilterValue::Ip(_) => unimplemented!("ip filters"),
                };
                let any = f.operands.iter().any(hit);
                let keep = match f.op {
                    LineFilterOp::Contains | LineFilterOp::Regex => any,
                    _ => !any,
                };
                if !keep {
                    return None;
                }
            }
            Stage::Logfmt { .. } => {
                for (k, v) in logfmt(line) {
                    add_parsed(&mut labels, &k, &v);
                }
            }
            Stage::Json(_) => match serde_json::from_str::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(map)) => {
                    let mut out = Vec::new();
                    flatten("", &map, &mut out);
                    for (k, v) in out {
                        add_parsed(&mut labels, &k, &v);
                    }
                }
                Ok(_) => {
                    set(&mut labels, "__error__", "JSONParserErr");
                    set(&mut labels, "__error_details__", "not an object");
                }
                Err(err) => {
                    set(&mut labels, "__error__", "JSONParserErr");
                    set(&mut labels, "__error_details__", &err.to_string());
                }
            },
            Stage::LabelFilter(f) => {
                if !label_filter(f, &mut labels)? {
                    return None;
                }
            }
            other => unimplemented!("fake pipeline stage {other:?}"),
        }
    }
    let value = match (op, &range.unwrap) {
        (RangeOp::BytesRate | RangeOp::BytesOverTime, _) => line.len() as f64,
        (RangeOp::CountOverTime | RangeOp::AbsentOverTime, _) | (_, None) => 1.0,
        (_, Some(u)) => {
            let raw = get(&labels, &u.label)?.to_string();
            labels.retain(|(n, _)| *n != u.label);
            let value = match u.conversion {
                Conversion::Float => raw.parse::<f64>().ok(),
                Conversion::Duration | Conversion::DurationSeconds => {
                    duration_ns(&raw).map(|ns| ns as f64 / 1e9)
                }
                Conversion::Bytes => bytes(&raw).map(|b| b as f64),
            };
            let value = match value {
                Some(v) => v,
                None => {
                    set(&mut labels, "__error__", "SampleExtractionErr");
                    0.0
                }
            };
            for f in &u.post_filters {
                if !label_filter(f, &mut labels)? {
                    return None;
                }
            }
            value
        }
    };
    Some((labels, value))
}

/// `Some(keep)`; a failed conversion sets `LabelFilterErr` and keeps the line.
fn label_filter(f: &LabelFilter, labels: &mut LabelPairs) -> Option<bool> {
    let cmp = |op: CmpOp, a: f64, b: f64| match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
    };
    let numeric = |labels: &mut LabelPairs, label: &str, parse: &dyn Fn(&str) -> Option<f64>| {
        let raw = get(labels, label).unwrap_or("").to_string();
        let parsed = parse(&raw);
        if parsed.is_none() {
            set(labels, "__error__", "LabelFilterErr");
        }
        parsed
    };
    Some(match f {
        LabelFilter::And(a, b) => label_filter(a, labels)? && label_filter(b, labels)?,
        LabelFilter::Or(a, b) => label_filter(a, labels)? || label_filter(b, labels)?,
        LabelFilter::String(m) => matcher(m, labels),
        LabelFilter::Number { label, op, value } => {
            match numeric(labels, label, &|s: &str| s.parse::<f64>().ok()) {
                Some(v) => cmp(*op, v, *value),
                None => true,
            }
        }
        LabelFilter::Duration { label, op, nanos } => {
            match numeric(labels, label, &|s: &str| duration_ns(s).map(|n| n as f64)) {
                Some(v) => cmp(*op, v, *nanos as f64),
                None => true,
            }
        }
        LabelFilter::Bytes {
            label,
            op,
            bytes: b,
        } => match numeric(labels, label, &|s: &str| bytes(s).map(|n| n as f64)) {
            Some(v) => cmp(*op, v, *b as f64),
            None => true,
        },
        LabelFilter::Ip { .. } => unimplemented!("ip label filters"),
    })
}

fn logfmt(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].to_string();
        rest = &rest[eq + 1..];
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            value = quoted[..end].to_string();
            rest = quoted.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            value = rest[..end].to_string();
            rest = &rest[end..];
        }
        if !value.is_empty() && !out.iter().any(|(k, _): &(String, String)| *k == key) {
            out.push((key, value));
        }
        rest = rest.trim_start();
    }
    out
}

fn flatten(
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<(String, String)>,
) {
    for (k, v) in map {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}_{k}")
        };
        match v {
            serde_json::Value::Object(inner) => flatten(&name, inner, out),
            serde_json::Value::String(s) => out.push((name, s.clone())),
            serde_json::Value::Number(n) => out.push((name, n.to_string())),
            serde_json::Value::Bool(b) => out.push((name, b.to_string())),
            _ => {}
        }
    }
}

fn split_number(s: &str) -> Option<(f64, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// Go durations, as the test data writes them (`1.5s`, `20ms`, `1m30s`).
fn duration_ns(s: &str) -> Option<i64> {
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let (n, tail) = split_number(rest)?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let scale = match &tail[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * scale;
        rest = &tail[unit_end..];
    }
    (!s.is_empty()).then_some(total as i64)
}

/// Byte sizes: SI units are powers of 1000, IEC units of 1024.
fn bytes(s: &str) -> Option<u64> {
    let (n, unit) = split_number(s)?;
    let scale = match unit {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((n * scale) as u64)
}

/// Fixed series, cut to the requested span.
pub(crate) struct Static(pub(crate) Vec<ExtractedSeries>);

impl SampleSource for Static {
    fn samples(
        &self,
        _range: &LogRange,
        _op: RangeOp,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<ExtractedSeries>, MetricError> {
        Ok(self
            .0
            .iter()
            .map(|s| ExtractedSeries {
                labels: s.labels.clone(),
                samples: s
                    .samples
                    .iter()
                    .copied()
                    .filter(|&(t, _)| t > start_ns && t <= end_ns)
                    .collect(),
            })
            .filter(|s| !s.samples.is_empty())
            .collect())
    }
}
